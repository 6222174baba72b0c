"""An `InferenceEndpointConfig` (inference.sagemaker.aws.amazon.com/v1) from a Deployment. Pure: no I/O.

`problems(deployment, facts)` lists, per field, everything the HyperPod inference operator would
reject or break on (its webhook rules are not in the CRD schema), so nothing is created for a
deployment that cannot work. `render(deployment, facts)` builds the manifest (after `problems`
found nothing; it raises `ManifestError` otherwise).

Choices that fix problems the predecessor hit (docs/hyperpod.md lists them):
- the worker's `command`/`args` are always set: the engine listens on the port the operator probes
  (vLLM 8000, SGLang 8080), serves `--served-model-name` (what clients send as `model`), reads the
  model from the volume mount, and SGLang exports /metrics (the router drops backends without it);
- the readiness probe is in the manifest from the start, with a timeout the engine's /health meets;
- with a KV cache spec, prefix-caching flags and prefetch are left out (the pod fails otherwise);
- the API key reaches the engine through a Secret reference, never as a plain value in the object;
- the autoscaling trigger's EndpointName dimension is the `endpointName` the operator registers.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from math import floor

from apps.backends.base import API_KEY_SECRET, ClusterFacts, Deployment
from apps.backends.errors import RemoteValidationError

from . import images

GROUP = "inference.sagemaker.aws.amazon.com"
VERSION = "v1"
KIND = "InferenceEndpointConfig"
PLURAL = "inferenceendpointconfigs"
OPERATOR_NAMESPACE = "hyperpod-inference-system"

MODEL_DIR = "/opt/ml/model"
MODEL_VOLUME = "model-weights"
INVOCATION_PATH = "v1/chat/completions"
HEALTH_PATH = "/health"
METRICS_PATH = "/metrics"
ENGINE_PORTS = {"vllm": 8000, "sglang": 8080}
# SGLang's /health takes about a second: the Kubernetes default of 1 s marks the pod NotReady.
READINESS_TIMEOUT_SECONDS = {"vllm": 5, "sglang": 10}
LAUNCHERS = {
    "vllm": ("python3", "-m", "vllm.entrypoints.openai.api_server"),
    "sglang": ("python3", "-m", "sglang.launch_server"),
}
# Flags whose value ModelHub sets whatever argv says: (vLLM, SGLang) spellings, aliases after the first.
MODEL_FLAGS = {"vllm": ("--model",), "sglang": ("--model-path", "--model")}
TP_FLAGS = {"vllm": ("--tensor-parallel-size", "-tp"), "sglang": ("--tp-size", "--tp")}
# vLLM's switch either way: the engine command line the app renders says "off" when the spec does.
PREFIX_CACHING_FLAGS = ("--enable-prefix-caching", "--no-enable-prefix-caching")
DEFAULT_MAX_MODEL_LEN = 12288  # large native contexts run out of GPU memory otherwise
DEFAULT_MEMORY_FRACTION = 0.9
MEMORY_FRACTION_FLAGS = {"vllm": "--gpu-memory-utilization", "sglang": "--mem-fraction-static"}
MAX_MODEL_LEN_FLAGS = {"vllm": "--max-model-len", "sglang": "--context-length"}

ROUTING_STRATEGIES = ("prefixaware", "kvaware", "session", "roundrobin")
L2_BACKENDS = ("tieredstorage", "redis")
DEFAULT_MAX_DEPLOY_SECONDS = 3600
SHARE_OF_NODE = 0.9  # CPU and memory left to the operator's sidecars and the kubelet

API_KEY_DATA_KEY = "api-key"  # key inside the Kubernetes Secret
API_KEY_ENV = {"vllm": "VLLM_API_KEY", "sglang": "MODELHUB_API_KEY"}  # SGLang reads it through --api-key $(VAR)

LABEL_ENDPOINT = "modelhub/endpoint-id"
LABEL_ENGINE = "modelhub/engine"
LABEL_MANAGED_BY = "app.kubernetes.io/managed-by"
MANAGED_BY = "modelhub"

# Operator-derived names must stay within 63 characters: prefetch-<name>-inf (50 left) and, with
# intelligent routing, <name>-<namespace>-routing-service.
NAME_LIMIT = 63 - len("prefetch--inf")
_ROUTING_SERVICE_FIXED = len("--routing-service")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_S3_URI = re.compile(r"^s3://([a-z0-9][a-z0-9.\-]{1,61}[a-z0-9])/(.*)$")
_FSX_URI = re.compile(r"^fsx://(fs-[0-9a-f]{8,17})(/.*)?$")
_TLS_URI = re.compile(r"^s3://([^/]+)/?(.*)$")


class ManifestError(RemoteValidationError):
    """Field errors that stop a manifest from being rendered; `errors` maps field -> messages."""

    def __init__(self, errors: Mapping[str, list[str]]):
        self.errors = {k: list(v) for k, v in errors.items()}
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in self.errors.items()))


@dataclass(frozen=True)
class HyperPodOptions:
    """The target-specific part of a Deployment (`Deployment.options`)."""

    cluster_id: int | None = None
    namespace: str = "default"
    routing: bool = False
    routing_strategy: str = "prefixaware"
    kv_cache: bool = False  # L1: offload the KV cache to CPU memory (vLLM only)
    kv_cache_l2: str = ""  # "", "tieredstorage" (needs cluster tiered storage) or "redis"
    kv_cache_l2_url: str = ""
    public_load_balancer: bool = False  # only with intelligent routing (the operator's Ingress)
    gpus_per_replica: int | None = None  # None: from the engine's tensor parallelism, else a whole node
    s3_region: str = ""  # the model bucket's region ('' : the cluster's)
    fsx_dns_name: str = ""
    fsx_mount_name: str = ""
    max_deploy_seconds: int = DEFAULT_MAX_DEPLOY_SECONDS

    @classmethod
    def from_mapping(cls, options: Mapping) -> HyperPodOptions:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in dict(options or {}).items() if k in known and v is not None})


# --- names -------------------------------------------------------------------------------------------


def name_budget(namespace: str, routing: bool) -> int:
    """Longest endpoint name whose operator-derived object names stay within 63 characters."""
    return min(NAME_LIMIT, 63 - _ROUTING_SERVICE_FIXED - len(namespace)) if routing else NAME_LIMIT


def api_key_secret_name(name: str) -> str:
    return f"{name}-api-key"


def router_secret_name(name: str, namespace: str) -> str:
    """The copy of the API key Secret beside the router, in the operator's namespace."""
    return f"{name}-{namespace}-api-key"


def router_deployment_name(name: str, namespace: str) -> str:
    return f"{name}-{namespace}-router"


def routing_ingress_name(name: str, namespace: str) -> str:
    """The operator's (internal) ALB Ingress for an endpoint with intelligent routing."""
    return f"alb-{name}-{namespace}"


def public_ingress_name(name: str, namespace: str) -> str:
    """ModelHub's internet-facing twin of the routing Ingress."""
    return f"{name}-{namespace}-public"


ALB_SCHEME = "alb.ingress.kubernetes.io/scheme"
# The operator's annotations a twin must not copy: its scheme, and anything that would merge it into
# the operator's load balancer.
_NOT_COPIED = (ALB_SCHEME, "alb.ingress.kubernetes.io/group.name", "alb.ingress.kubernetes.io/group.order",
               "kubectl.kubernetes.io/last-applied-configuration")


def public_ingress(routing_ingress: dict, name: str, namespace: str, endpoint_labels: dict[str, str]) -> dict:
    """An internet-facing Ingress with the routing Ingress's rules, TLS and ALB settings. A twin, rather
    than re-creating the operator's own Ingress: the operator keeps reconciling its internal one, and
    deleting ours lets the load balancer controller remove the ALB (its finalizer) without a fight."""
    metadata = routing_ingress.get("metadata") or {}
    annotations = {k: v for k, v in (metadata.get("annotations") or {}).items() if k not in _NOT_COPIED}
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {
            "name": public_ingress_name(name, namespace),
            "namespace": OPERATOR_NAMESPACE,
            "labels": dict(endpoint_labels),
            "annotations": {**annotations, ALB_SCHEME: "internet-facing"},
        },
        "spec": dict(routing_ingress.get("spec") or {}),
    }


# --- engine command line ---------------------------------------------------------------------------


def _occurrences(args: list[str], spellings: tuple[str, ...]) -> list[tuple[int, int]]:
    """(start, length) of each `--flag value` / `--flag=value` / bare `--flag` for any spelling."""
    found = []
    for i, token in enumerate(args):
        if any(token.startswith(flag + "=") for flag in spellings):
            found.append((i, 1))
        elif token in spellings:
            has_value = i + 1 < len(args) and not args[i + 1].startswith("-")
            found.append((i, 2 if has_value else 1))
    return found


def flag_value(args: list[str], spellings: tuple[str, ...]) -> str | None:
    """The value the engine will use: its argument parser keeps the last occurrence."""
    found = _occurrences(args, spellings)
    if not found:
        return None
    i, length = found[-1]
    if "=" in args[i]:
        return args[i].split("=", 1)[1]
    return args[i + 1] if length == 2 else None


def _set_flag(args: list[str], spellings: tuple[str, ...], value: str) -> list[str]:
    """Exactly one `spellings[0] value`, where the first occurrence was (else at the end)."""
    found = _occurrences(args, spellings)
    if not found:
        return [*args, spellings[0], value]
    drop = {j for i, length in found for j in range(i, i + length)}
    first = found[0][0]
    kept = [t for j, t in enumerate(args) if j not in drop and j < first]
    rest = [t for j, t in enumerate(args) if j not in drop and j > first]
    return [*kept, spellings[0], value, *rest]


def _ensure_switch(args: list[str], flag: str) -> list[str]:
    return args if flag in args else [*args, flag]


def _without(args: list[str], flags: tuple[str, ...]) -> list[str]:
    return [a for a in args if a not in flags and not any(a.startswith(f + "=") for f in flags)]


def split_argv(engine: str, argv: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """(command, args): a leading `python3 -m <module>` is the command, else the engine's launcher."""
    argv = list(argv)
    if len(argv) >= 3 and argv[0].startswith("python") and argv[1] == "-m":
        return argv[:3], argv[3:]
    return list(LAUNCHERS[engine]), argv


def tensor_parallel(deployment: Deployment, options: HyperPodOptions, gpus_per_node: int) -> int:
    """GPUs one replica needs: the engine's tensor parallelism, else the options, else a whole node."""
    _, args = split_argv(deployment.engine, deployment.argv) if deployment.engine in LAUNCHERS else ([], [])
    value = flag_value(args, TP_FLAGS.get(deployment.engine, ()))
    if value and value.isdigit():
        return int(value)
    return int(options.gpus_per_replica or gpus_per_node or 1)


def worker_command(deployment: Deployment, options: HyperPodOptions, gpus: int) -> tuple[list[str], list[str]]:
    """The engine's command and arguments, with every flag HyperPod depends on set to its value."""
    engine = deployment.engine
    command, args = split_argv(engine, deployment.argv)
    if not args:  # no command line from the app: the essentials for this engine and model
        args = [MAX_MODEL_LEN_FLAGS[engine], str(DEFAULT_MAX_MODEL_LEN),
                MEMORY_FRACTION_FLAGS[engine], str(DEFAULT_MEMORY_FRACTION)]
    port = str(ENGINE_PORTS[engine])
    args = _set_flag(args, MODEL_FLAGS[engine], MODEL_DIR)
    args = _set_flag(args, ("--served-model-name",), deployment.served_model_name)
    args = _set_flag(args, TP_FLAGS[engine], str(gpus))
    args = _set_flag(args, ("--host",), "0.0.0.0")
    args = _set_flag(args, ("--port",), port)
    if engine == "sglang":
        args = _ensure_switch(args, "--enable-metrics")
        if deployment.secrets.get(API_KEY_SECRET):
            args = _set_flag(args, ("--api-key",), f"$({API_KEY_ENV['sglang']})")
    if _kv_cache_wanted(options):
        args = _without(args, PREFIX_CACHING_FLAGS)
    return command, args


# --- validation --------------------------------------------------------------------------------------


def _kv_cache_wanted(options: HyperPodOptions) -> bool:
    return bool(options.kv_cache or options.kv_cache_l2)


def model_source_problem(uri: str) -> str:
    if _S3_URI.match(uri) and uri.split("/", 3)[3].strip("/"):
        return ""
    if _FSX_URI.match(uri):
        return ""
    return ("HyperPod loads models from S3 (s3://bucket/prefix/) or FSx for Lustre "
            "(fsx://fs-0123456789abcdef0/path); copy the model there first.")


def problems(deployment: Deployment, facts: ClusterFacts) -> dict[str, list[str]]:
    """Every reason the operator would refuse or break this deployment, per field; empty when fine."""
    errors: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    options = HyperPodOptions.from_mapping(deployment.options)
    engine = deployment.engine
    if engine not in ENGINE_PORTS:
        add("engine", f"HyperPod serves vLLM or SGLang, not '{engine}'.")

    namespace = options.namespace
    if not _DNS_LABEL.match(namespace) or len(namespace) > 63:
        add("namespace", "Use a Kubernetes namespace: lowercase letters, digits and '-', at most 63 characters.")
    name = deployment.remote_name
    budget = name_budget(namespace, options.routing)
    if not _DNS_LABEL.match(name):
        add("name", "Use lowercase letters, digits and '-', starting and ending with a letter or digit.")
    if len(name) > budget:
        why = f" with intelligent routing in namespace '{namespace}'" if options.routing and budget < NAME_LIMIT else ""
        add("name", f"At most {budget} characters{why} ({len(name)} given).")

    problem = model_source_problem(deployment.model.uri)
    if problem:
        add("model", problem)
    if deployment.model.adapters:
        add("lora_adapters", "LoRA adapters are not served on HyperPod yet; deploy merged weights.")

    if options.routing and options.routing_strategy not in ROUTING_STRATEGIES:
        add("routing_strategy", f"Choose one of {', '.join(ROUTING_STRATEGIES)}.")
    if options.public_load_balancer and not options.routing:
        add("public_load_balancer",
            "The operator creates a load balancer only with intelligent routing: turn routing on, or leave this off.")
    if _kv_cache_wanted(options) and engine == "sglang":
        add("kv_cache", "The operator manages a KV cache for vLLM only; use vLLM or turn the KV cache off.")
    if options.kv_cache_l2 and options.kv_cache_l2 not in L2_BACKENDS:
        add("kv_cache_l2", f"Choose one of {', '.join(L2_BACKENDS)}.")
    if options.kv_cache_l2 == "tieredstorage" and not facts.tiered_storage:
        add("kv_cache_l2", "This cluster has no HyperPod tiered storage; enable it on the cluster or use Redis.")
    if options.kv_cache_l2 == "redis" and not options.kv_cache_l2_url:
        add("kv_cache_l2_url", "Give the Redis URL of the L2 cache.")

    if not _TLS_URI.match(facts.tls_certificate_s3_uri or ""):
        add("cluster", "The cluster has no TLS certificate location (s3://bucket/prefix); set it on the cluster "
                       "or in HYPERPOD_TLS_CERTIFICATE_S3_URI.")

    replicas = deployment.instance_count
    if replicas < 1:
        add("instance_count", "Ask for at least one replica.")
    auto = deployment.autoscaling
    if auto and not (0 <= auto.min_instances <= replicas <= auto.max_instances):
        add("instance_count", f"With autoscaling, start between {auto.min_instances} and {auto.max_instances}.")

    capacity = facts.capacity(deployment.instance_type)
    if capacity is None:
        known = ", ".join(i.instance_type for i in facts.instances) or "none found yet"
        add("instance_type", f"The cluster has no {deployment.instance_type} nodes (it has: {known}).")
    elif engine in ENGINE_PORTS:
        gpus = tensor_parallel(deployment, options, capacity.gpus_per_node)
        if gpus > capacity.gpus_per_node:
            add("tensor_parallel_size",
                f"A replica needs {gpus} GPUs but a {capacity.instance_type} node has {capacity.gpus_per_node}.")
        elif capacity.free_gpus is not None and replicas * gpus > capacity.free_gpus:
            add("instance_count",
                f"{replicas} replica{'s' if replicas != 1 else ''} of {gpus} GPU{'s' if gpus != 1 else ''} need "
                f"{replicas * gpus} GPUs; the cluster has {capacity.free_gpus} free on {capacity.instance_type}.")

    if engine in ENGINE_PORTS:
        try:
            images.worker_image(engine, deployment.engine_version, facts.region, deployment.image)
        except images.WorkerImageError as exc:
            add(exc.field, str(exc))
    return errors


# --- rendering ----------------------------------------------------------------------------------------


def labels(deployment: Deployment) -> dict[str, str]:
    return {
        LABEL_ENDPOINT: str(deployment.endpoint_id),
        LABEL_ENGINE: deployment.engine,
        LABEL_MANAGED_BY: MANAGED_BY,
    }


def _model_source(uri: str, options: HyperPodOptions, region: str, kv_cache: bool) -> dict:
    # Prefetch stays off: with a KV cache spec it breaks the pod ("lmcache-config" mount not found).
    source: dict = {"prefetchEnabled": False} if kv_cache else {}
    s3 = _S3_URI.match(uri)
    if s3:
        return {"modelSourceType": "s3", "s3Storage": {"bucketName": s3.group(1), "region": options.s3_region or region},
                "modelLocation": s3.group(2).strip("/"), **source}
    fsx = _FSX_URI.match(uri)
    storage = {"fileSystemId": fsx.group(1)}
    if options.fsx_dns_name:
        storage["dnsName"] = options.fsx_dns_name
    if options.fsx_mount_name:
        storage["mountName"] = options.fsx_mount_name
    return {"modelSourceType": "fsx", "fsxStorage": storage, "modelLocation": (fsx.group(2) or "/").strip("/"), **source}


def _resources(gpus: int, capacity) -> dict:
    per_node = max(1, capacity.gpus_per_node // gpus) if capacity.gpus_per_node else 1
    cpu = max(1, floor(capacity.cpus_per_node * SHARE_OF_NODE / per_node))
    memory = max(1, floor(capacity.memory_gib_per_node * SHARE_OF_NODE / per_node))
    requests = {"nvidia.com/gpu": gpus, "cpu": str(cpu), "memory": f"{memory}Gi"}
    return {"requests": requests, "limits": {"nvidia.com/gpu": gpus, "memory": f"{memory}Gi"}}


def _api_key_env(deployment: Deployment) -> list[dict]:
    if not deployment.secrets.get(API_KEY_SECRET):
        return []
    ref = {"name": api_key_secret_name(deployment.remote_name), "key": API_KEY_DATA_KEY}
    return [{"name": API_KEY_ENV[deployment.engine], "valueFrom": {"secretKeyRef": ref}}]


def _readiness_probe(engine: str) -> dict:
    return {
        "httpGet": {"path": HEALTH_PATH, "port": ENGINE_PORTS[engine], "scheme": "HTTP"},
        "initialDelaySeconds": 30,
        "periodSeconds": 10,
        "timeoutSeconds": READINESS_TIMEOUT_SECONDS[engine],
        "failureThreshold": 3,
        "successThreshold": 1,
    }


def autoscaling_spec(deployment: Deployment) -> dict:
    """KEDA scaling on SageMaker's Invocations metric of the endpoint the operator registers."""
    auto = deployment.autoscaling
    return {
        "minReplicaCount": auto.min_instances,
        "maxReplicaCount": auto.max_instances,
        "pollingInterval": 30,
        "cooldownPeriod": auto.scale_in_cooldown,
        "scaleDownStabilizationTime": auto.scale_in_cooldown,
        "scaleUpStabilizationTime": auto.scale_out_cooldown,
        "cloudWatchTrigger": {
            "name": "sagemaker-invocations",
            "namespace": "AWS/SageMaker",
            "metricName": "Invocations",
            "metricStat": "Sum",
            "metricType": "Average",
            "metricCollectionPeriod": 60,
            "targetValue": auto.target_invocations_per_instance,
            # The operator registers the SageMaker endpoint under spec.endpointName: the same string.
            "dimensions": [{"name": "EndpointName", "value": deployment.remote_name},
                           {"name": "VariantName", "value": "AllTraffic"}],
        },
    }


def render(deployment: Deployment, facts: ClusterFacts) -> dict:
    """The InferenceEndpointConfig for `deployment` on a cluster with `facts`; ManifestError if it cannot work."""
    errors = problems(deployment, facts)
    if errors:
        raise ManifestError(errors)
    options = HyperPodOptions.from_mapping(deployment.options)
    engine, name = deployment.engine, deployment.remote_name
    capacity = facts.capacity(deployment.instance_type)
    gpus = tensor_parallel(deployment, options, capacity.gpus_per_node)
    kv_cache = _kv_cache_wanted(options)
    command, args = worker_command(deployment, options, gpus)
    port = ENGINE_PORTS[engine]

    worker = {
        "image": images.worker_image(engine, deployment.engine_version, facts.region, deployment.image),
        "command": command,
        "args": args,
        "resources": _resources(gpus, capacity),
        "modelInvocationPort": {"containerPort": port, "name": "http"},
        "modelVolumeMount": {"name": MODEL_VOLUME, "mountPath": MODEL_DIR},
        "probes": {"readinessProbe": _readiness_probe(engine)},
    }
    env = _api_key_env(deployment)
    if env:
        worker["environmentVariables"] = env

    spec: dict = {
        "modelName": name,
        "endpointName": name,
        "instanceType": deployment.instance_type,
        "replicas": deployment.instance_count,
        "invocationEndpoint": INVOCATION_PATH,
        "maxDeployTimeInSeconds": int(options.max_deploy_seconds),
        "modelSourceConfig": _model_source(deployment.model.uri, options, facts.region, kv_cache),
        "worker": worker,
        "loadBalancer": {"healthCheckPath": HEALTH_PATH},
        "metrics": {"enabled": True, "modelMetrics": {"path": METRICS_PATH, "port": port}},
        "tlsConfig": {"tlsCertificateOutputS3Uri": facts.tls_certificate_s3_uri},
        "tags": [{"name": "modelhub:endpoint-id", "value": str(deployment.endpoint_id)}],
    }
    if options.routing:
        spec["intelligentRoutingSpec"] = {"enabled": True, "routingStrategy": options.routing_strategy}
    if kv_cache:
        kv = {"enableL1Cache": bool(options.kv_cache), "enableL2Cache": bool(options.kv_cache_l2)}
        if options.kv_cache_l2:
            kv["l2CacheSpec"] = {"l2CacheBackend": options.kv_cache_l2}
            if options.kv_cache_l2_url:
                kv["l2CacheSpec"]["l2CacheLocalUrl"] = options.kv_cache_l2_url
        spec["kvCacheSpec"] = kv
    if deployment.autoscaling:
        spec["autoScalingSpec"] = autoscaling_spec(deployment)

    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": KIND,
        "metadata": {"name": name, "namespace": options.namespace, "labels": labels(deployment)},
        "spec": spec,
    }


def api_key_secret(deployment: Deployment, *, name: str | None = None, namespace: str | None = None) -> dict | None:
    """The Secret the worker (and, copied beside it, the router) reads the API key from; None without a key."""
    key = deployment.secrets.get(API_KEY_SECRET)
    if not key:
        return None
    options = HyperPodOptions.from_mapping(deployment.options)
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": {
            "name": name or api_key_secret_name(deployment.remote_name),
            "namespace": namespace or options.namespace,
            "labels": labels(deployment),
        },
        "stringData": {API_KEY_DATA_KEY: key},
    }

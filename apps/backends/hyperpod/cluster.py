"""Reaching a HyperPod EKS cluster: one Kubernetes ApiClient per cluster, EKS tokens, inspection.

Every cluster gets its own `kubernetes.client.Configuration` and `ApiClient`; the process-global
default configuration is never loaded or changed, so two clusters used at once cannot mix.
A cluster registered by EKS name authenticates with an EKS token (a presigned STS
GetCallerIdentity URL bound to the cluster name), fetched again shortly before it expires on the
request that needs it; an uploaded kubeconfig is loaded in memory (temporary files for
certificates only, never the token).
"""

from __future__ import annotations

import base64
import hashlib
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

import boto3
import yaml
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.utils import parse_quantity

from apps.backends import aws
from apps.backends.base import (
    ClusterConnection,
    ClusterFacts,
    ClusterInspection,
    Deployment,
    InstanceCapacity,
    InstanceGroup,
)
from apps.backends.errors import BackendError, RemoteValidationError, TransientError

from . import manifest
from .manifest import GROUP, PLURAL

EKS_TOKEN_PREFIX = "k8s-aws-v1."
EKS_TOKEN_LIFETIME = 15 * 60  # EKS accepts a token for 15 minutes after it was signed
TOKEN_REFRESH_MARGIN = 5 * 60  # fetch a new one when less than this is left
CRD_NAME = f"{PLURAL}.{GROUP}"
INSTANCE_TYPE_LABEL = "node.kubernetes.io/instance-type"
GPU = "nvidia.com/gpu"
REQUEST_TIMEOUT = (5, 30)  # connect, read (seconds)


# --- EKS ------------------------------------------------------------------------------------------


def _sts(region: str, role_arn: str):
    """A new STS client (the signing hook below is per client) with the default credentials, or
    with those of `role_arn`, assumed for this token."""
    if not role_arn:
        return boto3.session.Session().client("sts", region_name=region)
    with aws.aws_errors():
        credentials = aws.client("sts", region).assume_role(
            RoleArn=role_arn, RoleSessionName="modelhub-hyperpod", DurationSeconds=EKS_TOKEN_LIFETIME * 4,
        )["Credentials"]
    return boto3.session.Session(
        aws_access_key_id=credentials["AccessKeyId"], aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    ).client("sts", region_name=region)


def eks_token(eks_cluster_name: str, region: str, role_arn: str = "", *,
              now: Callable[[], float] = time.time) -> tuple[str, float]:
    """(token, expires_at) for the EKS API of `eks_cluster_name`, from the default AWS credentials
    or those of `role_arn`."""
    sts = _sts(region, role_arn)

    def bind_cluster(request, **_):
        request.headers["x-k8s-aws-id"] = eks_cluster_name

    sts.meta.events.register_first("before-sign.sts.GetCallerIdentity", bind_cluster)
    with aws.aws_errors():
        url = sts.generate_presigned_url("get_caller_identity", Params={}, ExpiresIn=60, HttpMethod="GET")
    token = EKS_TOKEN_PREFIX + base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")
    return token, now() + EKS_TOKEN_LIFETIME


def eks_endpoint(eks_cluster_name: str, region: str) -> tuple[str, str]:
    """(API server URL, base64 CA) of an EKS cluster."""
    with aws.aws_errors():
        cluster = aws.client("eks", region).describe_cluster(name=eks_cluster_name)["cluster"]
    return cluster["endpoint"], cluster.get("certificateAuthority", {}).get("data", "")


# --- clients ---------------------------------------------------------------------------------------


class _Token:
    """Keeps one cluster's bearer token fresh: called by the client before each request."""

    def __init__(self, provider: Callable[[], tuple[str, float]], clock: Callable[[], float]):
        self.provider, self.clock = provider, clock
        self.expires_at = 0.0
        self.lock = threading.Lock()

    def __call__(self, configuration: k8s.Configuration) -> None:
        with self.lock:
            if self.clock() < self.expires_at - TOKEN_REFRESH_MARGIN:
                return
            token, self.expires_at = self.provider()
            configuration.api_key["authorization"] = token


def _ca_file(ca_data: str) -> str:
    """A file holding the CA (the client wants a path); named by content, so written once."""
    pem = base64.b64decode(ca_data)
    path = Path(tempfile.gettempdir()) / f"modelhub-ca-{hashlib.sha256(pem).hexdigest()[:16]}.pem"
    if not path.exists():
        path.write_bytes(pem)
    return str(path)


def configuration(connection: ClusterConnection, *, clock: Callable[[], float] = time.time) -> k8s.Configuration:
    """A Configuration of this cluster's own (never the process-wide default)."""
    configuration = k8s.Configuration()
    if connection.kubeconfig:
        try:
            document = yaml.safe_load(connection.kubeconfig)
            k8s_config.load_kube_config_from_dict(document, client_configuration=configuration, persist_config=False)
        except Exception as exc:  # noqa: BLE001 - any parse or loader failure is a configuration problem
            raise RemoteValidationError(f"The cluster's kubeconfig cannot be used: {type(exc).__name__}: {exc}") from exc
        return configuration
    endpoint, ca_data = connection.endpoint, connection.ca_data
    if not endpoint and connection.eks_cluster_name:
        endpoint, ca_data = eks_endpoint(connection.eks_cluster_name, connection.region)
    provider = connection.token_provider
    if provider is None and connection.eks_cluster_name:
        provider = partial(eks_token, connection.eks_cluster_name, connection.region, connection.role_arn)
    if not endpoint or provider is None:
        raise RemoteValidationError(f"Cluster {connection.name} has neither an EKS cluster name nor a kubeconfig.")
    configuration.host = endpoint
    if ca_data:
        configuration.ssl_ca_cert = _ca_file(ca_data)
    configuration.api_key_prefix["authorization"] = "Bearer"
    configuration.api_key["authorization"] = ""
    configuration.refresh_api_key_hook = _Token(provider, clock)
    return configuration


@dataclass
class _Cached:
    fingerprint: str
    api_client: k8s.ApiClient


_clients: dict[int, _Cached] = {}
_clients_lock = threading.Lock()


def api_client(connection: ClusterConnection) -> k8s.ApiClient:
    """This cluster's ApiClient, built once per connection settings (a changed fingerprint rebuilds it)."""
    with _clients_lock:
        cached = _clients.get(connection.cluster_id)
        if cached is None or cached.fingerprint != connection.fingerprint:
            cached = _clients[connection.cluster_id] = _Cached(
                connection.fingerprint, k8s.ApiClient(configuration(connection))
            )
        return cached.api_client


def forget(cluster_id: int) -> None:
    """Drop a cluster's client (after it is deleted or its settings changed)."""
    with _clients_lock:
        _clients.pop(cluster_id, None)


class kubernetes_errors:  # noqa: N801 - used like a function, as apps.backends.aws.aws_errors
    """Context manager: Kubernetes client exceptions as backend errors. 404 and 409 stay ApiExceptions,
    for the caller to read as "gone" and "adopt"."""

    def __init__(self, what: str):
        self.what = what

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc is None:
            return False
        if isinstance(exc, k8s.ApiException):
            if exc.status in (404, 409):
                return False  # callers decide: gone / adopt
            if exc.status in (401, 403):
                raise RemoteValidationError(
                    f"{self.what}: the cluster refused ModelHub's credentials (HTTP {exc.status}); "
                    "check its access entry / RBAC (docs/hyperpod.md)."
                ) from exc
            if exc.status in (422, 400):
                raise RemoteValidationError(f"{self.what}: the cluster rejected the request: {exc.reason}") from exc
            if exc.status == 0 or exc.status >= 500 or exc.status == 429:
                raise TransientError(f"{self.what}: the cluster answered HTTP {exc.status}.") from exc
            raise BackendError(f"{self.what}: HTTP {exc.status} {exc.reason}") from exc
        if isinstance(exc, OSError) or type(exc).__module__.startswith("urllib3"):
            raise TransientError(f"{self.what}: cannot reach the cluster ({type(exc).__name__}).") from exc
        return False


def is_status(exc: BaseException, status: int) -> bool:
    return isinstance(exc, k8s.ApiException) and exc.status == status


# --- inspection ------------------------------------------------------------------------------------


def _items(call, *args, **kwargs) -> list:
    """A list call's items; a 404 for an empty collection (as some API servers answer) is no items."""
    try:
        return list(call(*args, **kwargs).items or [])
    except k8s.ApiException as exc:
        if exc.status == 404:
            return []
        raise


def _gpu_requests(pod) -> int:
    total = 0
    for container in (pod.spec.containers or []) if pod.spec else []:
        resources = container.resources
        requests = (resources.requests or {}) if resources else {}
        limits = (resources.limits or {}) if resources else {}
        total += int(parse_quantity(requests.get(GPU) or limits.get(GPU) or 0))
    return total


def node_capacity(nodes: list, pods: list) -> tuple[InstanceCapacity, ...]:
    """Per instance type: nodes, per-node allocatable GPUs / CPUs / memory, and GPUs not requested by pods."""
    used: dict[str, int] = {}
    for pod in pods:
        phase = pod.status.phase if pod.status else ""
        if pod.spec and pod.spec.node_name and phase not in ("Succeeded", "Failed"):
            used[pod.spec.node_name] = used.get(pod.spec.node_name, 0) + _gpu_requests(pod)
    groups: dict[str, list] = {}
    for node in nodes:
        instance_type = (node.metadata.labels or {}).get(INSTANCE_TYPE_LABEL, "")
        if instance_type:
            groups.setdefault(instance_type, []).append(node)
    capacity = []
    for instance_type, members in sorted(groups.items()):
        def allocatable(node, key):
            return parse_quantity((node.status.allocatable or {}).get(key, 0)) if node.status else 0

        gpus = [int(allocatable(n, GPU)) for n in members]
        schedulable = [n for n in members if not (n.spec and n.spec.unschedulable)]
        free = sum(max(0, int(allocatable(n, GPU)) - used.get(n.metadata.name, 0)) for n in schedulable)
        capacity.append(InstanceCapacity(
            instance_type=instance_type,
            nodes=len(members),
            gpus_per_node=max(gpus or [0]),
            cpus_per_node=float(min(allocatable(n, "cpu") for n in members)),
            memory_gib_per_node=round(float(min(allocatable(n, "memory") for n in members)) / 2**30, 1),
            free_gpus=free,
        ))
    return tuple(capacity)


def hyperpod_description(cluster_name_or_arn: str, region: str) -> tuple[str, tuple[InstanceGroup, ...], bool]:
    """(status, instance groups, tiered storage enabled) from SageMaker."""
    sagemaker = aws.client("sagemaker", region)
    with aws.aws_errors():
        described = sagemaker.describe_cluster(ClusterName=cluster_name_or_arn)
    groups = tuple(
        InstanceGroup(
            name=g.get("InstanceGroupName", ""), instance_type=g.get("InstanceType", ""),
            current=int(g.get("CurrentCount") or 0), target=int(g.get("TargetCount") or 0), status=g.get("Status", ""),
        )
        for g in described.get("InstanceGroups", [])
    )
    tiered = (described.get("TieredStorageConfig") or {}).get("Mode", "").lower() == "enable"
    return described.get("ClusterStatus", ""), groups, tiered


def inspect(connection: ClusterConnection, *, hyperpod_cluster: str = "") -> ClusterInspection:
    """Look at the cluster: Kubernetes version, namespaces, nodes and free GPUs, the operator's CRD,
    and (given the HyperPod cluster's name or ARN) its SageMaker instance groups.

    An unreachable cluster is an Inspection with `reachable=False` and the reason, not an error.
    An EKS cluster's API endpoint and CA are looked up when the connection has none, and reported."""
    try:
        if connection.eks_cluster_name and not connection.endpoint:
            endpoint, ca_data = eks_endpoint(connection.eks_cluster_name, connection.region)
            connection = replace(connection, endpoint=endpoint, ca_data=ca_data)
        api = api_client(connection)
        with kubernetes_errors("Inspect"):
            version = k8s.VersionApi(api).get_code(_request_timeout=REQUEST_TIMEOUT).git_version
            core = k8s.CoreV1Api(api)
            namespaces = tuple(sorted(n.metadata.name for n in _items(core.list_namespace, _request_timeout=REQUEST_TIMEOUT)))
            nodes = _items(core.list_node, _request_timeout=REQUEST_TIMEOUT)
            pods = _items(core.list_pod_for_all_namespaces, _request_timeout=REQUEST_TIMEOUT)
            try:
                k8s.ApiextensionsV1Api(api).read_custom_resource_definition(CRD_NAME, _request_timeout=REQUEST_TIMEOUT)
                operator = True
            except k8s.ApiException as exc:
                if exc.status != 404:
                    raise
                operator = False
    except BackendError as exc:
        return ClusterInspection(reachable=False, reason=str(exc))
    except k8s.ApiException as exc:
        return ClusterInspection(reachable=False, reason=f"The cluster answered HTTP {exc.status} {exc.reason}.")

    status, groups, tiered, warnings = "", (), None, []
    if hyperpod_cluster:
        try:
            status, groups, tiered = hyperpod_description(hyperpod_cluster, connection.region)
        except BackendError as exc:
            warnings.append(f"SageMaker did not describe the HyperPod cluster: {exc}")
    return ClusterInspection(
        reachable=True, kubernetes_version=version or "", namespaces=namespaces, operator_installed=operator,
        instances=node_capacity(nodes, pods), instance_groups=groups, remote_status=status,
        tiered_storage=tiered, warnings=tuple(warnings), api_endpoint=connection.endpoint, ca_data=connection.ca_data,
    )


class HyperPodClusters:
    """The cluster contract (apps.backends.base.ClusterBackend) for HyperPod EKS clusters."""

    name = "hyperpod"
    label = "HyperPod"
    option_choices = {"routing_strategy": manifest.ROUTING_STRATEGIES, "kv_cache_l2": manifest.L2_BACKENDS}

    def inspect(self, connection: ClusterConnection, *, remote_cluster: str = "") -> ClusterInspection:
        return inspect(connection, hyperpod_cluster=remote_cluster)

    def forget(self, cluster_id: int) -> None:
        forget(cluster_id)

    def deploy_problems(self, deployment: Deployment, facts: ClusterFacts) -> dict[str, list[str]]:
        return manifest.problems(deployment, facts)

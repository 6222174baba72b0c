"""HyperPod endpoints: an InferenceEndpointConfig per ModelHub endpoint, through the cluster's own client.

The cluster comes from `Deployment.options` / `EndpointRef.options` (`cluster_id`, `namespace`,
`routing`, `served_model_name`); the backend asks the resolver named in
settings.HYPERPOD_CLUSTER_RESOLVER for a `ClusterConnection` and never reads the clusters app.

- deploy: the API key Secret (and, with intelligent routing, its copy beside the router), then the
  custom object; a name that exists is adopted when its labels say it is this endpoint's.
- describe / poll_many: `status.state`, `deploymentStatus` and conditions in EndpointPhase words;
  the URL from the routing Ingress's hostname or the TLS certificate's domain. A public endpoint gets an
  internet-facing twin of the operator's Ingress and has a URL only once the twin has a hostname.
- update: a JSON merge patch of `spec.replicas` and the autoscaling bounds, nothing else.
- delete: the custom object and the Secrets and Ingress ModelHub made (by label), each 404 meaning done.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime

from django.conf import settings
from django.utils.module_loading import import_string
from kubernetes import client as k8s

from apps.backends import http_upstream
from apps.backends.base import (
    EngineImage,
    Capability,
    Deployment,
    EndpointPhase,
    EndpointRef,
    LogLine,
    LogPage,
    Readiness,
    RemoteState,
)
from apps.backends.errors import RemoteConflict, RemoteNotFound, RemoteValidationError

from . import images, manifest
from .cluster import REQUEST_TIMEOUT, api_client, is_status, kubernetes_errors
from apps.backends.base import ClusterConnection

logger = logging.getLogger(__name__)

MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
TARGET = "hyperpod"


def resolve(options) -> tuple[ClusterConnection, str]:
    """(connection, namespace) for a deployment's or ref's options."""
    cluster_id = (options or {}).get("cluster_id")
    if cluster_id in (None, ""):
        raise RemoteValidationError("This HyperPod endpoint names no cluster.")
    resolver = import_string(settings.HYPERPOD_CLUSTER_RESOLVER)
    return resolver(int(cluster_id)), (options or {}).get("namespace") or "default"


# --- status mapping (pure) ---------------------------------------------------------------------------


def _conditions(obj: dict) -> list[dict]:
    status = obj.get("status") or {}
    deployment = (status.get("deploymentStatus") or {}).get("status") or {}
    return list(status.get("conditions") or []) + list(deployment.get("conditions") or [])


def _condition_message(obj: dict) -> str:
    failing = [c for c in _conditions(obj) if c.get("status") == "False" and c.get("message")]
    return failing[0]["message"] if failing else ""


def invocation_url(obj: dict, ingress_hostname: str = "") -> str:
    """https://<routing Ingress hostname or TLS domain>/<invocationEndpoint>, or '' while neither exists."""
    path = (obj.get("spec") or {}).get("invocationEndpoint") or manifest.INVOCATION_PATH
    host = ingress_hostname
    if not host:
        domains = ((obj.get("status") or {}).get("tlsCertificate") or {}).get("certificateDomainNames") or []
        host = next((d for d in domains if d and "*" not in d), "")
    return f"https://{host}/{path.lstrip('/')}" if host else ""


def state_from_object(obj: dict, *, ingress_hostname: str = "") -> RemoteState:
    """The endpoint's phase from the operator's status, with the operator's own words kept for display."""
    metadata, spec, status = obj.get("metadata") or {}, obj.get("spec") or {}, obj.get("status") or {}
    deployment = status.get("deploymentStatus") or {}
    replicas = deployment.get("status") or {}
    state = status.get("state") or ""
    overall = deployment.get("deploymentObjectOverallState") or ""
    ready, available = int(replicas.get("readyReplicas") or 0), int(replicas.get("availableReplicas") or 0)
    desired = int(spec.get("replicas") or 0)
    reason = " ".join(p for p in (deployment.get("reason"), deployment.get("message")) if p) or _condition_message(obj)
    available_condition = any(c.get("type") == "Available" and c.get("status") == "True" for c in _conditions(obj))
    generation, observed = metadata.get("generation"), status.get("observedGeneration")

    if metadata.get("deletionTimestamp") or state.startswith("Deletion"):
        phase = EndpointPhase.FAILED if state == "DeletionFailed" else EndpointPhase.DELETING
    elif "Failed" in state or "Failed" in overall:
        phase = EndpointPhase.FAILED
    elif overall == "DeploymentComplete" and ((available > 0 and ready > 0) or available_condition):
        phase = EndpointPhase.IN_SERVICE
        if generation is not None and observed is not None and observed < generation:
            phase = EndpointPhase.UPDATING  # a spec change the operator has not acted on yet
    else:
        phase = EndpointPhase.CREATING
    sagemaker = ((status.get("endpoints") or {}).get("sagemaker") or {}).get("state", "")
    return RemoteState(
        name=metadata.get("name", ""),
        phase=phase,
        remote_status=state or overall or "Pending",
        detail=overall if overall and overall != state else "",
        message=reason,
        failure_reason=reason or state if phase == EndpointPhase.FAILED else "",
        remote_id=metadata.get("uid", ""),
        invocation_url=invocation_url(obj, ingress_hostname),
        instances=(ready, desired),
        extra={
            "ready_replicas": ready,
            "routing": bool((spec.get("intelligentRoutingSpec") or {}).get("enabled")),
            "routing_strategy": (spec.get("intelligentRoutingSpec") or {}).get("routingStrategy", ""),
            "sagemaker_endpoint": sagemaker,
            "autoscaling": {k: (spec.get("autoScalingSpec") or {}).get(k)
                            for k in ("minReplicaCount", "maxReplicaCount")} if spec.get("autoScalingSpec") else None,
        },
    )


def _missing(name: str) -> RemoteState:
    return RemoteState(name=name, phase=EndpointPhase.NOT_FOUND, remote_status="NotFound")


def scale_patch(deployment: Deployment, current_spec: dict) -> dict:
    """The merge patch that changes replicas and autoscaling bounds, and nothing else."""
    spec: dict = {"replicas": deployment.instance_count}
    if deployment.autoscaling:
        if current_spec.get("autoScalingSpec"):
            spec["autoScalingSpec"] = {"minReplicaCount": deployment.autoscaling.min_instances,
                                       "maxReplicaCount": deployment.autoscaling.max_instances}
        else:
            spec["autoScalingSpec"] = manifest.autoscaling_spec(deployment)
    elif current_spec.get("autoScalingSpec"):
        spec["autoScalingSpec"] = None  # merge patch: remove
    return {"spec": spec}


# --- the backend -------------------------------------------------------------------------------------


class HyperPodServing:
    name = TARGET
    label = "HyperPod"
    capabilities = frozenset({Capability.STREAMING_CHAT, Capability.SCALING, Capability.AUTOSCALING,
                              Capability.LOGS, Capability.API_KEY})

    def readiness(self) -> Readiness:
        missing = []
        try:
            import_string(settings.HYPERPOD_CLUSTER_RESOLVER)
        except (ImportError, AttributeError):
            missing.append(f"HYPERPOD_CLUSTER_RESOLVER ({settings.HYPERPOD_CLUSTER_RESOLVER!r}) cannot be imported.")
        return Readiness(usable=not missing, missing=tuple(missing),
                         detail="Register a HyperPod cluster on the Clusters page to deploy to it.")

    # deploy ------------------------------------------------------------------------------------------

    def engine_image(self, engine: str, version: str = "", region: str = "") -> EngineImage:
        return images.engine_image(engine, version, region or settings.AWS_REGION)

    def deploy(self, deployment: Deployment) -> RemoteState:
        connection, namespace = resolve(deployment.options)
        body = manifest.render(deployment, connection.facts)  # ManifestError: nothing is created
        api = api_client(connection)
        name = deployment.remote_name
        secret = manifest.api_key_secret(deployment)
        if secret:
            self._apply_secret(api, secret, deployment.endpoint_id)
            if body["spec"].get("intelligentRoutingSpec"):
                copy = manifest.api_key_secret(deployment, name=manifest.router_secret_name(name, namespace),
                                               namespace=manifest.OPERATOR_NAMESPACE)
                self._apply_secret(api, copy, deployment.endpoint_id)
        adopted = False
        custom = k8s.CustomObjectsApi(api)
        try:
            with kubernetes_errors(f"Create {name}"):
                custom.create_namespaced_custom_object(manifest.GROUP, manifest.VERSION, namespace, manifest.PLURAL,
                                                       body, _request_timeout=REQUEST_TIMEOUT)
        except k8s.ApiException as exc:
            if not is_status(exc, 409):
                raise
            existing = self._get(api, namespace, name)
            if existing is None or not self._is_ours(existing, deployment.endpoint_id):
                raise RemoteConflict(
                    f"An InferenceEndpointConfig named {name} already exists in {namespace} and is not ModelHub "
                    f"endpoint {deployment.endpoint_id}'s; delete it or choose another name."
                ) from exc
            adopted = True
        obj = self._get(api, namespace, name)  # create may answer without a body: read what is there
        if obj is None:
            return _missing(name)
        return replace(state_from_object(obj), adopted=adopted, region=connection.region)

    def _apply_secret(self, api, secret: dict, endpoint_id: int) -> None:
        core = k8s.CoreV1Api(api)
        meta = secret["metadata"]
        try:
            with kubernetes_errors(f"Create Secret {meta['name']}"):
                core.create_namespaced_secret(meta["namespace"], secret, _request_timeout=REQUEST_TIMEOUT)
        except k8s.ApiException as exc:
            if not is_status(exc, 409):
                raise
            with kubernetes_errors(f"Read Secret {meta['name']}"):
                existing = core.read_namespaced_secret(meta["name"], meta["namespace"], _request_timeout=REQUEST_TIMEOUT)
            if (existing.metadata.labels or {}).get(manifest.LABEL_ENDPOINT) != str(endpoint_id):
                raise RemoteConflict(
                    f"A Secret named {meta['name']} already exists in {meta['namespace']} and is not ModelHub's."
                ) from exc
            with kubernetes_errors(f"Update Secret {meta['name']}"):
                core.patch_namespaced_secret(meta["name"], meta["namespace"], {"stringData": secret["stringData"]},
                                             _request_timeout=REQUEST_TIMEOUT)

    @staticmethod
    def _is_ours(obj: dict, endpoint_id: int) -> bool:
        return ((obj.get("metadata") or {}).get("labels") or {}).get(manifest.LABEL_ENDPOINT) == str(endpoint_id)

    @staticmethod
    def _get(api, namespace: str, name: str) -> dict | None:
        try:
            with kubernetes_errors(f"Read {name}"):
                return k8s.CustomObjectsApi(api).get_namespaced_custom_object(
                    manifest.GROUP, manifest.VERSION, namespace, manifest.PLURAL, name, _request_timeout=REQUEST_TIMEOUT)
        except k8s.ApiException as exc:
            if is_status(exc, 404):
                return None
            raise

    # watch -------------------------------------------------------------------------------------------

    def describe(self, ref: EndpointRef) -> RemoteState:
        connection, namespace = resolve(ref.options)
        api = api_client(connection)
        obj = self._get(api, namespace, ref.remote_name)
        if obj is None:
            return _missing(ref.remote_name)
        return self._state(api, obj, ref, namespace)

    def poll_many(self, refs: Iterable[EndpointRef]) -> dict[str, RemoteState]:
        """One list call per cluster and namespace (ModelHub's objects only, by label)."""
        groups: dict[tuple, list[EndpointRef]] = {}
        for ref in refs:
            if ref.remote_name:
                groups.setdefault((ref.options.get("cluster_id"), ref.options.get("namespace") or "default"), []).append(ref)
        states: dict[str, RemoteState] = {}
        for (_, namespace), members in groups.items():
            connection, _ = resolve(members[0].options)
            api = api_client(connection)
            listed = self._list(api, namespace)
            for ref in members:
                obj = listed.get(ref.remote_name)
                states[ref.remote_name] = self._state(api, obj, ref, namespace) if obj else _missing(ref.remote_name)
        return states

    def _list(self, api, namespace: str) -> dict[str, dict]:
        selector = f"{manifest.LABEL_MANAGED_BY}={manifest.MANAGED_BY}"
        try:
            with kubernetes_errors(f"List endpoints in {namespace}"):
                listed = k8s.CustomObjectsApi(api).list_namespaced_custom_object(
                    manifest.GROUP, manifest.VERSION, namespace, manifest.PLURAL, label_selector=selector,
                    _request_timeout=REQUEST_TIMEOUT)
        except k8s.ApiException as exc:
            if is_status(exc, 404):  # an empty collection on some API servers
                return {}
            raise
        return {item["metadata"]["name"]: item for item in listed.get("items") or []}

    def _state(self, api, obj: dict, ref: EndpointRef, namespace: str) -> RemoteState:
        name = ref.remote_name
        routing = bool(((obj.get("spec") or {}).get("intelligentRoutingSpec") or {}).get("enabled"))
        public = routing and bool((ref.options or {}).get("public_load_balancer"))
        hostname = ""
        if routing:
            internal = self._read_ingress(api, manifest.routing_ingress_name(name, namespace))
            if public:
                labels = (obj.get("metadata") or {}).get("labels") or {}
                hostname = self._public_hostname(api, internal, name, namespace, labels)
            else:
                hostname = _hostname(internal)
        state = state_from_object(obj, ingress_hostname=hostname)
        if public and not hostname and state.phase in (EndpointPhase.IN_SERVICE, EndpointPhase.CREATING):
            # Never record the internal address of an endpoint asked to be public.
            state = replace(state, phase=EndpointPhase.CREATING, invocation_url="",
                            message=state.message or "Waiting for the public load balancer's address.")
        if routing and ref.api_key and state.phase != EndpointPhase.DELETING:
            self._ensure_router_key(api, name, namespace, (obj.get("metadata") or {}).get("labels") or {})
        return state

    @staticmethod
    def _read_ingress(api, name: str) -> dict | None:
        try:
            with kubernetes_errors(f"Read Ingress {name}"):
                ingress = k8s.NetworkingV1Api(api).read_namespaced_ingress(
                    name, manifest.OPERATOR_NAMESPACE, _request_timeout=REQUEST_TIMEOUT)
        except k8s.ApiException as exc:
            if is_status(exc, 404):
                return None
            raise
        return api.sanitize_for_serialization(ingress)

    def _public_hostname(self, api, internal: dict | None, name: str, namespace: str, labels: dict) -> str:
        """The internet-facing twin's hostname; the twin is created once the operator's Ingress exists."""
        public = self._read_ingress(api, manifest.public_ingress_name(name, namespace))
        if public is not None:
            return _hostname(public)
        if internal is None:
            return ""
        body = manifest.public_ingress(internal, name, namespace, labels)
        try:
            with kubernetes_errors(f"Create Ingress {body['metadata']['name']}"):
                k8s.NetworkingV1Api(api).create_namespaced_ingress(manifest.OPERATOR_NAMESPACE, body,
                                                                   _request_timeout=REQUEST_TIMEOUT)
        except k8s.ApiException as exc:
            if not is_status(exc, 409):
                raise
        logger.info("Endpoint %s: internet-facing Ingress requested", name)
        return ""

    def _ensure_router_key(self, api, name: str, namespace: str, labels: dict) -> None:
        """The router reads the key from the Secret copy beside it. The operator copies the worker's
        environment to the router without `valueFrom`, so the reference is put back whenever missing."""
        apps = k8s.AppsV1Api(api)
        router = manifest.router_deployment_name(name, namespace)
        try:
            with kubernetes_errors(f"Read router {router}"):
                current = apps.read_namespaced_deployment(router, manifest.OPERATOR_NAMESPACE,
                                                          _request_timeout=REQUEST_TIMEOUT)
        except k8s.ApiException as exc:
            if is_status(exc, 404):
                return  # not created yet: the next poll looks again
            raise
        ref = {"name": manifest.router_secret_name(name, namespace), "key": manifest.API_KEY_DATA_KEY}
        env_name = manifest.API_KEY_ENV["vllm"]
        containers = current.spec.template.spec.containers or []
        missing = [c.name for c in containers if not any(
            e.name == env_name and e.value_from and e.value_from.secret_key_ref
            and e.value_from.secret_key_ref.name == ref["name"] for e in (c.env or []))]
        if not missing:
            return
        patch = {"spec": {"template": {"spec": {"containers": [
            {"name": c, "env": [{"name": env_name, "valueFrom": {"secretKeyRef": ref}}]} for c in missing]}}}}
        with kubernetes_errors(f"Patch router {router}"):
            apps.patch_namespaced_deployment(router, manifest.OPERATOR_NAMESPACE, patch,
                                             _content_type=STRATEGIC_MERGE_PATCH, _request_timeout=REQUEST_TIMEOUT)
        logger.info("Router %s: API key reference restored", router)

    # scale -------------------------------------------------------------------------------------------

    def update(self, deployment: Deployment, ref: EndpointRef) -> RemoteState:
        connection, namespace = resolve(ref.options or deployment.options)
        api = api_client(connection)
        obj = self._get(api, namespace, ref.remote_name)
        if obj is None:
            raise RemoteNotFound(f"The cluster has no endpoint named {ref.remote_name}.")
        capacity = connection.facts.capacity(deployment.instance_type)
        if capacity and capacity.free_gpus is not None:
            gpus = manifest.tensor_parallel(deployment, manifest.HyperPodOptions.from_mapping(deployment.options),
                                            capacity.gpus_per_node)
            now = int((obj.get("spec") or {}).get("replicas") or 0)
            extra = (deployment.instance_count - now) * gpus
            if extra > capacity.free_gpus:
                raise RemoteValidationError(
                    f"{extra} more GPUs are needed; the cluster has {capacity.free_gpus} free on {capacity.instance_type}.")
        with kubernetes_errors(f"Scale {ref.remote_name}"):
            k8s.CustomObjectsApi(api).patch_namespaced_custom_object(
                manifest.GROUP, manifest.VERSION, namespace, manifest.PLURAL, ref.remote_name,
                scale_patch(deployment, obj.get("spec") or {}), _content_type=MERGE_PATCH,
                _request_timeout=REQUEST_TIMEOUT)
        return self.describe(ref)

    # delete ------------------------------------------------------------------------------------------

    def delete(self, ref: EndpointRef) -> None:
        if not ref.remote_name:
            return
        connection, namespace = resolve(ref.options)
        api = api_client(connection)
        name = ref.remote_name
        try:
            with kubernetes_errors(f"Delete {name}"):
                k8s.CustomObjectsApi(api).delete_namespaced_custom_object(
                    manifest.GROUP, manifest.VERSION, namespace, manifest.PLURAL, name, _request_timeout=REQUEST_TIMEOUT)
        except k8s.ApiException as exc:
            if not is_status(exc, 404):
                raise
        core, networking = k8s.CoreV1Api(api), k8s.NetworkingV1Api(api)
        owned = (
            (core.read_namespaced_secret, core.delete_namespaced_secret, manifest.api_key_secret_name(name), namespace),
            (core.read_namespaced_secret, core.delete_namespaced_secret,
             manifest.router_secret_name(name, namespace), manifest.OPERATOR_NAMESPACE),
            (networking.read_namespaced_ingress, networking.delete_namespaced_ingress,
             manifest.public_ingress_name(name, namespace), manifest.OPERATOR_NAMESPACE),
        )
        for read, delete, piece, piece_namespace in owned:
            self._delete_ours(read, delete, piece, piece_namespace, ref.endpoint_id)

    @staticmethod
    def _delete_ours(read, delete, name: str, namespace: str, endpoint_id: int) -> None:
        """Delete an object ModelHub made for this endpoint (by its label); gone already is fine.
        An Ingress's load balancer finalizer is left to its controller, which removes the ALB first."""
        try:
            with kubernetes_errors(f"Delete {namespace}/{name}"):
                found = read(name, namespace, _request_timeout=REQUEST_TIMEOUT)
                if (found.metadata.labels or {}).get(manifest.LABEL_ENDPOINT) != str(endpoint_id):
                    logger.warning("%s/%s is not ModelHub endpoint %s's: left in place", namespace, name, endpoint_id)
                    return
                delete(name, namespace, _request_timeout=REQUEST_TIMEOUT)
        except k8s.ApiException as exc:
            if not is_status(exc, 404):
                raise

    # logs --------------------------------------------------------------------------------------------

    def logs(self, ref: EndpointRef, next_token: str | None = None, limit: int = 50) -> LogPage:
        """The endpoint's pods: their events (scheduling, image pulls, probe failures) and the model
        container's last `limit` log lines, oldest first."""
        connection, namespace = resolve(ref.options)
        core = k8s.CoreV1Api(api_client(connection))
        lines: list[LogLine] = []
        with kubernetes_errors("Read pods"):
            pods = [p for p in _list_items(core.list_namespaced_pod, namespace)
                    if p.metadata.name.startswith(f"{ref.remote_name}-")]
            for pod in pods:
                for event in _list_items(core.list_namespaced_event, namespace,
                                         field_selector=f"involvedObject.name={pod.metadata.name}"):
                    when = event.last_timestamp or event.event_time or event.first_timestamp or _epoch()
                    lines.append(LogLine(when, f"{event.reason}: {event.message}", f"events/{pod.metadata.name}"))
                container = _model_container(pod)
                if container:
                    try:
                        text = core.read_namespaced_pod_log(pod.metadata.name, namespace, container=container,
                                                            tail_lines=limit, timestamps=True,
                                                            _request_timeout=REQUEST_TIMEOUT)
                    except k8s.ApiException as exc:
                        if not is_status(exc, 404) and not is_status(exc, 400):  # 400: container not started
                            raise
                        text = ""
                    lines += [_log_line(raw, f"{pod.metadata.name}/{container}") for raw in (text or "").splitlines()]
        lines.sort(key=lambda line: line.timestamp)
        return LogPage(lines=lines[-limit:], next_token=None)

    # traffic -----------------------------------------------------------------------------------------

    @staticmethod
    def _body_for(ref: EndpointRef, body: bytes) -> bytes:
        """The request with a `model` (the served name when the client sent none). A model the chat code
        chose is kept: it is the served name or one of the endpoint's LoRA adapters."""
        served = (ref.options or {}).get("served_model_name")
        if not served or b'"model"' in body:
            return body
        payload = json.loads(body)
        payload.setdefault("model", served)
        return json.dumps(payload).encode()

    async def complete(self, ref: EndpointRef, body: bytes) -> bytes:
        return await http_upstream.complete(ref.invocation_url, self._body_for(ref, body), target=TARGET,
                                            api_key=ref.api_key)

    async def stream(self, ref: EndpointRef, body: bytes):
        return await http_upstream.stream(ref.invocation_url, self._body_for(ref, body), target=TARGET,
                                          api_key=ref.api_key)


def _hostname(ingress: dict | None) -> str:
    entries = (((ingress or {}).get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    return next((e["hostname"] for e in entries if e.get("hostname")), "")


def _list_items(call, *args, **kwargs) -> list:
    try:
        return list(call(*args, **kwargs, _request_timeout=REQUEST_TIMEOUT).items or [])
    except k8s.ApiException as exc:
        if is_status(exc, 404):
            return []
        raise


def _model_container(pod) -> str:
    """The container serving the engine port (the operator adds sidecars beside it)."""
    containers = (pod.spec.containers or []) if pod.spec else []
    for container in containers:
        if any(p.container_port in manifest.ENGINE_PORTS.values() for p in container.ports or []):
            return container.name
    return containers[0].name if containers else ""


def _epoch() -> datetime:
    return datetime.fromtimestamp(0, tz=UTC)


def _log_line(raw: str, stream: str) -> LogLine:
    stamp, _, message = raw.partition(" ")
    try:
        return LogLine(datetime.fromisoformat(stamp.replace("Z", "+00:00")), message, stream)
    except ValueError:
        return LogLine(_epoch(), raw, stream)

"""The HyperPod serving backend against an in-memory Kubernetes API (kmock): the test plays the operator
by patching `status`, creating the router Deployment and the routing Ingress."""

import json
import threading
from dataclasses import replace

import pytest
from kubernetes import client as k8s

from apps.backends.base import EndpointPhase, EndpointRef
from apps.backends.errors import RemoteConflict, RemoteNotFound
from apps.backends.hyperpod import cluster, manifest
from apps.backends.hyperpod.serving import HyperPodServing, scale_patch, state_from_object

from . import kube
from .factories import API_KEY, autoscaling, deployment

G, V, P = manifest.GROUP, manifest.VERSION, manifest.PLURAL
NAME = "mh-qwen3-8b-42"


def ref(**changes) -> EndpointRef:
    options = {"cluster_id": 1, "namespace": "default", "served_model_name": "Qwen3-8B", **changes.pop("options", {})}
    return replace(EndpointRef(endpoint_id=42, remote_name=NAME, options=options), **changes)


def custom(server) -> k8s.CustomObjectsApi:
    return k8s.CustomObjectsApi(server.admin())


def stored(server, name=NAME, namespace="default") -> dict:
    return custom(server).get_namespaced_custom_object(G, V, namespace, P, name)


def operator_reports(server, status: dict, name=NAME):
    custom(server).patch_namespaced_custom_object_status(G, V, "default", P, name, {"status": status})


COMPLETE = {"state": "DeploymentComplete", "deploymentStatus": {
    "name": NAME, "lastUpdated": "2026-12-07T10:00:00Z", "deploymentObjectOverallState": "DeploymentComplete",
    "status": {"availableReplicas": 2, "readyReplicas": 2, "replicas": 2}}}


# --- deploy, adopt, conflicts --------------------------------------------------------------------------


def test_deploy_creates_the_endpoint_and_its_api_key_secret(connected):
    state = HyperPodServing().deploy(deployment(secrets={"api_key": API_KEY}))
    assert state.phase == EndpointPhase.CREATING and not state.adopted and state.region == "us-west-2"
    obj = stored(connected)
    assert obj["spec"]["worker"]["environmentVariables"][0]["valueFrom"]["secretKeyRef"]["name"] == f"{NAME}-api-key"
    secret = k8s.CoreV1Api(connected.admin()).read_namespaced_secret(f"{NAME}-api-key", "default")
    assert secret.metadata.labels[manifest.LABEL_ENDPOINT] == "42"
    assert API_KEY not in json.dumps(obj)


def test_a_second_deploy_adopts_on_409(connected):
    backend = HyperPodServing()
    backend.deploy(deployment(secrets={"api_key": API_KEY}))
    again = backend.deploy(deployment(secrets={"api_key": API_KEY}))
    assert again.adopted and again.name == NAME
    creates = [r for r in connected.calls("POST") if r.url.path.endswith(f"/{P}")]
    assert len(creates) == 2  # the second answered 409 and was adopted, not duplicated


def test_a_foreign_object_with_the_name_is_not_adopted(connected):
    body = manifest.render(deployment(endpoint_id=7), kube.CONNECTIONS[1].facts)
    custom(connected).create_namespaced_custom_object(G, V, "default", P, body)
    with pytest.raises(RemoteConflict, match="not ModelHub endpoint 42"):
        HyperPodServing().deploy(deployment())


def test_an_invalid_deployment_creates_nothing(connected):
    from apps.backends.hyperpod.manifest import ManifestError

    with pytest.raises(ManifestError):
        HyperPodServing().deploy(deployment(options={"public_load_balancer": True}, secrets={"api_key": API_KEY}))
    assert not connected.calls("POST")


# --- status ----------------------------------------------------------------------------------------------


def test_status_transitions_follow_the_operator(connected):
    backend = HyperPodServing()
    backend.deploy(deployment())
    assert backend.describe(ref()).phase == EndpointPhase.CREATING
    operator_reports(connected, {"state": "DeploymentInProgress",
                                 "deploymentStatus": {"name": NAME, "lastUpdated": "t",
                                                      "deploymentObjectOverallState": "DeploymentInProgress"}})
    progressing = backend.describe(ref())
    assert progressing.phase == EndpointPhase.CREATING and progressing.remote_status == "DeploymentInProgress"
    operator_reports(connected, {**COMPLETE, "tlsCertificate": {"certificateDomainNames": ["ep.example.internal"]}})
    ready = backend.describe(ref())
    assert ready.phase == EndpointPhase.IN_SERVICE and ready.instances == (2, 2)
    assert ready.invocation_url == "https://ep.example.internal/v1/chat/completions"
    operator_reports(connected, {"state": "DeploymentFailed", "deploymentStatus": {
        "name": NAME, "lastUpdated": "t", "deploymentObjectOverallState": "DeploymentFailed",
        "reason": "ImagePullBackOff", "message": "image not found"}})
    failed = backend.describe(ref())
    assert failed.phase == EndpointPhase.FAILED and failed.failure_reason == "ImagePullBackOff image not found"


@pytest.mark.parametrize("status, phase", [
    ({}, EndpointPhase.CREATING),
    ({"state": "DeploymentPending"}, EndpointPhase.CREATING),
    ({"state": "DeploymentComplete", "deploymentStatus": {"deploymentObjectOverallState": "DeploymentComplete",
                                                          "status": {"availableReplicas": 0}}}, EndpointPhase.CREATING),
    ({"state": "DeploymentComplete", "deploymentStatus": {"deploymentObjectOverallState": "DeploymentComplete",
      "status": {"conditions": [{"type": "Available", "status": "True"}]}}}, EndpointPhase.IN_SERVICE),
    ({"state": "DeletionInProgress"}, EndpointPhase.DELETING),
    ({"state": "DeletionFailed"}, EndpointPhase.FAILED),
    ({"state": "DeploymentInProgress", "deploymentStatus": {"deploymentObjectOverallState": "DeploymentFailed"}},
     EndpointPhase.FAILED),
])
def test_status_mapping(status, phase):
    assert state_from_object({"metadata": {"name": NAME}, "spec": {}, "status": status}).phase == phase


def test_a_spec_change_not_yet_observed_is_updating():
    obj = {"metadata": {"name": NAME, "generation": 3}, "spec": {}, "status": {**COMPLETE, "observedGeneration": 2}}
    assert state_from_object(obj).phase == EndpointPhase.UPDATING


def test_poll_many_lists_once_per_namespace_and_reports_missing_endpoints(connected):
    backend = HyperPodServing()
    backend.deploy(deployment())
    operator_reports(connected, COMPLETE)
    before = len(connected.requests)
    states = backend.poll_many([ref(), ref(remote_name="mh-gone-9", endpoint_id=9)])
    assert states[NAME].phase == EndpointPhase.IN_SERVICE and states["mh-gone-9"].phase == EndpointPhase.NOT_FOUND
    assert len([r for r in connected.requests[before:] if r in connected.calls("GET")]) == 1


def test_url_is_the_routing_ingress_hostname(connected):
    backend = HyperPodServing()
    backend.deploy(deployment(options={"routing": True}))
    operator_reports(connected, COMPLETE)
    networking = k8s.NetworkingV1Api(connected.admin())
    networking.create_namespaced_ingress(manifest.OPERATOR_NAMESPACE, {
        "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
        "metadata": {"name": f"alb-{NAME}-default", "namespace": manifest.OPERATOR_NAMESPACE},
        "status": {"loadBalancer": {"ingress": [{"hostname": "internal-alb-1.us-west-2.elb.amazonaws.com"}]}}})
    state = backend.describe(ref(options={"routing": True}))
    assert state.invocation_url == "https://internal-alb-1.us-west-2.elb.amazonaws.com/v1/chat/completions"
    assert state.extra["routing"] is True


# --- update, delete --------------------------------------------------------------------------------------


def test_issue_09_scaling_patches_replicas_and_bounds_only(connected):
    backend = HyperPodServing()
    backend.deploy(deployment(autoscaling=autoscaling(1, 4), options={"routing": True}))
    operator_reports(connected, COMPLETE)
    before = stored(connected)
    backend.update(deployment(instance_count=3, autoscaling=autoscaling(2, 6), options={"routing": True}), ref())
    after = stored(connected)
    assert after["spec"]["replicas"] == 3
    bounds = after["spec"]["autoScalingSpec"]
    assert (bounds["minReplicaCount"], bounds["maxReplicaCount"]) == (2, 6)
    assert bounds["cloudWatchTrigger"] == before["spec"]["autoScalingSpec"]["cloudWatchTrigger"]
    for key in set(before["spec"]) - {"replicas", "autoScalingSpec"}:
        assert after["spec"][key] == before["spec"][key], key
    assert after["status"] == before["status"] and after["metadata"] == before["metadata"]
    patch = connected.calls("PATCH")[-1]
    assert patch.headers["Content-Type"] == "application/merge-patch+json"
    assert set(json.loads(patch.text)["spec"]) == {"replicas", "autoScalingSpec"}


def test_scale_patch_adds_or_removes_autoscaling():
    added = scale_patch(deployment(autoscaling=autoscaling()), {})["spec"]["autoScalingSpec"]
    assert added["cloudWatchTrigger"]["dimensions"][0] == {"name": "EndpointName", "value": NAME}
    assert scale_patch(deployment(), {"autoScalingSpec": {"minReplicaCount": 1}})["spec"]["autoScalingSpec"] is None


def test_scaling_beyond_free_gpus_is_refused(connected):
    HyperPodServing().deploy(deployment())
    with pytest.raises(Exception, match="free on ml.g5.12xlarge"):
        HyperPodServing().update(deployment(instance_count=9), ref())
    with pytest.raises(RemoteNotFound):
        HyperPodServing().update(deployment(), ref(remote_name="mh-nothing-1"))


def test_delete_removes_what_modelhub_made_and_nothing_else(connected):
    backend = HyperPodServing()
    backend.deploy(deployment(secrets={"api_key": API_KEY}, options={"routing": True}))
    core = k8s.CoreV1Api(connected.admin())
    core.create_namespaced_secret("default", {"metadata": {"name": "someone-elses"}, "stringData": {"k": "v"}})
    backend.delete(ref(options={"routing": True}))
    with pytest.raises(k8s.ApiException) as gone:
        stored(connected)
    assert gone.value.status == 404
    for name, namespace in ((f"{NAME}-api-key", "default"), (f"{NAME}-default-api-key", manifest.OPERATOR_NAMESPACE)):
        with pytest.raises(k8s.ApiException):
            core.read_namespaced_secret(name, namespace)
    assert core.read_namespaced_secret("someone-elses", "default").metadata.name == "someone-elses"
    backend.delete(ref())  # everything already gone: not an error
    assert backend.describe(ref()).phase == EndpointPhase.NOT_FOUND


def test_delete_keeps_a_secret_of_the_same_name_that_is_not_ours(connected):
    core = k8s.CoreV1Api(connected.admin())
    core.create_namespaced_secret("default", {"metadata": {"name": f"{NAME}-api-key", "labels": {"team": "x"}},
                                              "stringData": {"api-key": "theirs"}})
    HyperPodServing().delete(ref())
    assert core.read_namespaced_secret(f"{NAME}-api-key", "default").string_data == {"api-key": "theirs"}


# --- the router's key ------------------------------------------------------------------------------------


def test_issue_11_router_key_reference_is_restored_after_the_operator_resets_it(connected):
    backend = HyperPodServing()
    backend.deploy(deployment(secrets={"api_key": API_KEY}, options={"routing": True}))
    apps = k8s.AppsV1Api(connected.admin())
    router = f"{NAME}-default-router"

    def operator_writes_router(env):
        body = {"apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": router, "namespace": manifest.OPERATOR_NAMESPACE},
                "spec": {"selector": {"matchLabels": {"app": "r"}}, "template": {"metadata": {"labels": {"app": "r"}},
                         "spec": {"containers": [{"name": "router", "image": "router", "env": env}]}}}}
        try:
            apps.create_namespaced_deployment(manifest.OPERATOR_NAMESPACE, body)
        except k8s.ApiException:
            apps.patch_namespaced_deployment(router, manifest.OPERATOR_NAMESPACE, body)

    def router_env():
        raw = apps.api_client.sanitize_for_serialization(apps.read_namespaced_deployment(router, manifest.OPERATOR_NAMESPACE))
        return raw["spec"]["template"]["spec"]["containers"][0]["env"]

    expected = {"name": "VLLM_API_KEY", "valueFrom": {"secretKeyRef": {
        "name": f"{NAME}-default-api-key", "key": "api-key"}}}
    operator_writes_router([{"name": "VLLM_API_KEY"}])  # the operator's copy lost valueFrom
    backend.describe(ref(api_key=API_KEY, options={"routing": True}))
    assert expected in router_env()
    operator_writes_router([{"name": "VLLM_API_KEY"}])  # its next reconcile resets it
    backend.poll_many([ref(api_key=API_KEY, options={"routing": True})])
    assert expected in router_env()
    copy = k8s.CoreV1Api(connected.admin()).read_namespaced_secret(f"{NAME}-default-api-key", manifest.OPERATOR_NAMESPACE)
    assert copy.metadata.labels[manifest.LABEL_ENDPOINT] == "42"


# --- logs ------------------------------------------------------------------------------------------------


def test_logs_bring_the_pods_events(connected):
    core = k8s.CoreV1Api(connected.admin())
    core.create_namespaced_pod("default", {"metadata": {"name": f"{NAME}-7d9f"}, "spec": {"containers": [
        {"name": "sidecar", "image": "nginx"}, {"name": "model", "image": "vllm", "ports": [{"containerPort": 8000}]}]}})
    core.create_namespaced_event("default", {
        "metadata": {"name": "e1"}, "involvedObject": {"name": f"{NAME}-7d9f", "kind": "Pod"},
        "reason": "FailedScheduling", "message": "0/2 nodes are available: insufficient nvidia.com/gpu",
        "lastTimestamp": "2026-12-07T10:00:00Z"})
    page = HyperPodServing().logs(ref())
    assert any("FailedScheduling: 0/2 nodes" in line.message for line in page.lines)


# --- connections ------------------------------------------------------------------------------------------


def test_an_expired_token_is_replaced_before_the_request(kube_server, settings):
    settings.HYPERPOD_CLUSTER_RESOLVER = "tests.backends.hyperpod.kube.resolve"
    now = [1000.0]
    issued = []

    def provider():
        issued.append(f"token-{len(issued) + 1}")
        return issued[-1], now[0] + cluster.EKS_TOKEN_LIFETIME

    connection = kube.token_connection(kube_server, 1, provider=provider)
    api = k8s.ApiClient(cluster.configuration(connection, clock=lambda: now[0]))
    custom_api = k8s.CustomObjectsApi(api)
    for _ in range(2):
        _get_or_404(custom_api)
    now[0] += cluster.EKS_TOKEN_LIFETIME - cluster.TOKEN_REFRESH_MARGIN + 1  # within the margin: refresh
    _get_or_404(custom_api)
    assert issued == ["token-1", "token-2"]
    assert kube_server.authorizations() == ["Bearer token-1", "Bearer token-1", "Bearer token-2"]


def _get_or_404(custom_api):
    try:
        custom_api.get_namespaced_custom_object(G, V, "default", P, "nothing")
    except k8s.ApiException as exc:
        assert exc.status == 404


def test_two_clusters_at_once_never_mix_clients(settings):
    settings.HYPERPOD_CLUSTER_RESOLVER = "tests.backends.hyperpod.kube.resolve"
    servers = {1: kube.KubeServer(), 2: kube.KubeServer()}
    try:
        for cluster_id, server in servers.items():
            kube.CONNECTIONS[cluster_id] = kube.token_connection(server, cluster_id)
        backend, errors = HyperPodServing(), []

        def deploy_many(cluster_id):
            try:
                for i in range(5):
                    backend.deploy(deployment(endpoint_id=cluster_id * 100 + i, remote_name=f"mh-c{cluster_id}-{i}",
                                              options={"cluster_id": cluster_id}))
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=deploy_many, args=(c,)) for c in servers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert not errors
        for cluster_id, server in servers.items():  # only this cluster's token reached its API server
            assert set(server.authorizations()) == {f"Bearer token-{cluster_id}"}
        for cluster_id, server in servers.items():
            names = {o["metadata"]["name"] for o in custom(server).list_namespaced_custom_object(G, V, "default", P)["items"]}
            assert names == {f"mh-c{cluster_id}-{i}" for i in range(5)}
        assert cluster.api_client(kube.CONNECTIONS[1]) is not cluster.api_client(kube.CONNECTIONS[2])
        assert getattr(k8s.Configuration, "_default", None) is None  # the process-wide default never set
    finally:
        for cluster_id, server in reversed(servers.items()):  # kmock's resolver hooks unwind in reverse
            server.close()
            cluster.forget(cluster_id)
        kube.CONNECTIONS.clear()


# --- the public load balancer ------------------------------------------------------------------------------


def _operator_ingress(server, hostname="internal-alb-1.us-west-2.elb.amazonaws.com"):
    k8s.NetworkingV1Api(server.admin()).create_namespaced_ingress(manifest.OPERATOR_NAMESPACE, {
        "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
        "metadata": {"name": f"alb-{NAME}-default", "namespace": manifest.OPERATOR_NAMESPACE,
                     "finalizers": ["ingress.k8s.aws/resources"],
                     "annotations": {"alb.ingress.kubernetes.io/scheme": "internal",
                                     "alb.ingress.kubernetes.io/certificate-arn": "arn:aws:acm:us-west-2:1:certificate/x",
                                     "alb.ingress.kubernetes.io/group.name": "hyperpod"}},
        "spec": {"ingressClassName": "alb", "rules": [{"http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": {
            "service": {"name": f"{NAME}-default-routing-service", "port": {"number": 8000}}}}]}}]},
        "status": {"loadBalancer": {"ingress": [{"hostname": hostname}]}}})


PUBLIC = {"routing": True, "public_load_balancer": True}


def test_issue_16_a_public_endpoint_never_records_the_internal_address(connected):
    backend = HyperPodServing()
    backend.deploy(deployment(options=PUBLIC))
    operator_reports(connected, COMPLETE)
    _operator_ingress(connected)
    state = backend.describe(ref(options=PUBLIC))
    assert state.phase == EndpointPhase.CREATING and state.invocation_url == ""
    assert "public load balancer" in state.message
    networking = k8s.NetworkingV1Api(connected.admin())
    twin = networking.read_namespaced_ingress(f"{NAME}-default-public", manifest.OPERATOR_NAMESPACE)
    assert twin.metadata.annotations["alb.ingress.kubernetes.io/scheme"] == "internet-facing"
    assert "alb.ingress.kubernetes.io/group.name" not in twin.metadata.annotations
    assert twin.metadata.annotations["alb.ingress.kubernetes.io/certificate-arn"].startswith("arn:aws:acm")
    assert twin.spec.rules[0].http.paths[0].backend.service.name == f"{NAME}-default-routing-service"
    assert twin.metadata.labels[manifest.LABEL_ENDPOINT] == "42"
    internal = networking.read_namespaced_ingress(f"alb-{NAME}-default", manifest.OPERATOR_NAMESPACE)
    assert internal.metadata.annotations["alb.ingress.kubernetes.io/scheme"] == "internal"  # the operator's, untouched
    networking.patch_namespaced_ingress_status(f"{NAME}-default-public", manifest.OPERATOR_NAMESPACE, {
        "status": {"loadBalancer": {"ingress": [{"hostname": "public-alb-9.us-west-2.elb.amazonaws.com"}]}}})
    ready = backend.describe(ref(options=PUBLIC))
    assert ready.phase == EndpointPhase.IN_SERVICE
    assert ready.invocation_url == "https://public-alb-9.us-west-2.elb.amazonaws.com/v1/chat/completions"


def test_issue_15_delete_removes_the_public_ingress_without_stripping_finalizers(connected):
    backend = HyperPodServing()
    backend.deploy(deployment(options=PUBLIC))
    operator_reports(connected, COMPLETE)
    _operator_ingress(connected)
    backend.describe(ref(options=PUBLIC))
    backend.delete(ref(options=PUBLIC))
    networking = k8s.NetworkingV1Api(connected.admin())
    with pytest.raises(k8s.ApiException):
        networking.read_namespaced_ingress(f"{NAME}-default-public", manifest.OPERATOR_NAMESPACE)
    internal = networking.read_namespaced_ingress(f"alb-{NAME}-default", manifest.OPERATOR_NAMESPACE)
    assert internal.metadata.finalizers == ["ingress.k8s.aws/resources"]  # the operator's: not ours to touch
    assert not [r for r in connected.calls("PATCH") if "ingresses" in r.url.path and "finalizers" in r.text]


def test_readiness_names_what_is_missing(settings):
    assert HyperPodServing().readiness().usable
    settings.HYPERPOD_CLUSTER_RESOLVER = "apps.clusters.nowhere.resolve"
    readiness = HyperPodServing().readiness()
    assert not readiness.usable and "HYPERPOD_CLUSTER_RESOLVER" in readiness.missing[0]

"""HyperPod endpoints through the endpoints app (API, tasks, reconcile loop, pages) against kmock:
what the backend is handed, scaling after deploy, and the log tail of a failed deployment."""

import pytest
from django.test import Client
from django.urls import reverse
from kubernetes import client as k8s

from apps.backends.base import API_KEY_SECRET
from apps.clusters import tasks as cluster_tasks
from apps.clusters.models import Cluster
from apps.endpoints import tasks
from apps.endpoints.deployment import deployment, ref
from apps.endpoints.models import Endpoint
from tests.clusters.conftest import gpu_cluster, kube_server, kubeconfig  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db

G, V, P = "inference.sagemaker.aws.amazon.com", "v1", "inferenceendpointconfigs"
REQUEST = {"source": "s3", "model_uri": "s3://models-bucket/jobs/7/merged/", "target": "hyperpod", "engine": "sglang",
           "engine_version": "0.5.8", "instance_type": "ml.g5.12xlarge", "instance_count": 1,
           "tensor_parallel_size": 2, "name": "hp-wired", "max_model_len": 4096}


@pytest.fixture
def cluster(gpu_cluster, admin_user):  # noqa: F811
    row = Cluster.objects.create(owner=admin_user, name="gpu-west", region="us-west-2",
                                 access=Cluster.Access.KUBECONFIG, kubeconfig=kubeconfig(gpu_cluster.url),
                                 tls_certificate_s3_uri="s3://certs/hp")
    cluster_tasks.check_cluster.body(row)
    return row


@pytest.fixture
def deployed(cluster, admin_api, inline_tasks):
    response = admin_api.post("/api/v1/endpoints/", {**REQUEST, "target_options": {"cluster_id": cluster.pk}},
                              format="json")
    assert response.status_code == 201, response.content
    return Endpoint.objects.get(pk=response.json()["id"])


def custom(server):
    return k8s.CustomObjectsApi(server.admin())


def stored(server, endpoint):
    return custom(server).get_namespaced_custom_object(G, V, "default", P, endpoint.remote_name)


def operator_reports(server, endpoint, overall: str, ready: int = 1, **extra):
    custom(server).patch_namespaced_custom_object_status(G, V, "default", P, endpoint.remote_name, {"status": {
        "state": overall, "deploymentStatus": {"name": endpoint.remote_name, "lastUpdated": "t",
                                               "deploymentObjectOverallState": overall,
                                               "status": {"availableReplicas": ready, "readyReplicas": ready}},
        **extra}})


def test_the_backend_is_handed_the_options_the_key_and_an_engine_command_line(deployed, gpu_cluster):
    request = deployment(deployed)
    assert request.options["cluster_id"] == deployed.spec["target_options"]["cluster_id"]
    assert request.options["namespace"] == "default"
    assert request.secrets == {API_KEY_SECRET: deployed.api_key} and deployed.api_key.startswith("sk-")
    assert request.argv[:3] == ("python3", "-m", "sglang.launch_server")
    endpoint_ref = ref(deployed)
    assert endpoint_ref.options["served_model_name"] == deployed.served_model_name == "merged"
    assert endpoint_ref.api_key == deployed.api_key
    args = stored(gpu_cluster, deployed)["spec"]["worker"]["args"]
    # SGLang listens where HyperPod probes it, reads the mounted model, checks the key from its Secret.
    assert args[args.index("--port") + 1] == "8080" and args[args.index("--model-path") + 1] == "/opt/ml/model"
    assert args[args.index("--tp-size") + 1] == "2" and args[args.index("--api-key") + 1] == "$(MODELHUB_API_KEY)"


def test_the_api_shows_the_key_only_when_created(deployed, admin_api):
    for url in (f"/api/v1/endpoints/{deployed.pk}/", "/api/v1/endpoints/"):
        assert deployed.api_key not in admin_api.get(url).content.decode()


def test_the_deploy_page_shows_the_key_once(cluster, admin_user, inline_tasks):
    browser = Client()
    browser.force_login(admin_user)
    post = {k: str(v) for k, v in REQUEST.items()} | {"hyperpod_cluster_id": str(cluster.pk)}
    created = browser.post(reverse("endpoints:new"), post)
    endpoint = Endpoint.objects.get(name="hp-wired")
    assert created.status_code == 201 and endpoint.api_key in created.content.decode()
    assert "no-store" in created["Cache-Control"]
    assert endpoint.api_key not in browser.get(reverse("endpoints:detail", args=[endpoint.pk])).content.decode()


def test_replicas_and_autoscaling_bounds_change_after_deploy(deployed, gpu_cluster, admin_api):
    operator_reports(gpu_cluster, deployed, "DeploymentComplete")
    tasks.reconcile_endpoints.apply()
    deployed.refresh_from_db()
    assert deployed.status == "in_service" and deployed.remote_detail["instances"] == [1, 1]

    scaled = admin_api.patch(f"/api/v1/endpoints/{deployed.pk}/", {"instance_count": 2}, format="json")
    assert scaled.status_code == 202, scaled.content
    assert stored(gpu_cluster, deployed)["spec"]["replicas"] == 2
    operator_reports(gpu_cluster, deployed, "DeploymentComplete", ready=2)
    tasks.reconcile_endpoints.apply()
    deployed.refresh_from_db()
    assert deployed.status == "in_service" and deployed.remote_detail["instances"] == [2, 2]

    bounds = {"min_instances": 1, "max_instances": 3, "target_invocations_per_instance": 50}
    assert admin_api.patch(f"/api/v1/endpoints/{deployed.pk}/", {"autoscaling": bounds},
                           format="json").status_code == 202
    spec = stored(gpu_cluster, deployed)["spec"]["autoScalingSpec"]
    assert (spec["minReplicaCount"], spec["maxReplicaCount"]) == (1, 3)


def test_a_failed_deployment_keeps_the_pods_events(deployed, gpu_cluster):
    core = k8s.CoreV1Api(gpu_cluster.admin())
    pod = f"{deployed.remote_name}-6c5d"
    core.create_namespaced_pod("default", {"metadata": {"name": pod}, "spec": {"containers": [
        {"name": "model", "image": "sglang", "ports": [{"containerPort": 8080}]}]}})
    core.create_namespaced_event("default", {
        "metadata": {"name": "e1"}, "involvedObject": {"name": pod, "kind": "Pod"}, "reason": "BackOff",
        "message": "Back-off restarting failed container model", "lastTimestamp": "2026-12-07T10:00:00Z"})
    operator_reports(gpu_cluster, deployed, "DeploymentFailed", ready=0)
    tasks.reconcile_endpoints.apply()
    deployed.refresh_from_db()
    assert deployed.status == "failed"
    tail = deployed.events.get(level="error", data__has_key="log_tail").data["log_tail"]
    assert any("BackOff: Back-off restarting failed container" in line for line in tail)

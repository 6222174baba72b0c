import pytest
import yaml

from apps.backends.hyperpod import cluster as hyperpod
from apps.clusters.models import Cluster
from tests.backends.hyperpod.kube import KubeServer

KUBE_TOKEN = "kube-admin-token-9f8e7d6c5b4a39281706"


def kubeconfig(server_url: str, token: str = KUBE_TOKEN) -> str:
    return yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "ctx",
        "clusters": [{"name": "c", "cluster": {"server": server_url}}],
        "users": [{"name": "u", "user": {"token": token}}],
        "contexts": [{"name": "ctx", "context": {"cluster": "c", "user": "u"}}],
    })


@pytest.fixture
def kube_server():
    server = KubeServer()
    yield server
    server.close()


@pytest.fixture
def gpu_cluster(kube_server):
    """kmock with two 4-GPU nodes (one GPU in use), a namespace and the operator's CRD."""
    from kubernetes import client as k8s

    api = kube_server.admin()
    core = k8s.CoreV1Api(api)
    for name in ("node-a", "node-b"):
        core.create_node({"metadata": {"name": name, "labels": {hyperpod.INSTANCE_TYPE_LABEL: "ml.g5.12xlarge"}},
                          "status": {"allocatable": {"cpu": "47500m", "memory": "180Gi", "nvidia.com/gpu": "4"}}})
    core.create_namespaced_pod("team-a", {"metadata": {"name": "busy"}, "spec": {"nodeName": "node-a", "containers": [
        {"name": "c", "image": "x", "resources": {"requests": {"nvidia.com/gpu": "1"}}}]}, "status": {"phase": "Running"}})
    k8s.ApiextensionsV1Api(api).create_custom_resource_definition({
        "metadata": {"name": hyperpod.CRD_NAME},
        "spec": {"group": "inference.sagemaker.aws.amazon.com", "scope": "Namespaced",
                 "names": {"plural": "inferenceendpointconfigs", "kind": "InferenceEndpointConfig"},
                 "versions": [{"name": "v1", "served": True, "storage": True}]}})
    return kube_server


@pytest.fixture
def make_cluster(admin_user):
    created = []

    def make(**fields):
        values = {"name": "gpu-west", "region": "us-west-2", "access": Cluster.Access.KUBECONFIG,
                  "tls_certificate_s3_uri": "s3://certs/hp", **fields}
        cluster = Cluster.objects.create(owner=admin_user, **values)
        created.append(cluster.pk)
        return cluster

    yield make
    for pk in created:
        hyperpod.forget(pk)

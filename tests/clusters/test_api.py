"""/api/v1/clusters/: read for signed-in users, writes for admins, the kubeconfig write-only."""

import pytest

from apps.clusters.models import Cluster

from .conftest import KUBE_TOKEN, kubeconfig

pytestmark = pytest.mark.django_db

BODY = {"name": "gpu-west", "access": "eks", "region": "us-west-2", "eks_cluster_name": "hp-eks"}


def test_admin_registers_and_users_read(admin_api, user_api):
    created = admin_api.post("/api/v1/clusters/", BODY, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["status"] == "registered" and created.json()["owner"] == "root"
    listed = user_api.get("/api/v1/clusters/").json()
    assert [c["name"] for c in listed["results"]] == ["gpu-west"]
    assert user_api.get(f"/api/v1/clusters/{created.json()['id']}/").json()["region"] == "us-west-2"


def test_users_cannot_write(user_api, admin_user):
    cluster = Cluster.objects.create(owner=admin_user, **BODY)
    assert user_api.post("/api/v1/clusters/", {**BODY, "name": "mine"}, format="json").status_code == 403
    assert user_api.patch(f"/api/v1/clusters/{cluster.pk}/", {"namespace": "x"}, format="json").status_code == 403
    assert user_api.delete(f"/api/v1/clusters/{cluster.pk}/").status_code == 403


@pytest.mark.parametrize("changes, field", [
    ({"region": "west"}, "region"), ({"eks_cluster_name": ""}, "eks_cluster_name"),
    ({"access": "kubeconfig", "kubeconfig": "not: [a kubeconfig"}, "kubeconfig"),
    ({"role_arn": "root"}, "role_arn"),
])
def test_field_errors_create_nothing(admin_api, changes, field):
    response = admin_api.post("/api/v1/clusters/", {**BODY, **changes}, format="json")
    assert response.status_code == 400 and field in response.json()["errors"]
    assert not Cluster.objects.exists()


def test_the_kubeconfig_is_accepted_but_never_returned(admin_api):
    body = {**BODY, "access": "kubeconfig", "eks_cluster_name": "", "kubeconfig": kubeconfig("https://k8s.internal")}
    created = admin_api.post("/api/v1/clusters/", body, format="json")
    assert created.status_code == 201, created.content
    assert KUBE_TOKEN not in created.content.decode()
    assert KUBE_TOKEN not in admin_api.get(f"/api/v1/clusters/{created.json()['id']}/").content.decode()
    assert KUBE_TOKEN in Cluster.objects.get().kubeconfig


def test_delete_is_refused_while_endpoints_live_on_the_cluster(admin_api, admin_user):
    from apps.endpoints.models import Endpoint

    cluster = Cluster.objects.create(owner=admin_user, **BODY)
    endpoint = Endpoint.objects.create(
        owner=admin_user, name="on-it", source="s3", model_uri="s3://b/m/", target="hyperpod", engine="vllm",
        instance_type="ml.g5.12xlarge", status="in_service", spec={"target_options": {"cluster_id": cluster.pk}})
    response = admin_api.delete(f"/api/v1/clusters/{cluster.pk}/")
    assert response.status_code == 409 and "on-it" in response.json()["message"]
    Endpoint.objects.filter(pk=endpoint.pk).update(status="deleted")
    assert admin_api.delete(f"/api/v1/clusters/{cluster.pk}/").status_code == 204
    assert not Cluster.objects.exists()


def test_clusters_are_in_the_openapi_schema(admin_api):
    text = admin_api.get("/api/schema/").content.decode()
    assert "/api/v1/clusters/" in text and "kubeconfig" in text

import pytest
from django.urls import reverse

from apps.clusters.models import Cluster

pytestmark = pytest.mark.django_db

VALID = {
    "name": "gpu-east",
    "region": "us-east-1",
    "eks_cluster_name": "hyperpod-eks",
    "hyperpod_cluster_arn": "arn:aws:sagemaker:us-east-1:123456789012:cluster/abc123def",
    "namespace": "modelhub",
}


def test_admin_registers_a_cluster(client, admin_user):
    client.force_login(admin_user)
    response = client.post(reverse("clusters:list"), VALID)
    assert response.status_code == 302
    cluster = Cluster.objects.get()
    assert cluster.status == "registered" and cluster.owner == admin_user
    assert list(cluster.events.values_list("message", flat=True)) == ["Registered"]


@pytest.mark.parametrize(
    "field, value, error",
    [
        ("name", "Bad_Name", "Use lowercase letters"),
        ("namespace", "-ns", "Use lowercase letters"),
        ("region", "east", "Enter an AWS region"),
        ("hyperpod_cluster_arn", "arn:aws:s3:::bucket", "Enter a HyperPod cluster ARN"),
    ],
)
def test_invalid_registration_shows_inline_errors_and_creates_nothing(client, admin_user, field, value, error):
    client.force_login(admin_user)
    response = client.post(reverse("clusters:list"), {**VALID, field: value})
    assert response.status_code == 400
    assert error in response.context["form"].errors[field][0]
    assert not Cluster.objects.exists()


def test_default_users_see_clusters_but_cannot_register(client, user, admin_user):
    Cluster.objects.create(owner=admin_user, **{k: v for k, v in VALID.items()})
    client.force_login(user)
    page = client.get(reverse("clusters:list"))
    assert page.status_code == 200 and b"gpu-east" in page.content and page.context["form"] is None
    assert client.post(reverse("clusters:list"), {**VALID, "name": "mine"}).status_code == 403
    assert Cluster.objects.count() == 1


def test_cluster_state_machine():
    machine = Cluster.machine
    assert machine.allows("registered", "active") and machine.allows("active", "unreachable")
    assert machine.allows("unreachable", "active") and not machine.allows("active", "registered")

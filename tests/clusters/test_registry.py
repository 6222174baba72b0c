"""Registering clusters through the pages: admins only, field errors inline, nothing half-made."""

import io

import pytest
from django.urls import reverse

from apps.clusters.models import Cluster

from .conftest import KUBE_TOKEN, kubeconfig

pytestmark = pytest.mark.django_db

VALID = {
    "name": "gpu-east",
    "access": "eks",
    "region": "us-east-1",
    "eks_cluster_name": "hyperpod-eks",
    "hyperpod_cluster_arn": "arn:aws:sagemaker:us-east-1:123456789012:cluster/abc123def",
    "namespace": "modelhub",
}


def test_admin_registers_a_cluster_by_eks_name(client, admin_user):
    client.force_login(admin_user)
    response = client.post(reverse("clusters:register"), VALID)
    cluster = Cluster.objects.get()
    assert response.status_code == 302 and response.url == reverse("clusters:detail", args=[cluster.pk])
    assert cluster.status == "registered" and cluster.owner == admin_user and cluster.access == "eks"
    assert list(cluster.events.values_list("message", flat=True)) == ["Registered"]


def test_admin_registers_a_cluster_with_an_uploaded_kubeconfig(client, admin_user):
    client.force_login(admin_user)
    upload = io.BytesIO(kubeconfig("https://k8s.example.internal").encode())
    upload.name = "config"
    data = {**VALID, "access": "kubeconfig", "eks_cluster_name": "", "kubeconfig_file": upload}
    assert client.post(reverse("clusters:register"), data).status_code == 302
    cluster = Cluster.objects.get()
    assert KUBE_TOKEN in cluster.kubeconfig  # decrypted for the code...
    page = client.get(reverse("clusters:detail", args=[cluster.pk]))
    assert KUBE_TOKEN not in page.content.decode()  # ...never shown


def test_register_page_says_creating_clusters_is_out_of_scope(client, admin_user):
    client.force_login(admin_user)
    page = client.get(reverse("clusters:register")).content.decode()
    assert "out of its scope" in page and "docs.aws.amazon.com/sagemaker" in page


@pytest.mark.parametrize(
    "changes, field, error",
    [
        ({"name": "Bad_Name"}, "name", "Use lowercase letters"),
        ({"namespace": "-ns"}, "namespace", "Use lowercase letters"),
        ({"region": "east"}, "region", "Enter an AWS region"),
        ({"hyperpod_cluster_arn": "arn:aws:s3:::bucket"}, "hyperpod_cluster_arn", "Enter a HyperPod cluster ARN"),
        ({"role_arn": "admin"}, "role_arn", "Enter an IAM role ARN"),
        ({"tls_certificate_s3_uri": "bucket/x"}, "tls_certificate_s3_uri", "Enter an S3 location"),
        ({"eks_cluster_name": ""}, "eks_cluster_name", "Enter the EKS cluster"),
        ({"access": "kubeconfig"}, "kubeconfig_file", "Upload the cluster's kubeconfig"),
    ],
)
def test_invalid_registration_shows_inline_errors_and_creates_nothing(client, admin_user, changes, field, error):
    client.force_login(admin_user)
    response = client.post(reverse("clusters:register"), {**VALID, **changes})
    assert response.status_code == 400
    assert error in response.context["form"].errors[field][0]
    assert not Cluster.objects.exists()


def test_a_kubeconfig_that_runs_a_command_is_refused(client, admin_user):
    import yaml

    client.force_login(admin_user)
    config = yaml.safe_load(kubeconfig("https://k8s.example.internal"))
    config["users"][0]["user"] = {"exec": {"command": "aws", "args": ["eks", "get-token"]}}
    upload = io.BytesIO(yaml.safe_dump(config).encode())
    upload.name = "config"
    response = client.post(reverse("clusters:register"), {**VALID, "access": "kubeconfig", "kubeconfig_file": upload})
    assert "runs a command" in response.context["form"].errors["kubeconfig_file"][0]


def test_default_users_see_clusters_but_cannot_register_or_remove(client, user, admin_user):
    cluster = Cluster.objects.create(owner=admin_user, **VALID)
    client.force_login(user)
    page = client.get(reverse("clusters:list"))
    assert page.status_code == 200 and b"gpu-east" in page.content and not page.context["can_register"]
    assert client.get(reverse("clusters:detail", args=[cluster.pk])).status_code == 200
    assert client.post(reverse("clusters:register"), {**VALID, "name": "mine"}).status_code == 403
    assert client.post(reverse("clusters:delete", args=[cluster.pk]), {"confirm_name": "gpu-east"}).status_code == 403
    assert Cluster.objects.count() == 1


def test_admin_removes_a_cluster_after_typing_its_name(client, admin_user):
    cluster = Cluster.objects.create(owner=admin_user, **VALID)
    client.force_login(admin_user)
    assert client.post(reverse("clusters:delete", args=[cluster.pk]), {"confirm_name": "nope"}).status_code == 400
    assert client.post(reverse("clusters:delete", args=[cluster.pk]), {"confirm_name": "gpu-east"}).status_code == 302
    assert not Cluster.objects.exists()


def test_cluster_state_machine():
    machine = Cluster.machine
    assert machine.allows("registered", "active") and machine.allows("active", "unreachable")
    assert machine.allows("unreachable", "active") and not machine.allows("active", "registered")


def test_the_admin_site_never_shows_a_kubeconfig(client, admin_user):
    admin_user.is_superuser = True
    admin_user.save()
    cluster = Cluster.objects.create(owner=admin_user, **{**VALID, "access": "kubeconfig"},
                                     kubeconfig=kubeconfig("https://k8s.example.internal"))
    client.force_login(admin_user)
    page = client.get(reverse("admin:clusters_cluster_change", args=[cluster.pk]))
    assert page.status_code == 200 and KUBE_TOKEN not in page.content.decode()

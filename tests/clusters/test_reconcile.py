"""The reconcile loop against an in-memory Kubernetes API: reachability, capacity, namespaces, the
operator's CRD; an EKS-token connection; the stored kubeconfig never leaks."""

import base64
import logging
from urllib.parse import parse_qs, urlsplit

import pytest

from apps.clusters import tasks
from apps.clusters.connection import resolve
from apps.clusters.models import Cluster

from .conftest import KUBE_TOKEN, kubeconfig

pytestmark = pytest.mark.django_db


def test_reconcile_records_capacity_namespaces_and_operator(gpu_cluster, make_cluster, monkeypatch):
    cluster = make_cluster(kubeconfig=kubeconfig(gpu_cluster.url))
    checked = []
    monkeypatch.setattr(tasks.check_cluster, "delay", lambda pk: checked.append(pk) or tasks.check_cluster.apply((pk,)))
    assert tasks.reconcile_clusters.apply().get() == 1 and checked == [cluster.pk]
    cluster.refresh_from_db()
    assert cluster.status == "active" and cluster.kubernetes_version == "v1.31.4-eks-2d5f260"
    assert cluster.operator_installed is True and "team-a" in cluster.namespaces
    (instances,) = cluster.capacity["instances"]
    assert instances == {"instance_type": "ml.g5.12xlarge", "nodes": 2, "gpus_per_node": 4, "cpus_per_node": 47.5,
                         "memory_gib_per_node": 180.0, "free_gpus": 7}
    facts = resolve(cluster.pk).facts
    assert facts.capacity("ml.g5.12xlarge").free_gpus == 7 and facts.tls_certificate_s3_uri == "s3://certs/hp"
    assert set(filter(None, gpu_cluster.authorizations())) == {f"Bearer {KUBE_TOKEN}"}


def test_missing_operator_is_reported(kube_server, make_cluster):
    cluster = make_cluster(kubeconfig=kubeconfig(kube_server.url))
    tasks.check_cluster.apply((cluster.pk,))
    cluster.refresh_from_db()
    assert cluster.status == "active" and cluster.operator_installed is False
    assert cluster.events.filter(message__contains="CRD is missing").exists()


def test_unreachable_with_the_reason_then_active_again(gpu_cluster, make_cluster):
    cluster = make_cluster(kubeconfig=kubeconfig("http://127.0.0.1:9"))
    tasks.check_cluster.apply((cluster.pk,))
    cluster.refresh_from_db()
    assert cluster.status == "unreachable" and "cannot reach the cluster" in cluster.status_reason
    assert cluster.last_checked_at is not None
    Cluster.objects.filter(pk=cluster.pk).update(kubeconfig=kubeconfig(gpu_cluster.url))
    tasks.check_cluster.apply((cluster.pk,))
    cluster.refresh_from_db()
    assert cluster.status == "active"
    assert list(cluster.events.filter(kind="status").values_list("data__to", flat=True)) == ["unreachable", "active"]


def test_a_check_never_overwrites_settings_changed_meanwhile(gpu_cluster, make_cluster):
    cluster = make_cluster(kubeconfig=kubeconfig(gpu_cluster.url), namespace="ml")
    Cluster.objects.filter(pk=cluster.pk).update(namespace="serving", tls_certificate_s3_uri="s3://other/x")
    tasks.check_cluster.body(cluster)  # the row in hand is stale
    cluster.refresh_from_db()
    assert (cluster.namespace, cluster.tls_certificate_s3_uri, cluster.status) == ("serving", "s3://other/x", "active")


def test_eks_clusters_are_reached_with_a_presigned_sts_token(gpu_cluster, make_cluster, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    cluster = make_cluster(access=Cluster.Access.EKS, eks_cluster_name="hp-eks", api_endpoint=gpu_cluster.url)
    tasks.check_cluster.body(cluster)
    cluster.refresh_from_db()
    assert cluster.status == "active"
    (header,) = set(filter(None, gpu_cluster.authorizations()))
    assert header.startswith("Bearer k8s-aws-v1.")
    encoded = header.removeprefix("Bearer k8s-aws-v1.")
    url = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
    query = parse_qs(urlsplit(url).query)
    assert urlsplit(url).hostname == "sts.us-west-2.amazonaws.com"
    assert query["Action"] == ["GetCallerIdentity"] and "x-k8s-aws-id" in query["X-Amz-SignedHeaders"][0]
    assert query["X-Amz-Expires"] == ["60"]


def test_the_kubeconfig_is_encrypted_and_never_logged(gpu_cluster, make_cluster, caplog):
    from django.db import connection

    cluster = make_cluster(kubeconfig=kubeconfig(gpu_cluster.url))
    with caplog.at_level(logging.DEBUG):
        tasks.check_cluster.body(cluster)
    with connection.cursor() as cursor:
        cursor.execute("SELECT kubeconfig FROM clusters_cluster WHERE id = %s", [cluster.pk])
        raw = cursor.fetchone()[0]
    assert KUBE_TOKEN not in raw and raw.startswith("gAAAA")
    assert KUBE_TOKEN not in caplog.text


@pytest.fixture
def moto_aws(monkeypatch):
    from moto import mock_aws

    from apps.backends import aws

    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": "us-west-2"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    aws.client.cache_clear()
    with mock_aws():
        yield aws
    aws.client.cache_clear()


def test_instance_groups_and_status_come_from_sagemaker(gpu_cluster, make_cluster, moto_aws):
    sagemaker = moto_aws.client("sagemaker", "us-west-2")
    arn = sagemaker.create_cluster(
        ClusterName="hp", Orchestrator={"Eks": {"ClusterArn": "arn:aws:eks:us-west-2:123456789012:cluster/hp-eks"}},
        InstanceGroups=[{"InstanceGroupName": "gpu", "InstanceType": "ml.g5.12xlarge", "InstanceCount": 2,
                         "ThreadsPerCore": 1, "ExecutionRole": "arn:aws:iam::123456789012:role/hp",
                         "LifeCycleConfig": {"SourceS3Uri": "s3://sagemaker-lifecycle/base", "OnCreate": "on_create.sh"}}],
        VpcConfig={"SecurityGroupIds": ["sg-1"], "Subnets": ["subnet-1"]},
    )["ClusterArn"]
    cluster = make_cluster(kubeconfig=kubeconfig(gpu_cluster.url), hyperpod_cluster_arn=arn, tiered_storage_enabled=True)
    tasks.check_cluster.body(cluster)
    cluster.refresh_from_db()
    assert cluster.hyperpod_status == "InService"
    assert cluster.capacity["instance_groups"] == [
        {"name": "gpu", "instance_type": "ml.g5.12xlarge", "current": 2, "target": 2, "status": ""}]
    assert cluster.tiered_storage_enabled is False  # SageMaker reports no TieredStorageConfig


def test_a_sagemaker_failure_is_a_warning_not_unreachable(gpu_cluster, make_cluster, moto_aws):
    cluster = make_cluster(kubeconfig=kubeconfig(gpu_cluster.url),
                           hyperpod_cluster_arn="arn:aws:sagemaker:us-west-2:123456789012:cluster/missing")
    tasks.check_cluster.body(cluster)
    tasks.check_cluster.body(Cluster.objects.get(pk=cluster.pk))
    cluster.refresh_from_db()
    assert cluster.status == "active"
    assert cluster.events.filter(level="warning", message__contains="SageMaker did not describe").count() == 1


def test_eks_endpoint_and_ca_are_looked_up(moto_aws):
    from apps.backends.hyperpod.cluster import eks_endpoint

    moto_aws.client("eks", "us-west-2").create_cluster(
        name="hp-eks", roleArn="arn:aws:iam::123456789012:role/eks",
        resourcesVpcConfig={"subnetIds": ["subnet-1"]})
    endpoint, ca = eks_endpoint("hp-eks", "us-west-2")
    assert endpoint.startswith("https://") and ca


def test_an_eks_clusters_looked_up_endpoint_is_kept_by_the_check(gpu_cluster, make_cluster, monkeypatch):
    from apps.backends.hyperpod import cluster as hyperpod

    looked_up = []
    monkeypatch.setattr(hyperpod, "eks_endpoint", lambda name, region: looked_up.append(name) or (gpu_cluster.url, ""))
    monkeypatch.setattr(hyperpod, "eks_token", lambda *args, **kwargs: ("k8s-aws-v1.test", 1e12))
    cluster = make_cluster(access=Cluster.Access.EKS, eks_cluster_name="hp-eks")
    tasks.check_cluster.body(cluster)
    cluster.refresh_from_db()
    assert (cluster.status, cluster.api_endpoint, looked_up) == ("active", gpu_cluster.url, ["hp-eks"])
    tasks.check_cluster.body(cluster)  # the kept endpoint is used: no second lookup
    assert looked_up == ["hp-eks"]

"""HyperPod deploy options: the same operator rules as the renderer, plus the cluster's own state."""

import pytest

from apps.clusters.deploy_options import HyperPodOptionsSerializer, problems
from apps.clusters.models import Cluster
from tests.backends.hyperpod.factories import FACTS

pytestmark = pytest.mark.django_db

SPEC = {"engine": "vllm", "engine_version": "0.14.0", "instance_type": "ml.g5.12xlarge", "instance_count": 2,
        "tensor_parallel_size": 2, "autoscaling": None, "name": ""}
MODEL = "s3://models-bucket/jobs/7/merged/"


def check(options, **spec):
    values = {**SPEC, **spec}
    return problems(options, facts=FACTS, model_uri=MODEL, **values)


def test_valid_options_have_no_problems():
    assert check({"namespace": "default", "routing": True, "kv_cache": True, "public_load_balancer": True}) == {}


@pytest.mark.parametrize("options, spec, field, words", [
    ({"public_load_balancer": True}, {}, "public_load_balancer", "only with intelligent routing"),
    ({"kv_cache": True}, {"engine": "sglang", "engine_version": "0.5.8"}, "kv_cache", "vLLM only"),
    ({"routing": True}, {"name": "m" * 40}, "name", "At most 39"),
    ({}, {"instance_count": 5}, "instance_count", "need 10 GPUs"),
    ({}, {"tensor_parallel_size": 8}, "tensor_parallel_size", "node has 4"),
    ({"kv_cache": True, "kv_cache_l2": "redis"}, {}, "kv_cache_l2_url", "Redis URL"),
    ({}, {"autoscaling": {"min_instances": 3, "max_instances": 4}}, "instance_count", "between 3 and 4"),
])
def test_operator_rules_are_field_errors(options, spec, field, words):
    errors = check({"namespace": "default", **options}, **spec)
    assert words in " ".join(errors[field])


def test_l2_tiered_storage_needs_the_cluster_to_have_it():
    from dataclasses import replace

    errors = problems({"kv_cache": True, "kv_cache_l2": "tieredstorage"}, facts=replace(FACTS, tiered_storage=False),
                      model_uri=MODEL, **SPEC)
    assert "tiered storage" in errors["kv_cache_l2"][0]


@pytest.fixture
def cluster(admin_user):
    return Cluster.objects.create(
        owner=admin_user, name="gpu", region="us-west-2", eks_cluster_name="hp", status="active",
        operator_installed=True, namespaces=["default", "ml"], namespace="ml", tiered_storage_enabled=True,
        tls_certificate_s3_uri="s3://certs/hp",
        capacity={"instances": [i.as_dict() for i in FACTS.instances]})


def test_serializer_resolves_the_namespace_and_returns_plain_options(cluster):
    serializer = HyperPodOptionsSerializer(data={"cluster_id": cluster.pk, "routing": True},
                                           context={"spec": SPEC, "model_uri": MODEL})
    assert serializer.is_valid(), serializer.errors
    assert serializer.validated_data == {
        "cluster_id": cluster.pk, "namespace": "ml", "routing": True, "routing_strategy": "prefixaware",
        "kv_cache": False, "kv_cache_l2": "", "kv_cache_l2_url": "", "public_load_balancer": False}


def test_serializer_reports_the_clusters_state(cluster):
    Cluster.objects.filter(pk=cluster.pk).update(status="unreachable", operator_installed=False)
    cluster.refresh_from_db()
    serializer = HyperPodOptionsSerializer(data={"cluster_id": cluster.pk, "namespace": "prod"},
                                           context={"spec": SPEC, "model_uri": MODEL})
    assert not serializer.is_valid()
    text = " ".join(serializer.errors["cluster_id"])
    assert "unreachable" in text and "operator is not installed" in text and "no namespace 'prod'" in text


def test_serializer_maps_spec_problems_to_spec_fields(cluster):
    serializer = HyperPodOptionsSerializer(data={"cluster_id": cluster.pk, "public_load_balancer": True},
                                           context={"spec": {**SPEC, "instance_count": 9}, "model_uri": MODEL})
    assert not serializer.is_valid()
    assert set(serializer.errors) == {"public_load_balancer", "spec.instance_count"}

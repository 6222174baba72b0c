"""The endpoints app's deploy request with the HyperPod target: its options are checked by the
clusters app's validator and kept in the spec; the remote name is a Kubernetes name within budget."""

import pytest

from apps.clusters.models import Cluster
from apps.clusters.services import endpoints_on
from apps.endpoints import services
from apps.endpoints.serializers import validate_deploy
from tests.backends.hyperpod.factories import FACTS

pytestmark = pytest.mark.django_db

REQUEST = {"source": "s3", "model_uri": "s3://models-bucket/jobs/7/merged/", "target": "hyperpod", "engine": "vllm",
           "engine_version": "0.14.0", "instance_type": "ml.g5.12xlarge", "instance_count": 2,
           "tensor_parallel_size": 2, "max_model_len": 4096}


@pytest.fixture
def cluster(admin_user):
    return Cluster.objects.create(
        owner=admin_user, name="gpu", region="us-west-2", eks_cluster_name="hp", status="active",
        operator_installed=True, namespaces=["default", "ml"], namespace="ml", tls_certificate_s3_uri="s3://certs/hp",
        capacity={"instances": [i.as_dict() for i in FACTS.instances]})


def test_hyperpod_options_are_validated_and_kept_in_the_spec(cluster, user):
    deploy = validate_deploy({**REQUEST, "target_options": {"cluster_id": cluster.pk, "routing": True}}, user)
    assert deploy.ok, deploy.errors
    options = deploy.value.spec.target_options
    assert options["cluster_id"] == cluster.pk and options["namespace"] == "ml" and options["routing"] is True


def test_operator_rules_are_field_errors_of_the_request(cluster, user):
    deploy = validate_deploy({**REQUEST, "instance_count": 5,
                            "target_options": {"cluster_id": cluster.pk, "public_load_balancer": True}}, user)
    assert not deploy.ok
    errors = deploy.errors["target_options"]
    assert "public_load_balancer" in errors and "spec.instance_count" in errors


def test_other_targets_take_no_target_options(user):
    deploy = validate_deploy({**REQUEST, "target": "sagemaker", "target_options": {"cluster_id": 1}}, user)
    assert not deploy.ok and "registered cluster" in deploy.errors["target_options"][0]


def test_a_hyperpod_endpoint_gets_a_kubernetes_name(cluster, user, monkeypatch):
    from apps.endpoints import tasks

    monkeypatch.setattr(tasks.deploy_endpoint, "delay", lambda pk: None)
    deploy = validate_deploy({**REQUEST, "model_uri": "s3://models-bucket/Qwen3_8B-Instruct-Merged/",
                            "target_options": {"cluster_id": cluster.pk, "routing": True}}, user)
    assert deploy.ok, deploy.errors
    endpoint = services.create_endpoint(user, **deploy.value.create_kwargs())
    assert endpoint.remote_name == endpoint.remote_name.lower() and len(endpoint.remote_name) <= 46 - len("ml")
    assert endpoint.remote_name.endswith(f"-{endpoint.pk}")
    assert list(endpoints_on(cluster)) == [endpoint]


def test_the_deploy_form_posts_hyperpod_options(cluster, user):
    from django.http import QueryDict

    from apps.endpoints.forms import DeployForm, form_errors, request_values

    post = QueryDict(mutable=True)
    post.update({**{k: str(v) for k, v in REQUEST.items()}, "hyperpod_cluster_id": str(cluster.pk),
                 "hyperpod_routing": "on", "hyperpod_routing_strategy": "kvaware", "hyperpod_public_load_balancer": "on"})
    values = request_values(post)
    assert values["target_options"] == {"cluster_id": str(cluster.pk), "routing": True, "routing_strategy": "kvaware",
                                        "kv_cache": False, "public_load_balancer": True}
    deploy = validate_deploy(values, user)
    assert deploy.ok, deploy.errors
    post["instance_count"] = "9"
    deploy = validate_deploy(request_values(post), user)
    assert not deploy.ok
    assert "instance_count" in form_errors(deploy.errors)
    form = DeployForm(user, post, errors=deploy.errors)
    assert str(cluster.pk) in dict(form.fields["hyperpod_cluster_id"].choices)
    assert form.errors["instance_count"]

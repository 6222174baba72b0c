"""A registered cluster end to end: the reconcile loop finds its capacity, the HyperPod backend reaches
it through the clusters app's resolver, and the endpoint's API key stays out of the database, the
logs, the custom object and the API."""

import json
import logging

import pytest
from django.db import connection

from apps.backends import registry
from apps.backends.base import EndpointPhase, EndpointRef
from apps.backends.hyperpod import manifest
from apps.clusters import tasks
from tests.backends.hyperpod.factories import API_KEY, deployment

from .conftest import kubeconfig

pytestmark = pytest.mark.django_db


@pytest.fixture
def active_cluster(gpu_cluster, make_cluster):
    cluster = make_cluster(kubeconfig=kubeconfig(gpu_cluster.url))
    tasks.check_cluster.body(cluster)
    cluster.refresh_from_db()
    assert cluster.status == "active"
    return cluster


def test_deploy_to_a_registered_cluster_checks_its_capacity(active_cluster, gpu_cluster):
    backend = registry.serving_backend("hyperpod")
    options = {"cluster_id": active_cluster.pk, "namespace": "default"}
    with pytest.raises(manifest.ManifestError, match="7 free"):
        backend.deploy(deployment(options=options, instance_count=4))  # 4 × 2 GPUs > 7 free
    state = backend.deploy(deployment(options=options, instance_count=3))
    assert state.phase == EndpointPhase.CREATING
    ref = EndpointRef(endpoint_id=42, remote_name=state.name, options=options)
    assert backend.describe(ref).name == "mh-qwen3-8b-42"


def test_the_endpoint_api_key_never_appears_in_plain_text(active_cluster, gpu_cluster, admin_user, admin_api, caplog):
    from apps.endpoints.models import Endpoint

    endpoint = Endpoint.objects.create(
        owner=admin_user, name="qwen-hp", source="s3", model_uri="s3://models-bucket/jobs/7/merged/",
        target="hyperpod", engine="vllm", instance_type="ml.g5.12xlarge", status="creating",
        remote_name="mh-qwen3-8b-42", api_key=API_KEY,
        spec={"target_options": {"cluster_id": active_cluster.pk, "namespace": "default"}})
    backend = registry.serving_backend("hyperpod")
    options = {"cluster_id": active_cluster.pk, "namespace": "default", "routing": True}
    with caplog.at_level(logging.DEBUG):
        backend.deploy(deployment(options=options, secrets={"api_key": API_KEY}))
        backend.describe(EndpointRef(endpoint_id=42, remote_name="mh-qwen3-8b-42", options=options, api_key=API_KEY))
        backend.delete(EndpointRef(endpoint_id=42, remote_name="mh-qwen3-8b-42", options=options, api_key=API_KEY))
    assert API_KEY not in caplog.text
    with connection.cursor() as cursor:
        cursor.execute("SELECT api_key FROM endpoints_endpoint WHERE id = %s", [endpoint.pk])
        assert API_KEY not in cursor.fetchone()[0]
    for url in (f"/api/v1/endpoints/{endpoint.pk}/", "/api/v1/endpoints/", f"/api/v1/clusters/{active_cluster.pk}/"):
        assert API_KEY not in admin_api.get(url).content.decode()
    created = [json.loads(r.text) for r in gpu_cluster.calls("POST") if "inferenceendpointconfigs" in r.url.path]
    assert created and API_KEY not in json.dumps(created)


def test_a_cluster_removed_from_modelhub_is_a_clear_error(active_cluster):
    from apps.backends.errors import RemoteValidationError

    options = {"cluster_id": active_cluster.pk + 1000}
    with pytest.raises(RemoteValidationError, match="not registered"):
        registry.serving_backend("hyperpod").deploy(deployment(options=options))

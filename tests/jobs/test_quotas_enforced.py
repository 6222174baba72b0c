"""Per-user quotas at creation (issue #15): concurrent jobs, endpoints and the instances they hold. Over quota,
the API answers 403 `quota_exceeded` with what to do and creates nothing; the forms show the same words;
admins are exempt; only what is still running counts; a scale-up needs room for its extra instances."""

import pytest

from apps.core.quotas import Usage, usage_of
from apps.endpoints.models import Endpoint
from apps.endpoints.models import Status as EndpointStatus
from apps.jobs.models import Status, TrainingJob
from tests.conftest import _client_for, make_user
from tests.endpoints.factories import make_endpoint

from .factories import make_dataset, make_job, valid_spec

pytestmark = pytest.mark.django_db


@pytest.fixture
def limits(settings, fake_training, fake_serving, inline_tasks):
    settings.QUOTA_CONCURRENT_JOBS, settings.QUOTA_ENDPOINTS, settings.QUOTA_INSTANCES = 2, 1, 3
    return settings


def post_job(user, **spec):
    request = {**valid_spec("sft", make_dataset(user, "alpaca", staged=True)), **spec}
    return _client_for(user).post("/api/v1/jobs/", request, format="json")


def deploy(user, **body):
    request = {"source": "s3", "model_uri": "s3://own-bucket/merged/", "instance_type": "ml.g5.2xlarge",
               "max_model_len": 4096, **body}
    return _client_for(user).post("/api/v1/endpoints/", request, format="json")


def test_the_job_over_the_limit_is_refused_with_what_to_do_and_nothing_is_created(limits, user):
    make_job(user, name="running", status=Status.RUNNING)
    make_job(user, name="queued", status=Status.QUEUED)
    response = post_job(user)
    assert response.status_code == 403, response.json()
    body = response.json()
    assert body["code"] == "quota_exceeded"
    assert "at most 2 training jobs" in body["message"] and "QUOTA_CONCURRENT_JOBS" in body["message"]
    assert TrainingJob.objects.filter(owner=user).count() == 2


def test_finished_and_deleted_jobs_do_not_count(limits, user):
    make_job(user, name="done", status=Status.SUCCEEDED)
    make_job(user, name="failed", status=Status.FAILED)
    hidden = make_job(user, name="hidden", status=Status.RUNNING)
    TrainingJob.objects.filter(pk=hidden.pk).update(deleted_at="2026-01-01T00:00:00Z")
    assert usage_of(user) == Usage()
    assert post_job(user).status_code == 201


def test_instances_count_across_jobs_and_endpoints(limits, user):
    make_endpoint(user, status=EndpointStatus.IN_SERVICE, instance_count=2)
    make_job(user, status=Status.RUNNING)  # one instance
    assert usage_of(user) == Usage(jobs=1, endpoints=1, instances=3)
    response = post_job(user)
    assert response.status_code == 403 and "at most 3 instances" in response.json()["message"]


def test_the_endpoint_over_the_limit_is_refused_and_a_failed_one_does_not_count(limits, user):
    failed = make_endpoint(user, name="broken", status=EndpointStatus.FAILED)
    first = deploy(user, name="first")
    assert first.status_code == 201, first.json()
    second = deploy(user, name="second")
    assert second.status_code == 403 and "at most 1 endpoints" in second.json()["message"]
    assert set(Endpoint.objects.filter(owner=user).values_list("name", flat=True)) == {failed.name, "first"}


def test_autoscaling_counts_its_maximum_and_a_scale_up_needs_room(limits, user):
    endpoint = make_endpoint(user, status=EndpointStatus.IN_SERVICE, instance_count=1)
    api = _client_for(user)
    refused = api.patch(f"/api/v1/endpoints/{endpoint.pk}/", {"instance_count": 4}, format="json")
    assert refused.status_code == 403 and refused.json()["code"] == "quota_exceeded"
    endpoint.refresh_from_db()
    assert endpoint.instance_count == 1 and endpoint.status == EndpointStatus.IN_SERVICE
    assert api.patch(f"/api/v1/endpoints/{endpoint.pk}/", {"instance_count": 3}, format="json").status_code == 202


def test_admins_have_no_quota(limits):
    admin = make_user("root", group="admin")
    for n in range(3):
        make_job(admin, name=f"run-{n}", status=Status.RUNNING)
    assert post_job(admin).status_code == 201


def test_the_forms_show_the_quota_message(limits, user, client):
    make_job(user, name="a", status=Status.RUNNING)
    make_job(user, name="b", status=Status.RUNNING)
    client.force_login(user)
    request = valid_spec("sft", make_dataset(user, "alpaca", staged=True))
    page = client.post("/jobs/new", request)
    assert page.status_code == 400
    assert "at most 2 training jobs" in page.content.decode()
    assert TrainingJob.objects.filter(owner=user).count() == 2

    make_endpoint(user, status=EndpointStatus.IN_SERVICE)
    page = client.post("/endpoints/new", {"source": "s3", "model_uri": "s3://own-bucket/merged/",
                                           "instance_type": "ml.g5.2xlarge", "engine": "vllm", "max_model_len": 4096})
    assert "at most 1 endpoints" in page.content.decode()
    assert Endpoint.objects.filter(owner=user).count() == 1

"""/api/v1/endpoints/: create from every source, validation (400, nothing created), scale, delete,
events, ownership, secrets."""

import pytest

from apps.endpoints.models import Endpoint, Status
from apps.jobs.models import Status as JobStatus
from tests.jobs.factories import make_job

from .factories import make_endpoint

pytestmark = pytest.mark.django_db
URL = "/api/v1/endpoints/"


@pytest.fixture
def deploys(fake_serving, inline_tasks):
    """Tasks a request enqueues run at once (test transactions never commit), against the fake target."""
    return inline_tasks


def catalog_request(model, **overrides):
    return {"source": "catalog", "base_model": model.key, "instance_type": "ml.g5.2xlarge", "engine": "vllm",
            **overrides}


def test_create_from_catalog_model(user_api, small_model, deploys):
    response = user_api.post(URL, catalog_request(small_model, name="support-bot"), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    endpoint = Endpoint.objects.get(pk=body["id"])
    assert body["name"] == endpoint.name == "support-bot"
    assert endpoint.remote_name == f"mh-support-bot-{endpoint.pk}"
    assert (endpoint.source, endpoint.base_model, endpoint.model_uri) == ("catalog", small_model, small_model.repo_id)
    assert endpoint.engine == "vllm" and endpoint.spec["tensor_parallel_size"] == 1
    assert endpoint.served_model_name == "Qwen2.5-0.5B-Instruct"
    assert ("endpoints.deploy", (endpoint.pk,)) in deploys
    endpoint.refresh_from_db()
    assert endpoint.status == Status.CREATING


def test_create_from_hf_repo_and_s3_prefix(user_api, deploys):
    hf = user_api.post(URL, {"source": "hf", "model_uri": "my-org/Mistral-7B-support", "parameters_b": 7.2,
                             "instance_type": "ml.g5.2xlarge", "max_model_len": 8192}, format="json")
    assert hf.status_code == 201, hf.json()
    assert hf.json()["model_uri"] == "my-org/Mistral-7B-support"
    s3 = user_api.post(URL, {"source": "s3", "model_uri": "s3://my-models/llama/merged", "instance_type": "ml.g5.2xlarge",
                             "max_model_len": 8192}, format="json")
    assert s3.status_code == 201, s3.json()
    assert s3.json()["model_uri"] == "s3://my-models/llama/merged/"
    assert s3.json()["name"].startswith("mh-merged-")


def test_create_from_a_succeeded_job_uses_its_deployable_model(user_api, user, settings, deploys):
    settings.S3_BUCKET = "modelhub-test"
    job = make_job(user, status=JobStatus.SUCCEEDED, spec={"job_type": "sft", "finetuning_method": "lora",
                                                             "base_model": "Qwen/Qwen2.5-0.5B-Instruct",
                                                             "base_model_source": "hf",
                                                             "base_model_uri": "Qwen/Qwen2.5-0.5B-Instruct"})
    response = user_api.post(URL, {"source": "job", "job": job.pk, "instance_type": "ml.g5.2xlarge"}, format="json")
    assert response.status_code == 201, response.json()
    endpoint = Endpoint.objects.get(pk=response.json()["id"])
    assert endpoint.job == job and endpoint.source == "job"
    assert endpoint.model_uri == job.deployable_model_uri()
    assert endpoint.model_uri.startswith("s3://modelhub-test/") and "merged" in endpoint.model_uri


@pytest.mark.parametrize("job_status", [JobStatus.FAILED, JobStatus.RUNNING, JobStatus.QUEUED])
def test_deploying_an_unfinished_or_failed_job_is_refused(user_api, user, job_status, settings, deploys):
    settings.S3_BUCKET = "modelhub-test"
    job = make_job(user, status=job_status)
    response = user_api.post(URL, {"source": "job", "job": job.pk, "instance_type": "ml.g5.2xlarge"}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "validation_error"
    assert f"is {job_status}" in body["errors"]["job"][0] and "only succeeded jobs" in body["errors"]["job"][0]
    assert Endpoint.objects.count() == 0 and deploys == []


def test_someone_elses_job_cannot_be_deployed(other_api, user, settings, deploys):
    settings.S3_BUCKET = "modelhub-test"
    job = make_job(user, status=JobStatus.SUCCEEDED)
    response = other_api.post(URL, {"source": "job", "job": job.pk, "instance_type": "ml.g5.2xlarge"}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"]["job"] == [f"No training job {job.pk}."]


@pytest.mark.parametrize("overrides, field, words", [
    ({"engine": "tgi"}, "engine", "not a valid choice"),
    ({"instance_type": "ml.g4dn.xlarge", "tensor_parallel_size": 4}, "tensor_parallel_size", "has 1 GPU"),
    ({"name": "bad_name-"}, "name", "letters, digits and '-'"),
    ({"name": "x" * 70}, "name", "at most 63"),
    ({"name": "mh-bot-1"}, "name", "kept for derived names"),
    ({"instance_type": "ml.m5.large"}, "instance_type", "Unknown instance type"),
    ({"max_model_len": 10}, "max_model_len", "greater than or equal to 64"),
])
def test_bad_specs_get_field_errors_and_create_nothing(user_api, small_model, overrides, field, words, deploys):
    response = user_api.post(URL, catalog_request(small_model, **overrides), format="json")
    assert response.status_code == 400, response.json()
    errors = response.json()["errors"]
    assert field in errors, errors
    assert any(words in message for message in errors[field]), errors[field]
    assert Endpoint.objects.count() == 0 and deploys == []


def test_a_model_too_large_for_the_instance_is_refused(user_api, huge_model, deploys):
    response = user_api.post(URL, catalog_request(huge_model, instance_type="ml.g5.2xlarge"), format="json")
    assert response.status_code == 400
    [message] = response.json()["errors"]["instance_type"]
    assert "weights" in message and "larger instance" in message
    assert Endpoint.objects.count() == 0 and deploys == []


def test_several_problems_are_reported_together(user_api, deploys):
    response = user_api.post(URL, {"source": "catalog", "base_model": "no-such-model", "engine": "tgi",
                                   "instance_type": "ml.g5.2xlarge", "name": "-x"}, format="json")
    assert response.status_code == 400
    assert {"base_model", "engine", "name"} <= set(response.json()["errors"])


def test_names_are_unique(user_api, small_model, deploys):
    assert user_api.post(URL, catalog_request(small_model, name="one"), format="json").status_code == 201
    again = user_api.post(URL, catalog_request(small_model, name="one"), format="json")
    assert again.status_code == 400
    assert "already exists" in again.json()["errors"]["name"][0]
    assert Endpoint.objects.count() == 1


def test_ownership(user_api, other_api, admin_api, user, other_user):
    mine = make_endpoint(user)
    theirs = make_endpoint(other_user)
    assert [e["id"] for e in user_api.get(URL).json()["results"]] == [mine.pk]
    assert user_api.get(f"{URL}{theirs.pk}/").status_code == 404
    assert user_api.patch(f"{URL}{theirs.pk}/", {"instance_count": 2}, format="json").status_code == 404
    assert user_api.delete(f"{URL}{theirs.pk}/").status_code == 404
    assert user_api.get(f"{URL}{theirs.pk}/events/").status_code == 404
    assert Endpoint.objects.get(pk=theirs.pk).status == Status.QUEUED
    assert {e["id"] for e in admin_api.get(URL).json()["results"]} == {mine.pk, theirs.pk}
    assert admin_api.get(f"{URL}{theirs.pk}/").json()["owner"] == other_user.username


def test_unauthenticated_requests_are_refused(api_client, user):
    endpoint = make_endpoint(user)
    assert api_client.get(URL).status_code in (401, 403)
    assert api_client.get(f"{URL}{endpoint.pk}/").status_code in (401, 403)


def test_api_key_is_never_returned(user_api, user):
    endpoint = make_endpoint(user)
    Endpoint.objects.filter(pk=endpoint.pk).update(api_key="")  # field-level encryption: set through the model
    endpoint.api_key = "sk-endpoint-secret-value-123456"
    endpoint.save(update_fields=["api_key"])
    for url in (URL, f"{URL}{endpoint.pk}/", f"{URL}{endpoint.pk}/events/"):
        text = user_api.get(url).content.decode()
        assert "sk-endpoint-secret-value-123456" not in text and "api_key" not in text


def test_scale_an_endpoint_in_service(user_api, user, fake_serving, request):
    endpoint = make_endpoint(user)
    fake_serving.deploy_scripts[endpoint.remote_name] = (["in_service"], "")
    from apps.endpoints import tasks

    tasks.deploy_endpoint.run(endpoint.pk)
    assert Endpoint.objects.get(pk=endpoint.pk).status == Status.IN_SERVICE
    inline_tasks = request.getfixturevalue("inline_tasks")
    response = user_api.patch(f"{URL}{endpoint.pk}/", {"instance_count": 2}, format="json")
    assert response.status_code == 202, response.json()
    assert response.json()["status"] == "updating" and response.json()["instance_count"] == 2
    assert ("endpoints.update", (endpoint.pk,)) in inline_tasks
    assert fake_serving.endpoints[endpoint.remote_name].instance_count == 2

    endpoint.refresh_from_db()
    Endpoint.objects.filter(pk=endpoint.pk).update(status=Status.IN_SERVICE)
    autoscaling = {"min_instances": 1, "max_instances": 4, "target_invocations_per_instance": 30}
    response = user_api.patch(f"{URL}{endpoint.pk}/", {"autoscaling": autoscaling}, format="json")
    assert response.status_code == 202
    assert response.json()["autoscaling"] == autoscaling


def test_scale_validation_and_state(user_api, user):
    endpoint = make_endpoint(user)  # queued: not in service
    assert user_api.patch(f"{URL}{endpoint.pk}/", {"instance_count": 2}, format="json").status_code == 409
    Endpoint.objects.filter(pk=endpoint.pk).update(status=Status.IN_SERVICE)
    bad = user_api.patch(f"{URL}{endpoint.pk}/", {"autoscaling": {"min_instances": 3, "max_instances": 2}}, format="json")
    assert bad.status_code == 400 and "max_instances" in bad.json()["errors"]["autoscaling"]
    assert user_api.patch(f"{URL}{endpoint.pk}/", {"instance_count": 0}, format="json").status_code == 400
    other = user_api.patch(f"{URL}{endpoint.pk}/", {"engine": "sglang"}, format="json")
    assert other.status_code == 400 and "engine" in other.json()["errors"]
    assert Endpoint.objects.get(pk=endpoint.pk).status == Status.IN_SERVICE


def test_delete_and_events(user_api, user, fake_serving, request):
    endpoint = make_endpoint(user)  # queued: its deploy never ran
    inline_tasks = request.getfixturevalue("inline_tasks")
    response = user_api.delete(f"{URL}{endpoint.pk}/")
    assert response.status_code == 202 and response.json()["status"] == "deleting"
    assert ("endpoints.delete", (endpoint.pk,)) in inline_tasks
    assert Endpoint.objects.get(pk=endpoint.pk).status == Status.DELETED  # nothing existed remotely
    assert user_api.delete(f"{URL}{endpoint.pk}/").status_code == 409
    events = user_api.get(f"{URL}{endpoint.pk}/events/").json()["results"]
    assert [e["data"].get("to") for e in events if e["kind"] == "status"] == ["queued", "deleting", "deleted"]
    assert endpoint.pk not in [e["id"] for e in user_api.get(URL).json()["results"]]
    assert [e["id"] for e in user_api.get(URL + "?status=deleted").json()["results"]] == [endpoint.pk]


def test_failure_reason_reaches_the_api(user_api, user, fake_serving):
    from apps.endpoints import tasks

    endpoint = make_endpoint(user)
    reason = "The primary container did not pass the ping health check."
    fake_serving.deploy_scripts[endpoint.remote_name] = (["creating", "failed"], reason)
    tasks.deploy_endpoint.run(endpoint.pk)
    tasks.reconcile_endpoints.run()
    body = user_api.get(f"{URL}{endpoint.pk}/").json()
    assert body["status"] == "failed"
    assert body["failure_reason"] == body["status_reason"] == reason

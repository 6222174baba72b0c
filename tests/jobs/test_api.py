import pytest

from apps.jobs import services
from apps.jobs.models import JobEvent, Status, TrainingJob

from apps.backends.storage import split_s3

from .factories import FORMAT_FOR_TYPE, make_dataset, make_job, trainer_log_uri, valid_spec

pytestmark = pytest.mark.django_db
JOB_TYPES = list(FORMAT_FOR_TYPE)


@pytest.fixture
def sft_dataset(user):
    return make_dataset(user, "alpaca")


@pytest.mark.parametrize("job_type", JOB_TYPES)
def test_create_each_type(user, user_api, job_type, fake_training, inline_tasks):
    dataset = make_dataset(user, FORMAT_FOR_TYPE[job_type], staged=True)
    response = user_api.post("/api/v1/jobs/", valid_spec(job_type, dataset), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    job = TrainingJob.objects.get(pk=body["id"])
    assert body["status"] == Status.QUEUED and job.owner == user and job.job_type == job_type
    assert body["target"] == body["backend"] == "fake"
    assert job.spec["datasets"] == [dataset.pk]
    assert body["spec"]["job_type"] == job_type
    assert inline_tasks == [("jobs.submit", (job.pk,))]
    assert job.status == Status.STARTING  # submitted once the create committed
    sent = fake_training.runs[job.remote_name].submission
    assert sent.job_type == job_type and "job.json" in sent.files and sent.environment["MODELHUB_JOB_ID"] == str(job.pk)


def test_invalid_spec_is_400_with_field_errors_and_creates_nothing(user, user_api, sft_dataset):
    bad = valid_spec("sft", sft_dataset) | {
        "name": "", "finetuning_method": "qlora", "quantization_bit": None, "use_spot": True, "max_run_hours": 10, "max_wait_hours": 2,
        "instance_type": "ml.nope.xlarge",
    }
    response = user_api.post("/api/v1/jobs/", bad, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "validation_error"
    assert set(body["errors"]) >= {"name", "quantization_bit", "instance_type"}
    assert not TrainingJob.objects.exists()
    assert not JobEvent.objects.exists()


def test_other_users_dataset_is_rejected(user_api, other_user):
    theirs = make_dataset(other_user, "alpaca")
    response = user_api.post("/api/v1/jobs/", valid_spec("sft", theirs), format="json")
    assert response.status_code == 400
    assert "datasets" in response.json()["errors"]
    assert not TrainingJob.objects.exists()


def test_grpo_without_reward_takes_the_forms_default(user, user_api):
    dataset = make_dataset(user, "prompt_answer")
    spec = valid_spec("grpo", dataset)
    del spec["reward_function"]
    response = user_api.post("/api/v1/jobs/", spec, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["spec"]["reward_function"] == "math"
    response = user_api.post("/api/v1/jobs/", {**spec, "reward_function": None}, format="json")
    assert response.status_code == 400 and "reward_function" in response.json()["errors"]


def test_ownership(user, other_user, user_api, other_api, admin_api):
    mine = make_job(user, name="mine")
    theirs = make_job(other_user, name="theirs")
    assert [j["name"] for j in user_api.get("/api/v1/jobs/").json()["results"]] == ["mine"]
    assert user_api.get(f"/api/v1/jobs/{theirs.pk}/").status_code == 404
    for verb, path in [("post", "stop"), ("post", "clone"), ("get", "logs"), ("get", "metrics"), ("get", "events")]:
        assert getattr(user_api, verb)(f"/api/v1/jobs/{theirs.pk}/{path}", format="json").status_code == 404, path
    assert user_api.delete(f"/api/v1/jobs/{theirs.pk}/").status_code == 404
    assert TrainingJob.objects.get(pk=theirs.pk).deleted_at is None
    names = sorted(j["name"] for j in admin_api.get("/api/v1/jobs/").json()["results"])
    assert names == ["mine", "theirs"]
    assert [j["name"] for j in admin_api.get("/api/v1/jobs/?owner=bob").json()["results"]] == ["theirs"]
    # a default user cannot widen the list with owner=
    assert [j["name"] for j in user_api.get("/api/v1/jobs/?owner=bob").json()["results"]] == ["mine"]
    assert admin_api.post(f"/api/v1/jobs/{mine.pk}/stop").status_code == 202
    assert other_api.get(f"/api/v1/jobs/{mine.pk}/").status_code == 404


def test_list_filters_search_ordering_pagination(user, user_api):
    for i in range(60):
        make_job(user, name=f"run-{i:02d}", job_type="dpo" if i % 3 == 0 else "sft",
                 status=Status.FAILED if i % 5 == 0 else Status.QUEUED)
    page = user_api.get("/api/v1/jobs/").json()
    assert page["count"] == 60 and len(page["results"]) == 50 and page["next"]
    assert page["results"][0]["name"] == "run-59"
    failed = user_api.get("/api/v1/jobs/?status=failed").json()
    assert failed["count"] == 12 and {j["status"] for j in failed["results"]} == {"failed"}
    both = user_api.get("/api/v1/jobs/?status=failed&job_type=dpo").json()
    assert both["count"] == 4
    found = user_api.get("/api/v1/jobs/?search=run-0").json()
    assert found["count"] == 10
    by_name = user_api.get("/api/v1/jobs/?ordering=name&page_size=3").json()
    assert [j["name"] for j in by_name["results"]] == ["run-00", "run-01", "run-02"]


def test_stop_queued_job_is_immediate_and_second_stop_conflicts(user, user_api):
    job = make_job(user)
    response = user_api.post(f"/api/v1/jobs/{job.pk}/stop")
    assert response.status_code == 202
    assert response.json()["status"] == "stopped"
    again = user_api.post(f"/api/v1/jobs/{job.pk}/stop")
    assert again.status_code == 409 and "already stopped" in again.json()["message"]


def test_delete_hides_but_keeps_history_and_stops_running_jobs(user, user_api, fake_training, inline_tasks):
    job = make_job(user, status=Status.RUNNING)
    assert user_api.delete(f"/api/v1/jobs/{job.pk}/").status_code == 204
    assert user_api.get(f"/api/v1/jobs/{job.pk}/").status_code == 404
    assert user_api.get("/api/v1/jobs/").json()["count"] == 0
    job.refresh_from_db()
    assert job.deleted_at is not None and job.status == Status.STOPPING
    assert inline_tasks == [("jobs.stop", (job.pk,))] and fake_training.calls["stop"] == 1
    assert job.events.filter(message__startswith="Deleted").exists()


def test_clone_revalidates_and_creates_a_new_queued_job(user, user_api, sft_dataset, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):  # submission messages are not delivered here
        created = user_api.post("/api/v1/jobs/", valid_spec("sft", sft_dataset) | {"lora_rank": 32}, format="json").json()
        response = user_api.post(f"/api/v1/jobs/{created['id']}/clone", {"name": "again"}, format="json")
    assert response.status_code == 201, response.json()
    clone = response.json()
    assert clone["id"] != created["id"] and clone["name"] == "again" and clone["status"] == "queued"
    assert clone["spec"] == created["spec"]


def test_events_are_listed_in_order(user, user_api):
    job = make_job(user)
    job.transition(Status.SUBMITTING, "go")
    job.record_event("hello", kind="remote")
    events = user_api.get(f"/api/v1/jobs/{job.pk}/events").json()["results"]
    assert [e["message"] for e in events] == ["queued → submitting: go", "hello"]


def test_openapi_documents_one_create_schema_per_job_type(admin_api):
    schema = admin_api.get("/api/schema/?format=json").json()
    components = schema["components"]["schemas"]
    for job_type in JOB_TYPES:
        component = components[f"{job_type.upper()}JobCreateRequest"]
        assert "name" in component["properties"] and "base_model" in component["properties"]
    assert "reward_function" in components["GRPOJobCreateRequest"]["properties"]
    assert "reward_function" not in components["SFTJobCreateRequest"]["properties"]
    assert "pref_beta" in components["DPOJobCreateRequest"]["properties"]
    assert components["DPOJobCreateRequest"]["properties"]["learning_rate"]["default"] == 5e-6


def test_logs_api_rejects_a_bad_token_and_waits_for_queued_jobs(user, user_api, fake_sagemaker):
    queued = make_job(user)
    assert user_api.get(f"/api/v1/jobs/{queued.pk}/logs").json() == {"lines": [], "next_token": None}
    running = make_job(user, status=Status.RUNNING, remote_id="arn:x")
    response = user_api.get(f"/api/v1/jobs/{running.pk}/logs", {"next_token": "%%%not-a-token"})
    assert response.status_code == 400 and "next_token" in response.json()["errors"]


def test_metrics_api_returns_points_and_progress(user, user_api, fake_sagemaker):
    import json

    job = make_job(user, status=Status.RUNNING, remote_id="arn:x")
    bucket, key = split_s3(trainer_log_uri(job))
    lines = [{"current_steps": 5, "total_steps": 20, "loss": 2.0, "lr": 1e-4, "remaining_time": "0:01:00"},
             {"current_steps": 10, "total_steps": 20, "loss": 1.5, "lr": 9e-5, "remaining_time": "0:00:30"}]
    fake_sagemaker.s3.put_object(Bucket=bucket, Key=key, Body="\n".join(json.dumps(x) for x in lines).encode())
    body = user_api.get(f"/api/v1/jobs/{job.pk}/metrics").json()
    assert [p["loss"] for p in body["records"]] == [2.0, 1.5]
    assert body["progress"] == {"step": 10, "total_steps": 20, "percentage": 50.0, "eta_seconds": 30}


def test_metrics_of_a_job_that_failed_before_starting_are_empty(user, user_api, settings):
    settings.S3_BUCKET = ""  # the job never got a storage prefix: its trainer log path is not a location
    job = make_job(user, status=Status.FAILED, status_reason="S3_BUCKET is not configured")
    assert job.output_uri == ""
    response = user_api.get(f"/api/v1/jobs/{job.pk}/metrics")
    assert response.status_code == 200
    assert response.json() == {"records": [], "progress": {"step": None, "total_steps": None, "percentage": None,
                                                           "eta_seconds": None}}


def test_logs_and_metrics_of_a_fake_job(user, user_api, fake_training, inline_tasks):
    job = make_job(user, spec={"template": "qwen3"})
    services.submit(job)
    fake_training.log(job.remote_name, "hello", "world")
    fake_training.files[trainer_log_uri(job)] = '{"current_steps": 3, "total_steps": 6, "loss": 1.0}\n'
    logs = user_api.get(f"/api/v1/jobs/{job.pk}/logs").json()
    assert [line["message"] for line in logs["lines"]] == ["hello", "world"] and logs["next_token"] == "2"
    body = user_api.get(f"/api/v1/jobs/{job.pk}/metrics").json()
    assert body["records"] == [{"step": 3, "total_steps": 6, "loss": 1.0}] and body["progress"]["percentage"] == 50.0


def test_a_job_whose_target_is_no_longer_configured_still_answers(user, user_api):
    job = make_job(user, status=Status.RUNNING, target="retired-cluster")
    assert user_api.get(f"/api/v1/jobs/{job.pk}/logs").json() == {"lines": [], "next_token": None}
    assert user_api.get(f"/api/v1/jobs/{job.pk}/metrics").json()["records"] == []
    assert user_api.get(f"/api/v1/jobs/{job.pk}/").json()["target"] == "retired-cluster"

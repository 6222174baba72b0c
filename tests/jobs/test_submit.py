"""Submit: idempotent (describe first, adopt on ResourceInUse), retries transient errors, fails on
validation errors with AWS's message, and cooperates with a stop that arrives mid-submission."""

import pytest

from apps.backends.errors import TransientError
from apps.jobs import services, tasks
from apps.jobs.models import Status, TrainingJob

from .factories import make_dataset
from .fake_sagemaker import client_error

pytestmark = pytest.mark.django_db


@pytest.fixture
def job(user, fake_sagemaker, monkeypatch):
    """A queued sft job with a valid spec; the bundle is staged into a dict instead of S3."""
    from apps.jobs.spec import TrainingSpecSerializer

    dataset = make_dataset(user, "alpaca")
    dataset.staged = {"s3": "s3://modelhub-test/datasets/x/staged/"}
    dataset.save()
    serializer = TrainingSpecSerializer(
        data={"job_type": "sft", "base_model": "Qwen/Qwen3-0.6B", "datasets": [str(dataset.pk)], "template": "qwen3"},
        context={"user": user})
    assert serializer.is_valid(), serializer.errors
    staged = {}
    monkeypatch.setattr(fake_sagemaker.backend, "stage_files", lambda locations, files: staged.update(files))
    fake_sagemaker.staged = staged
    return TrainingJob.objects.create(owner=user, name="run", job_type="sft", spec=serializer.spec.to_dict())


def test_submit_creates_once_and_a_second_run_adopts(job, fake_sagemaker):
    services.submit(job)
    job.refresh_from_db()
    assert job.status == Status.STARTING and job.remote_id.endswith(job.remote_name)
    assert fake_sagemaker.calls["create_training_job"] == 1
    assert "job.json" in fake_sagemaker.staged
    # a duplicate message (or a re-dispatch) finds the job already past submitting: no AWS call at all
    services.submit(job)
    assert fake_sagemaker.calls["create_training_job"] == 1


def test_retried_submit_adopts_the_job_a_killed_worker_created(job, fake_sagemaker):
    job.transition(Status.SUBMITTING, "worker A")
    fake_sagemaker.add_remote(job.remote_name, "InProgress", "Downloading")  # A created it, then died
    services.submit(job)  # worker B, after redelivery
    job.refresh_from_db()
    assert fake_sagemaker.calls["create_training_job"] == 0
    assert job.status == Status.STARTING and job.remote_detail == "Downloading"
    assert job.events.filter(message__startswith="Adopted").exists()


def test_create_conflict_is_adopted_not_duplicated(job, fake_sagemaker):
    # describe says "not found", but another worker creates it just before our create: AWS says ResourceInUse
    fake_sagemaker.add_remote(job.remote_name, "InProgress", "Training")
    fake_sagemaker.fail_next.append(client_error("ValidationException", f"Could not find training job '{job.remote_name}'."))
    services.submit(job)
    job.refresh_from_db()
    assert fake_sagemaker.calls["create_training_job"] == 1  # raised ResourceInUse
    assert len(fake_sagemaker.jobs) == 1
    assert job.status == Status.RUNNING  # adopted, and the remote status applied at once


def test_throttling_is_retried_then_succeeds(job, fake_sagemaker, inline_tasks):
    fake_sagemaker.fail_next.append(client_error("ThrottlingException", "Rate exceeded", status=400))
    tasks.submit_job.delay(job.pk)
    job.refresh_from_db()
    assert inline_tasks == [("jobs.submit", (job.pk,))] * 2  # the first attempt was throttled, the retry went through
    assert job.status == Status.STARTING and fake_sagemaker.calls["create_training_job"] == 1
    assert fake_sagemaker.calls["describe_training_job"] == 2  # the throttled describe, then one that found nothing


def test_server_error_is_transient(job, fake_sagemaker):
    fake_sagemaker.fail_next.append(client_error("InternalFailure", "We encountered an internal error.", status=500))
    with pytest.raises(TransientError):
        services.submit(job)


def test_validation_error_fails_the_job_with_awss_message(job, fake_sagemaker):
    message = "1 validation error detected: Value 'ml.g5.2xlarge' at 'resourceConfig.instanceType' failed to satisfy constraint"
    fake_sagemaker.fail_next += [
        client_error("ValidationException", f"Could not find training job '{job.remote_name}'."),
        client_error("ValidationException", message),
    ]
    services.submit(job)
    job.refresh_from_db()
    assert job.status == Status.FAILED and message in job.status_reason and job.ended_at is not None


def test_stop_during_submission_stops_what_was_created(job, fake_sagemaker, monkeypatch, django_capture_on_commit_callbacks):
    real_create = fake_sagemaker.create_training_job

    def create_while_user_stops(**request):
        result = real_create(**request)
        services.stop_job(TrainingJob.objects.get(pk=job.pk))  # the user clicks Stop right now
        return result

    monkeypatch.setattr(fake_sagemaker, "create_training_job", create_while_user_stops)
    with django_capture_on_commit_callbacks(execute=False) as sent:  # the stop task's message is not delivered
        services.submit(job)
    assert len(sent) == 1
    job.refresh_from_db()
    assert job.status == Status.STOPPING
    assert fake_sagemaker.calls["stop_training_job"] == 1
    assert fake_sagemaker.jobs[job.remote_name]["TrainingJobStatus"] == "Stopping"


def test_stopped_while_queued_is_never_submitted(job, fake_sagemaker):
    assert services.stop_job(job)
    services.submit(job)
    assert fake_sagemaker.calls == {}
    job.refresh_from_db()
    assert job.status == Status.STOPPED


def test_unstaged_datasets_are_staged_for_the_backend(job, fake_sagemaker, monkeypatch):
    from apps.catalog.models import Dataset

    staged = []
    Dataset.objects.update(staged={})
    monkeypatch.setattr("apps.catalog.staging.stage", lambda ds, target: staged.append((ds.pk, target)) or "s3://x/")
    services.submit(job)
    assert staged == [(job.spec["datasets"][0], "s3")]


def test_submit_that_outlives_its_time_limit_fails_with_a_reason(job, fake_sagemaker, monkeypatch):
    from celery.exceptions import SoftTimeLimitExceeded

    def slow(job, backend):
        raise SoftTimeLimitExceeded()

    monkeypatch.setattr("apps.jobs.services.stage_datasets", slow)
    services.submit(job)
    job.refresh_from_db()
    assert job.status == Status.FAILED and "took too long" in job.status_reason

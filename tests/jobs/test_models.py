import re

import pytest

from apps.jobs.models import JOB_MACHINE, NotDeployable, Status, TrainingJob

from .factories import make_job

pytestmark = pytest.mark.django_db


def test_new_job_is_queued_with_a_remote_name_derived_from_its_id(user):
    job = make_job(user, name="Qwen 2.5 / sft: run #1 " + "x" * 70)  # within the 100-character column
    job.refresh_from_db()
    assert job.status == Status.QUEUED
    assert len(job.remote_name) <= 63
    assert re.fullmatch(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}", job.remote_name)
    assert job.remote_name.startswith("mhjob-Qwen-2-5-sft-run-1")
    assert job.remote_name.endswith(f"-{job.pk}{job.name_nonce}")
    assert job.output_uri.endswith(f"/jobs/{job.remote_name}/")


def test_two_jobs_with_the_same_name_get_different_remote_names(user):
    assert make_job(user).remote_name != make_job(user).remote_name


def test_machine_never_goes_backwards():
    order = ["queued", "submitting", "starting", "running", "stopping"]
    for i, state in enumerate(order):
        for earlier in order[:i]:
            assert not JOB_MACHINE.allows(state, earlier), (state, earlier)
    assert JOB_MACHINE.terminal == {"succeeded", "failed", "stopped"}
    for state in ["queued", "submitting", "starting", "running"]:
        assert JOB_MACHINE.allows(state, "stopping") or JOB_MACHINE.allows(state, "stopped")


def test_transition_records_an_event(user):
    job = make_job(user)
    assert job.transition(Status.SUBMITTING, "sending")
    assert not job.transition(Status.QUEUED)
    event = job.events.get()
    assert event.kind == "status" and event.data == {"from": "queued", "to": "submitting"}


@pytest.mark.parametrize(
    "job_type,method,expected",
    [("sft", "lora", "merged/"), ("dpo", "qlora", "merged/"), ("pt", "full", "model/"),
     ("sft", "freeze", "model/"), ("grpo", "lora", "huggingface/"), ("cispo", "full", "huggingface/")],
)
def test_deployable_model_uri_per_method(user, job_type, method, expected):
    job = make_job(user, job_type=job_type, spec={"job_type": job_type, "finetuning_method": method}, status=Status.SUCCEEDED)
    assert job.deployable_model_uri() == job.output_uri + expected


@pytest.mark.parametrize("status", ["queued", "running", "failed", "stopped"])
def test_deployable_model_uri_only_for_succeeded_jobs(user, status):
    job = make_job(user, status=status)
    with pytest.raises(NotDeployable, match=status):
        job.deployable_model_uri()


def test_soft_deleted_jobs_are_not_alive(user):
    from django.utils import timezone

    job = make_job(user)
    TrainingJob.objects.filter(pk=job.pk).update(deleted_at=timezone.now())
    assert not TrainingJob.objects.alive().exists()
    assert TrainingJob.objects.filter(pk=job.pk).exists()


def test_without_a_bucket_the_output_location_waits_for_submit(user, settings):
    from apps.backends import registry
    from apps.backends.errors import RemoteValidationError
    from apps.jobs.submission import ensure_root

    settings.S3_BUCKET = ""
    job = make_job(user)
    assert job.output_uri == "" and job.target == "sagemaker"
    backend = registry.training_backend(job.target)
    with pytest.raises(RemoteValidationError, match="S3_BUCKET"):
        ensure_root(job, backend)
    settings.S3_BUCKET = "late-bucket"
    ensure_root(job, backend)
    job.refresh_from_db()
    assert job.output_uri == f"s3://late-bucket/modelhub/jobs/{job.remote_name}/"


def test_a_job_on_the_fake_target_lives_under_its_root(user, fake_training):
    job = make_job(user)
    assert job.target == "fake" and job.output_uri == f"memory://fake/jobs/{job.remote_name}/"


def test_humanize_seconds():
    from apps.jobs.models import humanize_seconds

    assert [humanize_seconds(s) for s in (None, 45, 600, 3 * 3600 + 5 * 60, 50 * 3600)] == [
        "—", "45 s", "10 min", "3 h 05 min", "2 d 2 h"]

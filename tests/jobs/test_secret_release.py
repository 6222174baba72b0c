"""Every way a job ends (and deleting it) asks the backend to delete the job's secrets, once committed,
and only for jobs that have secrets. The deletion itself runs against moto in
tests/backends/test_sagemaker_training_secrets.py; here the fake target drives the status walks."""

import pytest
from django.utils import timezone

from apps.backends.errors import RemoteValidationError, TransientError
from apps.jobs import reconcile, services, tasks
from apps.jobs.models import Status, TrainingJob
from apps.users.models import UserSecret

from .factories import make_job

pytestmark = pytest.mark.django_db
WITH_SECRETS = {"tracker": "wandb", "tracker_key_ref": "wb", "template": "qwen3"}
RELEASE = "jobs.release_secrets"


@pytest.fixture
def wandb_key(user):
    return UserSecret.objects.create(owner=user, name="wb", kind="wandb", value="wandb-key-0123456789")


def submitted(user, **fields) -> TrainingJob:
    job = make_job(user, **fields)
    services.submit(job)
    job.refresh_from_db()
    assert job.status == Status.STARTING, job.status_reason
    return job


def releases(ran) -> list[int]:
    return [args[0] for name, args in ran if name == RELEASE]


@pytest.mark.parametrize("phase", ["succeeded", "failed", "stopped"])
def test_terminal_status_from_reconcile_releases_the_secret(user, wandb_key, fake_training, inline_tasks, phase):
    fake_training.script([("running", "Training"), (phase, phase.title(), "boom")])
    job = submitted(user, spec=WITH_SECRETS)
    plain = submitted(user, name="plain", spec={"template": "qwen3"})
    assert fake_training.secrets == {job.remote_name: {"WANDB_API_KEY": "wandb-key-0123456789"}}
    reconcile.reconcile_once()
    assert releases(inline_tasks) == [] and fake_training.secrets  # running: the container may still need it
    reconcile.reconcile_once()
    job.refresh_from_db()
    plain.refresh_from_db()
    assert job.status == phase and plain.status == phase
    assert releases(inline_tasks) == [job.pk]  # `plain` has no secrets: nothing to release
    assert fake_training.secrets == {} and job.events.filter(message__startswith="Deleted the job's secrets").exists()


def test_release_waits_for_commit(user, wandb_key, fake_training, django_capture_on_commit_callbacks):
    fake_training.script([("succeeded", "Completed")])
    job = submitted(user, spec=WITH_SECRETS)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        reconcile.reconcile_once()
    job.refresh_from_db()
    assert job.status == Status.SUCCEEDED and len(callbacks) == 1
    assert fake_training.secrets  # not yet: the transaction has not committed


def test_a_failed_submit_releases_the_secret(user, wandb_key, fake_training, inline_tasks):
    job = make_job(user, spec=WITH_SECRETS)
    fake_training.fail_next.append(RemoteValidationError("no capacity for ml.p5.48xlarge"))
    services.submit(job)
    job.refresh_from_db()
    assert job.status == Status.FAILED and "no capacity" in job.status_reason
    assert releases(inline_tasks) == [job.pk]


def test_giving_up_on_retries_releases_the_secret(user, wandb_key, fake_training, inline_tasks):
    job = make_job(user, spec=WITH_SECRETS)
    fake_training.fail_next.extend(TransientError("busy") for _ in range(tasks.submit_job.max_retries + 1))
    tasks.submit_job.delay(job.pk)
    job.refresh_from_db()
    assert job.status == Status.FAILED and "Gave up after" in job.status_reason
    assert fake_training.calls["submit"] == tasks.submit_job.max_retries + 1
    assert releases(inline_tasks) == [job.pk]


def test_a_stop_that_never_reached_the_backend_releases_the_secret(user, fake_training, inline_tasks):
    job = make_job(user, status=Status.STOPPING, spec=WITH_SECRETS)
    TrainingJob.objects.filter(pk=job.pk).update(status_changed_at=timezone.now() - reconcile.STOP_GRACE * 2)
    reconcile.reconcile_once()
    job.refresh_from_db()
    assert job.status == Status.STOPPED and releases(inline_tasks) == [job.pk]


def test_deleting_releases_the_secret_even_of_a_finished_job(user, fake_training, inline_tasks):
    job = make_job(user, status=Status.SUCCEEDED, spec=WITH_SECRETS)
    services.delete_job(job, by=user)
    services.delete_job(job, by=user)  # a second delete changes nothing
    assert releases(inline_tasks) == [job.pk]


def test_the_task_records_a_backend_refusal(user, fake_training, inline_tasks):
    job = make_job(user, status=Status.SUCCEEDED, spec=WITH_SECRETS)
    fake_training.fail_next.append(RemoteValidationError("AccessDeniedException: not allowed to DeleteSecret"))
    tasks.release_secrets.delay(job.pk)
    event = job.events.get(level="error")
    assert "AccessDeniedException" in event.message


def test_the_task_retries_when_the_backend_is_busy(user, wandb_key, fake_training, inline_tasks):
    job = submitted(user, spec=WITH_SECRETS)
    TrainingJob.objects.filter(pk=job.pk).update(status=Status.SUCCEEDED)
    fake_training.fail_next.append(TransientError("busy"))
    tasks.release_secrets.delay(job.pk)
    assert releases(inline_tasks) == [job.pk, job.pk] and fake_training.secrets == {}
    assert not job.events.filter(level="error").exists()

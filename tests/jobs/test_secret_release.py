"""Every way a job ends (and deleting it) asks the backend to delete the job's secret, once committed,
and only for jobs that have secrets. The deletion itself runs against moto in
tests/backends/test_sagemaker_training_secrets.py; here the scripted fake drives the status walks."""

import pytest
from django.utils import timezone

from apps.backends.errors import RemoteValidationError, TransientError
from apps.jobs import reconcile, services, tasks
from apps.jobs.models import Status, TrainingJob

from .factories import make_job
from .test_reconcile import started_job

pytestmark = pytest.mark.django_db
WITH_SECRETS = {"tracker": "wandb", "tracker_key_ref": "wb"}


@pytest.fixture
def released(monkeypatch):
    ids = []
    monkeypatch.setattr("apps.jobs.tasks.release_secrets.delay", ids.append)
    return ids


@pytest.mark.parametrize("remote, ours", [("Completed", Status.SUCCEEDED), ("Failed", Status.FAILED),
                                          ("Stopped", Status.STOPPED)])
def test_terminal_status_from_reconcile_releases_the_secret(user, fake_sagemaker, released, remote, ours,
                                                            django_capture_on_commit_callbacks):
    job = started_job(user, fake_sagemaker, spec=WITH_SECRETS)
    plain = started_job(user, fake_sagemaker, name="plain")
    fake_sagemaker.advance(job.remote_name, "InProgress", "Training")
    with django_capture_on_commit_callbacks(execute=True):
        reconcile.reconcile_once()
    assert released == []  # running: the container may still need it
    for name in (job.remote_name, plain.remote_name):
        fake_sagemaker.advance(name, remote, remote, failure_reason="boom" if remote == "Failed" else None)
    with django_capture_on_commit_callbacks(execute=True):
        reconcile.reconcile_once()
    job.refresh_from_db()
    assert job.status == ours and released == [job.pk]  # `plain` has no secrets: nothing to release


def test_release_waits_for_commit(user, fake_sagemaker, released, django_capture_on_commit_callbacks):
    job = started_job(user, fake_sagemaker, spec=WITH_SECRETS)
    fake_sagemaker.advance(job.remote_name, "Completed", "Completed")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        reconcile.reconcile_once()
    assert released == [] and len(callbacks) == 1


def test_a_failed_submit_releases_the_secret(user, fake_sagemaker, released, monkeypatch,
                                             django_capture_on_commit_callbacks):
    job = make_job(user, spec=WITH_SECRETS)

    def refuse(job):
        raise RemoteValidationError("ValidationException: no capacity for ml.p5.48xlarge")

    monkeypatch.setattr(fake_sagemaker.backend, "submit", refuse)
    with django_capture_on_commit_callbacks(execute=True):
        services.submit(job)
    job.refresh_from_db()
    assert job.status == Status.FAILED and released == [job.pk]


def test_giving_up_on_retries_releases_the_secret(user, fake_sagemaker, released, monkeypatch,
                                                  django_capture_on_commit_callbacks):
    from celery.exceptions import MaxRetriesExceededError

    job = make_job(user, spec=WITH_SECRETS)

    def busy(job):
        raise TransientError("AWS is busy")

    def no_more(**kwargs):
        raise MaxRetriesExceededError()

    monkeypatch.setattr(fake_sagemaker.backend, "submit", busy)
    monkeypatch.setattr(tasks.submit_job, "retry", no_more)
    with django_capture_on_commit_callbacks(execute=True):
        tasks.submit_job.run(job.pk)
    job.refresh_from_db()
    assert job.status == Status.FAILED and released == [job.pk]


def test_a_stop_that_never_reached_the_backend_releases_the_secret(user, fake_sagemaker, released,
                                                                   django_capture_on_commit_callbacks):
    job = make_job(user, status=Status.STOPPING, spec=WITH_SECRETS)
    TrainingJob.objects.filter(pk=job.pk).update(status_changed_at=timezone.now() - reconcile.STOP_GRACE * 2)
    with django_capture_on_commit_callbacks(execute=True):
        reconcile.reconcile_once()
    job.refresh_from_db()
    assert job.status == Status.STOPPED and released == [job.pk]


def test_deleting_releases_the_secret_even_of_a_finished_job(user, released, django_capture_on_commit_callbacks):
    job = make_job(user, status=Status.SUCCEEDED, spec=WITH_SECRETS)
    with django_capture_on_commit_callbacks(execute=True):
        services.delete_job(job, by=user)
        services.delete_job(job, by=user)  # a second delete changes nothing
    assert released == [job.pk]


def test_the_task_records_a_backend_refusal(user, fake_sagemaker, monkeypatch):
    job = make_job(user, status=Status.SUCCEEDED, spec=WITH_SECRETS)

    def denied(job):
        raise RemoteValidationError("AccessDeniedException: not allowed to secretsmanager:DeleteSecret")

    monkeypatch.setattr(fake_sagemaker.backend, "delete_secrets", denied)
    tasks.release_secrets.run(job.pk)
    event = job.events.get(level="error")
    assert "AccessDeniedException" in event.message


def test_the_task_retries_when_aws_is_busy(user, fake_sagemaker, monkeypatch):
    job = make_job(user, status=Status.SUCCEEDED, spec=WITH_SECRETS)
    retried = []

    def busy(job):
        raise TransientError("AWS is busy")

    monkeypatch.setattr(fake_sagemaker.backend, "delete_secrets", busy)
    monkeypatch.setattr(tasks.release_secrets, "retry", lambda **kw: retried.append(kw) or RuntimeError("retry"))
    with pytest.raises(RuntimeError, match="retry"):
        tasks.release_secrets.run(job.pk)
    assert retried and not job.events.filter(level="error").exists()

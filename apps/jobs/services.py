"""What can be done to a training job: create, submit, stop, delete, clone, refresh progress.

Views, the API and tasks call these; they call backends only through the registry.
"""

import logging

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from apps.backends import registry
from apps.backends.errors import BackendError, RemoteNotFound, TransientError

from .models import Status, TrainingJob

# Submit stages datasets and the bundle before calling the service; past the hard limit its worker is gone.
SUBMIT_SOFT_TIME_LIMIT = 1800
SUBMIT_TIME_LIMIT = SUBMIT_SOFT_TIME_LIMIT + 60

logger = logging.getLogger(__name__)


def backend_named(name: str):
    return registry.training_backend(name)


def backend_for(job: TrainingJob):
    return backend_named(job.backend)


# Create -------------------------------------------------------------------------------------------


def dispatch_submit(job_id: int, now=None) -> None:
    from .tasks import submit_job

    TrainingJob.objects.filter(pk=job_id).update(dispatched_at=now or timezone.now())
    transaction.on_commit(lambda: submit_job.delay(job_id))


def create_job(owner, name: str, spec: dict, *, backend: str | None = None) -> TrainingJob:
    """A queued job for an already validated spec (TrainingSpec.to_dict()); submission follows commit."""
    with transaction.atomic():
        job = TrainingJob.objects.create(
            owner=owner, name=name, job_type=spec["job_type"], spec=spec,
            backend=backend or settings.TRAINING_DEFAULT_BACKEND,
        )
        job.record_event(f"Created by {owner.get_username()}", data={"backend": job.backend})
        dispatch_submit(job.pk)
    return job


# Submit -------------------------------------------------------------------------------------------


def submit(job: TrainingJob) -> None:
    """Create the remote job (or adopt the one with its name). Safe to run any number of times.

    TransientError propagates (the task retries it); any other backend error fails the job with
    the service's message.
    """
    job.refresh_from_db()
    if job.status == Status.QUEUED:
        if not job.transition(Status.SUBMITTING, f"Submitting to {job.backend}"):
            return
    if job.status != Status.SUBMITTING:
        return  # stopped while queued, or already past submission
    TrainingJob.objects.filter(pk=job.pk).update(submit_attempts=F("submit_attempts") + 1)
    backend = backend_for(job)
    try:
        stage_datasets(job, backend)
        state = backend.submit(job)
    except TransientError:
        raise
    except BackendError as exc:
        job.refresh_from_db()
        if job.status == Status.STOPPING:
            end(job, Status.STOPPED, f"Stopped before submission finished ({exc})")
        else:
            end(job, Status.FAILED, str(exc))
        return
    except SoftTimeLimitExceeded:
        job.refresh_from_db()
        end(job, Status.FAILED, "Preparing the job (staging its datasets and configuration) took too long; "
                                "try again, or use smaller datasets.")
        return
    except Exception as exc:  # a bug or bad data while rendering: fail visibly, never stay in submitting
        logger.exception("Submitting job %s failed", job.pk)
        job.refresh_from_db()
        end(job, Status.FAILED, f"Could not prepare the job: {exc}")
        return

    arn = state.extra.get("arn", "")
    adopted = bool(state.extra.get("adopted"))
    reason = "Adopted the existing remote job" if adopted else "Remote job created"
    job.record_event(f"{reason} {job.remote_name}", data={"arn": arn})
    if job.transition(Status.STARTING, reason, remote_arn=arn):
        if adopted:
            from .reconcile import apply_state

            apply_state(job, state)
        return
    job.refresh_from_db()
    if job.status == Status.STOPPING:  # stopped while we were creating it: stop what we created
        TrainingJob.objects.filter(pk=job.pk).update(remote_arn=arn)
        backend.stop(job)
        job.record_event("Stop sent to the job created during submission")


def end(job: TrainingJob, status: str, reason: str, **fields) -> bool:
    """Move `job` to a terminal `status` (ended now unless given) and release what its run held."""
    fields.setdefault("ended_at", timezone.now())
    if not job.transition(status, reason, **fields):
        return False
    release_secrets(job)
    return True


def release_secrets(job: TrainingJob) -> None:
    """After commit, have the backend delete its copy of the job's secrets (the job is over or deleted).
    Idempotent: a secret already gone is fine, so every terminal path and delete may call it."""
    from .bundle import uses_secrets

    if not uses_secrets(job):
        return
    from .tasks import release_secrets as release_task

    transaction.on_commit(lambda: release_task.delay(job.pk))


def delete_remote_secrets(job: TrainingJob) -> None:
    """Task body of `release_secrets`: one call to the backend, if it keeps secrets at all."""
    delete = getattr(backend_for(job), "delete_secrets", None)
    if delete is not None and delete(job):
        job.record_event("Deleted the job's secrets from the backend")


def stage_datasets(job: TrainingJob, backend) -> None:
    """Copy the job's catalog datasets where the backend reads them (once per dataset and target)."""
    from apps.catalog import staging
    from apps.catalog.models import Dataset

    target = getattr(backend, "storage_target", None)
    if not target:
        return
    for dataset in Dataset.objects.filter(pk__in=job.spec.get("datasets", [])):
        if dataset.source == Dataset.Source.BUILTIN or (dataset.staged or {}).get(target):
            continue
        folder = staging.stage(dataset, target)
        job.record_event(f"Staged dataset {dataset.name} to {folder}", data={"dataset": dataset.pk})


# Stop and delete ----------------------------------------------------------------------------------


def stop_job(job: TrainingJob, reason: str = "Stopped by user") -> bool:
    """Stop `job` in whatever state it is; returns False when it was already over."""
    for _ in range(3):  # the row may move under us (submit, reconcile): re-read and retry
        if job.status == Status.QUEUED:
            # submit starts with queued → submitting, so a queued job has no remote job and never will.
            if job.transition(Status.STOPPED, reason, ended_at=timezone.now()):
                return True
        elif job.status in (Status.SUBMITTING, Status.STARTING, Status.RUNNING):
            if job.transition(Status.STOPPING, reason):
                from .tasks import stop_job as stop_task

                transaction.on_commit(lambda: stop_task.delay(job.pk))
                return True
        else:
            return False
    return False


def stop_remote(job: TrainingJob) -> None:
    """Send the stop to the backend (task body). A job not created yet is settled by the reconcile loop."""
    job.refresh_from_db()
    if job.status != Status.STOPPING:
        return
    backend = backend_for(job)
    backend.stop(job)
    job.record_event("Stop requested from the backend")
    if job.remote_arn:
        return
    try:
        state = backend.describe(job)
    except RemoteNotFound:
        return  # a submit may still be creating it: reconcile closes the job after a grace period
    from .reconcile import apply_state

    apply_state(job, state)


def delete_job(job: TrainingJob, by=None) -> None:
    """Hide the job; stop it first if it may still run. Its row and history stay."""
    if not job.is_terminal:
        stop_job(job, "Stopped because the job was deleted")
    now = timezone.now()
    if TrainingJob.objects.filter(pk=job.pk, deleted_at__isnull=True).update(deleted_at=now):
        job.deleted_at = now
        job.record_event(f"Deleted by {by.get_username()}" if by else "Deleted")
        release_secrets(job)


def clone_spec(job: TrainingJob) -> dict:
    return dict(job.spec)


# Progress -----------------------------------------------------------------------------------------


def progress_fields(points: list[dict]) -> dict:
    """The row's progress columns from parsed trainer-log points (see renderers.metrics)."""
    from .bundle import progress

    latest = progress(points)
    if "step" not in latest:
        return {}
    return {"step": latest["step"], "total_steps": latest.get("total_steps"), "eta_seconds": latest.get("remaining")}


def refresh_metrics(job: TrainingJob) -> list[dict]:
    """The job's trainer-log records from the backend; updates the stored progress."""
    try:
        records = backend_for(job).metrics(job)
    except BackendError as exc:
        logger.info("Metrics of job %s unavailable: %s", job.pk, exc)
        return []
    progress = progress_fields(records)
    if progress and not progress["total_steps"] and job.spec.get("max_steps"):
        progress["total_steps"] = job.spec["max_steps"]  # EasyR1 logs no total
    if progress:
        progress["progress_updated_at"] = timezone.now()
        TrainingJob.objects.filter(pk=job.pk).update(**progress)
        for name, value in progress.items():
            setattr(job, name, value)
    return records

"""What can be done to a training job: create, submit, stop, delete, read its logs and progress.

Views, the API and tasks call these; they reach the job's backend only through the registry, call an
optional method only when the backend declares its capability, and send tasks through `dispatch`.
"""

import logging

from celery.exceptions import SoftTimeLimitExceeded
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from apps.backends import registry
from apps.backends.base import Capability, JobPhase, LogPage, Readiness, supports
from apps.backends.errors import BackendError, TransientError
from apps.catalog import staging
from apps.catalog.models import Dataset
from apps.core import quotas

from . import bundle, dispatch, submission
from .lifecycle import apply_state, end, release_secrets
from .models import Status, TrainingJob, default_target
from .renderers import parse_trainer_log, progress

# Submit stages datasets and the bundle before calling the service; past the hard limit its worker is gone.
SUBMIT_SOFT_TIME_LIMIT = 1800
SUBMIT_TIME_LIMIT = SUBMIT_SOFT_TIME_LIMIT + 60

logger = logging.getLogger(__name__)


def backend_for(job: TrainingJob):
    return registry.training_backend(job.target)


def target_readiness(target: str) -> Readiness:
    """Whether new jobs can run on `target` now, and everything missing if not."""
    try:
        return registry.training_backend(target).readiness()
    except LookupError as exc:
        return Readiness(usable=False, missing=(str(exc),))


def target_label(target: str) -> str:
    """The target's name for people (its `label`); its key when it is no longer configured."""
    try:
        return registry.training_backend(target).label
    except LookupError:
        return target


# Create -------------------------------------------------------------------------------------------


def create_job(owner, name: str, spec: dict, *, target: str | None = None) -> TrainingJob:
    """A queued job for an already validated spec (TrainingSpec.to_dict()); submission follows commit.
    Raises quotas.QuotaExceeded, creating nothing, when the owner has no room for it."""
    with transaction.atomic():
        quotas.reserve(owner, quotas.Usage(jobs=1, instances=int(spec.get("instance_count") or 1)))
        job = TrainingJob.objects.create(
            owner=owner, name=name, job_type=spec["job_type"], spec=spec,
            target=target or default_target(),
        )
        job.record_event(f"Created by {owner.get_username()}", data={"target": job.target})
        dispatch.submit(job.pk)
    return job


# Submit -------------------------------------------------------------------------------------------


def submit(job: TrainingJob) -> None:
    """Create the remote run (or adopt the one with its name). Safe to run any number of times.

    TransientError propagates (the task retries it); any other backend error fails the job with
    the service's message.
    """
    job.refresh_from_db()
    if job.status == Status.QUEUED:
        if not job.transition(Status.SUBMITTING, f"Submitting to {job.target}"):
            return
    if job.status != Status.SUBMITTING:
        return  # stopped while queued, or already past submission
    TrainingJob.objects.filter(pk=job.pk).update(submit_attempts=F("submit_attempts") + 1)
    try:
        backend = backend_for(job)
        stage_datasets(job, backend)
        state = backend.submit(submission.build(job, backend))
    except TransientError:
        raise
    except BackendError as exc:
        fail_submission(job, str(exc))
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

    reason = "Adopted the existing remote job" if state.adopted else "Remote job created"
    job.record_event(f"{reason} {job.remote_name}", data={"remote_id": state.remote_id})
    if job.transition(Status.STARTING, reason, remote_id=state.remote_id):
        if state.adopted:
            apply_state(job, state)
        return
    job.refresh_from_db()
    if job.status == Status.STOPPING:  # stopped while we were creating it: stop what we created
        TrainingJob.objects.filter(pk=job.pk).update(remote_id=state.remote_id)
        job.remote_id = state.remote_id
        if supports(backend, Capability.STOP):
            backend.stop(submission.job_ref(job))
            job.record_event("Stop sent to the job created during submission")


def fail_submission(job: TrainingJob, message: str) -> None:
    """A submit that cannot succeed: the job fails, or is stopped if the user stopped it meanwhile."""
    job.refresh_from_db()
    if job.status == Status.STOPPING:
        end(job, Status.STOPPED, f"Stopped before submission finished ({message})")
    else:
        end(job, Status.FAILED, message)


def stage_datasets(job: TrainingJob, backend) -> None:
    """Copy the job's catalog datasets where the backend reads them (once per dataset and store)."""
    if not supports(backend, Capability.STORAGE):
        return
    store = backend.storage_target
    for dataset in Dataset.objects.filter(pk__in=job.spec.get("datasets", [])):
        if dataset.source == Dataset.Source.BUILTIN or (dataset.staged or {}).get(store):
            continue
        folder = staging.stage(dataset, store)
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
                dispatch.send(dispatch.STOP, job.pk)
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
    ref = submission.job_ref(job)
    if supports(backend, Capability.STOP):
        backend.stop(ref)
        job.record_event("Stop requested from the backend")
    else:
        job.record_event(f"{backend.label} cannot stop a run: the job ends when the run does", level="warning")
    if job.remote_id:
        return
    state = backend.describe(ref)
    if state.phase != JobPhase.NOT_FOUND:  # else a submit may still be creating it: reconcile settles it
        apply_state(job, state)


def record_stop_failure(job: TrainingJob, message: str) -> None:
    """The reconcile loop keeps trying stopping jobs; record why this attempt failed."""
    job.record_event(f"Stop failed: {message}", level="error")


def delete_job(job: TrainingJob, by=None) -> None:
    """Hide the job; stop it first if it may still run. Its row and history stay."""
    if not job.is_terminal:
        stop_job(job, "Stopped because the job was deleted")
    now = timezone.now()
    if TrainingJob.objects.filter(pk=job.pk, deleted_at__isnull=True).update(deleted_at=now):
        job.deleted_at = now
        job.record_event(f"Deleted by {by.get_username()}" if by else "Deleted")
        release_secrets(job)


def delete_remote_secrets(job: TrainingJob) -> None:
    """Task body of `release_secrets`: one call to the backend, if it keeps secrets at all."""
    backend = backend_for(job)
    if supports(backend, Capability.SECRETS) and backend.delete_secrets(submission.job_ref(job)):
        job.record_event("Deleted the job's secrets from the backend")


def record_secret_failure(job: TrainingJob, message: str) -> None:
    logger.warning("Could not delete the secrets of job %s: %s", job.pk, message)
    job.record_event(f"Could not delete the job's secrets from the backend: {message}", level="error")


# Logs and progress --------------------------------------------------------------------------------


def has_started(job: TrainingJob) -> bool:
    """Whether the job may have a remote run with logs and metrics (submitted, or known remotely)."""
    return bool(job.remote_id) or job.status not in (Status.QUEUED, Status.SUBMITTING)


def read_logs(job: TrainingJob, next_token: str | None = None) -> LogPage | None:
    """A page of the run's log after `next_token`; None when the target keeps no logs (or is no longer
    configured). A bad token raises ValueError."""
    try:
        backend = backend_for(job)
    except LookupError:
        return None
    if not supports(backend, Capability.LOGS):
        return None
    return backend.logs(submission.job_ref(job), next_token)


def progress_fields(points: list[dict]) -> dict:
    """The row's progress columns from parsed trainer-log points (see renderers.metrics)."""
    latest = progress(points)
    if "step" not in latest:
        return {}
    return {"step": latest["step"], "total_steps": latest.get("total_steps"), "eta_seconds": latest.get("remaining")}


def trainer_log_points(job: TrainingJob) -> list[dict]:
    """The parsed trainer log of the job's run; [] when there is none (yet), or the target cannot say."""
    if not job.output_uri:  # never got a storage prefix (failed before submission): nothing was logged
        return []
    try:
        backend = backend_for(job)
        if not supports(backend, Capability.METRICS):
            return []
        text = backend.read_text(submission.locations(job, bundle.training_spec(job)).trainer_log)
    except (BackendError, LookupError) as exc:  # LookupError: a target no longer configured
        logger.info("Metrics of job %s unavailable: %s", job.pk, exc)
        return []
    return parse_trainer_log(text) if text else []


def refresh_metrics(job: TrainingJob) -> list[dict]:
    """The job's trainer-log records from the backend; updates the stored progress."""
    records = trainer_log_points(job)
    fields = progress_fields(records)
    if fields and not fields["total_steps"] and job.spec.get("max_steps"):
        fields["total_steps"] = job.spec["max_steps"]  # EasyR1 logs no total
    if fields:
        fields["progress_updated_at"] = timezone.now()
        TrainingJob.objects.filter(pk=job.pk).update(**fields)
        for name, value in fields.items():
            setattr(job, name, value)
    return records

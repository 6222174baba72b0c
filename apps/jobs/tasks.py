"""Celery tasks of training jobs: thin wrappers that take ids and call services."""

import logging

from celery import shared_task
from celery.exceptions import MaxRetriesExceededError
from django.conf import settings

from apps.backends.errors import BackendError, TransientError

from . import reconcile, services
from .models import Status, TrainingJob

logger = logging.getLogger(__name__)

MAX_RETRIES = 8


def backoff(retries: int) -> int:
    """Seconds before retry number `retries` + 1: 5, 10, 20, ... capped at 5 minutes."""
    return min(300, 5 * 2**retries)


# Submit stages datasets and the config bundle (transfers), so it runs on the io queue.
@shared_task(
    name="jobs.submit", bind=True, max_retries=MAX_RETRIES,
    soft_time_limit=services.SUBMIT_SOFT_TIME_LIMIT, time_limit=services.SUBMIT_TIME_LIMIT,
)
def submit_job(self, job_id: int) -> None:
    job = TrainingJob.objects.filter(pk=job_id).first()
    if job is None:
        return
    try:
        services.submit(job)
    except TransientError as exc:
        try:
            raise self.retry(exc=exc, countdown=backoff(self.request.retries))
        except MaxRetriesExceededError:
            job.refresh_from_db()
            services.end(job, Status.FAILED, f"Gave up after {MAX_RETRIES} retries: {exc}")


@shared_task(name="jobs.stop", bind=True, max_retries=MAX_RETRIES, soft_time_limit=60, time_limit=90)
def stop_job(self, job_id: int) -> None:
    job = TrainingJob.objects.filter(pk=job_id).first()
    if job is None:
        return
    try:
        services.stop_remote(job)
    except TransientError as exc:
        raise self.retry(exc=exc, countdown=backoff(self.request.retries)) from exc
    except BackendError as exc:
        # The reconcile loop keeps trying stopping jobs; record why this attempt failed.
        job.record_event(f"Stop failed: {exc}", level="error")


@shared_task(name="jobs.release_secrets", bind=True, max_retries=MAX_RETRIES, soft_time_limit=60, time_limit=90)
def release_secrets(self, job_id: int) -> None:
    job = TrainingJob.objects.filter(pk=job_id).first()
    if job is None:
        return
    try:
        services.delete_remote_secrets(job)
    except TransientError as exc:
        raise self.retry(exc=exc, countdown=backoff(self.request.retries)) from exc
    except BackendError as exc:
        logger.warning("Could not delete the secrets of job %s: %s", job_id, exc)
        job.record_event(f"Could not delete the job's secrets from the backend: {exc}", level="error")


# A cycle never outlives its interval, so two cycles never overlap.
_CYCLE_LIMIT = max(10, settings.TRAINING_RECONCILE_SECONDS - 2)


@shared_task(name="jobs.reconcile", soft_time_limit=_CYCLE_LIMIT - 3, time_limit=_CYCLE_LIMIT)
def reconcile_jobs() -> dict:
    report = reconcile.reconcile_once()
    if report.errors:
        logger.warning("Job reconcile: %d errors, first: %s", len(report.errors), report.errors[0])
    return {"polled": report.polled, "described": report.described, "moved": report.moved,
            "redispatched": report.redispatched}

"""Celery tasks of training jobs: thin wrappers that take ids and call services (see core/taskbase.py)."""

import logging

from celery import shared_task
from django.conf import settings

from apps.core.taskbase import object_task

from . import reconcile, services

logger = logging.getLogger(__name__)

JOB = "jobs.TrainingJob"
# A cycle never outlives its interval, so two cycles never overlap.
RECONCILE_TIME_LIMIT = settings.TRAINING_RECONCILE_SECONDS * 0.9
RECONCILE_SOFT_TIME_LIMIT = settings.TRAINING_RECONCILE_SECONDS * 0.8


# Submit stages datasets and the config bundle (transfers), so it runs on the io queue. It may run longer
# than Redis's visibility timeout, so it is acknowledged when taken; a dead worker's submit is sent again by
# the reconcile sweep (TRAINING_REDISPATCH_AFTER_SECONDS, once its lease's worker stops beating).
@object_task("jobs.submit", model=JOB, select_related=("owner",), on_failure=services.fail_submission,
             soft_time_limit=services.SUBMIT_SOFT_TIME_LIMIT, time_limit=services.SUBMIT_TIME_LIMIT, acks_late=False)
def submit_job(job) -> None:
    services.submit(job)


@object_task("jobs.stop", model=JOB, on_failure=services.record_stop_failure, soft_time_limit=60, time_limit=90)
def stop_job(job) -> None:
    services.stop_remote(job)


@object_task("jobs.release_secrets", model=JOB, on_failure=services.record_secret_failure,
             soft_time_limit=60, time_limit=90)
def release_secrets(job) -> None:
    services.delete_remote_secrets(job)


@shared_task(name="jobs.reconcile", soft_time_limit=RECONCILE_SOFT_TIME_LIMIT, time_limit=RECONCILE_TIME_LIMIT)
def reconcile_jobs() -> dict:
    report = reconcile.reconcile_once()
    if report.errors:
        logger.warning("Job reconcile: %d errors, first: %s", len(report.errors), report.errors[0])
    return {"polled": report.polled, "described": report.described, "moved": report.moved,
            "redispatched": report.redispatched}

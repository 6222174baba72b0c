"""Sending the jobs app's tasks, by name, once the current transaction commits.

Services enqueue work here instead of importing the task module, so dependencies point one way:
tasks -> reconcile -> services -> dispatch, never back. A signature by name runs the registered
task (eagerly under `inline_tasks`), or is sent to the broker for a worker.
"""

from celery import current_app
from django.db import transaction
from django.utils import timezone

from .models import TrainingJob

SUBMIT = "jobs.submit"
STOP = "jobs.stop"
RELEASE_SECRETS = "jobs.release_secrets"


def send(task: str, job_id: int) -> None:
    transaction.on_commit(lambda: current_app.signature(task, args=(job_id,)).delay())


def submit(job_id: int, now=None) -> None:
    """Send the job's submit message, and note when (the reconcile loop re-sends lost ones)."""
    TrainingJob.objects.filter(pk=job_id).update(dispatched_at=now or timezone.now())
    send(SUBMIT, job_id)

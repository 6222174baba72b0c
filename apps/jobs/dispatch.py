"""Sending the jobs app's tasks, by name, once the current transaction commits.

Services enqueue work here instead of importing the task module, so dependencies point one way:
tasks -> reconcile -> services -> dispatch, never back. Messages go through `apps.core.dispatch`: a
broker that refuses one never fails the request; the job stays where it is and `jobs.reconcile` sends
it again (a submit the broker refused leaves `dispatched_at` empty, which the next cycle picks up).
"""

from django.db import transaction
from django.utils import timezone

from apps.core.dispatch import send_now, send_on_commit

from .models import TrainingJob

SUBMIT = "jobs.submit"
STOP = "jobs.stop"
RELEASE_SECRETS = "jobs.release_secrets"


def send(task: str, job_id: int) -> None:
    send_on_commit(task, job_id)


def submit(job_id: int, now=None) -> None:
    """Send the job's submit message, and note when (the reconcile loop re-sends lost ones)."""
    TrainingJob.objects.filter(pk=job_id).update(dispatched_at=now or timezone.now())
    transaction.on_commit(lambda: _send_submit(job_id))


def _send_submit(job_id: int) -> None:
    if not send_now(SUBMIT, job_id):
        TrainingJob.objects.filter(pk=job_id).update(dispatched_at=None)  # never sent: the next cycle sends it

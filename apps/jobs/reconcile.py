"""Drive training jobs toward what their backend reports, in bulk.

One cycle: re-dispatch submissions whose message was lost, then per target ONE bulk poll of the jobs
that changed since the last cycle, and a describe only for the jobs whose remote words changed. The
backend answers in ModelHub's phases; `lifecycle.apply_state` moves the job (never backwards).
"""

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone

from apps.backends import registry
from apps.backends.base import Capability, JobPhase, RemoteState, supports
from apps.backends.errors import BackendError
from apps.core import leases

from . import dispatch, services
from .lifecycle import ACTIVE_PHASES, apply_state, end
from .models import Status, TrainingJob
from .submission import job_ref

logger = logging.getLogger(__name__)

POLLED_STATUSES = (Status.SUBMITTING, Status.STARTING, Status.RUNNING, Status.STOPPING)
# A job in `stopping` that the backend does not know is given this long (a submit may still be
# creating it) before it is declared stopped.
STOP_GRACE = timedelta(minutes=5)
# Progress of running jobs is re-read from their trainer log at most this often, this many per cycle.
PROGRESS_MAX_AGE = timedelta(minutes=2)
PROGRESS_BATCH = 25


@dataclass
class CycleReport:
    polled: int = 0
    described: int = 0
    moved: int = 0
    redispatched: int = 0
    progress_refreshed: int = 0
    errors: list[str] = field(default_factory=list)


def redispatch_lost_submissions(now, report: CycleReport) -> None:
    """Jobs still queued or submitting whose submit message was lost: send it again.

    Lost means the broker refused it (`dispatched_at` empty), or it was sent more than
    TRAINING_REDISPATCH_AFTER_SECONDS ago and no live worker holds the job (the worker that took it
    died: its heartbeat stopped, `apps.core.leases`). Submit is idempotent (it adopts a remote job
    that already has the name), so a message that was merely slow costs one describe.
    """
    cutoff = now - timedelta(seconds=settings.TRAINING_REDISPATCH_AFTER_SECONDS)
    never_sent = models.Q(status__in=(Status.QUEUED, Status.SUBMITTING), dispatched_at__isnull=True)
    sent_long_ago = models.Q(status__in=(Status.QUEUED, Status.SUBMITTING), status_changed_at__lt=cutoff,
                             dispatched_at__lt=cutoff)
    stale = list(TrainingJob.objects.filter(never_sent | sent_long_ago).values_list("pk", flat=True))
    held = leases.held(dispatch.SUBMIT, stale, now)
    for job_id in stale:
        if str(job_id) in held:
            continue  # a live worker is submitting it (staging can take a while)
        dispatch.submit(job_id, now=now)  # notes dispatched_at, so the next cycles leave it alone
        report.redispatched += 1


def _stop_if_running(backend, job: TrainingJob, state: RemoteState) -> None:
    if job.status == Status.STOPPING and state.phase in ACTIVE_PHASES and supports(backend, Capability.STOP):
        backend.stop(job_ref(job))


def _stop_resend_after() -> timedelta:
    return timedelta(seconds=settings.TRAINING_REDISPATCH_AFTER_SECONDS)


def _settle_unknown_stop(backend, job: TrainingJob, now, report: CycleReport) -> None:
    """A job in `stopping` the poll did not show: stop it again, or close it if it never existed."""
    if job.status_changed_at > now - STOP_GRACE:
        return
    state = backend.describe(job_ref(job))
    if state.phase == JobPhase.NOT_FOUND:
        end(job, Status.STOPPED, "Stopped before a remote job was created.", ended_at=now)
        report.moved += 1
        return
    report.described += 1
    _stop_if_running(backend, job, state)
    apply_state(job, state, now)


def reconcile_once(now=None) -> CycleReport:
    now = now or timezone.now()
    report = CycleReport()
    redispatch_lost_submissions(now, report)
    jobs = list(TrainingJob.objects.filter(status__in=POLLED_STATUSES).order_by("pk"))
    by_target: dict[str, list[TrainingJob]] = defaultdict(list)
    for job in jobs:
        by_target[job.target].append(job)
    for name, group in by_target.items():
        try:
            backend = registry.training_backend(name)
            states = backend.poll_many([job_ref(job) for job in group])
        except (BackendError, LookupError) as exc:  # LookupError: a target no longer configured
            report.errors.append(f"{name}: {exc}")
            logger.warning("Could not poll %s training jobs: %s", name, exc)
            continue
        report.polled += len(group)
        for job in group:
            try:
                _reconcile_job(backend, job, states.get(job.remote_name), now, report)
            except BackendError as exc:
                report.errors.append(f"{job.pk}: {exc}")
                logger.warning("Reconcile of job %s failed: %s", job.pk, exc)
        ids = [job.pk for job in group]
        with transaction.atomic():
            for start in range(0, len(ids), 500):
                TrainingJob.objects.filter(pk__in=ids[start:start + 500]).update(remote_checked_at=now)
    refresh_stale_progress(now, report)
    return report


def refresh_stale_progress(now, report: CycleReport, *, limit: int = PROGRESS_BATCH) -> None:
    """Read the trainer log of running jobs nobody is watching, oldest first, a few per cycle, so the
    list and the dashboard show progress without a page open (an open job page refreshes its own)."""
    cutoff = now - PROGRESS_MAX_AGE
    stale = (TrainingJob.objects.filter(status=Status.RUNNING)
             .filter(models.Q(progress_updated_at__isnull=True) | models.Q(progress_updated_at__lt=cutoff))
             .order_by(models.F("progress_updated_at").asc(nulls_first=True))[:limit])
    for job in stale:
        services.refresh_metrics(job)
        TrainingJob.objects.filter(pk=job.pk).filter(
            models.Q(progress_updated_at__isnull=True) | models.Q(progress_updated_at__lt=now)
        ).update(progress_updated_at=now)  # nothing logged yet: wait PROGRESS_MAX_AGE before reading again
        report.progress_refreshed += 1


def _reconcile_job(backend, job: TrainingJob, summary: RemoteState | None, now, report: CycleReport) -> None:
    if summary is None:
        if job.status == Status.STOPPING:
            _settle_unknown_stop(backend, job, now, report)
        return
    if job.status == Status.STOPPING and job.status_changed_at < now - _stop_resend_after():
        _stop_if_running(backend, job, summary)  # the stop message was lost: the run still runs
    if (summary.remote_status, summary.detail) == (job.remote_status, job.remote_detail):
        return
    state = backend.describe(job_ref(job))
    if state.phase == JobPhase.NOT_FOUND:
        return
    report.described += 1
    before = job.status
    apply_state(job, state, now)
    if job.status != before:
        report.moved += 1
    _stop_if_running(backend, job, state)

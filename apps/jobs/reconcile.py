"""Drive training jobs toward what their backend reports, in bulk.

One cycle: re-dispatch submissions whose message was lost, then per backend ONE paginated list of
the jobs that changed since the last cycle, and a describe only for the jobs whose remote status
changed. Remote statuses map onto ours; unknown ones are kept in an event and never move a job
backwards (the state machine has no backward edges).
"""

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone

from apps.backends.base import RemoteState
from apps.backends.errors import BackendError, RemoteNotFound, TransientError

from . import services
from .models import JOB_MACHINE, Status, TrainingJob

logger = logging.getLogger(__name__)

# SageMaker's secondary statuses while a job is InProgress: still getting ready, or training.
STARTING_SECONDARY = frozenset({
    "Starting", "Pending", "LaunchingMLInstances", "PreparingTrainingStack", "Downloading",
    "DownloadingTrainingImage", "Interrupted",
})
RUNNING_SECONDARY = frozenset({"Training", "Uploading", "Updating", "Restarting"})
TERMINAL_REMOTE = {"Completed": Status.SUCCEEDED, "Failed": Status.FAILED, "Stopped": Status.STOPPED}
POLLED_STATUSES = (Status.SUBMITTING, Status.STARTING, Status.RUNNING, Status.STOPPING)
# A job in `stopping` that the backend does not know is given this long (a submit may still be
# creating it) before it is declared stopped.
STOP_GRACE = timedelta(minutes=5)
# Progress of running jobs is re-read from their trainer log at most this often, this many per cycle.
PROGRESS_MAX_AGE = timedelta(minutes=2)
PROGRESS_BATCH = 25


def target_status(remote: str, secondary: str = "") -> str | None:
    """Our status for a remote (status, secondary status); None when the remote status is unknown."""
    if remote in TERMINAL_REMOTE:
        return TERMINAL_REMOTE[remote]
    if remote == "Stopping":
        return Status.STOPPING
    if remote in ("InProgress", "Pending"):
        if secondary in RUNNING_SECONDARY:
            return Status.RUNNING
        return Status.STARTING
    return None


def _path(current: str, target: str) -> list[str]:
    """The moves from `current` to `target` through the machine ([] when none: never backwards)."""
    if current == target:
        return []
    if JOB_MACHINE.allows(current, target):
        return [target]
    for middle in (Status.STARTING, Status.RUNNING):
        if JOB_MACHINE.allows(current, middle) and JOB_MACHINE.allows(middle, target):
            return [middle, target]
    return []


def _reason(state: RemoteState, target: str) -> str:
    if target == Status.FAILED:
        return state.failure_reason or state.message or "The training job failed."
    if target == Status.STOPPED:
        return state.message or "Stopped."
    if target == Status.SUCCEEDED:
        return "Training completed."
    return state.message or state.secondary_status


def apply_state(job: TrainingJob, state: RemoteState, now=None) -> None:
    """Record what the backend reported about `job` and move it forward when the report says so."""
    now = now or timezone.now()
    transitions = state.extra.get("transitions")
    fields = {"remote_status": state.status, "remote_secondary_status": state.secondary_status}
    if state.extra.get("arn"):
        fields["remote_arn"] = state.extra["arn"]
    if state.started_at:
        fields["started_at"] = state.started_at
    if state.billable_seconds is not None:
        fields["billable_seconds"] = state.billable_seconds

    if transitions is not None:
        seen = job.remote_transitions_seen if job.remote_transitions_seen <= len(transitions) else 0
        for item in transitions[seen:]:
            message = item["status"] + (f": {item['message']}" if item.get("message") else "")
            job.record_event(message, kind="remote", data=item)
        fields["remote_transitions_seen"] = len(transitions)

    target = target_status(state.status, state.secondary_status)
    if target is None:
        job.record_event(
            f"Unrecognised remote status {state.status!r}" + (f" ({state.secondary_status})" if state.secondary_status else ""),
            kind="remote", level="warning", data={"status": state.status, "secondary_status": state.secondary_status},
        )
    elif state.status in ("InProgress", "Pending") and state.secondary_status and not (
        state.secondary_status in STARTING_SECONDARY or state.secondary_status in RUNNING_SECONDARY
    ):
        job.record_event(
            f"Unrecognised secondary status {state.secondary_status!r}", kind="remote", level="warning",
            data={"status": state.status, "secondary_status": state.secondary_status},
        )

    steps = _path(job.status, target) if target else []
    if steps and steps[-1] in JOB_MACHINE.terminal:
        fields["ended_at"] = state.ended_at or now
        if not (job.started_at or state.started_at):
            fields["started_at"] = fields["ended_at"]
    elif state.ended_at:
        fields["ended_at"] = state.ended_at

    for i, step in enumerate(steps):
        last = i == len(steps) - 1
        if not job.transition(step, _reason(state, step), **(fields if last else {})):
            logger.info("Job %s moved concurrently; skipping to next cycle", job.pk)
            return
    if steps and steps[-1] in JOB_MACHINE.terminal:
        services.release_secrets(job)
    if not steps:
        TrainingJob.objects.filter(pk=job.pk).update(**fields)
        for name, value in fields.items():
            setattr(job, name, value)


@dataclass
class CycleReport:
    polled: int = 0
    described: int = 0
    moved: int = 0
    redispatched: int = 0
    progress_refreshed: int = 0
    errors: list[str] = field(default_factory=list)


def redispatch_lost_submissions(now, report: CycleReport) -> None:
    """Jobs still queued/submitting long after their last submit message: send it again.

    Submit is idempotent (it adopts a remote job that already has the name), so a message that
    was merely slow costs one describe.
    """
    queued_cutoff = now - timedelta(seconds=settings.TRAINING_REDISPATCH_AFTER_SECONDS)
    # A job in `submitting` has a worker on it until the submit task's hard time limit; only then is it lost.
    submitting_cutoff = now - timedelta(
        seconds=max(settings.TRAINING_REDISPATCH_AFTER_SECONDS, services.SUBMIT_TIME_LIMIT)
    )
    stale = TrainingJob.objects.filter(
        models.Q(status=Status.QUEUED, status_changed_at__lt=queued_cutoff)
        | models.Q(status=Status.SUBMITTING, status_changed_at__lt=submitting_cutoff)
    ).exclude(dispatched_at__gte=queued_cutoff)
    for job_id in stale.values_list("pk", flat=True):
        TrainingJob.objects.filter(pk=job_id).update(dispatched_at=now)
        services.dispatch_submit(job_id, now=now)
        report.redispatched += 1


def _settle_unknown_stop(backend, job: TrainingJob, now, report: CycleReport) -> None:
    """A job in `stopping` the list did not show: stop it again, or close it if it never existed."""
    if job.status_changed_at > now - STOP_GRACE:
        return
    try:
        state = backend.describe(job)
    except RemoteNotFound:
        services.end(job, Status.STOPPED, "Stopped before a remote job was created.", ended_at=now)
        report.moved += 1
        return
    report.described += 1
    if state.status in ("InProgress", "Pending"):
        backend.stop(job)
    apply_state(job, state, now)


def reconcile_once(now=None) -> CycleReport:
    now = now or timezone.now()
    report = CycleReport()
    redispatch_lost_submissions(now, report)
    jobs = list(TrainingJob.objects.filter(status__in=POLLED_STATUSES).order_by("pk"))
    by_backend: dict[str, list[TrainingJob]] = defaultdict(list)
    for job in jobs:
        by_backend[job.backend].append(job)
    for name, group in by_backend.items():
        try:
            backend = services.backend_named(name)
            states = backend.poll_many(group)
        except (BackendError, LookupError) as exc:  # LookupError: a backend no longer configured
            report.errors.append(f"{name}: {exc}")
            logger.warning("Could not poll %s training jobs: %s", name, exc)
            continue
        report.polled += len(group)
        for job in group:
            try:
                _reconcile_job(backend, job, states.get(job.remote_name), now, report)
            except TransientError as exc:
                report.errors.append(f"{job.pk}: {exc}")
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
    if (summary.status, summary.secondary_status) == (job.remote_status, job.remote_secondary_status):
        return
    state = backend.describe(job)
    report.described += 1
    before = job.status
    apply_state(job, state, now)
    if job.status != before:
        report.moved += 1
    if job.status == Status.STOPPING and state.status in ("InProgress", "Pending"):
        backend.stop(job)

"""Moving a job's status from what its target reports (`RemoteState.phase`), and what every end releases.

Phases map onto statuses one to one; the state machine decides which moves are allowed, so a report
never moves a job backwards. A phase the backend did not recognise (`UNKNOWN`) is recorded as a
warning event and changes nothing.
"""

import logging
from dataclasses import asdict

from django.utils import timezone

from apps.backends.base import JobPhase, RemoteState

from . import bundle, dispatch
from .models import JOB_MACHINE, Status, TrainingJob

logger = logging.getLogger(__name__)

PHASE_STATUS = {
    JobPhase.STARTING: Status.STARTING,
    JobPhase.RUNNING: Status.RUNNING,
    JobPhase.STOPPING: Status.STOPPING,
    JobPhase.SUCCEEDED: Status.SUCCEEDED,
    JobPhase.FAILED: Status.FAILED,
    JobPhase.STOPPED: Status.STOPPED,
}
ACTIVE_PHASES = frozenset({JobPhase.STARTING, JobPhase.RUNNING})


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
    if bundle.uses_secrets(job):
        dispatch.send(dispatch.RELEASE_SECRETS, job.pk)


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


def _reason(state: RemoteState, status: str) -> str:
    if status == Status.FAILED:
        return state.failure_reason or state.message or "The training job failed."
    if status == Status.STOPPED:
        return state.message or "Stopped."
    if status == Status.SUCCEEDED:
        return "Training completed."
    return state.message or state.detail


def _words(state: RemoteState) -> str:
    return repr(state.remote_status) + (f" ({state.detail})" if state.detail and state.detail != state.remote_status else "")


def apply_state(job: TrainingJob, state: RemoteState, now=None) -> None:
    """Record what the backend reported about `job` and move it forward when the report says so."""
    now = now or timezone.now()
    fields = {"remote_status": state.remote_status, "remote_detail": state.detail}
    if state.remote_id:
        fields["remote_id"] = state.remote_id
    if state.started_at:
        fields["started_at"] = state.started_at
    if state.billable_seconds is not None:
        fields["billable_seconds"] = state.billable_seconds

    if state.history is not None:
        seen = job.remote_transitions_seen if job.remote_transitions_seen <= len(state.history) else 0
        for event in state.history[seen:]:
            message = event.status + (f": {event.message}" if event.message else "")
            job.record_event(message, kind="remote", data=asdict(event))
        fields["remote_transitions_seen"] = len(state.history)

    target = PHASE_STATUS.get(state.phase)
    if state.phase == JobPhase.UNKNOWN:
        job.record_event(f"Unrecognised remote status {_words(state)}", kind="remote", level="warning",
                         data={"status": state.remote_status, "detail": state.detail})

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
        release_secrets(job)
    if not steps:
        TrainingJob.objects.filter(pk=job.pk).update(**fields)
        for name, value in fields.items():
            setattr(job, name, value)

"""Spot interruptions and resumes on a job's timeline, from the remote status history in its events.

SageMaker reports a managed spot interruption as the secondary status "Interrupted"; when capacity
returns it restarts the job (Starting, Downloading, Training again) from its last checkpoint, and if
none returns before the job's maximum wait it ends it (MaxWaitTimeExceeded). Reconcile records each
reported step as a `remote` event whose data is the step (status, message, start, end).
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from .models import JOB_MACHINE, humanize_seconds

INTERRUPTED = "Interrupted"
# Any of these after an interruption: the service has capacity again and restarts the job.
RESTARTING = frozenset({
    "Pending", "Starting", "LaunchingMLInstances", "PreparingTrainingStack", "Downloading",
    "DownloadingTrainingImage", "Training", "Restarting",
})
# These after an interruption: the job ended without getting its capacity back.
ENDED = frozenset({"MaxWaitTimeExceeded", "MaxRuntimeExceeded", "Stopping", "Stopped", "Failed", "Completed"})


@dataclass(frozen=True)
class Marker:
    kind: str  # "interrupted", "resumed" or "not_resumed"
    at: datetime
    message: str
    downtime_seconds: int | None = None  # resumed / not_resumed: time since the interruption

    @property
    def downtime_text(self) -> str:
        return humanize_seconds(self.downtime_seconds)


def _when(event) -> datetime:
    start = (event.data or {}).get("start")
    if start:
        try:
            return datetime.fromisoformat(start)
        except (TypeError, ValueError):
            pass
    return event.created_at


def _seconds(since: datetime, until: datetime) -> int:
    return max(0, int((until - since).total_seconds()))


def spot_markers(events: Iterable) -> list[Marker]:
    """Markers for a job's events in the order they happened (each has `kind`, `data`, `created_at`).

    Each interruption gives an "interrupted" marker, then "resumed" at the first restart step, or
    "not_resumed" when the run (or the job) ends first. Repeated "Interrupted" reports of one
    interruption count once.
    """
    markers: list[Marker] = []
    interrupted_at: datetime | None = None
    for event in events:
        data = event.data or {}
        if event.kind == "status":
            if interrupted_at is not None and data.get("to") in JOB_MACHINE.terminal:
                at = event.created_at
                markers.append(Marker("not_resumed", at, event.message, _seconds(interrupted_at, at)))
                interrupted_at = None
            continue
        if event.kind != "remote":
            continue
        status, at = data.get("status", ""), _when(event)
        message = data.get("message") or status
        if status == INTERRUPTED:
            if interrupted_at is None:
                markers.append(Marker("interrupted", at, message))
                interrupted_at = at
        elif interrupted_at is not None and status in RESTARTING:
            markers.append(Marker("resumed", at, message, _seconds(interrupted_at, at)))
            interrupted_at = None
        elif interrupted_at is not None and status in ENDED:
            markers.append(Marker("not_resumed", at, message, _seconds(interrupted_at, at)))
            interrupted_at = None
    return markers


@dataclass(frozen=True)
class SpotSummary:
    interruptions: int
    downtime_seconds: int  # closed interruptions only: one still open has no end yet
    waiting_since: datetime | None  # the open interruption, if the job is waiting for capacity now

    @property
    def downtime_text(self) -> str:
        return humanize_seconds(self.downtime_seconds)


def summarise(markers: list[Marker]) -> SpotSummary:
    open_since = markers[-1].at if markers and markers[-1].kind == "interrupted" else None
    return SpotSummary(
        interruptions=sum(1 for m in markers if m.kind == "interrupted"),
        downtime_seconds=sum(m.downtime_seconds or 0 for m in markers),
        waiting_since=open_since,
    )

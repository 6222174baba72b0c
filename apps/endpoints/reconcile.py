"""What the targets say about endpoints, and what it means for the rows.

`next_status` is the whole mapping from a target's `EndpointPhase` to our status (pure,
table-tested); `apply_remote_state` moves one row and records what it saw; `poll_watched` is the
bulk poll of one reconcile cycle (one `poll_many` per target); `lost_work` finds work whose task
message never ran. Sending tasks is the tasks module's business, so this module imports none.
"""

import logging
from collections import defaultdict
from collections.abc import Iterator
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from apps.backends import registry
from apps.backends.base import Capability, EndpointPhase, RemoteState, supports
from apps.backends.errors import BackendError
from apps.core import leases

from .deployment import ref
from .models import WATCHED_STATUSES, Endpoint, Status

logger = logging.getLogger(__name__)

# The target's phase -> our status, whatever ours is now. Absent (maintenance, unknown): stay, record it.
_PHASE_TO_STATUS = {
    EndpointPhase.CREATING: Status.CREATING,
    EndpointPhase.IN_SERVICE: Status.IN_SERVICE,
    EndpointPhase.UPDATING: Status.UPDATING,
    EndpointPhase.DELETING: Status.DELETING,
    EndpointPhase.FAILED: Status.FAILED,
}


def next_status(current: str, phase: str, previous_phase: str = "") -> str | None:
    """Where an endpoint in `current` goes when its target reports `phase` (and reported
    `previous_phase` last time); None to stay."""
    if phase == EndpointPhase.NOT_FOUND:
        if current == Status.DELETING:
            return Status.DELETED
        if current in (Status.CREATING, Status.IN_SERVICE, Status.UPDATING):
            return Status.FAILED
        return None
    target = _PHASE_TO_STATUS.get(phase)
    if target is None or target == current:
        return None
    if current == Status.DELETING and target != Status.DELETED:
        return None  # a delete in flight wins over anything the listing still shows
    if current == Status.CREATING and target == Status.UPDATING:
        return None
    if current == Status.UPDATING and phase == previous_phase == EndpointPhase.IN_SERVICE:
        return None  # our update has not reached the target yet; the update task finishes it
    return target if Endpoint.machine.allows(current, target) else None


def failure_reason(state: RemoteState) -> str:
    if state.phase == EndpointPhase.NOT_FOUND:
        return "The endpoint no longer exists on the target (deleted outside ModelHub?)."
    return state.failure_reason or f"The target reports {state.remote_status or state.phase}."


def remote_fields(state: RemoteState) -> dict:
    """The row's columns for what the target reported: status words, URL once known, and detail."""
    fields = {"remote_status": state.remote_status, "remote_phase": state.phase}
    if state.invocation_url:
        fields["invocation_url"] = state.invocation_url
    detail = {**state.extra, **({"instances": list(state.instances)} if state.instances else {})}
    if detail:
        fields["remote_detail"] = detail
    return fields


def apply_remote_state(endpoint: Endpoint, state: RemoteState, backend=None) -> str | None:
    """Move `endpoint` as `state` says; returns its new status, or None when it did not move."""
    fields = remote_fields(state)
    status_changed = (state.remote_status, state.phase) != (endpoint.remote_status, endpoint.remote_phase)
    new = next_status(endpoint.status, state.phase, endpoint.remote_phase)
    if new is None:
        if status_changed or any(getattr(endpoint, key) != value for key, value in fields.items()):
            Endpoint.objects.filter(pk=endpoint.pk).update(**fields)
            for key, value in fields.items():
                setattr(endpoint, key, value)
        if status_changed:
            if state.phase == EndpointPhase.UNKNOWN:
                endpoint.record_event(f"Target status {state.remote_status}", kind="remote",
                                      data={"status": state.remote_status})
            elif state.message and state.phase == EndpointPhase.MAINTENANCE:
                endpoint.record_event(state.message, kind="remote", data={"status": state.remote_status})
        return None
    data = {"remote": state.remote_status or state.phase}
    if new == Status.FAILED:
        tail, source = _log_tail(endpoint, backend)
        moved = endpoint.transition(new, failure_reason(state), data=data, **fields)
        if moved and tail:
            endpoint.record_event(f"Last {len(tail)} log lines from {source}", level="error", kind="remote",
                                  data={"log_tail": tail})
        return new if moved else None
    reason = {Status.IN_SERVICE: "The endpoint is in service.", Status.DELETED: "Removed from the target."}.get(new, "")
    return new if endpoint.transition(new, reason, data=data, **fields) else None


def needs_autoscaling(endpoint: Endpoint, old: str, new: str | None) -> bool:
    """Autoscaling is applied once the endpoint is in service (a target may refuse it before)."""
    return old == Status.CREATING and new == Status.IN_SERVICE and bool(endpoint.autoscaling)


def _log_tail(endpoint: Endpoint, backend) -> tuple[list[str], str]:
    """The last log lines and where they come from; best effort: a failure is recorded even when
    its logs cannot be read, and a target without logs has none."""
    if backend is None or not supports(backend, Capability.LOGS):
        return [], ""
    limit = settings.ENDPOINT_FAILURE_LOG_LINES
    try:
        page = backend.logs(ref(endpoint), limit=limit)
    except BackendError as exc:
        logger.warning("Could not read logs of endpoint %s: %s", endpoint.pk, exc)
        return [], ""
    return [line.message for line in page.lines][-limit:], page.source or "the endpoint's logs"


def poll_watched() -> Iterator[tuple[Endpoint, RemoteState, object]]:
    """(endpoint, its state, its backend) for every watched endpoint its target reported on, with
    one bulk poll per target. A target without a backend, or whose poll fails, is skipped this cycle."""
    by_target = defaultdict(list)
    for endpoint in Endpoint.objects.filter(status__in=WATCHED_STATUSES).exclude(remote_name=""):
        by_target[endpoint.target].append(endpoint)
    for target, endpoints in by_target.items():
        try:
            backend = registry.serving_backend(target)
        except registry.UnknownBackend:
            logger.warning("No serving backend for target %s; %d endpoints not polled", target, len(endpoints))
            continue
        try:
            states = backend.poll_many([ref(e) for e in endpoints])
        except BackendError as exc:
            logger.warning("Polling %s endpoints failed: %s", target, exc)
            continue
        for endpoint in endpoints:
            state = states.get(endpoint.remote_name)
            if state is not None:
                yield endpoint, state, backend


# The task that moves an endpoint out of each status a lost message can strand it in.
LOST_WORK_TASKS = {Status.QUEUED: "endpoints.deploy", Status.DELETING: "endpoints.delete",
                   Status.UPDATING: "endpoints.update"}


def lost_work(now=None) -> dict[str, list[int]]:
    """Ids of endpoints whose task message never ran, by status: deploys still queued, deletes still
    in flight, and updates the target never started (it still reports the endpoint in service), that
    have stayed so for ENDPOINT_STALE_SECONDS and that no live worker holds (`apps.core.leases`)."""
    now = now or timezone.now()
    old = Endpoint.objects.filter(status_changed_at__lt=now - timedelta(seconds=settings.ENDPOINT_STALE_SECONDS))
    found = {
        Status.QUEUED: old.filter(status=Status.QUEUED),
        Status.DELETING: old.filter(status=Status.DELETING),
        Status.UPDATING: old.filter(status=Status.UPDATING, remote_phase=EndpointPhase.IN_SERVICE),
    }
    lost = {}
    for status, rows in found.items():
        ids = list(rows.values_list("pk", flat=True))
        held = leases.held(LOST_WORK_TASKS[status], ids, now)
        lost[status] = [pk for pk in ids if str(pk) not in held]
    return lost

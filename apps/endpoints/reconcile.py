"""Drive endpoint rows toward what their target reports, in bulk.

`next_status` is the whole mapping from a service status to ours (pure, table-tested);
`apply_remote_state` moves one row and records what it saw; `reconcile_all` is one cycle of the
beat loop: one bulk poll per target, plus re-dispatch of work whose message was lost.
"""

import logging
from collections import defaultdict
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.backends import registry
from apps.backends.base import RemoteState
from apps.backends.errors import BackendError

from .models import WATCHED_STATUSES, Endpoint, Status

logger = logging.getLogger(__name__)

NOT_FOUND = "NotFound"

# Service status -> our status, whatever ours is now. None: stay, record the word as a remote event.
_REMOTE_TO_OURS = {
    "Creating": Status.CREATING,
    "InService": Status.IN_SERVICE,
    "Updating": Status.UPDATING,
    "RollingBack": Status.UPDATING,
    "SystemUpdating": None,  # AWS maintenance; the endpoint keeps serving
    "Deleting": Status.DELETING,
    "Failed": Status.FAILED,
    "OutOfService": Status.FAILED,
    "UpdateRollbackFailed": Status.FAILED,
}

_FAILURE_WORDS = {
    "OutOfService": "SageMaker reports the endpoint out of service.",
    "UpdateRollbackFailed": "An update failed and SageMaker could not roll it back.",
}


def next_status(current: str, remote: str, previous_remote: str = "") -> str | None:
    """Where an endpoint in `current` goes when the service says `remote` (and said
    `previous_remote` last time); None to stay."""
    if remote == NOT_FOUND:
        if current == Status.DELETING:
            return Status.DELETED
        if current in (Status.CREATING, Status.IN_SERVICE, Status.UPDATING):
            return Status.FAILED
        return None
    target = _REMOTE_TO_OURS.get(remote)
    if target is None or target == current:
        return None
    if current == Status.DELETING and target != Status.DELETED:
        return None  # a delete in flight wins over anything the listing still shows
    if current == Status.CREATING and target == Status.UPDATING:
        return None
    if current == Status.UPDATING and remote == "InService" and previous_remote == "InService":
        return None  # our update has not reached the service yet; the update task finishes it
    return target if Endpoint.machine.allows(current, target) else None


def failure_reason(state: RemoteState) -> str:
    if state.status == NOT_FOUND:
        return "The endpoint no longer exists on the target (deleted outside ModelHub?)."
    return state.failure_reason or _FAILURE_WORDS.get(state.status) or f"The target reports {state.status}."


def apply_remote_state(endpoint: Endpoint, state: RemoteState, backend=None) -> bool:
    """Move `endpoint` as `state` says; returns True when its status changed."""
    changed_word = state.status != endpoint.remote_status
    old = endpoint.status
    new = next_status(old, state.status, endpoint.remote_status)
    fields = {"remote_status": state.status} if state.status != NOT_FOUND else {"remote_status": ""}
    if new is None:
        if changed_word:
            Endpoint.objects.filter(pk=endpoint.pk).update(**fields)
            endpoint.remote_status = fields["remote_status"]
            if state.status not in _REMOTE_TO_OURS and state.status != NOT_FOUND:
                endpoint.record_event(f"Target status {state.status}", kind="remote", data={"status": state.status})
            elif state.status == "SystemUpdating":
                endpoint.record_event("SageMaker is applying maintenance (SystemUpdating).", kind="remote")
        return False
    if new == Status.FAILED:
        reason = failure_reason(state)
        log_tail = _log_tail(endpoint, backend)
        moved = endpoint.transition(new, reason, data={"remote": state.status}, **fields)
        if moved and log_tail:
            endpoint.record_event(
                f"Last {len(log_tail)} log lines from {log_source(endpoint)}", level="error", kind="remote",
                data={"log_tail": log_tail},
            )
        return moved
    reason = {Status.IN_SERVICE: "The endpoint is in service.", Status.DELETED: "Removed from the target."}.get(new, "")
    moved = endpoint.transition(new, reason, data={"remote": state.status}, **fields)
    if moved and old == Status.CREATING and new == Status.IN_SERVICE and endpoint.autoscaling:
        _dispatch_update(endpoint)  # SageMaker registers autoscaling only on an endpoint in service
    return moved


def log_source(endpoint: Endpoint) -> str:
    if endpoint.target == "sagemaker":
        return f"CloudWatch /aws/sagemaker/Endpoints/{endpoint.remote_name}"
    return "the endpoint's logs"


def _log_tail(endpoint: Endpoint, backend) -> list[str]:
    """Best effort: a failure is recorded even when its logs cannot be read."""
    if backend is None or not hasattr(backend, "logs"):
        return []
    try:
        page = backend.logs(endpoint, limit=settings.ENDPOINT_FAILURE_LOG_LINES)
    except BackendError as exc:
        logger.warning("Could not read logs of endpoint %s: %s", endpoint.pk, exc)
        return []
    return [line.message for line in page.lines][-settings.ENDPOINT_FAILURE_LOG_LINES:]


def _dispatch_update(endpoint: Endpoint) -> None:
    from .tasks import update_endpoint

    transaction.on_commit(lambda: update_endpoint.delay(endpoint.pk))


def redispatch_lost(now=None) -> dict[str, int]:
    """Re-send work whose message never ran: deploys still queued, deletes still in flight."""
    from .tasks import delete_endpoint, deploy_endpoint, update_endpoint

    now = now or timezone.now()
    stale = now - timedelta(seconds=settings.ENDPOINT_STALE_SECONDS)
    counts = {}
    for status, task in ((Status.QUEUED, deploy_endpoint), (Status.DELETING, delete_endpoint),
                         (Status.UPDATING, update_endpoint)):
        ids = list(Endpoint.objects.filter(status=status, status_changed_at__lt=stale).values_list("pk", flat=True))
        if status == Status.UPDATING:
            # Only updates the target never started: it still reports the endpoint as in service.
            ids = list(Endpoint.objects.filter(pk__in=ids, remote_status="InService").values_list("pk", flat=True))
        for pk in ids:
            task.delay(pk)
        counts[status] = len(ids)
    return counts


def reconcile_all() -> dict[str, int]:
    """One cycle: a bulk poll per target, then re-dispatch of lost work."""
    by_target = defaultdict(list)
    for endpoint in Endpoint.objects.filter(status__in=WATCHED_STATUSES).exclude(remote_name=""):
        by_target[endpoint.target].append(endpoint)
    moved = 0
    for target, endpoints in by_target.items():
        try:
            backend = registry.serving_backend(target)
        except registry.UnknownBackend:
            logger.warning("No serving backend for target %s; %d endpoints not polled", target, len(endpoints))
            continue
        try:
            states = backend.poll_many(endpoints)
        except BackendError as exc:
            logger.warning("Polling %s endpoints failed: %s", target, exc)
            continue
        for endpoint in endpoints:
            state = states.get(endpoint.remote_name)
            if state is not None and apply_remote_state(endpoint, state, backend):
                moved += 1
    return {"polled": sum(len(v) for v in by_target.values()), "moved": moved, **redispatch_lost()}

"""Endpoint tasks: they take ids, load rows (`object_task`), and are safe to run twice.

A TransientError is retried with the task base's backoff; any other backend error makes the
endpoint `failed` with the error's message when the task was moving it, or is recorded as an
event when it keeps serving, so no endpoint is ever left moving forever.
"""

import logging

from celery import shared_task
from django.conf import settings

from apps.backends import registry
from apps.backends.base import Capability, EndpointPhase, supports
from apps.core.dispatch import send_now, send_on_commit
from apps.core.taskbase import object_task

from . import reconcile
from .deployment import deployment, ref
from .models import Endpoint, Status

logger = logging.getLogger(__name__)

ENDPOINT = "endpoints.Endpoint"


def enqueue(task, endpoint_id: int) -> None:
    """Send `task` for the endpoint once the current transaction commits (at once outside one); a broker
    that refuses it leaves the endpoint to the reconcile loop's `lost_work` (apps.core.dispatch)."""
    send_on_commit(task.name, endpoint_id)


def _failing(moving: str):
    """on_failure for a task that moves endpoints out of `moving`: fail those, note it on the others."""

    def fail(endpoint: Endpoint, message: str) -> None:
        if endpoint.status == moving:
            endpoint.transition(Status.FAILED, message)
        else:  # e.g. autoscaling on an endpoint that keeps serving: record it, change nothing
            endpoint.record_event(message, level="error")

    return fail


def _settle(endpoint: Endpoint, state, backend) -> bool:
    """Apply a reported state; registers autoscaling once the endpoint came into service."""
    old = endpoint.status
    new = reconcile.apply_remote_state(endpoint, state, backend)
    if reconcile.needs_autoscaling(endpoint, old, new) and supports(backend, Capability.AUTOSCALING):
        enqueue(update_endpoint, endpoint.pk)
    return new is not None


@object_task("endpoints.deploy", model=ENDPOINT, time_limit=150, on_failure=_failing(Status.QUEUED),
             select_related=("owner",))
def deploy_endpoint(endpoint: Endpoint) -> None:
    """queued → creating: create (or adopt) everything the endpoint needs on its target."""
    if endpoint.status != Status.QUEUED:
        return
    try:
        backend = registry.serving_backend(endpoint.target)
        request = deployment(endpoint)
    except (registry.UnknownBackend, ValueError) as exc:  # no such target here, or a spec the engine tables
        endpoint.transition(Status.FAILED, str(exc))      # refuse: retrying will not help
        return
    state = backend.deploy(request)
    fields = reconcile.remote_fields(state)
    if state.region:
        fields["region"] = state.region
    data = {"remote": state.remote_status or state.phase, "adopted": state.adopted}
    if endpoint.transition(Status.CREATING, "Creation started.", data=data, **fields):
        # Adopted an endpoint that is already further along: let the reconcile rules move it on.
        if state.phase != EndpointPhase.CREATING:
            _settle(endpoint, state, backend)


@object_task("endpoints.update", model=ENDPOINT, time_limit=150, on_failure=_failing(Status.UPDATING),
             select_related=("owner",))
def update_endpoint(endpoint: Endpoint) -> None:
    """Apply the row's instance count and autoscaling to the running endpoint."""
    if endpoint.status not in (Status.UPDATING, Status.IN_SERVICE):
        return
    try:
        request = deployment(endpoint)
    except ValueError as exc:  # e.g. the stored Hugging Face token was deleted: it keeps serving as it is
        endpoint.record_event(f"Scaling settings not applied: {exc}", level="error")
        if endpoint.status == Status.UPDATING:
            endpoint.transition(Status.IN_SERVICE, "Scaling settings not applied.")
        return
    state = registry.serving_backend(endpoint.target).update(request, ref(endpoint))
    if endpoint.status == Status.IN_SERVICE:  # autoscaling applied right after creation
        endpoint.record_event("Autoscaling applied.", data={"autoscaling": endpoint.autoscaling})
        return
    fields = reconcile.remote_fields(state)
    if state.phase == EndpointPhase.IN_SERVICE:
        endpoint.transition(Status.IN_SERVICE, "Scaling settings applied.", **fields)
    else:
        Endpoint.objects.filter(pk=endpoint.pk).update(**fields)


@object_task("endpoints.delete", model=ENDPOINT, time_limit=150, on_failure=_failing(Status.DELETING))
def delete_endpoint(endpoint: Endpoint) -> None:
    """Remove every remote piece; `deleted` once the target no longer has the endpoint."""
    if endpoint.status != Status.DELETING:
        return
    if not endpoint.remote_name:
        endpoint.transition(Status.DELETED, "Nothing was created remotely.")
        return
    backend = registry.serving_backend(endpoint.target)
    backend.delete(ref(endpoint))
    state = backend.poll_many([ref(endpoint)]).get(endpoint.remote_name)
    if state is not None:
        _settle(endpoint, state, backend)


RECONCILE_TIME_LIMIT = max(2, settings.ENDPOINT_RECONCILE_SECONDS - 5)  # below the interval: cycles never overlap


@shared_task(name="endpoints.reconcile", time_limit=RECONCILE_TIME_LIMIT,
             soft_time_limit=max(1, RECONCILE_TIME_LIMIT - 5))
def reconcile_endpoints() -> dict:
    """One cycle of the beat loop: a bulk poll per target, then re-dispatch of lost work."""
    polled = moved = 0
    for endpoint, state, backend in reconcile.poll_watched():
        polled += 1
        moved += _settle(endpoint, state, backend)
    lost = reconcile.lost_work()
    for status, ids in lost.items():
        for pk in ids:
            send_now(reconcile.LOST_WORK_TASKS[status], pk)
    return {"polled": polled, "moved": moved, **{status: len(ids) for status, ids in lost.items()}}

"""Endpoint tasks: they take ids, load rows, and are safe to run twice.

Transient errors are retried with exponential backoff; any other backend error makes the
endpoint `failed` with the error's message, so no endpoint is ever left moving forever.
"""

import logging

from celery import shared_task

from apps.backends import registry
from apps.backends.errors import BackendError, TransientError

from . import reconcile
from .models import Endpoint, Status

logger = logging.getLogger(__name__)

MAX_RETRIES = 8


def backoff(retries: int) -> int:
    """Seconds before retry number `retries + 1`: 10, 20, 40 … capped at 10 minutes."""
    return min(600, 10 * 2**retries)


def _load(endpoint_id) -> Endpoint | None:
    endpoint = Endpoint.objects.select_related("owner").filter(pk=endpoint_id).first()
    if endpoint is None:
        logger.info("Endpoint %s is gone; nothing to do", endpoint_id)
    return endpoint


def _run(task, endpoint: Endpoint, action, *, fail_from: tuple[str, ...]):
    """Call `action()`; retry transient errors, fail the endpoint on any other backend error."""
    try:
        return action()
    except TransientError as exc:
        if task.request.retries >= MAX_RETRIES:
            endpoint.refresh_from_db()
            if endpoint.status in fail_from:
                endpoint.transition(Status.FAILED, f"Gave up after {MAX_RETRIES} retries: {exc}")
            return None
        endpoint.record_event(f"Temporary problem, retrying: {exc}", level="warning")
        raise task.retry(exc=exc, countdown=backoff(task.request.retries), max_retries=MAX_RETRIES) from exc
    except BackendError as exc:
        endpoint.refresh_from_db()
        if endpoint.status in fail_from:
            endpoint.transition(Status.FAILED, str(exc))
        else:  # e.g. autoscaling on an endpoint that keeps serving: record it, change nothing
            endpoint.record_event(str(exc), level="error")
        return None


@shared_task(name="endpoints.deploy", bind=True, soft_time_limit=120, time_limit=150)
def deploy_endpoint(self, endpoint_id: int) -> None:
    """queued → creating: create (or adopt) model, endpoint config and endpoint."""
    endpoint = _load(endpoint_id)
    if endpoint is None or endpoint.status != Status.QUEUED:
        return
    backend = registry.serving_backend(endpoint.target)
    state = _run(self, endpoint, lambda: backend.deploy(endpoint), fail_from=(Status.QUEUED,))
    if state is None:
        return
    fields = {"remote_status": state.status}
    for key in ("invocation_url", "region"):
        if state.extra.get(key):
            fields[key] = state.extra[key]
    if endpoint.transition(Status.CREATING, "Creation started.", data={"remote": state.status}, **fields):
        # Adopted an endpoint that is already further along: let the reconcile rules move it on.
        if state.status not in ("Creating", ""):
            reconcile.apply_remote_state(endpoint, state, backend)


@shared_task(name="endpoints.update", bind=True, soft_time_limit=120, time_limit=150)
def update_endpoint(self, endpoint_id: int) -> None:
    """Apply the row's instance count and autoscaling to the running endpoint."""
    endpoint = _load(endpoint_id)
    if endpoint is None or endpoint.status not in (Status.UPDATING, Status.IN_SERVICE):
        return
    backend = registry.serving_backend(endpoint.target)
    state = _run(self, endpoint, lambda: backend.update(endpoint), fail_from=(Status.UPDATING,))
    if state is None:
        return
    if endpoint.status == Status.IN_SERVICE:  # autoscaling applied right after creation
        endpoint.record_event("Autoscaling applied.", data={"autoscaling": endpoint.autoscaling})
        return
    if state.status == "InService":
        endpoint.transition(Status.IN_SERVICE, "Scaling settings applied.", remote_status=state.status)
    else:
        Endpoint.objects.filter(pk=endpoint.pk).update(remote_status=state.status)


@shared_task(name="endpoints.delete", bind=True, soft_time_limit=120, time_limit=150)
def delete_endpoint(self, endpoint_id: int) -> None:
    """Remove every remote piece; `deleted` once the target no longer has the endpoint."""
    endpoint = _load(endpoint_id)
    if endpoint is None or endpoint.status != Status.DELETING:
        return
    if not endpoint.remote_name:
        endpoint.transition(Status.DELETED, "Nothing was created remotely.")
        return
    backend = registry.serving_backend(endpoint.target)

    def remove():
        backend.delete(endpoint)
        return backend.poll_many([endpoint]).get(endpoint.remote_name)

    state = _run(self, endpoint, remove, fail_from=(Status.DELETING,))
    if state is not None:
        reconcile.apply_remote_state(endpoint, state, backend)


@shared_task(name="endpoints.reconcile", soft_time_limit=100, time_limit=120)
def reconcile_endpoints() -> dict:
    return reconcile.reconcile_all()

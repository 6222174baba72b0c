"""What the pages and the API do to endpoints: create, scale, delete.

Each function changes rows in one transaction and enqueues its task on commit, so a task never
sees a row that is not there yet and a failed request leaves nothing behind. A broker that refuses
the message does not fail the request: the endpoint stays queued / updating / deleting and the
reconcile loop sends the task again (`reconcile.lost_work`, apps/core/dispatch.py).
"""

import secrets
import uuid

from django.db import transaction

from apps.backends import registry
from apps.backends.base import Capability, supports
from apps.core import quotas

from . import names, target_options
from .models import Endpoint, Status
from .tasks import delete_endpoint, deploy_endpoint, enqueue, update_endpoint


class EndpointStateError(Exception):
    """The endpoint's status does not allow the action; the message says why."""


@transaction.atomic
def create_endpoint(owner, *, name: str, source: str, model_uri: str, engine: str, instance_type: str,
                    instance_count: int, spec: dict, target: str = "sagemaker", job=None, base_model=None,
                    served_model_name: str = "") -> Endpoint:
    """Insert the row (queued) and enqueue its deploy. An endpoint on a target that wants an API key
    gets a new one: `endpoint.api_key` of the returned row is the only time it is shown.

    The remote name is derived from the new id, so it is only known after the insert: a unique
    placeholder holds the name column until then, all inside this transaction. Raises quotas.QuotaExceeded,
    creating nothing, when the owner has no room for it.
    """
    autoscaling = (spec or {}).get("autoscaling")
    quotas.reserve(owner, quotas.Usage(endpoints=1, instances=quotas.endpoint_instances(instance_count, autoscaling)))
    placeholder = f"pending-{uuid.uuid4().hex}"
    endpoint = Endpoint.objects.create(
        owner=owner, name=name or placeholder, source=source, model_uri=model_uri, engine=engine,
        instance_type=instance_type, instance_count=instance_count, spec=spec, target=target, job=job,
        base_model=base_model, status=Status.QUEUED,
    )
    label = name or model_uri
    if target_options.on_cluster(target):
        options = spec.get("target_options") or {}
        endpoint.remote_name = names.kubernetes_endpoint_name(
            endpoint.pk, label, namespace=options.get("namespace") or "default", routing=bool(options.get("routing")))
    else:
        endpoint.remote_name = names.endpoint_name(endpoint.pk, label)
    if not name:
        endpoint.name = endpoint.remote_name
    endpoint.served_model_name = served_model_name or endpoint.name
    if supports(_backend(target), Capability.API_KEY):
        endpoint.api_key = new_api_key()
    Endpoint.objects.filter(pk=endpoint.pk).update(
        name=endpoint.name, remote_name=endpoint.remote_name, served_model_name=endpoint.served_model_name,
        api_key=endpoint.api_key,
    )
    endpoint.record_event("Queued for deployment.", kind="status", data={"to": Status.QUEUED})
    enqueue(deploy_endpoint, endpoint.pk)
    return endpoint


def new_api_key() -> str:
    """A key for a target whose endpoints want one (Capability.API_KEY): shown once, stored encrypted."""
    return f"sk-{secrets.token_urlsafe(32)}"


def _backend(target: str):
    try:
        return registry.serving_backend(target)
    except registry.UnknownBackend:
        return None


def scale_description(instance_count: int, autoscaling: dict | None) -> str:
    if autoscaling:
        return (f"Autoscaling between {autoscaling['min_instances']} and {autoscaling['max_instances']} instances "
                f"at {autoscaling['target_invocations_per_instance']} invocations per instance per minute.")
    return f"Scaling to {instance_count} instance{'s' if instance_count != 1 else ''}."


def _check_target_scales(endpoint: Endpoint, autoscaling: bool) -> None:
    if not supports(_backend(endpoint.target), Capability.AUTOSCALING if autoscaling else Capability.SCALING):
        what = "autoscale" if autoscaling else "change their instance count"
        raise EndpointStateError(f"{endpoint.get_target_display()} endpoints cannot {what} here.")


@transaction.atomic
def request_scale(endpoint: Endpoint, *, instance_count: int | None = None, autoscaling=...) -> Endpoint:
    """Record the wanted instance count and/or autoscaling (None turns it off) and apply them."""
    if endpoint.status != Status.IN_SERVICE:
        raise EndpointStateError(f"Only an endpoint in service can be scaled; this one is {endpoint.get_status_display()}.")
    spec = dict(endpoint.spec or {})
    if autoscaling is not ...:
        spec["autoscaling"] = autoscaling or None
    _check_target_scales(endpoint, bool(spec.get("autoscaling")))
    count = instance_count if instance_count is not None else endpoint.instance_count
    if spec.get("autoscaling"):
        low, high = spec["autoscaling"]["min_instances"], spec["autoscaling"]["max_instances"]
        count = min(max(count, low), high)
    more = (quotas.endpoint_instances(count, spec.get("autoscaling"))
            - quotas.endpoint_instances(endpoint.instance_count, endpoint.autoscaling))
    if more > 0:
        quotas.reserve(endpoint.owner, quotas.Usage(instances=more))
    reason = scale_description(count, spec.get("autoscaling"))
    if not endpoint.transition(Status.UPDATING, reason, instance_count=count, spec=spec):
        endpoint.refresh_from_db()
        raise EndpointStateError(f"The endpoint is {endpoint.get_status_display()} now; try again when it is in service.")
    enqueue(update_endpoint, endpoint.pk)
    return endpoint


@transaction.atomic
def request_delete(endpoint: Endpoint) -> Endpoint:
    if not endpoint.can_delete:
        raise EndpointStateError(f"The endpoint is already {endpoint.get_status_display()}.")
    if not endpoint.transition(Status.DELETING, "Deletion requested."):
        endpoint.refresh_from_db()
        raise EndpointStateError(f"The endpoint is {endpoint.get_status_display()}; it cannot be deleted now.")
    enqueue(delete_endpoint, endpoint.pk)
    return endpoint

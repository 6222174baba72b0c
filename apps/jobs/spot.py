"""The spot market panel beside the cost estimate (job form) and on a spot job's page.

Prices come from the training backend's optional `spot_price_history` (Capability.SPOT_PRICES),
reached through the registry; what they mean is the backend's business (for SageMaker: the EC2
spot market of the same machine, see apps/backends/sagemaker/pricing.py and docs/training-depth.md).
"""

from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.shortcuts import render
from django.views.decorators.http import require_GET

from apps.backends import registry
from apps.backends.base import Capability, supports
from apps.backends.errors import BackendError
from apps.catalog import instances

from .models import default_target


DAYS = 7
CACHE_SECONDS = 600  # the market moves slowly; a form changed back and forth asks EC2 once


def spot_history(target: str, instance_type: str, days: int = DAYS):
    """(history, error): the backend's spot price history for a known instance type, cached; history is
    None when the backend has no spot prices or the instance type is unknown."""
    try:
        backend = registry.training_backend(target)
    except LookupError:
        return None, None
    if not supports(backend, Capability.SPOT_PRICES) or instances.get(instance_type) is None:
        return None, None
    key = f"jobs:spot:{target}:{instance_type}:{days}"
    history = cache.get(key)
    if history is None:
        try:
            history = backend.spot_price_history(instance_type, days=days)
        except BackendError as exc:
            return None, f"Spot prices are unavailable right now: {exc}"
        cache.set(key, history, CACHE_SECONDS)
    return history, None


@login_required
@require_GET
def spot_prices(request):
    """The panel for `instance_type` on `backend` (default: new jobs' backend). From the form (`form=1`)
    with spot not ticked, only a hint: the market is read only for someone who asked for spot."""
    instance_type = request.GET.get("instance_type", "")
    wants_spot = "form" not in request.GET or bool(request.GET.get("use_spot"))
    history, error = (None, None)
    if wants_spot and instance_type:
        history, error = spot_history(request.GET.get("target") or default_target(), instance_type)
    return render(request, "jobs/_spot_prices.html", {
        "history": history, "error": error, "wants_spot": wants_spot, "instance_type": instance_type,
    })

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from apps.endpoints.models import Endpoint
from apps.users.ownership import visible_to

from . import ui_strings
from .modality import accepts_images
from .model_ids import adapter_names


def endpoint_choices(user) -> tuple[list[dict], list[dict]]:
    """The endpoints a user may chat with now, and those they may see that are not in service (named apart,
    so a failed or still-creating endpoint is never offered)."""
    endpoints = visible_to(Endpoint.objects.live(), user).select_related("owner", "base_model").order_by("name")
    usable, unavailable = [], []
    for e in endpoints:
        choice = {"name": e.name, "status": e.status, "target": e.get_target_display(), "engine": e.engine,
                  "owner": e.owner.username, "images": accepts_images(e), "adapters": adapter_names(e)}
        (usable if e.is_invocable else unavailable).append(choice)
    return usable, unavailable


@login_required
def playground(request):
    usable, unavailable = endpoint_choices(request.user)
    models = sum(1 + len(e["adapters"]) for e in usable)
    return render(request, "chat/playground.html", {"endpoints": usable, "unavailable": unavailable, "models": models,
                                                     "strings": ui_strings.playground_strings()})

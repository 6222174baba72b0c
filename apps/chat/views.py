from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from apps.endpoints.models import Endpoint
from apps.users.ownership import visible_to


def endpoint_choices(user) -> list[dict]:
    """The endpoints a user may pick in the playground, usable ones first."""
    endpoints = visible_to(Endpoint.objects.live(), user).select_related("owner").order_by("name")
    choices = [
        {"name": e.name, "status": e.status, "target": e.get_target_display(), "engine": e.engine,
         "usable": e.is_invocable, "owner": e.owner.username}
        for e in endpoints
    ]
    return sorted(choices, key=lambda c: not c["usable"])


@login_required
def playground(request):
    return render(request, "chat/playground.html", {"endpoints": endpoint_choices(request.user)})

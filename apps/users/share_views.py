"""The share panel's form posts: add a share to an object you own, remove one."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import Group
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from apps.core import limits

from .ownership import get_changeable_or_404
from .share_api import shares_user_may_change
from .shares import SHAREABLE, ShareError, detail_url, model_for, share


@login_required
@require_POST
def add_share(request):
    kind = request.POST.get("kind", "")
    object_id = limits.parse_id(request.POST.get("object_id", ""))
    if kind not in SHAREABLE or object_id is None:
        raise Http404
    obj = get_changeable_or_404(model_for(kind).objects.all(), request.user, pk=object_id)
    group_name = request.POST.get("group", "")
    group = get_object_or_404(Group, name=group_name) if group_name else None
    try:
        created = share(obj, group, by=request.user)
    except ShareError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Shared with %(audience)s: they can see and use it; only you and admins change it.") % {"audience": created.audience})
    return redirect(detail_url(obj))


@login_required
@require_POST
def remove_share(request, pk: int):
    found = get_object_or_404(shares_user_may_change(request.user), pk=pk)
    obj = found.content_type.get_object_for_this_type(pk=found.object_id)
    audience = found.audience
    found.delete()
    messages.success(request, _("No longer shared with %(audience)s.") % {"audience": audience})
    return redirect(detail_url(obj))

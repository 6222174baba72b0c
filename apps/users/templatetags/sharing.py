from django import template

from ..ownership import can_change
from ..shares import groups_user_may_share_with, kind_of, shares_of

register = template.Library()


@register.filter
def changeable_by(obj, user) -> bool:
    """{% if endpoint|changeable_by:user %}: show change and delete controls only to the owner and admins."""
    return can_change(user, obj)


@register.inclusion_tag("users/_share_panel.html", takes_context=True)
def share_panel(context, obj):
    user = context["request"].user
    may_change = can_change(user, obj)
    shares = list(shares_of(obj))
    taken = {s.group_id for s in shares}
    return {
        "csrf_token": context.get("csrf_token"), "obj": obj, "kind": kind_of(type(obj)), "shares": shares,
        "may_change": may_change, "owner": getattr(obj, "owner", None),
        "groups": [g for g in groups_user_may_share_with(user).order_by("name") if g.pk not in taken] if may_change else [],
        "may_share_with_everyone": may_change and user.is_admin and None not in taken and kind_of(type(obj)) != "dataset",
    }

"""Dashboard section: the user's endpoints (everyone's for admins) by status, engine and target."""

from django.db.models import Count
from django.utils.translation import gettext_lazy as _

from apps.users.ownership import visible_to

from .models import Endpoint, Status, Target


def _counts(queryset, field: str) -> list[dict]:
    rows = queryset.values(field).annotate(n=Count("id")).order_by("-n", field)
    return [{"key": row[field], "count": row["n"]} for row in rows]


def endpoint_counts(user) -> dict:
    live = visible_to(Endpoint.objects.live(), user)
    labels = dict(Status.choices)
    targets = dict(Target.choices)
    by_status = [{**row, "label": labels.get(row["key"], row["key"])} for row in _counts(live, "status")]
    by_target = [{**row, "label": targets.get(row["key"], row["key"])} for row in _counts(live, "target")]
    return {
        "total": sum(row["count"] for row in by_status),
        "in_service": next((row["count"] for row in by_status if row["key"] == Status.IN_SERVICE), 0),
        "by_status": by_status,
        "by_engine": _counts(live, "engine"),
        "by_target": by_target,
    }


def endpoints_section(user):
    return {"title": _("Endpoints"), "template": "endpoints/_dashboard_section.html", "context": endpoint_counts(user)}

"""The job list's filters and orderings, shared by the API and the list page."""

from django.db.models import Q

from apps.users.ownership import is_admin

from .models import Status

ORDERINGS = {
    "created_at": "created_at", "-created_at": "-created_at", "name": "name", "-name": "-name",
    "status": "status", "-status": "-status", "started_at": "started_at", "-started_at": "-started_at",
    "job_type": "job_type", "-job_type": "-job_type",
}


def filter_jobs(queryset, params, user):
    """The job list's filters, shared by the API and the list page."""
    statuses = [s for s in params.get("status", "").split(",") if s in Status.values]
    if statuses:
        queryset = queryset.filter(status__in=statuses)
    job_types = [t for t in params.get("job_type", "").split(",") if t]
    if job_types:
        queryset = queryset.filter(job_type__in=job_types)
    owner = params.get("owner", "").strip()
    if owner and is_admin(user):
        queryset = queryset.filter(owner__username=owner)
    search = params.get("search", "").strip()
    if search:
        queryset = queryset.filter(Q(name__icontains=search) | Q(remote_name__icontains=search))
    ordering = ORDERINGS.get(params.get("ordering", ""), "-created_at")
    return queryset.order_by(ordering, "-id" if ordering.startswith("-") else "id")

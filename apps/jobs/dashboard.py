"""The dashboard's training-jobs section: counts by status and type, running jobs, recent failures."""

from django.db.models import Count
from django.utils.translation import gettext_lazy as _

from apps.core.job_types import JobType
from apps.users.ownership import visible_to

from .models import Status, TrainingJob


def jobs_section(user):
    jobs = visible_to(TrainingJob.objects.alive(), user)
    by_status = dict(jobs.order_by().values_list("status").annotate(n=Count("id")))
    by_type = dict(jobs.order_by().values_list("job_type").annotate(n=Count("id")))
    running = list(jobs.filter(status__in=(Status.STARTING, Status.RUNNING, Status.STOPPING)).defer("spec")
                   .select_related("owner").order_by("-created_at")[:8])
    failures = list(jobs.filter(status=Status.FAILED).defer("spec").order_by("-status_changed_at")[:5])
    return {
        "title": _("Training jobs"),
        "template": "jobs/_dashboard_section.html",
        "context": {
            "total": sum(by_status.values()),
            "by_status": [(value, label, by_status.get(value, 0)) for value, label in Status.choices],
            "by_type": [(value, label, by_type[value]) for value, label in JobType.choices if by_type.get(value)],
            "running": running,
            "failures": failures,
        },
    }

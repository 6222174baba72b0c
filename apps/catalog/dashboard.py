from django.utils.translation import gettext_lazy as _

from .models import BaseModel, Dataset


def section(user):
    """Datasets at a glance: how many are ready, validating and invalid, and the newest ones."""
    if not user.is_authenticated:
        return None
    datasets = Dataset.objects.visible_to_user(user).exclude(source=Dataset.Source.BUILTIN)
    counts = {status: datasets.filter(status=status).count() for status in Dataset.Status.values}
    return {
        "title": _("Datasets"),
        "template": "catalog/_dashboard_section.html",
        "context": {
            "counts": counts,
            "recent": list(datasets.select_related("owner")[:5]),
            "model_count": BaseModel.objects.visible_to_user(user).count(),
        },
    }

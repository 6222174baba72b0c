"""Which training target a new job runs on: every target in settings.TRAINING_BACKENDS with its
readiness (apps.core.readiness), the default for new jobs, and the check the form and the API share."""

from django.conf import settings

from apps.backends import registry
from apps.core import readiness
from apps.core.readiness import TargetReadiness

from .models import default_target  # noqa: F401 - the form's default, with the API's


def training_targets() -> list[TargetReadiness]:
    """Every training target, in settings order, with whether it is usable and what it lacks. Asked
    afresh (not from the dashboard's cache): a launch must not be refused for a fixed setting."""
    return [readiness._ask("training", name, registry.training_backend) for name in settings.TRAINING_BACKENDS]


def target_problem(name: str) -> str | None:
    """Why a job cannot be sent to target `name` now (every missing item in one message), or None."""
    found = {t.name: t for t in training_targets()}
    target = found.get(name)
    if target is None:
        return f"Unknown target {name!r}; choose one of: {', '.join(found) or 'none configured'}."
    if target.usable is False:
        lacks = " ".join(target.missing) or target.detail
        return f"{target.label} cannot run jobs now. {lacks}".strip()
    return None

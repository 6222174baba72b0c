"""What a training target adds to the one spec validation, declared in settings.TRAINING_TARGET_RULES:
per target, dotted paths to `problems(spec) -> {field: message}` (options the target cannot honour:
field errors, never dropped silently), optionally `defaults(job_type, data, type_defaults) -> {field:
value}` (values for omitted fields whose usual default the target refuses) and `help` (what the
target does differently, for forms)."""

from django.conf import settings
from django.utils.module_loading import import_string

from apps.backends import registry
from apps.backends.base import Capability, supports

from .spec import ALL_TYPES, TrainingSpec, defaults_for


def _rule(target: str, name: str):
    path = (settings.TRAINING_TARGET_RULES.get(target) or {}).get(name)
    return import_string(path) if path else None


def with_defaults(target: str, data: dict) -> dict:
    """`data` completed with the target's own defaults for the fields it leaves out."""
    defaults = _rule(target, "defaults")
    job_type = data.get("job_type")
    if defaults is None or not isinstance(job_type, str) or job_type not in ALL_TYPES:
        return data
    return {**data, **defaults(job_type, data, defaults_for(job_type))}


def problems(target: str, spec: TrainingSpec) -> dict[str, list[str]]:
    """Field errors for the options of `spec` that `target` cannot run."""
    check = _rule(target, "problems")
    return {field: [message] for field, message in (check(spec) if check else {}).items()}


def capability_problems(target: str, spec: TrainingSpec) -> dict[str, list[str]]:
    """Field errors for options only some targets' backends declare (Capability) when `target`'s does not."""
    problems: dict[str, list[str]] = {}
    if spec.training_plan_arn:
        try:
            backend = registry.training_backend(target)
        except registry.UnknownBackend:
            backend = None
        if not supports(backend, Capability.TRAINING_PLANS):
            label = getattr(backend, "label", target)
            problems["training_plan_arn"] = [f"Training plans are reserved SageMaker capacity; {label} cannot use "
                                             "one. Leave it empty, or run the job on Amazon SageMaker."]
    return problems


def help_text(target: str) -> str:
    return _rule(target, "help") or ""

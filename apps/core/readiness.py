"""Whether each configured compute target can be used now, and everything it still lacks.

Every backend in settings.TRAINING_BACKENDS / SERVING_BACKENDS is asked for its `readiness()`
(apps/backends/base.py). A backend that cannot be loaded or whose check raises is reported unusable
with the error; one that does not implement `readiness()` yet is reported as unknown, not as broken.
Answers are cached for CACHE_SECONDS, as a check may cost a cloud call or two and the
dashboard and /healthz are loaded often.
"""

from dataclasses import asdict, dataclass

from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext_noop

from apps.backends import registry

CACHE_KEY = "core:target-readiness"
CACHE_SECONDS = 60
ROLES = (("training", "TRAINING_BACKENDS", registry.training_backend),
         ("serving", "SERVING_BACKENDS", registry.serving_backend))
WHERE_TO_SET = gettext_noop("Settings are read from the environment and from the .env file in the project folder "
                "(see .env.example); restart the web server and the workers after changing them.")  # translated where shown


@dataclass(frozen=True)
class TargetReadiness:
    role: str  # "training" or "serving"
    name: str  # the key in settings, e.g. "sagemaker"
    label: str
    usable: bool | None  # None: the backend does not report readiness
    missing: tuple[str, ...] = ()
    detail: str = ""

    @property
    def state(self) -> str:
        return {True: "usable", False: "unusable", None: "unknown"}[self.usable]

    def as_json(self) -> dict:
        return {**{k: v for k, v in asdict(self).items() if k not in ("role", "name")},
                "missing": list(self.missing), "state": self.state}


def _ask(role: str, name: str, get_backend) -> TargetReadiness:
    try:
        backend = get_backend(name)
    except Exception as exc:  # an import path that does not load is a configuration problem to show
        return TargetReadiness(role, name, name, False, (f"The backend could not be loaded: {type(exc).__name__}: {exc}",))
    label = getattr(backend, "label", name)
    check = getattr(backend, "readiness", None)
    if not callable(check):
        return TargetReadiness(role, name, label, None, (), "This target does not report its readiness yet.")
    try:
        answer = check()
    except Exception as exc:  # the report must come back whatever the check does
        return TargetReadiness(role, name, label, False, (), f"The readiness check failed: {type(exc).__name__}: {exc}")
    return TargetReadiness(role, name, label, bool(answer.usable), tuple(answer.missing), answer.detail)


def compute() -> list[TargetReadiness]:
    return [_ask(role, name, get_backend)
            for role, setting, get_backend in ROLES for name in getattr(settings, setting)]


def targets() -> list[TargetReadiness]:
    """Every configured target's readiness, from the cache when fresh."""
    found = cache.get(CACHE_KEY)
    if found is None:
        found = compute()
        cache.set(CACHE_KEY, found, CACHE_SECONDS)
    return found


def as_json(found: list[TargetReadiness]) -> dict:
    """For /healthz: {"training": {"sagemaker": {...}}, "serving": {...}}."""
    result: dict[str, dict] = {role: {} for role, _, _ in ROLES}
    for target in found:
        result[target.role][target.name] = target.as_json()
    return result


def default_target(role: str) -> str:
    """Where new jobs ("training") and deploys ("serving") go when the request names no target:
    settings.COMPUTE_BACKEND when set; otherwise the first configured training target that is usable
    now (a cloud target is listed before the one on this machine, so it wins once configured), or the
    last one listed when none is (its readiness says what to install). Deploys use the same target when
    it serves too, else the first serving target."""
    training = list(settings.TRAINING_BACKENDS)
    name = settings.COMPUTE_BACKEND
    if not name:
        usable = [t.name for t in targets() if t.role == "training" and t.usable]
        name = usable[0] if usable else (training[-1] if training else "")
    if role == "serving" and name not in settings.SERVING_BACKENDS:
        return next(iter(settings.SERVING_BACKENDS), "")
    return name

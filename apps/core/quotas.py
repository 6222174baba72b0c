"""Per-user quotas: concurrent training jobs, endpoints, and the instances they hold.

`quota_problem` is pure: given what the user has running (`Usage`) and what the request would add, a message
in words when it would go over a limit, or None. Limits come from settings (QUOTA_*; 0 means no limit);
admins have none. `reserve` is what the services call where the row is created, inside the same transaction:
it locks the user's row (so two concurrent requests cannot both pass on the last free slot), counts, and
raises QuotaExceeded, which the API answers with 403 `quota_exceeded` and the forms show above the form.
"""

from dataclasses import dataclass

from django.apps import apps
from django.contrib.auth import get_user_model


class QuotaExceeded(Exception):
    """The request would take the user over a quota; the message says which and what to do."""


@dataclass(frozen=True)
class Usage:
    jobs: int = 0
    endpoints: int = 0
    instances: int = 0

    def __add__(self, other: "Usage") -> "Usage":
        return Usage(self.jobs + other.jobs, self.endpoints + other.endpoints, self.instances + other.instances)


@dataclass(frozen=True)
class Limits:
    jobs: int = 0
    endpoints: int = 0
    instances: int = 0

    @classmethod
    def from_settings(cls) -> "Limits":
        from django.conf import settings

        return cls(settings.QUOTA_CONCURRENT_JOBS, settings.QUOTA_ENDPOINTS, settings.QUOTA_INSTANCES)


_WORDS = {  # limit -> (what it counts, what the user can do, the setting an administrator raises)
    "jobs": ("training jobs running or queued", "Stop or wait for one of them", "QUOTA_CONCURRENT_JOBS"),
    "endpoints": ("endpoints", "Delete one you no longer use", "QUOTA_ENDPOINTS"),
    "instances": ("instances in use by your jobs and endpoints", "Use fewer instances or free some", "QUOTA_INSTANCES"),
}


def quota_problem(user, in_use: Usage, adding: Usage, limits: Limits | None = None) -> str | None:
    """Why `adding` to what `user` has `in_use` is over quota, or None when it fits."""
    if user is not None and getattr(user, "is_admin", False):
        return None
    limits = limits or Limits.from_settings()
    after = in_use + adding
    for name, (what, advice, setting) in _WORDS.items():
        limit, wanted = getattr(limits, name), getattr(adding, name)
        if limit > 0 and wanted > 0 and getattr(after, name) > limit:
            return (f"Quota reached: you may have at most {limit} {what}; you have {getattr(in_use, name)} and "
                    f"this needs {wanted} more. {advice}, or ask an administrator to raise {setting}.")
    return None


def endpoint_instances(instance_count: int, autoscaling: dict | None) -> int:
    """The instances an endpoint may hold: its count, or its autoscaling maximum when that is higher."""
    return max(int(instance_count), int((autoscaling or {}).get("max_instances") or 0))


def usage_of(user) -> Usage:
    """What `user` holds now: jobs queued or running, endpoints not failed or gone, and their instances."""
    job_model, endpoint_model = apps.get_model("jobs", "TrainingJob"), apps.get_model("endpoints", "Endpoint")
    jobs = list(job_model.objects.alive().active().filter(owner=user).values_list("spec", flat=True))
    endpoints = list(endpoint_model.objects.holding().filter(owner=user).values_list("instance_count", "spec"))
    instances = sum(int((spec or {}).get("instance_count") or 1) for spec in jobs)
    instances += sum(endpoint_instances(count, (spec or {}).get("autoscaling")) for count, spec in endpoints)
    return Usage(jobs=len(jobs), endpoints=len(endpoints), instances=instances)


def reserve(user, adding: Usage) -> None:
    """Inside the creating transaction: raise QuotaExceeded when `adding` would take `user` over a quota."""
    if getattr(user, "is_admin", False) or not any(vars(Limits.from_settings()).values()):
        return
    get_user_model().objects.select_for_update().filter(pk=user.pk).first()  # one creation per user at a time
    if problem := quota_problem(user, usage_of(user), adding):
        raise QuotaExceeded(problem)

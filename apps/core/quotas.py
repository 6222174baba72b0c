"""Per-user quotas: concurrent training jobs, endpoints, and the instances they hold.

Pure: the caller counts what the user has running (`Usage`) and what the request would add, and gets a
message in words when it would go over a limit, or None. Limits come from settings (QUOTA_*; 0 means no
limit); admins have none. Call it where the row is created, inside the same transaction as the count, so
two concurrent requests cannot both pass on the last free slot (select_for_update on the user's row).
"""

from dataclasses import dataclass


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


_WORDS = {
    "jobs": ("training jobs running or queued", "Stop or wait for one of them"),
    "endpoints": ("endpoints", "Delete one you no longer use"),
    "instances": ("instances in use by your jobs and endpoints", "Use fewer instances or free some"),
}


def quota_problem(user, in_use: Usage, adding: Usage, limits: Limits | None = None) -> str | None:
    """Why `adding` to what `user` has `in_use` is over quota, or None when it fits."""
    if user is not None and getattr(user, "is_admin", False):
        return None
    limits = limits or Limits.from_settings()
    after = in_use + adding
    for name, (what, advice) in _WORDS.items():
        limit, wanted = getattr(limits, name), getattr(adding, name)
        if limit > 0 and wanted > 0 and getattr(after, name) > limit:
            return (f"Quota reached: you may have at most {limit} {what}; you have {getattr(in_use, name)} and "
                    f"this needs {wanted} more. {advice}, or ask an administrator to raise QUOTA_{name.upper()}.")
    return None

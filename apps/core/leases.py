"""Which rows a live worker is acting on now, so sweeps re-send only work whose worker died.

`object_task` calls `hold` when a worker starts a task on a row, `hold_until` when it schedules a
retry (the message then waits in the broker, or in the worker's memory until its countdown), and
`release` when the run ends. A lease is live while its worker's heartbeat (`apps.core.worker`) is
younger than WORKER_STALE_SECONDS, or, for a retry, until its due time plus that much. A worker
killed with SIGKILL releases nothing: its heartbeat stops and its leases die with it.
"""

from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from .models import TaskLease, WorkerHeartbeat


def hold(task: str, object_id, worker: str) -> None:
    TaskLease.objects.update_or_create(task=task, object_id=str(object_id), defaults={"worker": worker, "until": None})


def hold_until(task: str, object_id, due) -> None:
    TaskLease.objects.update_or_create(task=task, object_id=str(object_id), defaults={"worker": "", "until": due})


def release(task: str, object_id) -> None:
    TaskLease.objects.filter(task=task, object_id=str(object_id)).delete()


def held(task: str, object_ids, now=None) -> set[str]:
    """The ids among `object_ids` (as strings) that a live worker or a pending retry holds for `task`."""
    now = now or timezone.now()
    stale = now - timedelta(seconds=settings.WORKER_STALE_SECONDS)
    live_workers = WorkerHeartbeat.objects.filter(last_seen__gte=stale).values("hostname")
    ids = [str(pk) for pk in object_ids]
    return set(TaskLease.objects.filter(task=task, object_id__in=ids)
               .filter(Q(worker__in=live_workers) | Q(worker="", until__gte=stale))
               .values_list("object_id", flat=True))

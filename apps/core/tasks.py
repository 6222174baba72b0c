from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from .models import TaskLease, WorkerHeartbeat, WorkerPing


@shared_task(name="core.worker_ping", bind=True, soft_time_limit=10, time_limit=20)
def worker_ping(self, ping_id: str) -> None:
    WorkerPing.objects.filter(pk=ping_id, completed_at=None).update(
        completed_at=timezone.now(), worker=self.request.hostname or ""
    )


@shared_task(name="core.prune_worker_records", soft_time_limit=60, time_limit=90)
def prune_worker_records() -> None:
    now = timezone.now()
    WorkerPing.objects.filter(created_at__lt=now - timedelta(days=1)).delete()
    WorkerHeartbeat.objects.filter(last_seen__lt=now - timedelta(days=1)).delete()
    # Leases left by killed workers (or runs another path finished) hold nothing a day later.
    TaskLease.objects.filter(updated_at__lt=now - timedelta(days=1)).delete()

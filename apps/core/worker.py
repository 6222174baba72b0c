"""The worker heartbeat: each Celery worker process records that it is alive every few seconds."""

import logging
import os
import threading

from celery import signals
from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone

logger = logging.getLogger(__name__)


class Heartbeat(threading.Thread):
    def __init__(self, hostname: str, queues: str):
        super().__init__(name="modelhub-heartbeat", daemon=True)
        self.hostname, self.queues = hostname, queues
        self.started_at = timezone.now()
        self.stopped = threading.Event()

    def beat(self):
        from .models import WorkerHeartbeat

        close_old_connections()
        WorkerHeartbeat.objects.update_or_create(
            hostname=self.hostname,
            defaults={
                "pid": os.getpid(),
                "queues": self.queues,
                "started_at": self.started_at,
                "last_seen": timezone.now(),
            },
        )

    def run(self):
        while not self.stopped.is_set():
            try:
                self.beat()
            except Exception:
                logger.warning("Worker heartbeat could not be written", exc_info=True)
            self.stopped.wait(settings.WORKER_HEARTBEAT_SECONDS)

    def stop(self):
        from .models import WorkerHeartbeat

        self.stopped.set()
        self.join(timeout=5)
        close_old_connections()
        WorkerHeartbeat.objects.filter(hostname=self.hostname).delete()


_heartbeat: Heartbeat | None = None


@signals.worker_ready.connect
def start_heartbeat(sender, **kwargs):
    global _heartbeat
    queues = ",".join(sorted(q.name for q in sender.app.amqp.queues.consume_from.values()))
    _heartbeat = Heartbeat(sender.hostname, queues)
    _heartbeat.start()


@signals.worker_shutdown.connect
def stop_heartbeat(sender, **kwargs):
    if _heartbeat is not None:
        try:
            _heartbeat.stop()
        except Exception:
            logger.warning("Worker heartbeat could not be removed", exc_info=True)

import uuid

from django.db import models


class WorkerHeartbeat(models.Model):
    """Written every few seconds by each running Celery worker; read by the health check."""

    hostname = models.CharField(max_length=255, unique=True)
    pid = models.PositiveIntegerField()
    queues = models.CharField(max_length=255, blank=True)
    started_at = models.DateTimeField()
    last_seen = models.DateTimeField(db_index=True)

    def __str__(self):
        return self.hostname


class WorkerPing(models.Model):
    """A round trip through the broker: created by a request, completed by whichever worker runs it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    worker = models.CharField(max_length=255, blank=True)

    @property
    def round_trip_ms(self) -> float | None:
        if self.completed_at is None:
            return None
        return (self.completed_at - self.created_at).total_seconds() * 1000


class Event(models.Model):
    """Append-only history of a stateful object. Concrete subclasses add the foreign key."""

    class Level(models.TextChoices):
        INFO = "info"
        WARNING = "warning"
        ERROR = "error"

    class Kind(models.TextChoices):
        STATUS = "status"
        MESSAGE = "message"
        REMOTE = "remote"
        METRICS = "metrics"

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    level = models.CharField(max_length=10, choices=Level.choices, default=Level.INFO)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.MESSAGE)
    message = models.TextField()
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        abstract = True
        ordering = ["created_at", "id"]

    def __str__(self):
        return self.message


class TaskLease(models.Model):
    """A row some worker is acting on now (`worker`), or whose retry is due by `until` (no worker).

    Written by `apps.core.taskbase.object_task` around every run on a real worker; read by the sweeps
    through `apps.core.leases.held`, so a row in a transitional state whose worker died (its heartbeat
    stopped) is sent again in minutes, while one a live worker is still on is left alone.
    """

    task = models.CharField(max_length=100)
    object_id = models.CharField(max_length=64)
    worker = models.CharField(max_length=255, blank=True)
    until = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["task", "object_id"], name="core_tasklease_task_object")]

    def __str__(self):
        return f"{self.task}({self.object_id}) by {self.worker or 'retry'}"

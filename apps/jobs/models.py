import secrets
import string

from django.conf import settings
from django.db import models
from django.utils import timezone

from apps.backends import registry
from apps.backends.errors import BackendError
from apps.core.job_types import EASYR1_TYPES, JobType
from apps.core import readiness
from apps.core.models import Event
from apps.core.naming import remote_name
from apps.core.statemachine import StatefulModel, StateMachine

from . import layout


class Status(models.TextChoices):
    QUEUED = "queued"
    SUBMITTING = "submitting"
    STARTING = "starting"
    RUNNING = "running"
    STOPPING = "stopping"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    STOPPED = "stopped"


S = Status
JOB_MACHINE = StateMachine(
    {
        S.QUEUED: {S.SUBMITTING, S.STOPPED, S.FAILED},
        S.SUBMITTING: {S.STARTING, S.STOPPING, S.FAILED},
        S.STARTING: {S.RUNNING, S.STOPPING, S.SUCCEEDED, S.FAILED, S.STOPPED},
        S.RUNNING: {S.STOPPING, S.SUCCEEDED, S.FAILED, S.STOPPED},
        S.STOPPING: {S.STOPPED, S.SUCCEEDED, S.FAILED},
        S.SUCCEEDED: set(),
        S.FAILED: set(),
        S.STOPPED: set(),
    }
)


def humanize_seconds(seconds: int | None) -> str:
    """"45 s", "12 min", "3 h 05 min", "2 d 4 h"."""
    if seconds is None:
        return "—"
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds} s"
    minutes, hours = seconds // 60, seconds // 3600
    if hours < 1:
        return f"{minutes} min"
    if hours < 48:
        return f"{hours} h {minutes % 60:02d} min"
    return f"{hours // 24} d {hours % 24} h"


class NotDeployable(Exception):
    """The job has no model to deploy (yet); the message says why."""


class TrainingJobQuerySet(models.QuerySet):
    def alive(self):
        """Jobs not deleted by their owner (deleted jobs keep their rows and events)."""
        return self.filter(deleted_at__isnull=True)

    def active(self):
        return self.filter(status__in=JOB_MACHINE.active)


def default_target() -> str:
    """The target of a new job whose request names none (settings.COMPUTE_BACKEND, else the first usable)."""
    return readiness.default_target("training")


def job_root(target: str, name: str) -> str:
    """The storage prefix the target gives a job, or "" while it cannot (e.g. no bucket configured yet:
    the submit asks again, and fails with the target's reason if it still cannot)."""
    try:
        return registry.training_backend(target).job_root(name)
    except (BackendError, LookupError):
        return ""


def _nonce() -> str:
    return "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(5))


class TrainingJob(StatefulModel):
    """One fine-tuning run on a training backend. Change `status` only through `transition()`."""

    machine = JOB_MACHINE
    failure_states = frozenset({S.FAILED})

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="training_jobs")
    name = models.CharField(max_length=100)
    job_type = models.CharField(max_length=16, choices=JobType.choices, db_index=True)
    target = models.CharField(max_length=32, default=default_target, help_text="Compute target (settings.TRAINING_BACKENDS).")
    spec = models.JSONField(help_text="The validated TrainingSpec (TrainingSpec.to_dict()).")

    # Remote identity. `remote_name` is derived from our id when the row is created and never changes,
    # so a retried submit finds (adopts) the remote job instead of creating a second one.
    name_nonce = models.CharField(max_length=8, default=_nonce, editable=False)
    remote_name = models.CharField(max_length=63, blank=True, db_index=True)
    remote_id = models.CharField(max_length=255, blank=True, help_text="The target's id of the run (an ARN, a process id...).")
    output_uri = models.CharField(max_length=1024, blank=True, help_text="The job's storage prefix (see layout.py).")

    # Last remote state seen by the reconcile loop, in the target's own words (for display).
    remote_status = models.CharField(max_length=32, blank=True)
    remote_detail = models.CharField(max_length=64, blank=True)
    remote_transitions_seen = models.PositiveIntegerField(default=0)
    remote_checked_at = models.DateTimeField(null=True, blank=True)
    submit_attempts = models.PositiveIntegerField(default=0)
    dispatched_at = models.DateTimeField(null=True, blank=True, help_text="When a submit message was last sent.")

    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    billable_seconds = models.PositiveIntegerField(null=True, blank=True)

    step = models.PositiveIntegerField(null=True, blank=True)
    total_steps = models.PositiveIntegerField(null=True, blank=True)
    eta_seconds = models.PositiveIntegerField(null=True, blank=True)
    progress_updated_at = models.DateTimeField(null=True, blank=True)

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    deleted_at = models.DateTimeField(null=True, blank=True, db_index=True)

    objects = TrainingJobQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["owner", "deleted_at", "-created_at"], name="job_owner_alive_created"),
            models.Index(fields=["deleted_at", "-created_at"], name="job_alive_created"),
            models.Index(fields=["status", "deleted_at"], name="job_status_alive"),
            models.Index(fields=["owner", "status", "deleted_at", "-created_at"], name="job_owner_status_alive"),
        ]

    def __str__(self):
        return f"{self.name} ({self.job_type}, {self.status})"

    def save(self, *args, **kwargs):
        creating = self.pk is None
        if creating and not self.status:
            self.status = S.QUEUED
        super().save(*args, **kwargs)
        if creating and not self.remote_name:
            self.remote_name = remote_name(
                self.name, f"{self.pk}{self.name_nonce}", prefix=settings.TRAINING_JOB_NAME_PREFIX, max_length=63
            )
            self.output_uri = self.output_uri or job_root(self.target, self.remote_name)
            type(self).objects.filter(pk=self.pk).update(remote_name=self.remote_name, output_uri=self.output_uri)

    # Derived facts -------------------------------------------------------------------------------

    @property
    def status_display(self) -> str:
        return Status(self.status).label if self.status in Status.values else self.status

    @property
    def can_stop(self) -> bool:
        return self.status in {S.QUEUED, S.SUBMITTING, S.STARTING, S.RUNNING}

    @property
    def percentage(self) -> float | None:
        if self.status == S.SUCCEEDED:
            return 100.0
        if not self.total_steps or self.step is None:
            return None
        return round(min(self.step, self.total_steps) * 100 / self.total_steps, 1)

    @property
    def duration_seconds(self) -> int | None:
        if not self.started_at:
            return None
        end = self.ended_at or timezone.now()
        return max(0, int((end - self.started_at).total_seconds()))

    @property
    def eta_text(self) -> str:
        return humanize_seconds(self.eta_seconds)

    @property
    def duration_text(self) -> str:
        return humanize_seconds(self.duration_seconds)

    @property
    def finetuning_method(self) -> str:
        return str(self.spec.get("finetuning_method") or self.spec.get("method") or "lora") if self.spec else "lora"

    def uri(self, directory: str) -> str:
        return f"{self.output_uri}{directory}" if self.output_uri else ""

    @property
    def checkpoint_uri(self) -> str:
        return self.uri(layout.CHECKPOINT_DIR)

    @property
    def is_deployable(self) -> bool:
        try:
            self.deployable_model_uri()
        except NotDeployable:
            return False
        return True

    def deployable_model_uri(self) -> str:
        """The S3 prefix of the model an endpoint can serve: the merged model for LoRA/QLoRA, the
        full model for full fine-tuning, the Hugging Face export for the GRPO family."""
        if self.status != S.SUCCEEDED:
            raise NotDeployable(f"Job {self.name!r} is {self.status}; only succeeded jobs can be deployed.")
        if not self.output_uri:
            raise NotDeployable(f"Job {self.name!r} has no output location.")
        if self.job_type in EASYR1_TYPES:
            return self.uri(layout.HUGGINGFACE_DIR)
        if self.job_type == JobType.RM:
            raise NotDeployable("A reward model scores responses; it is not a chat model to deploy.")
        if self.finetuning_method in ("full", "freeze"):  # no adapter: the trained model itself
            return self.uri(layout.MODEL_DIR)
        return self.uri(layout.MERGED_DIR)


class JobEvent(Event):
    job = models.ForeignKey(TrainingJob, on_delete=models.CASCADE, related_name="events")

    class Meta(Event.Meta):
        indexes = [models.Index(fields=["job", "created_at"], name="jobevent_job_created")]

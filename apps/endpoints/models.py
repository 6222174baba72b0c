"""Endpoints: a deployed model answering requests, and its append-only event log.

Status: queued → creating → in_service | failed; in_service → updating → in_service;
any → deleting → deleted. A failed endpoint keeps its failure reason in `status_reason`
(the target's reason, with the log tail recorded in an event when the target has logs).
"""

from django.conf import settings
from django.db import models

from apps.core.models import Event
from apps.core.secrets import EncryptedTextField
from apps.core.statemachine import StateMachine, StatefulModel


class Status(models.TextChoices):
    QUEUED = "queued"
    CREATING = "creating"
    IN_SERVICE = "in_service", "in service"
    UPDATING = "updating"
    FAILED = "failed"
    DELETING = "deleting"
    DELETED = "deleted"


class Source(models.TextChoices):
    JOB = "job", "fine-tuning job"
    CATALOG = "catalog", "catalog model"
    HF = "hf", "Hugging Face repo"
    S3 = "s3", "S3 prefix"


class Target(models.TextChoices):
    SAGEMAKER = "sagemaker", "SageMaker"
    HYPERPOD = "hyperpod", "HyperPod"
    LOCAL = "local", "Local"


ENDPOINT_MACHINE = StateMachine(
    {
        Status.QUEUED: {Status.CREATING, Status.FAILED, Status.DELETING},
        Status.CREATING: {Status.IN_SERVICE, Status.FAILED, Status.DELETING},
        # An endpoint in service can still break (OutOfService, a failed update that cannot roll back).
        Status.IN_SERVICE: {Status.UPDATING, Status.FAILED, Status.DELETING},
        Status.UPDATING: {Status.IN_SERVICE, Status.FAILED, Status.DELETING},
        Status.FAILED: {Status.DELETING},
        Status.DELETING: {Status.DELETED, Status.FAILED},
        Status.DELETED: set(),
    }
)

# Statuses in which something is still moving on its own: pages poll, the reconcile loop looks.
MOVING_STATUSES = frozenset({Status.QUEUED, Status.CREATING, Status.UPDATING, Status.DELETING})
# Statuses whose remote object exists (or may) and is watched by the reconcile loop.
WATCHED_STATUSES = frozenset({Status.CREATING, Status.IN_SERVICE, Status.UPDATING, Status.DELETING})


class EndpointQuerySet(models.QuerySet):
    def live(self):
        """Everything not deleted."""
        return self.exclude(status=Status.DELETED)

    def holding(self):
        """Endpoints that hold (or are about to hold) instances: what counts against a user's quota."""
        return self.exclude(status__in=(Status.FAILED, Status.DELETING, Status.DELETED))


class Endpoint(StatefulModel):
    machine = ENDPOINT_MACHINE
    failure_states = frozenset({Status.FAILED})

    status = models.CharField(max_length=32, db_index=True, choices=Status.choices, default=Status.QUEUED)
    # PROTECT: deleting the owner must never orphan an endpoint that is still billing.
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="endpoints")
    # The public name: the OpenAI gateway's `model` is this name.
    name = models.CharField(max_length=63, unique=True)

    source = models.CharField(max_length=16, choices=Source.choices)
    job = models.ForeignKey(
        "jobs.TrainingJob", null=True, blank=True, on_delete=models.SET_NULL, related_name="endpoints"
    )
    base_model = models.ForeignKey(
        "catalog.BaseModel", null=True, blank=True, on_delete=models.SET_NULL, related_name="endpoints"
    )
    # An HF repo id or an s3:// prefix: what the engine loads.
    model_uri = models.CharField(max_length=1024)

    target = models.CharField(max_length=16, choices=Target.choices, default=Target.SAGEMAKER, db_index=True)
    engine = models.CharField(max_length=16, db_index=True)  # resolved: vllm | sglang | lmi (never "auto")
    instance_type = models.CharField(max_length=64)
    instance_count = models.PositiveIntegerField(default=1)
    spec = models.JSONField(default=dict, blank=True)  # the validated DeploySpec as data

    # What the target knows it by (SageMaker: model, endpoint config and endpoint share it).
    remote_name = models.CharField(max_length=63, blank=True)
    remote_status = models.CharField(max_length=32, blank=True)  # last status word seen on the target (display)
    remote_phase = models.CharField(max_length=16, blank=True)  # what that word means (an EndpointPhase)
    region = models.CharField(max_length=32, blank=True)
    served_model_name = models.CharField(max_length=191, blank=True)
    invocation_url = models.CharField(max_length=512, blank=True)
    # What the target last reported beside its status: "instances" [ready, desired] and its own facts
    # (e.g. routing), for the endpoint page.
    remote_detail = models.JSONField(default=dict, blank=True)
    # Bearer key the serving engine expects (targets with Capability.API_KEY): encrypted at rest, shown
    # once when the endpoint is created, never in a page, log or API response after that.
    api_key = EncryptedTextField(blank=True)

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = EndpointQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return self.name

    @property
    def is_invocable(self) -> bool:
        return self.status == Status.IN_SERVICE

    @property
    def is_moving(self) -> bool:
        return self.status in MOVING_STATUSES

    @property
    def can_scale(self) -> bool:
        return self.status == Status.IN_SERVICE

    @property
    def can_delete(self) -> bool:
        return self.status not in (Status.DELETING, Status.DELETED)

    @property
    def autoscaling(self) -> dict | None:
        return (self.spec or {}).get("autoscaling") or None

    @property
    def failure_reason(self) -> str:
        return self.status_reason if self.status == Status.FAILED else ""


class EndpointEvent(Event):
    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="events")

    class Meta(Event.Meta):
        indexes = [models.Index(fields=["endpoint", "created_at"], name="endpointevent_endpoint_created")]

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models

from apps.core.models import Event
from apps.core.secrets import EncryptedTextField
from apps.core.statemachine import StatefulModel, StateMachine

_k8s_name = RegexValidator(
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", "Use lowercase letters, digits and '-', starting and ending with a letter or digit."
)


class Cluster(StatefulModel):
    """A SageMaker HyperPod cluster on EKS that ModelHub deploys endpoints to.

    Clusters are registered (not created) here by admins; the reconcile loop checks each one and
    moves it to `active` or `unreachable`.
    """

    KIND = "hyperpod"  # the cluster backend (settings.CLUSTER_BACKENDS) and serving target of these clusters

    class Status(models.TextChoices):
        REGISTERED = "registered"
        ACTIVE = "active"
        UNREACHABLE = "unreachable"

    machine = StateMachine(
        {
            Status.REGISTERED: {Status.ACTIVE, Status.UNREACHABLE},
            Status.ACTIVE: {Status.UNREACHABLE},
            Status.UNREACHABLE: {Status.ACTIVE},
        }
    )
    failure_states = frozenset({Status.UNREACHABLE})

    class Access(models.TextChoices):
        EKS = "eks", "EKS cluster name (AWS credentials)"
        KUBECONFIG = "kubeconfig", "Uploaded kubeconfig"

    name = models.CharField(max_length=63, unique=True, validators=[_k8s_name])
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="clusters")
    region = models.CharField(max_length=32)
    eks_cluster_name = models.CharField("EKS cluster name", max_length=100, blank=True)
    hyperpod_cluster_arn = models.CharField("HyperPod cluster ARN", max_length=255, blank=True)
    namespace = models.CharField(max_length=63, default="default", validators=[_k8s_name])
    tiered_storage_enabled = models.BooleanField(
        default=False, help_text="The cluster has HyperPod tiered storage (needed for the L2 KV cache)."
    )
    access = models.CharField(max_length=16, choices=Access.choices, default=Access.EKS)
    role_arn = models.CharField(
        "IAM role ARN", max_length=255, blank=True,
        help_text="Role ModelHub assumes to reach this cluster; empty uses its own AWS credentials.",
    )
    # An uploaded kubeconfig (encrypted at rest; never shown again or returned by the API).
    kubeconfig = EncryptedTextField(blank=True)
    tls_certificate_s3_uri = models.CharField(
        "TLS certificate location", max_length=512, blank=True,
        help_text="s3://bucket/prefix where the inference operator writes endpoint certificates; "
                  "empty uses HYPERPOD_TLS_CERTIFICATE_S3_URI.",
    )
    # Found by the reconcile loop.
    api_endpoint = models.CharField(max_length=255, blank=True)
    ca_data = models.TextField(blank=True)
    kubernetes_version = models.CharField(max_length=32, blank=True)
    namespaces = models.JSONField(default=list, blank=True)
    operator_installed = models.BooleanField(null=True, help_text="The inference operator's CRD is installed.")
    hyperpod_status = models.CharField(max_length=32, blank=True)
    capacity = models.JSONField(default=dict, blank=True, help_text="Instance groups and free GPUs, from the last check.")
    created_at = models.DateTimeField(auto_now_add=True)
    last_checked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        if not self.status:
            self.status = self.Status.REGISTERED
        super().save(*args, **kwargs)


class ClusterEvent(Event):
    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="events")

    class Meta(Event.Meta):
        pass

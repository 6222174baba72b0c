import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractUser, Group
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone

from apps.core.secrets import EncryptedTextField, mask

ADMIN_GROUP = "admin"
DEFAULT_GROUP = "default"
GROUPS = (ADMIN_GROUP, DEFAULT_GROUP)


def group(name: str) -> Group:
    """One of the two groups; created if missing (a migration creates both, a test flush may drop them)."""
    if name not in GROUPS:
        raise ValueError(f"Unknown group {name!r}: use one of {', '.join(GROUPS)}.")
    return Group.objects.get_or_create(name=name)[0]


class User(AbstractUser):
    language = models.CharField(max_length=10, blank=True, help_text="Pages' language; empty: the browser's.")
    preferences = models.JSONField(default=dict, blank=True,
                                   help_text='Page state remembered per user, e.g. {"job_form_advanced": true}.')

    @property
    def is_admin(self) -> bool:
        """Admins see and act on everything; everyone else only on what they own."""
        return self.is_superuser or ADMIN_GROUP in self.group_names()

    def group_names(self) -> frozenset[str]:
        """The names of the user's groups, read once per instance (one query serves every check)."""
        cached = getattr(self, "_group_names", None)
        if cached is None:
            cached = self._group_names = frozenset(self.groups.values_list("name", flat=True))
        return cached


TOKEN_PREFIX = "mh_"


def hash_token(raw: str) -> str:
    # Tokens carry 256 random bits, so one SHA-256 is enough: there is nothing to brute-force.
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiTokenQuerySet(models.QuerySet):
    def usable(self):
        now = timezone.now()
        return self.filter(revoked_at__isnull=True).filter(models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now))


class ApiToken(models.Model):
    """A personal API token. Only its SHA-256 digest is stored; the raw value is shown once."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    digest = models.CharField(max_length=64, unique=True, editable=False)
    hint = models.CharField(max_length=12, editable=False, help_text="The token's first characters, to recognise it.")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.name} ({self.hint}…)"

    @classmethod
    def issue(cls, owner, name: str, expires_in_days: int | None = None) -> tuple["ApiToken", str]:
        """Create a token; returns it with the raw value, which is never available again."""
        raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
        expires_at = timezone.now() + timedelta(days=expires_in_days) if expires_in_days else None
        token = cls.objects.create(
            owner=owner, name=name, digest=hash_token(raw), hint=raw[:10], expires_at=expires_at
        )
        return token, raw

    @property
    def state(self) -> str:
        if self.revoked_at:
            return "revoked"
        if self.expires_at and self.expires_at <= timezone.now():
            return "expired"
        return "active"

    def revoke(self) -> None:
        if self.revoked_at is None:
            self.revoked_at = timezone.now()
            self.save(update_fields=["revoked_at"])

    def touch(self) -> None:
        """Record a use, at most once per configured interval, so authentication stays cheap."""
        now = timezone.now()
        resolution = timedelta(seconds=settings.API_TOKEN_LAST_USED_RESOLUTION_SECONDS)
        if self.last_used_at is None or now - self.last_used_at >= resolution:
            ApiToken.objects.filter(pk=self.pk).update(last_used_at=now)
            self.last_used_at = now


class UserSecret(models.Model):
    """A credential a user stores once and refers to by name: a W&B or SwanLab key, a Hugging Face token.

    The value is encrypted at rest, never returned by the API or shown on a page after it is saved;
    jobs and endpoints refer to it by `name` and read it only when they hand it to the compute.
    """

    class Kind(models.TextChoices):
        WANDB = "wandb", "Weights & Biases API key"
        SWANLAB = "swanlab", "SwanLab API key"
        HF_TOKEN = "hf_token", "Hugging Face token"

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="secrets")
    name = models.SlugField(max_length=64, help_text="How jobs refer to it, e.g. 'wandb-team'.")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    value = EncryptedTextField()
    hint = models.CharField(max_length=16, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["owner", "name"], name="unique_secret_name_per_user")]

    def __str__(self):
        return f"{self.name} ({self.get_kind_display()})"

    def save(self, *args, **kwargs):
        self.hint = mask(self.value)
        super().save(*args, **kwargs)


# arn:aws:iam::<12-digit account>:role/<path/>name (partitions aws, aws-cn, aws-us-gov)
ROLE_ARN = RegexValidator(
    r"^arn:aws(-cn|-us-gov)?:iam::\d{12}:role/[\w+=,.@/-]{1,512}$",
    "Enter an IAM role ARN such as arn:aws:iam::123456789012:role/modelhub-team-a.",
)


class GroupPolicy(models.Model):
    """What members of one group may run, and the SageMaker execution role their jobs and endpoints run as."""

    group = models.OneToOneField(Group, on_delete=models.CASCADE, related_name="policy")
    execution_role_arn = models.CharField(
        max_length=600, blank=True, validators=[ROLE_ARN],
        help_text="SageMaker execution role for this group's jobs and endpoints; empty: the default role.")
    allow_trust_remote_code = models.BooleanField(
        default=False, help_text="Members may load models that run their own code (trust_remote_code).")
    allow_custom_reward_code = models.BooleanField(
        default=False, help_text="Members may train with custom reward code (GRPO family).")

    class Meta:
        ordering = ["group_id"]

    def __str__(self):
        return f"Policy of {self.group.name}"


def group_policies(user):
    """The policies of the user's groups, lowest group id first (the order every rule below uses)."""
    if not getattr(user, "is_authenticated", False):
        return GroupPolicy.objects.none()
    return GroupPolicy.objects.filter(group__user=user).order_by("group_id")


# How a refused permission is explained, in training and serving alike.
ENABLE_FOR_GROUP = "An administrator must enable this for one of your groups"


def may_trust_remote_code(user) -> bool:
    return bool(getattr(user, "is_admin", False)) or group_policies(user).filter(allow_trust_remote_code=True).exists()


def may_run_custom_reward_code(user) -> bool:
    return bool(getattr(user, "is_admin", False)) or group_policies(user).filter(allow_custom_reward_code=True).exists()


def execution_role_for(user) -> str | None:
    """The execution role of the user's lowest-id group that has one; None: the target's default role."""
    return group_policies(user).exclude(execution_role_arn="").values_list("execution_role_arn", flat=True).first()


def secret_names(user) -> set[str]:
    """The names a job spec may refer to (`tracker_key_ref`)."""
    return set(UserSecret.objects.filter(owner=user).values_list("name", flat=True))


from .shares import Share  # noqa: E402,F401  (defined beside its rules; registered with this app's models)

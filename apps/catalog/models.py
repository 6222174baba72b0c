"""Base models (curated and custom) and datasets."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.text import slugify

from apps.core.models import Event
from apps.core.statemachine import StateMachine, StatefulModel
from apps.users.ownership import is_admin, visible_to

from . import instances, sizing
from .formats import DatasetFormat, formats_for


class BaseModelQuerySet(models.QuerySet):
    def visible_to_user(self, user):
        """Curated entries for everyone; custom entries for their owner (admins see all)."""
        if not (user and user.is_authenticated):
            return self.none()
        if is_admin(user):
            return self
        return self.filter(Q(owner__isnull=True) | Q(owner=user))


class BaseModel(models.Model):
    """A model a job can start from: a Hugging Face repo or an S3 prefix, with its chat template."""

    class Modality(models.TextChoices):
        TEXT = "text", "Text"
        VISION = "vision", "Vision + text"

    key = models.SlugField(max_length=100, unique=True)
    display_name = models.CharField(max_length=150)
    repo_id = models.CharField("Hugging Face repo id", max_length=191, blank=True, db_index=True)
    s3_uri = models.CharField("S3 prefix", max_length=500, blank=True)
    template = models.CharField("LLaMA-Factory chat template", max_length=64)
    parameters_b = models.FloatField("parameters (billions)")
    context_length = models.PositiveIntegerField(default=4096)
    lora_targets = models.JSONField(default=list, blank=True, help_text='e.g. ["all"] or ["q_proj", "v_proj"]')
    license = models.CharField(max_length=64, blank=True)
    modality = models.CharField(max_length=10, choices=Modality.choices, default=Modality.TEXT)
    family = models.CharField(max_length=64, blank=True, db_index=True)
    description = models.CharField(max_length=300, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="base_models",
        help_text="Empty for curated entries.",
    )
    is_custom = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = BaseModelQuerySet.as_manager()

    class Meta:
        ordering = ["family", "parameters_b", "display_name"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(repo_id="") | ~Q(s3_uri=""), name="catalog_basemodel_has_source"
            ),
        ]

    def __str__(self):
        return self.display_name

    def get_absolute_url(self):
        return reverse("catalog:model-detail", args=[self.key])

    @property
    def source_uri(self) -> str:
        return self.repo_id or self.s3_uri

    @property
    def lora_target(self) -> str:
        """The `lora_target` value for LLaMA-Factory (comma list; "all" by default)."""
        return ",".join(self.lora_targets or ["all"])

    def memory_needed_gib(self, use: str) -> float:
        return sizing.memory_needed_gib(self.parameters_b, use)

    def training_instance_types(self, method: str = "lora") -> list[instances.InstanceType]:
        """Instance types with enough GPU memory to fine-tune this model with `method`, cheapest first."""
        if method not in sizing.METHODS:
            raise ValueError(f"Unknown method {method!r}; expected one of {sizing.METHODS}.")
        return sizing.fitting(instances.instance_types().values(), self.parameters_b, method)

    def serving_instance_types(self) -> list[instances.InstanceType]:
        """Instance types with enough GPU memory to serve this model in bf16, cheapest first."""
        return sizing.fitting(instances.instance_types().values(), self.parameters_b, "serve")


class DatasetQuerySet(models.QuerySet):
    def visible_to_user(self, user):
        """What `user` may see: their own, those shared with them, and those shared with all (admins see all)."""
        if not (user and user.is_authenticated):
            return self.none()
        return visible_to(self, user) | self.filter(shared=True)

    def usable_by(self, user):
        """Ready datasets `user` may train on."""
        return self.visible_to_user(user).filter(status=Dataset.Status.READY)

    def compatible_with(self, job_type: str):
        return self.filter(format__in=formats_for(job_type))


class Dataset(StatefulModel):
    """A training dataset: an upload, an S3 prefix, a Hugging Face dataset or a LLaMA-Factory built-in."""

    class Source(models.TextChoices):
        UPLOAD = "upload", "Upload"
        S3 = "s3", "S3 prefix"
        HF = "hf", "Hugging Face dataset"
        BUILTIN = "builtin", "LLaMA-Factory built-in"

    class Status(models.TextChoices):
        VALIDATING = "validating", "Validating"
        READY = "ready", "Ready"
        INVALID = "invalid", "Invalid"

    machine = StateMachine({"validating": ["ready", "invalid"], "ready": [], "invalid": []})
    failure_states = frozenset({"invalid"})

    Format = DatasetFormat

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="datasets",
        help_text="Empty for the built-in catalogue.",
    )
    name = models.CharField(max_length=150)
    description = models.CharField(max_length=300, blank=True)
    shared = models.BooleanField(default=False, help_text="Visible to every user (set by admins).")
    source = models.CharField(max_length=10, choices=Source.choices)
    source_uri = models.CharField(
        max_length=500, blank=True, help_text="S3 prefix, Hugging Face dataset id or built-in name."
    )
    format = models.CharField(max_length=20, choices=DatasetFormat.choices, blank=True, db_index=True)
    job_types = models.JSONField(default=list, blank=True)
    layout = models.JSONField(
        default=dict, blank=True, help_text="Detected columns/tags for LLaMA-Factory (formatting, columns, tags, ranking)."
    )
    row_count = models.PositiveIntegerField(null=True, blank=True)
    stats = models.JSONField(default=dict, blank=True)
    report = models.JSONField(default=dict, blank=True)
    preview = models.JSONField(default=list, blank=True)
    base_model = models.ForeignKey(
        BaseModel, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="Whose tokenizer and chat template the statistics and preview use.",
    )
    cutoff_len = models.PositiveIntegerField(default=2048)
    val_fraction = models.FloatField(default=0.0, help_text="Share of rows held out for validation (0 = none).")
    file_name = models.CharField(max_length=255, blank=True)
    file_type = models.CharField(max_length=10, blank=True)
    size_bytes = models.BigIntegerField(null=True, blank=True)
    storage_uri = models.CharField(max_length=500, blank=True, help_text="Where ModelHub keeps the uploaded data.")
    staged = models.JSONField(default=dict, blank=True, help_text="Target → URI prefix ModelHub staged to.")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = DatasetQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("catalog:dataset-detail", args=[self.pk])

    @property
    def llamafactory_name(self) -> str:
        """The key of this dataset in dataset_info.json."""
        if self.source == self.Source.BUILTIN:
            return self.source_uri
        return f"mh_{self.pk}_{slugify(self.name).replace('-', '_')[:40]}"

    @property
    def data_file_name(self) -> str:
        """The data file's name inside the staged folder."""
        return f"{self.llamafactory_name}.{self.file_type or 'jsonl'}"

    def llamafactory_entry(self, file_name: str | None = None) -> dict | None:
        """This dataset's entry in LLaMA-Factory's dataset_info.json (None for built-ins, already known there)."""
        if self.source == self.Source.BUILTIN:
            return None
        if self.source == self.Source.HF:
            entry: dict = {"hf_hub_url": self.source_uri}
        else:
            entry = {"file_name": file_name or self.data_file_name}
        layout = self.layout or {}
        if layout.get("formatting", "alpaca") != "alpaca":
            entry["formatting"] = layout["formatting"]
        if layout.get("ranking"):
            entry["ranking"] = True
        for key in ("columns", "tags"):
            if layout.get(key):
                entry[key] = dict(layout[key])
        return entry


class DatasetEvent(Event):
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="events")

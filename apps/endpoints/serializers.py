"""API shapes of endpoints, and the one validation of a deploy request (API and form): `validate_deploy`.

A deploy request is the DeploySpec's fields plus where the model comes from. `validate_deploy`
resolves the source (a succeeded job the user may see, a catalog model, an HF repo id or an S3
prefix) into ModelFacts (the catalog's config.json facts, else the model's own config.json where
ModelHub can read it), runs DeploySpecSerializer with them, and reports every field error of both
at once, in the same `Validated` shape as `apps.jobs.serializers.validate_job`.
"""

import dataclasses
from dataclasses import dataclass

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.catalog.models import BaseModel
from apps.chat.model_ids import adapter_models
from apps.core.readiness import default_target as default_compute_target
from apps.core.validation import StrictFloatField, StrictIntegerField, Validated, as_plain_dict, invalid, unknown_fields
from apps.jobs.models import NotDeployable, TrainingJob
from apps.jobs.spec import is_hf_repo_id, validate_s3_uri
from apps.users.ownership import visible_to

from . import engines, target_options
from .model_config import read_model_config
from .models import Endpoint, EndpointEvent, Source, Target
from .spec import AutoscalingSerializer, DeploySpec, DeploySpecSerializer, ModelFacts

DERIVED_NAME_PREFIX = "mh-"  # names.endpoint_name() gives mh-<label>-<id>: user names must not collide


def default_target() -> str:
    """The serving target of a deploy that names none (settings.COMPUTE_BACKEND, else the first usable)."""
    return default_compute_target("serving")


class SourceSerializer(serializers.Serializer):
    source = serializers.ChoiceField(choices=Source.choices, help_text="job, catalog, hf or s3.")
    job = StrictIntegerField(required=False, allow_null=True, help_text="Id of a succeeded training job (source=job).")
    base_model = serializers.CharField(required=False, allow_blank=True, max_length=100,
                                       help_text="Catalog model key (source=catalog).")
    model_uri = serializers.CharField(required=False, allow_blank=True, max_length=900,
                                      help_text="Hugging Face repo id owner/name (source=hf) or s3:// prefix (source=s3).")
    parameters_b = StrictFloatField(required=False, allow_null=True, min_value=0.01, max_value=2000,
                                          help_text="Parameters in billions, for the memory-fit check of hf/s3 models "
                                                    "the catalog does not know.")
    target = serializers.ChoiceField(choices=Target.choices, default=default_target,
                                     help_text="Where it runs; default: COMPUTE_BACKEND, else the first usable target.")

    def _user(self):
        return self.context["user"]

    def validate_target(self, value):
        if value not in settings.SERVING_BACKENDS:
            raise serializers.ValidationError(f"Deploying to {Target(value).label} is not available on this installation.")
        return value

    def validate(self, attrs):
        source = attrs["source"]
        resolve = getattr(self, f"_resolve_{source}")
        attrs.update(resolve(attrs))
        return attrs

    def _resolve_job(self, attrs) -> dict:
        job_id = attrs.get("job")
        if not job_id:
            raise serializers.ValidationError({"job": ["Choose the fine-tuning job to deploy."]})
        job = visible_to(TrainingJob.objects.alive(), self._user()).filter(pk=job_id).first()
        if job is None:
            raise serializers.ValidationError({"job": [f"No training job {job_id}."]})
        try:
            uri = job.deployable_model_uri()
        except NotDeployable as exc:
            raise serializers.ValidationError({"job": [str(exc)]}) from exc
        base = _catalog_entry_for_job(job)
        facts = (ModelFacts.from_base_model(base, source_uri=uri, name=job.name) if base
                 else with_config_facts(ModelFacts(source_uri=uri, name=job.name, parameters_b=attrs.get("parameters_b"))))
        return {"job_obj": job, "base_model_obj": None, "model_uri": uri, "facts": facts}

    def _resolve_catalog(self, attrs) -> dict:
        key = attrs.get("base_model") or ""
        entry = BaseModel.objects.visible_to_user(self._user()).filter(key=key).first() if key else None
        if entry is None:
            raise serializers.ValidationError({"base_model": ["Choose a model from the catalog."]})
        return {"job_obj": None, "base_model_obj": entry, "model_uri": entry.source_uri,
                "facts": ModelFacts.from_base_model(entry)}

    def _resolve_hf(self, attrs) -> dict:
        repo = (attrs.get("model_uri") or "").strip()
        if not is_hf_repo_id(repo):
            raise serializers.ValidationError({"model_uri": ["Enter a Hugging Face repo id like owner/name."]})
        return self._facts_for_uri(repo, attrs, lookup={"repo_id": repo})

    def _resolve_s3(self, attrs) -> dict:
        uri = (attrs.get("model_uri") or "").strip()
        try:
            validate_s3_uri(uri)
        except serializers.ValidationError as exc:
            raise serializers.ValidationError({"model_uri": exc.detail}) from exc
        uri = uri if uri.endswith("/") else uri + "/"
        return self._facts_for_uri(uri, attrs, lookup={"s3_uri": uri})

    def _facts_for_uri(self, uri: str, attrs, lookup: dict) -> dict:
        entry = BaseModel.objects.visible_to_user(self._user()).filter(**lookup).first()
        if entry is not None:
            facts = ModelFacts.from_base_model(entry, source_uri=uri, name=uri)
            if attrs.get("parameters_b"):
                facts = dataclasses.replace(facts, parameters_b=attrs["parameters_b"])
        else:
            facts = with_config_facts(ModelFacts(source_uri=uri, name=uri, parameters_b=attrs.get("parameters_b")))
        return {"job_obj": None, "base_model_obj": None, "model_uri": uri, "facts": facts}


def with_config_facts(facts: ModelFacts) -> ModelFacts:
    """`facts` completed from the model's own config.json, or marked with why it could not be read."""
    read = read_model_config(facts.source_uri)
    if read.problem:
        return dataclasses.replace(facts, facts_problem=read.problem)
    return dataclasses.replace(facts, **read.facts)


def _catalog_entry_for_job(job):
    spec = job.spec or {}
    if spec.get("base_model_source") == "catalog" and spec.get("base_model"):
        entry = BaseModel.objects.filter(key=spec["base_model"]).first()
        if entry:
            return entry
    uri = spec.get("base_model_uri") or ""
    if uri:
        return BaseModel.objects.filter(repo_id=uri).first() or BaseModel.objects.filter(s3_uri=uri).first()
    return None


def name_taken(name: str) -> bool:
    return Endpoint.objects.filter(name=name).exists()


@dataclass(frozen=True)
class NewEndpoint:
    """A validated deploy request: the spec and where its model comes from (services.create_endpoint's input)."""

    spec: DeploySpec
    source: str
    model_uri: str
    target: str
    served_model_name: str
    job: TrainingJob | None = None
    base_model: BaseModel | None = None

    def create_kwargs(self) -> dict:
        spec = self.spec
        return {
            "name": spec.name, "source": self.source, "model_uri": self.model_uri, "engine": spec.engine,
            "instance_type": spec.instance_type, "instance_count": spec.instance_count, "spec": spec.to_dict(),
            "target": self.target, "job": self.job, "base_model": self.base_model,
            "served_model_name": self.served_model_name,
        }


def validate_deploy(data, user) -> Validated[NewEndpoint]:
    """Validate a deploy request (the API body or the form's values) for `user`. The result's `fit` and
    `notes` are set whenever the spec got far enough to estimate them, also when other fields are invalid."""
    data = as_plain_dict(data)
    spec_fields = DeploySpecSerializer().fields
    errors = unknown_fields(data, {*SourceSerializer().fields, *spec_fields, "target_options"})
    source = SourceSerializer(data=data, context={"user": user})
    facts = None
    if source.is_valid():
        facts = source.validated_data["facts"]
    else:
        errors.update(source.errors)
    target = source.validated_data.get("target") if not source.errors else (data.get("target") or default_target())
    spec_data = {k: v for k, v in data.items() if k in spec_fields}
    options = data.get("target_options") or {}
    deploy = DeploySpecSerializer(data=spec_data, context={
        "model": facts, "target": target, "region": settings.AWS_REGION, "name_taken": name_taken, "user": user,
        "namespace": options.get("namespace") or "default", "routing": bool(options.get("routing"))})
    valid = deploy.is_valid()
    fit, notes = getattr(deploy, "fit_result", None), tuple(getattr(deploy, "notes", ()))
    if not valid:
        for field, messages in deploy.errors.items():
            errors.setdefault(field, []).extend(messages if isinstance(messages, list) else [messages])
    name = str(spec_data.get("name") or "")
    if name.lower().startswith(DERIVED_NAME_PREFIX) and "name" not in errors:
        errors["name"] = [f"Names starting with '{DERIVED_NAME_PREFIX}' are kept for derived names; choose another."]
    spec = deploy.spec if valid else None
    if target_options.on_cluster(target) and spec is not None and not errors:
        checked = target_options.serializer(target)(
            data=options, context={"spec": spec.to_dict(), "model_uri": source.validated_data["model_uri"]})
        if checked.is_valid():
            spec = dataclasses.replace(spec, target_options=dict(checked.validated_data))
        else:
            errors["target_options"] = checked.errors
    elif options and not target_options.on_cluster(target):
        errors["target_options"] = ["Only deployments to a registered cluster take target options."]
    if errors:
        return invalid(errors, fit=fit, notes=notes)
    v = source.validated_data
    return Validated(NewEndpoint(
        spec=spec, source=v["source"], model_uri=v["model_uri"], target=v["target"], job=v["job_obj"],
        base_model=v["base_model_obj"], served_model_name=engines.served_model_name(facts.name or facts.source_uri),
    ), fit=fit, notes=notes)


class ServedAdapterSerializer(serializers.Serializer):
    name = serializers.CharField()
    source = serializers.CharField()
    model = serializers.CharField(help_text="What clients send as `model` to use this adapter.")


class EndpointSerializer(serializers.ModelSerializer):
    """What the API shows of an endpoint. The API key is never part of it."""

    job = serializers.PrimaryKeyRelatedField(read_only=True)
    base_model = serializers.SlugRelatedField(read_only=True, slug_field="key")
    owner = serializers.CharField(source="owner.username", read_only=True)
    failure_reason = serializers.CharField(read_only=True)
    is_invocable = serializers.BooleanField(read_only=True)
    autoscaling = serializers.JSONField(read_only=True)
    lora_adapters = serializers.SerializerMethodField(
        help_text="The LoRA adapters served beside the base model: name, source URI, and the `model` id "
                  "that selects each in /v1 (`<endpoint name>:<adapter name>`).")

    @extend_schema_field(ServedAdapterSerializer(many=True))
    def get_lora_adapters(self, endpoint) -> list[dict]:
        return adapter_models(endpoint)

    class Meta:
        model = Endpoint
        fields = [
            "id", "name", "owner", "status", "status_reason", "failure_reason", "status_changed_at", "is_invocable",
            "source", "job", "base_model", "model_uri", "target", "engine", "instance_type", "instance_count",
            "autoscaling", "spec", "remote_name", "remote_status", "region", "served_model_name", "invocation_url",
            "lora_adapters", "created_at", "updated_at",
        ]
        read_only_fields = fields


class EndpointEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = EndpointEvent
        fields = ["id", "created_at", "level", "kind", "message", "data"]
        read_only_fields = fields


class ScaleSerializer(serializers.Serializer):
    """PATCH body: a new instance count, autoscaling settings, or null autoscaling to turn it off."""

    instance_count = serializers.IntegerField(min_value=1, max_value=100, required=False)
    autoscaling = AutoscalingSerializer(required=False, allow_null=True)

    def validate(self, attrs):
        unknown = set(self.initial_data) - set(self.fields)
        if unknown:
            raise serializers.ValidationError(
                {field: ["Only instance_count and autoscaling can be changed on a deployed endpoint."]
                 for field in sorted(unknown)}
            )
        if not attrs:
            raise serializers.ValidationError("Give instance_count and/or autoscaling.")
        return attrs

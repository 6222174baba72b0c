"""API representations of jobs (output) and the job-create envelope (name + TrainingSpec)."""

from dataclasses import dataclass

from rest_framework import serializers

from apps.core.validation import Validated, as_plain_dict, invalid, unknown_fields

from . import target_rules
from .models import JobEvent, TrainingJob
from .spec import TrainingSpec, TrainingSpecSerializer
from .targets import default_target, target_problem


class ProgressSerializer(serializers.Serializer):
    step = serializers.IntegerField(allow_null=True)
    total_steps = serializers.IntegerField(allow_null=True)
    percentage = serializers.FloatField(allow_null=True)
    eta_seconds = serializers.IntegerField(allow_null=True)
    updated_at = serializers.DateTimeField(allow_null=True, source="progress_updated_at")


class TrainingJobListSerializer(serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.username", read_only=True)
    progress = serializers.SerializerMethodField()
    is_terminal = serializers.BooleanField(read_only=True)
    backend = serializers.CharField(source="target", read_only=True, help_text="Deprecated: the same as `target`.")

    class Meta:
        model = TrainingJob
        fields = [
            "id", "name", "job_type", "target", "backend", "status", "status_reason", "is_terminal", "owner",
            "created_at", "started_at", "ended_at", "billable_seconds", "progress",
        ]

    def get_progress(self, job) -> dict:
        return ProgressSerializer(job).data | {"percentage": job.percentage}


class TrainingJobSerializer(TrainingJobListSerializer):
    deployable_model_uri = serializers.SerializerMethodField()
    checkpoint_uri = serializers.CharField(read_only=True)

    class Meta(TrainingJobListSerializer.Meta):
        fields = [
            *TrainingJobListSerializer.Meta.fields, "spec", "remote_name", "remote_id", "remote_status",
            "remote_detail", "output_uri", "checkpoint_uri", "deployable_model_uri", "status_changed_at",
        ]

    def get_deployable_model_uri(self, job) -> str | None:
        return job.deployable_model_uri() if job.is_deployable else None


class JobEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = JobEvent
        fields = ["id", "created_at", "level", "kind", "message", "data"]


class JobNameSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100, help_text="A name for the job (shown in lists; need not be unique).")

    def validate_name(self, value):
        value = value.strip()
        if not value:
            raise serializers.ValidationError("Enter a name.")
        return value


@dataclass(frozen=True)
class NewJob:
    """A validated job-create request: what services.create_job takes."""

    name: str
    spec: TrainingSpec
    target: str


def validate_job(data, user, target: str | None = None) -> Validated[NewJob]:
    """Validate a job-create request (the API body or the form's values) for `user`: the name, the
    target and the spec together, so a request with several kinds of mistakes gets every error at once;
    the target's own defaults and refusals (target_rules) included. The target is `target`, else the
    request's (which must be usable now), else `default_target()`."""
    data = as_plain_dict(data)
    requested = data.pop("target", None) or None
    problem = target_problem(str(requested)) if requested is not None and target is None else None
    target = target or requested or default_target()
    data = target_rules.with_defaults(target, data)
    context = {"user": user}
    if getattr(user, "is_authenticated", False):
        from apps.users.models import secret_names

        context["secret_refs"] = secret_names(user)  # tracker keys must name one of the user's stored secrets
    name_serializer = JobNameSerializer(data={"name": data.pop("name", "")})
    spec_serializer = TrainingSpecSerializer(data=data, context=context)
    errors = unknown_fields(data, spec_serializer.fields)
    if not name_serializer.is_valid():
        errors.update(name_serializer.errors)
    if problem:
        errors["target"] = [problem]
    if not spec_serializer.is_valid():
        errors.update({k: v for k, v in spec_serializer.errors.items() if k not in errors})
    if not errors:
        errors.update(target_rules.problems(target, spec_serializer.spec))
        errors.update(target_rules.capability_problems(target, spec_serializer.spec))
    if errors:
        return invalid(errors)
    return Validated(NewJob(name_serializer.validated_data["name"], spec_serializer.spec, target))


def spec_as_input(spec: dict) -> dict:
    """A stored spec turned back into request input (for clone and the form's initial values)."""
    derived = {"base_model_source", "base_model_uri", "gpus_per_node", "version"}
    data = {k: v for k, v in spec.items() if v is not None and k not in derived}
    data["datasets"] = [str(d) for d in spec.get("datasets", [])]
    return data

"""DeploySpec: what to serve, on what, with which engine options. Validated once, for API and form.

`validate_deploy(data, user)` (apps.endpoints.serializers) is the entry point of the API and the form.
It resolves the model source, then `DeploySpecSerializer` checks each field on its own and runs the
named cross-field checks of apps/endpoints/checks.py, which also resolve every default (the engine
for `auto`, tensor parallelism, max model length, dtype, timeouts, image version, inference AMI).
The result is the frozen `DeploySpec` that the engine mapping (`apps.endpoints.engines`) renders
and `Endpoint.spec` stores (`to_dict` / `from_dict`).

Context the platform passes (all optional):
- `model`: `ModelFacts` of the resolved source (location, parameter count, context length, layer
  sizes when known). Without it the memory-fit and attention-head checks are skipped.
- `target`: a serving target's name ("sagemaker" by default).
- `region`: for the image lookup (default settings.AWS_REGION).
- `name_taken`: callable(name) -> bool, to report a user-supplied name already in use.
- `user`: the requesting user, whose stored Hugging Face token `hf_token_ref` must name.
- `namespace`, `routing`: for a target on a registered cluster (settings.CLUSTER_TARGETS), the
  Kubernetes namespace and whether intelligent routing is on; they set the name length budget.
"""

from dataclasses import asdict, dataclass, field, fields

from rest_framework import serializers

from apps.backends import storage
from apps.catalog import instances
from apps.catalog.curation import FACT_FIELDS, model_facts
from apps.core.validation import StrictBooleanField, StrictChoiceField, StrictFloatField, StrictIntegerField

from . import names, target_options
from .checks import DEFAULT_MAX_MODEL_LEN, Draft, run_checks

ENGINES = ("vllm", "sglang", "lmi")
ENGINE_CHOICES = ("auto", *ENGINES)
DTYPES = ("auto", "bfloat16", "float16", "float32")
QUANTIZATIONS = ("", "awq", "gptq", "fp8", "bitsandbytes")
MODALITIES = ("image", "video", "audio")
INFERENCE_AMIS = (
    "al2-ami-sagemaker-inference-gpu-2",
    "al2-ami-sagemaker-inference-gpu-2-1",
    "al2-ami-sagemaker-inference-gpu-3-1",
    "al2023-ami-sagemaker-inference-gpu-4-1",
)

DEFAULT_MAX_NUM_SEQS = 256
DEFAULT_GPU_MEMORY_UTILIZATION = 0.9
DEFAULT_DOWNLOAD_TIMEOUT = 1200
MAX_ENV_VALUE_BYTES = 1024  # SageMaker ContainerDefinition.Environment value limit
MAX_ADAPTERS = 5  # SageMaker AdditionalModelDataSources limit
MAX_LORA_RANKS = (8, 16, 32, 64, 128, 256)


@dataclass(frozen=True)
class ModelFacts:
    """What the platform knows about the model to serve, resolved from its source."""

    source_uri: str  # s3://bucket/prefix/ or a Hugging Face repo id
    name: str = ""  # human name (repo id, job name); the served model name derives from it
    parameters_b: float | None = None
    context_length: int | None = None
    num_layers: int | None = None
    hidden_size: int | None = None
    num_attention_heads: int | None = None
    num_kv_heads: int | None = None
    head_dim: int | None = None
    quantization: str = ""  # set for pre-quantised weights (awq, gptq, fp8, bitsandbytes)
    gated: bool = False  # the Hub serves it only with an accepted licence and a token
    facts_problem: str = ""  # why the architecture facts are missing (config.json not readable, ...)

    @property
    def from_s3(self) -> bool:
        return self.source_uri.startswith("s3://")

    @property
    def display_name(self) -> str:
        return self.name or self.source_uri

    @classmethod
    def from_base_model(cls, base_model, source_uri: str | None = None, name: str | None = None) -> "ModelFacts":
        """Facts from a catalog BaseModel plus its config.json facts in the curated catalog (models.yaml)."""
        curated = model_facts(getattr(base_model, "key", "")) or model_facts(getattr(base_model, "repo_id", "")) or {}
        get = lambda attr: getattr(base_model, attr, None) or curated.get(attr) or None  # noqa: E731
        return cls(
            source_uri=source_uri or base_model.source_uri,
            name=name or getattr(base_model, "repo_id", "") or str(base_model),
            parameters_b=get("parameters_b"), quantization=get("quantization") or "",
            **{f: curated.get(f) if f in curated else get(f) for f in FACT_FIELDS if f != "gated"},
            gated=bool(curated.get("gated")),
        )


@dataclass(frozen=True)
class LoraAdapter:
    name: str  # what clients put in `model` to use it; also the SageMaker data channel name
    source: str  # s3:// prefix holding adapter_config.json and the adapter weights


@dataclass(frozen=True)
class Autoscaling:
    min_instances: int
    max_instances: int
    target_invocations_per_instance: int


@dataclass(frozen=True)
class DeploySpec:
    """A validated deployment, every default resolved. Stored as `to_dict()` in Endpoint.spec."""

    engine: str  # vllm | sglang | lmi (never auto)
    instance_type: str
    instance_count: int = 1
    requested_engine: str = "auto"
    engine_version: str = ""
    name: str = ""  # user-supplied endpoint name, '' to derive one
    max_model_len: int = DEFAULT_MAX_MODEL_LEN
    tensor_parallel_size: int = 1
    max_num_seqs: int = DEFAULT_MAX_NUM_SEQS
    gpu_memory_utilization: float = DEFAULT_GPU_MEMORY_UTILIZATION
    dtype: str = "auto"
    quantization: str = ""
    prefix_caching: bool | None = None  # None: the engine's default
    enforce_eager: bool = False
    trust_remote_code: bool = False
    chat_template: str = ""
    tool_call_parser: str = ""
    reasoning_parser: str = ""
    limit_mm_per_prompt: dict = field(default_factory=dict)
    lora_adapters: tuple[LoraAdapter, ...] = ()
    max_lora_rank: int | None = None
    container_startup_health_check_timeout: int = 900
    model_data_download_timeout: int = DEFAULT_DOWNLOAD_TIMEOUT
    inference_ami_version: str = ""
    autoscaling: Autoscaling | None = None
    # Target-specific options, validated by the target's own validator (settings.CLUSTER_TARGETS).
    target_options: dict = field(default_factory=dict)
    hf_token_ref: str = ""  # the NAME of the owner's stored Hugging Face token (gated models), never the token

    @property
    def needs_hf_token(self) -> bool:
        """The serving backend must give the container HF_TOKEN from the owner's secret `hf_token_ref`."""
        return bool(self.hf_token_ref)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["lora_adapters"] = [asdict(a) for a in self.lora_adapters]
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "DeploySpec":
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"Unknown DeploySpec fields: {sorted(unknown)}")
        values = dict(data)
        values["lora_adapters"] = tuple(LoraAdapter(**a) for a in values.get("lora_adapters") or ())
        if values.get("autoscaling"):
            values["autoscaling"] = Autoscaling(**values["autoscaling"])
        values["limit_mm_per_prompt"] = dict(values.get("limit_mm_per_prompt") or {})
        values["target_options"] = dict(values.get("target_options") or {})
        return cls(**values)

    @classmethod
    def from_validated(cls, validated: dict) -> "DeploySpec":
        """From `DeploySpecSerializer.validated_data` (plain dicts for nested parts)."""
        known = {f.name for f in fields(cls)}
        return cls.from_dict({k: v for k, v in validated.items() if k in known})


class LoraAdapterSerializer(serializers.Serializer):
    name = serializers.RegexField(
        r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$", max_length=40,
        error_messages={"invalid": "Use 1–40 letters, digits, '-' or '_', starting with a letter or digit."},
    )
    source = serializers.CharField(max_length=900)

    def validate_source(self, value):
        try:
            _, key = storage.split_s3(value)
        except storage.StorageError:
            key = ""
        if not key.strip("/"):
            raise serializers.ValidationError("Give the adapter's S3 prefix, e.g. s3://bucket/jobs/42/adapter/.")
        return value if value.endswith("/") else value + "/"


class AutoscalingSerializer(serializers.Serializer):
    min_instances = StrictIntegerField(min_value=1, max_value=100)
    max_instances = StrictIntegerField(min_value=1, max_value=100)
    target_invocations_per_instance = StrictIntegerField(min_value=1, max_value=100_000, default=100)

    def validate(self, attrs):
        if attrs["min_instances"] > attrs["max_instances"]:
            raise serializers.ValidationError(
                {"max_instances": [f"Must be at least the minimum ({attrs['min_instances']})."]}
            )
        return attrs


class DeploySpecSerializer(serializers.Serializer):
    name = serializers.CharField(required=False, allow_blank=True, default="", max_length=200, trim_whitespace=True)
    engine = serializers.ChoiceField(choices=ENGINE_CHOICES, default="auto")
    engine_version = serializers.CharField(required=False, allow_blank=True, default="", max_length=32)
    instance_type = serializers.CharField(max_length=64)
    instance_count = StrictIntegerField(min_value=1, max_value=100, default=1)

    max_model_len = StrictIntegerField(min_value=64, max_value=10_000_000, required=False, allow_null=True)
    tensor_parallel_size = StrictIntegerField(min_value=1, max_value=64, required=False, allow_null=True)
    max_num_seqs = StrictIntegerField(min_value=1, max_value=4096, default=DEFAULT_MAX_NUM_SEQS)
    gpu_memory_utilization = StrictFloatField(min_value=0.1, max_value=0.98, default=DEFAULT_GPU_MEMORY_UTILIZATION)
    dtype = serializers.ChoiceField(choices=DTYPES, default="auto")
    quantization = serializers.ChoiceField(choices=QUANTIZATIONS, default="", allow_blank=True)
    prefix_caching = StrictBooleanField(allow_null=True, default=None)
    enforce_eager = StrictBooleanField(default=False)
    trust_remote_code = StrictBooleanField(default=False)
    chat_template = serializers.CharField(required=False, allow_blank=True, default="", trim_whitespace=False)
    tool_call_parser = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=64,
        help_text="The engine's tool-call parser name (vLLM: hermes, llama3_json, ...; SGLang: qwen25, llama3, ...).",
    )
    reasoning_parser = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=64,
        help_text="The engine's reasoning parser name (vLLM: qwen3, deepseek_r1, ...; SGLang: qwen3, deepseek-r1, ...).",
    )
    limit_mm_per_prompt = serializers.DictField(
        child=StrictIntegerField(min_value=0, max_value=64), required=False, default=dict
    )
    lora_adapters = LoraAdapterSerializer(many=True, required=False, default=list)
    max_lora_rank = StrictChoiceField(choices=MAX_LORA_RANKS, required=False, allow_null=True, default=None)

    container_startup_health_check_timeout = StrictIntegerField(
        min_value=60, max_value=3600, required=False, allow_null=True
    )
    model_data_download_timeout = StrictIntegerField(
        min_value=60, max_value=3600, default=DEFAULT_DOWNLOAD_TIMEOUT
    )
    inference_ami_version = serializers.ChoiceField(choices=INFERENCE_AMIS, required=False, allow_null=True)
    autoscaling = AutoscalingSerializer(required=False, allow_null=True, default=None)
    hf_token_ref = serializers.RegexField(
        r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$", required=False, allow_blank=True, default="", max_length=64,
        help_text="The NAME of your stored Hugging Face token, for gated models (Llama, Gemma); never the token.",
    )

    # --- field checks that need nothing else ---

    def validate_name(self, value):
        if not value:
            return ""
        if target_options.on_cluster(self.context.get("target", "sagemaker")):
            problems = names.kubernetes_name_problems(
                value, namespace=self.context.get("namespace", "default"), routing=bool(self.context.get("routing"))
            )
        else:
            problems = names.endpoint_name_problems(value)
        if problems:
            raise serializers.ValidationError(problems)
        taken = self.context.get("name_taken")
        if taken and taken(value):
            raise serializers.ValidationError(f"An endpoint named '{value}' already exists; choose another name.")
        return value

    def validate_instance_type(self, value):
        if instances.get(value) is None:
            known = ", ".join(instances.instance_types())
            raise serializers.ValidationError(f"Unknown instance type '{value}'. Known GPU types: {known}.")
        return value

    def validate_chat_template(self, value):
        if "\n" in value or "\r" in value:
            raise serializers.ValidationError(
                "Put a multi-line template in a file next to the model weights and give its path "
                "(e.g. /opt/ml/model/template.jinja)."
            )
        if len(value.encode()) > MAX_ENV_VALUE_BYTES:
            raise serializers.ValidationError(
                f"At most {MAX_ENV_VALUE_BYTES} bytes; ship a longer template as a file in the model folder."
            )
        return value

    def validate_limit_mm_per_prompt(self, value):
        unknown = sorted(set(value) - set(MODALITIES))
        if unknown:
            raise serializers.ValidationError(f"Unknown modality {', '.join(unknown)}; use {', '.join(MODALITIES)}.")
        return dict(sorted(value.items()))

    def validate_lora_adapters(self, value):
        if len(value) > MAX_ADAPTERS:
            raise serializers.ValidationError(f"At most {MAX_ADAPTERS} adapters per endpoint.")
        seen = [a["name"] for a in value]
        duplicates = sorted({n for n in seen if seen.count(n) > 1})
        if duplicates:
            raise serializers.ValidationError(f"Adapter names must differ: {', '.join(duplicates)}.")
        return value

    # --- everything that depends on the model, the instance and the engine: apps/endpoints/checks.py ---

    def validate(self, attrs):
        context = self.context
        draft = run_checks(Draft(
            attrs=attrs, model=context.get("model"), instance=instances.get(attrs["instance_type"]),
            target=context.get("target", "sagemaker"), region=context.get("region"), user=context.get("user"),
        ))
        self.fit_result, self.notes = draft.fit, draft.notes
        if draft.errors:
            raise serializers.ValidationError(draft.errors)
        return {
            **attrs, **draft.resolved, "requested_engine": attrs["engine"],
            "lora_adapters": [dict(a) for a in attrs["lora_adapters"]],
            "autoscaling": dict(attrs["autoscaling"]) if attrs.get("autoscaling") else None,
        }

    @property
    def spec(self) -> DeploySpec:
        """The resolved DeploySpec; only after `is_valid()` returned True."""
        return DeploySpec.from_validated(self.validated_data)

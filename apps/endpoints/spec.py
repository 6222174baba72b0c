"""DeploySpec: what to serve, on what, with which engine options. Validated once, for API and form.

`DeploySpecSerializer(data=..., context={...}).is_valid()` checks the request and resolves every
default (the engine for `auto`, tensor parallelism, max model length, dtype, timeouts, image
version, inference AMI); `serializer.spec` is then the frozen `DeploySpec` that the engine mapping
(`apps.endpoints.engines`) renders and `Endpoint.spec` stores (`to_dict` / `from_dict`).

Context the platform passes (all optional):
- `model`: `ModelFacts` of the resolved source (location, parameter count, context length, layer
  sizes when known). Without it the memory-fit and attention-head checks are skipped.
- `target`: a serving target's name ("sagemaker" by default).
- `region`: for the image lookup (default settings.AWS_REGION).
- `name_taken`: callable(name) -> bool, to report a user-supplied name already in use.
- `namespace`, `routing`: for a target on a registered cluster (settings.CLUSTER_TARGETS), the
  Kubernetes namespace and whether intelligent routing is on; they set the name length budget.
"""

from dataclasses import asdict, dataclass, field, fields

from django.conf import settings
from rest_framework import serializers

from apps.backends import storage
from apps.catalog import instances

from apps.backends import registry
from apps.backends.base import ImageUnavailable

from . import engines, fit, names, target_options

ENGINES = ("vllm", "sglang", "lmi")
ENGINE_CHOICES = ("auto", *ENGINES)
DTYPES = ("auto", "bfloat16", "float16", "float32")
QUANTIZATIONS = ("", "awq", "gptq", "fp8", "bitsandbytes")
LMI_QUANTIZATIONS = ("", "awq", "fp8", "bitsandbytes")
MODALITIES = ("image", "video", "audio")
INFERENCE_AMIS = (
    "al2-ami-sagemaker-inference-gpu-2",
    "al2-ami-sagemaker-inference-gpu-2-1",
    "al2-ami-sagemaker-inference-gpu-3-1",
    "al2023-ami-sagemaker-inference-gpu-4-1",
)

DEFAULT_MAX_MODEL_LEN = 12288  # huge native contexts OOM otherwise (sagemaker-dlc.md §4)
DEFAULT_MAX_NUM_SEQS = 256
DEFAULT_GPU_MEMORY_UTILIZATION = 0.9
DEFAULT_STARTUP_TIMEOUT = {"vllm": 900, "sglang": 900, "lmi": 1800}
DEFAULT_DOWNLOAD_TIMEOUT = 1200
MAX_ENV_VALUE_BYTES = 1024  # SageMaker ContainerDefinition.Environment value limit
MAX_ADAPTERS = 5  # SageMaker AdditionalModelDataSources limit
DLC_MAX_ADAPTERS = 1  # DLC entrypoints before the Gen3 arg builder pass a list as one token
MAX_LORA_RANKS = (8, 16, 32, 64, 128, 256)
# GPUs without bfloat16: serve in float16 there.
NO_BF16_GPUS = ("T4", "V100", "K80")


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

    @property
    def from_s3(self) -> bool:
        return self.source_uri.startswith("s3://")

    @property
    def display_name(self) -> str:
        return self.name or self.source_uri

    @classmethod
    def from_base_model(cls, base_model, source_uri: str | None = None, name: str | None = None) -> "ModelFacts":
        """Facts from a catalog BaseModel (layer sizes only where the catalog has them)."""
        get = lambda attr: getattr(base_model, attr, None) or None  # noqa: E731
        return cls(
            source_uri=source_uri or base_model.source_uri,
            name=name or getattr(base_model, "repo_id", "") or str(base_model),
            parameters_b=get("parameters_b"), context_length=get("context_length"), num_layers=get("num_layers"),
            hidden_size=get("hidden_size"), num_attention_heads=get("num_attention_heads"),
            num_kv_heads=get("num_kv_heads"), head_dim=get("head_dim"), quantization=get("quantization") or "",
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
    limit_mm_per_prompt: dict = field(default_factory=dict)
    lora_adapters: tuple[LoraAdapter, ...] = ()
    max_lora_rank: int | None = None
    container_startup_health_check_timeout: int = 900
    model_data_download_timeout: int = DEFAULT_DOWNLOAD_TIMEOUT
    inference_ami_version: str = ""
    autoscaling: Autoscaling | None = None
    # Target-specific options, validated by the target's own validator (settings.CLUSTER_TARGETS).
    target_options: dict = field(default_factory=dict)

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


def _divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def _tp_fits_heads(tp: int, model: ModelFacts | None) -> bool:
    """vLLM and SGLang shard attention heads: TP must divide them (KV heads may also be replicated)."""
    if model is None or not model.num_attention_heads:
        return True
    if model.num_attention_heads % tp:
        return False
    kv = model.num_kv_heads
    return not kv or kv % tp == 0 or tp % kv == 0


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
    min_instances = serializers.IntegerField(min_value=1, max_value=100)
    max_instances = serializers.IntegerField(min_value=1, max_value=100)
    target_invocations_per_instance = serializers.IntegerField(min_value=1, max_value=100_000, default=100)

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
    instance_count = serializers.IntegerField(min_value=1, max_value=100, default=1)

    max_model_len = serializers.IntegerField(min_value=64, max_value=10_000_000, required=False, allow_null=True)
    tensor_parallel_size = serializers.IntegerField(min_value=1, max_value=64, required=False, allow_null=True)
    max_num_seqs = serializers.IntegerField(min_value=1, max_value=4096, default=DEFAULT_MAX_NUM_SEQS)
    gpu_memory_utilization = serializers.FloatField(min_value=0.1, max_value=0.98, default=DEFAULT_GPU_MEMORY_UTILIZATION)
    dtype = serializers.ChoiceField(choices=DTYPES, default="auto")
    quantization = serializers.ChoiceField(choices=QUANTIZATIONS, default="", allow_blank=True)
    prefix_caching = serializers.BooleanField(allow_null=True, default=None)
    enforce_eager = serializers.BooleanField(default=False)
    trust_remote_code = serializers.BooleanField(default=False)
    chat_template = serializers.CharField(required=False, allow_blank=True, default="", trim_whitespace=False)
    tool_call_parser = serializers.RegexField(
        r"^[A-Za-z0-9_\-]+$", required=False, allow_blank=True, default="", max_length=64,
        error_messages={"invalid": "Use the parser's name, e.g. hermes, llama3_json, mistral."},
    )
    limit_mm_per_prompt = serializers.DictField(
        child=serializers.IntegerField(min_value=0, max_value=64), required=False, default=dict
    )
    lora_adapters = LoraAdapterSerializer(many=True, required=False, default=list)
    max_lora_rank = serializers.ChoiceField(choices=MAX_LORA_RANKS, required=False, allow_null=True, default=None)

    container_startup_health_check_timeout = serializers.IntegerField(
        min_value=60, max_value=3600, required=False, allow_null=True
    )
    model_data_download_timeout = serializers.IntegerField(
        min_value=60, max_value=3600, default=DEFAULT_DOWNLOAD_TIMEOUT
    )
    inference_ami_version = serializers.ChoiceField(choices=INFERENCE_AMIS, required=False, allow_null=True)
    autoscaling = AutoscalingSerializer(required=False, allow_null=True, default=None)

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

    # --- everything that depends on the model, the instance and the engine ---

    def validate(self, attrs):
        errors: dict[str, list[str]] = {}
        notes: list[str] = []
        model: ModelFacts | None = self.context.get("model")
        target = self.context.get("target", "sagemaker")
        instance = instances.get(attrs["instance_type"])
        gpus = instance.gpu_count

        # Tensor parallelism: defaults to every GPU of the instance, else the largest count the heads allow.
        tp = attrs.get("tensor_parallel_size")
        if tp is not None:
            if tp > gpus:
                errors.setdefault("tensor_parallel_size", []).append(
                    f"{attrs['instance_type']} has {gpus} GPU{'s' if gpus != 1 else ''}; use at most {gpus}."
                )
            elif gpus % tp:
                errors.setdefault("tensor_parallel_size", []).append(
                    f"Must divide the instance's {gpus} GPUs: one of {', '.join(map(str, _divisors(gpus)))}."
                )
            elif not _tp_fits_heads(tp, model):
                errors.setdefault("tensor_parallel_size", []).append(
                    f"Must divide the model's {model.num_attention_heads} attention heads."
                )
        else:
            valid = [d for d in _divisors(gpus) if _tp_fits_heads(d, model)]
            tp = max(valid)
            if tp < gpus:
                notes.append(
                    f"The model's {model.num_attention_heads} attention heads do not split over {gpus} GPUs; "
                    f"tensor parallelism {tp}."
                )

        # Engine: auto is vLLM, except LMI when one model copy cannot use every GPU (LMI runs several copies).
        engine = attrs["engine"]
        if engine == "lmi" and target != "sagemaker":
            errors.setdefault("engine", []).append("LMI runs on SageMaker only; use vLLM or SGLang here.")
        if engine == "auto":
            multi_copy = (tp < gpus and target == "sagemaker" and not attrs.get("lora_adapters")
                          and attrs["quantization"] in LMI_QUANTIZATIONS)
            engine = "lmi" if multi_copy else "vllm"
            notes.append(f"Engine: {engine}" + (f" ({gpus // tp} model copies of {tp} GPUs)." if engine == "lmi" else "."))

        # Max model length: the model's own context, capped at a default that leaves room for a KV cache.
        context_length = model.context_length if model else None
        max_len = attrs.get("max_model_len")
        if max_len is None:
            max_len = min(context_length or DEFAULT_MAX_MODEL_LEN, DEFAULT_MAX_MODEL_LEN)
        elif context_length and max_len > context_length:
            errors.setdefault("max_model_len", []).append(
                f"The model supports at most {context_length:,} tokens."
            )

        dtype = attrs["dtype"]
        no_bf16 = instance.gpu_name in NO_BF16_GPUS
        if no_bf16 and dtype == "bfloat16":
            errors.setdefault("dtype", []).append(f"{instance.gpu_name} GPUs have no bfloat16; use float16 or auto.")
        elif no_bf16 and dtype == "auto":
            dtype = "float16"

        quantization = attrs["quantization"]
        if engine == "lmi" and quantization not in LMI_QUANTIZATIONS:
            errors.setdefault("quantization", []).append(
                f"LMI supports {', '.join(q for q in LMI_QUANTIZATIONS if q)}; GPTQ models load without this setting."
            )
        if engine == "sglang" and attrs["limit_mm_per_prompt"]:
            errors.setdefault("limit_mm_per_prompt", []).append(
                "SGLang has no per-prompt multimodal limit; use vLLM or LMI, or leave this empty."
            )
        chat_template = attrs["chat_template"]
        if engine == "sglang" and "{" in chat_template:
            errors.setdefault("chat_template", []).append(
                "SGLang takes a template name or a file path, not template text."
            )

        image = None  # a target without a backend here has no image to check
        try:
            image = registry.serving_backend(target).engine_image(
                engine, attrs["engine_version"], self.context.get("region") or "")
        except registry.UnknownBackend:
            pass
        except ImageUnavailable as exc:
            errors.setdefault(exc.field if exc.field in self.fields else "engine_version", []).append(str(exc))

        adapters = attrs["lora_adapters"]
        if adapters:
            if engine == "lmi":
                errors.setdefault("lora_adapters", []).append(
                    "Adapters are served with vLLM or SGLang; LMI here serves merged weights only."
                )
            elif target == "sagemaker" and not (image and image.custom) and len(adapters) > DLC_MAX_ADAPTERS:
                errors.setdefault("lora_adapters", []).append(
                    f"The SageMaker {engine} container takes {DLC_MAX_ADAPTERS} adapter; serve more with a "
                    f"byoc image (SERVING_IMAGE_{engine.upper()}) or deploy them separately."
                )
            served = engines.served_model_name(model.name or model.source_uri) if model else None
            if served and any(a["name"] == served for a in adapters):
                errors.setdefault("lora_adapters", []).append(
                    f"'{served}' is the base model's served name; give the adapter another name."
                )
        elif attrs.get("max_lora_rank"):
            errors.setdefault("max_lora_rank", []).append("Only used with LoRA adapters.")

        version = image.version if image else attrs["engine_version"]
        startup = attrs.get("container_startup_health_check_timeout") or DEFAULT_STARTUP_TIMEOUT[engine]
        ami = attrs.get("inference_ami_version") or settings.SERVING_INFERENCE_AMI
        needed = image.needs.get("inference_ami_version") if image else ""
        if needed and ami != needed:
            errors.setdefault("inference_ami_version", []).append(
                f"This image is built for CUDA 13 and needs the {needed} inference AMI."
            )

        autoscaling = attrs.get("autoscaling")
        if autoscaling and not autoscaling["min_instances"] <= attrs["instance_count"] <= autoscaling["max_instances"]:
            errors.setdefault("instance_count", []).append(
                f"With autoscaling, start between {autoscaling['min_instances']} and {autoscaling['max_instances']}."
            )

        resolved = {
            **attrs, "requested_engine": attrs["engine"], "engine": engine, "engine_version": version,
            "tensor_parallel_size": tp, "max_model_len": max_len, "dtype": dtype,
            "container_startup_health_check_timeout": startup, "inference_ami_version": ami,
            "lora_adapters": [dict(a) for a in adapters], "autoscaling": dict(autoscaling) if autoscaling else None,
        }

        self.fit_result = None
        if model is not None and model.parameters_b and "tensor_parallel_size" not in errors:
            candidate = DeploySpec.from_validated(resolved)
            self.fit_result = fit.check_spec_fit(candidate, model, instance)
            if self.fit_result.refused:
                # Weights that do not load: the instance is too small; a KV cache too small for one
                # sequence: the max model length is too long for it.
                culprit = "max_model_len" if self.fit_result.kv_room_gib > 0 else "instance_type"
                errors.setdefault(culprit, []).append(self.fit_result.message)
            elif self.fit_result.verdict == fit.WARN:
                notes.append(self.fit_result.message)

        if errors:
            raise serializers.ValidationError(errors)
        self.notes = notes
        return resolved

    @property
    def spec(self) -> DeploySpec:
        """The resolved DeploySpec; only after `is_valid()` returned True."""
        return DeploySpec.from_validated(self.validated_data)


def validate_deploy_spec(data: dict, **context) -> tuple[DeploySpec | None, dict, "fit.FitResult | None", list[str]]:
    """(spec or None, field errors, fit result, notes): one call for views and the form's fit preview."""
    serializer = DeploySpecSerializer(data=data, context=context)
    valid = serializer.is_valid()
    fit_result = getattr(serializer, "fit_result", None)
    if not valid:
        return None, serializer.errors, fit_result, []
    return serializer.spec, {}, fit_result, serializer.notes

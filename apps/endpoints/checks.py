"""The cross-field checks of a deploy spec, one named function each, run in order by `run_checks`.

Each check reads the request (`draft.attrs`, already type-checked field by field by
DeploySpecSerializer), what the platform knows about the model (`draft.model`) and the instance,
records field errors with `draft.err(field, message)`, and resolves the defaults it owns into
`draft.resolved` (the engine for `auto`, tensor parallelism, max model length, dtype, ...). The
engines' own rules (apps/endpoints/engine_vocab.py) and the DLC entrypoints' quirks are applied
here, so a spec that passes starts.
"""

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from django.conf import settings

from apps.backends import registry
from apps.backends.base import ImageUnavailable

from . import engine_vocab, engines, fit

DEFAULT_MAX_MODEL_LEN = 12288  # huge native contexts leave no room for a KV cache
DEFAULT_STARTUP_TIMEOUT = {"vllm": 900, "sglang": 900, "lmi": 1800}
LMI_QUANTIZATIONS = ("", "awq", "fp8", "bitsandbytes")
DLC_MAX_ADAPTERS = 1  # DLC entrypoints before the Gen3 arg builder pass a list as one token
NO_BF16_GPUS = ("T4", "V100", "K80")  # serve in float16 there


@dataclass
class Draft:
    attrs: dict
    model: Any  # apps.endpoints.spec.ModelFacts, or None when the source is unknown
    instance: Any  # apps.catalog.instances.InstanceType
    target: str = "sagemaker"
    region: str | None = None
    user: Any = None
    resolved: dict = field(default_factory=dict)
    errors: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)
    fit: Any = None
    image: Any = None  # the target's EngineImage for the engine and version (None: no backend to ask)

    def err(self, name: str, message: str) -> None:
        self.errors.setdefault(name, []).append(message)

    @property
    def gpus(self) -> int:
        return self.instance.gpu_count

    @property
    def engine(self) -> str:
        return self.resolved.get("engine", self.attrs["engine"])


def divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def tp_fits_heads(tp: int, model) -> bool:
    """vLLM and SGLang shard attention heads: TP must divide them; KV heads are split or replicated."""
    if model is None or not model.num_attention_heads:
        return True
    if model.num_attention_heads % tp:
        return False
    kv = model.num_kv_heads
    return not kv or kv % tp == 0 or tp % kv == 0


def check_tensor_parallelism(d: Draft) -> None:
    """Explicit TP must divide the GPUs and the heads; the default is the largest count that does."""
    tp, gpus = d.attrs.get("tensor_parallel_size"), d.gpus
    if tp is None:
        tp = max(t for t in divisors(gpus) if tp_fits_heads(t, d.model))
        if tp < gpus:
            d.notes.append(f"The model's {d.model.num_attention_heads} attention heads do not split over {gpus} "
                           f"GPUs; tensor parallelism {tp}.")
    elif tp > gpus:
        d.err("tensor_parallel_size", f"{d.attrs['instance_type']} has {gpus} GPU{'s' if gpus != 1 else ''}; "
                                      f"use at most {gpus}.")
    elif gpus % tp:
        d.err("tensor_parallel_size", f"Must divide the instance's {gpus} GPUs: one of "
                                      f"{', '.join(map(str, divisors(gpus)))}.")
    elif not tp_fits_heads(tp, d.model):
        d.err("tensor_parallel_size", f"Must divide the model's {d.model.num_attention_heads} attention heads "
                                      f"({d.model.num_kv_heads or d.model.num_attention_heads} KV heads).")
    d.resolved["tensor_parallel_size"] = tp


def check_engine(d: Draft) -> None:
    """auto is vLLM, except LMI when one model copy cannot use every GPU (LMI runs several copies)."""
    engine, tp = d.attrs["engine"], d.resolved["tensor_parallel_size"]
    if engine == "lmi" and d.target != "sagemaker":
        d.err("engine", "LMI runs on SageMaker only; use vLLM or SGLang here.")
    if engine == "auto":
        multi_copy = (tp < d.gpus and d.target == "sagemaker" and not d.attrs.get("lora_adapters")
                      and d.attrs["quantization"] in LMI_QUANTIZATIONS and not d.attrs.get("reasoning_parser"))
        engine = "lmi" if multi_copy else "vllm"
        d.notes.append(f"Engine: {engine}" + (f" ({d.gpus // tp} model copies of {tp} GPUs)." if engine == "lmi" else "."))
    d.resolved["engine"] = engine


def check_max_model_len(d: Draft) -> None:
    """The model's own context, capped at a default that leaves room for a KV cache; never a guess."""
    context = d.model.context_length if d.model else None
    max_len = d.attrs.get("max_model_len")
    if max_len is None:
        if context:
            max_len = min(context, DEFAULT_MAX_MODEL_LEN)
        else:
            why = (d.model.facts_problem if d.model and d.model.facts_problem
                   else "the model's context length is not known")
            d.err("max_model_len", f"Enter the max model length: ModelHub cannot default it because {why}.")
    elif context and max_len > context:
        d.err("max_model_len", f"The model supports at most {context:,} tokens.")
    d.resolved["max_model_len"] = max_len


def check_dtype(d: Draft) -> None:
    dtype, gpu = d.attrs["dtype"], d.instance.gpu_name
    if gpu in NO_BF16_GPUS and dtype == "bfloat16":
        d.err("dtype", f"{gpu} GPUs have no bfloat16; use float16 or auto.")
    elif gpu in NO_BF16_GPUS and dtype == "auto":
        dtype = "float16"
    d.resolved["dtype"] = dtype


def check_quantization(d: Draft) -> None:
    quantization = d.attrs["quantization"]
    if d.engine == "lmi" and quantization not in LMI_QUANTIZATIONS:
        d.err("quantization", f"LMI supports {', '.join(q for q in LMI_QUANTIZATIONS if q)}; GPTQ models load "
                              "without this setting.")
    elif quantization and d.engine in engine_vocab.QUANTIZATIONS and \
            quantization not in engine_vocab.QUANTIZATIONS[d.engine]:
        d.err("quantization", f"{d.engine} has no quantization method {quantization!r}.")


def check_engine_options(d: Draft) -> None:
    """Options one engine lacks or takes in another form."""
    if d.engine == "sglang" and d.attrs["limit_mm_per_prompt"]:
        d.err("limit_mm_per_prompt", "SGLang has no per-prompt multimodal limit; use vLLM or LMI, or leave this empty.")
    if d.engine == "sglang" and "{" in d.attrs["chat_template"]:
        d.err("chat_template", "SGLang takes a template name or a file path, not template text.")
    max_rank = d.attrs.get("max_lora_rank")
    if max_rank and d.engine == "vllm" and max_rank not in engine_vocab.MAX_LORA_RANKS["vllm"]:
        d.err("max_lora_rank", f"vLLM accepts {', '.join(map(str, engine_vocab.MAX_LORA_RANKS['vllm']))}.")


def check_parsers(d: Draft) -> None:
    """Tool-call and reasoning parser names exist in the engine that will run them (they differ)."""
    engine = d.engine
    tool = d.attrs["tool_call_parser"]
    if tool and tool not in engine_vocab.TOOL_CALL_PARSERS[engine]:
        close = sorted(p for p in engine_vocab.TOOL_CALL_PARSERS[engine] if p[:3] == tool[:3])
        d.err("tool_call_parser", f"{engine} has no tool-call parser {tool!r}"
                                  + (f"; it has {', '.join(close)}." if close else "."))
    reasoning = d.attrs.get("reasoning_parser", "")
    if reasoning and reasoning not in engine_vocab.REASONING_PARSERS[engine]:
        d.err("reasoning_parser", f"{engine} has no reasoning parser {reasoning!r}." if engine != "lmi"
              else "Reasoning parsers are set with vLLM or SGLang; choose one of them as the engine.")
    source = engine_vocab.SOURCE.get("vllm" if engine == "lmi" else engine)
    custom = bool(d.image and d.image.custom)
    version = d.resolved.get("engine_version") or d.attrs["engine_version"]
    if (tool or reasoning) and engine != "lmi" and (custom or version != source["for_version"]):
        d.notes.append(f"Parser names were checked against {engine}'s list for {source['for_version']}; "
                       f"{'your image' if custom else version} may name them differently.")


def check_adapters(d: Draft) -> None:
    adapters = d.attrs["lora_adapters"]
    if not adapters:
        if d.attrs.get("max_lora_rank"):
            d.err("max_lora_rank", "Only used with LoRA adapters.")
        return
    if d.engine == "lmi":
        d.err("lora_adapters", "Adapters are served with vLLM or SGLang; LMI here serves merged weights only.")
    elif d.target == "sagemaker" and not (d.image and d.image.custom) and len(adapters) > DLC_MAX_ADAPTERS:
        d.err("lora_adapters", f"The SageMaker {d.engine} container takes {DLC_MAX_ADAPTERS} adapter; serve more "
                               f"with a byoc image (SERVING_IMAGE_{d.engine.upper()}) or deploy them separately.")
    served = engines.served_model_name(d.model.name or d.model.source_uri) if d.model else None
    if served and any(a["name"] == served for a in adapters):
        d.err("lora_adapters", f"'{served}' is the base model's served name; give the adapter another name.")


def check_storage_references(d: Draft) -> None:
    """The model and each adapter, where they lie inside ModelHub's storage, belong to jobs (or datasets) the
    user may use: their own or shared with them (apps/jobs/references.py)."""
    if not getattr(d.user, "is_authenticated", False):
        return
    from apps.jobs.references import reference_problem

    if d.model and (problem := reference_problem(d.model.source_uri, d.user)):
        d.err("model_uri", problem)
    for adapter in d.attrs["lora_adapters"]:
        if problem := reference_problem(adapter["source"], d.user):
            d.err("lora_adapters", f"{adapter['name']}: {problem}")


def check_remote_code(d: Draft) -> None:
    """A model's own code (trust_remote_code) runs in the serving container: admins and members of a group whose
    policy allows it only, as for training (apps.users GroupPolicy)."""
    from apps.users.models import ENABLE_FOR_GROUP, may_trust_remote_code

    if d.attrs.get("trust_remote_code") and d.user is not None and not may_trust_remote_code(d.user):
        d.err("trust_remote_code", f"{ENABLE_FOR_GROUP} to run a model's own code (trust_remote_code).")


def check_image(d: Draft) -> None:
    """The target has an image for the engine version (in the region), and the instance boots the AMI it needs."""
    engine = d.engine
    try:
        d.image = registry.serving_backend(d.target).engine_image(engine, d.attrs["engine_version"], d.region or "")
    except registry.UnknownBackend:
        d.image = None  # a target not configured here: nothing to check the version against
    except ImageUnavailable as exc:
        d.err(exc.field if exc.field in d.attrs else "engine_version", str(exc))
    ami = d.attrs.get("inference_ami_version") or settings.SERVING_INFERENCE_AMI
    needed = d.image.needs.get("inference_ami_version", "") if d.image else ""
    if needed and ami != needed:
        d.err("inference_ami_version", f"This image is built for CUDA 13 and needs the {needed} inference AMI.")
    d.resolved.update(engine_version=d.image.version if d.image else d.attrs["engine_version"],
                      inference_ami_version=ami,
                      container_startup_health_check_timeout=d.attrs.get("container_startup_health_check_timeout")
                      or DEFAULT_STARTUP_TIMEOUT[engine])


def check_autoscaling(d: Draft) -> None:
    scaling = d.attrs.get("autoscaling")
    if scaling and not scaling["min_instances"] <= d.attrs["instance_count"] <= scaling["max_instances"]:
        d.err("instance_count", f"With autoscaling, start between {scaling['min_instances']} and "
                                f"{scaling['max_instances']}.")


def check_gated_model(d: Draft) -> None:
    """A gated Hugging Face model downloads only with the owner's stored token (as in training)."""
    ref = d.attrs.get("hf_token_ref", "")
    if ref:
        if ref.startswith("hf_"):
            d.err("hf_token_ref", "Enter the name of a stored secret, not the token itself.")
        elif getattr(d.user, "is_authenticated", False):
            from apps.users.models import UserSecret

            if not UserSecret.objects.filter(owner=d.user, kind="hf_token", name=ref).exists():
                d.err("hf_token_ref", f"You have no stored Hugging Face token named {ref!r}; add it on your profile page.")
    elif d.model and d.model.gated and not d.model.from_s3:
        d.err("hf_token_ref", f"{d.model.source_uri} is gated on Hugging Face: choose your stored Hugging Face token.")


def check_memory_fit(d: Draft) -> None:
    """Weights that do not load: the instance is too small; a KV cache too small for one sequence: the max
    model length is too long for it."""
    if d.model is None or not d.model.parameters_b or {"tensor_parallel_size", "max_model_len"} & set(d.errors):
        return
    candidate = SimpleNamespace(**{**d.attrs, **d.resolved})
    d.fit = fit.check_spec_fit(candidate, d.model, d.instance)
    if d.fit.refused:
        d.err("max_model_len" if d.fit.kv_room_gib > 0 else "instance_type", d.fit.message)
    elif d.fit.verdict == fit.WARN:
        d.notes.append(d.fit.message)


CHECKS = (
    check_tensor_parallelism, check_engine, check_max_model_len, check_dtype, check_quantization,
    check_engine_options, check_image, check_parsers, check_adapters, check_storage_references, check_remote_code, check_autoscaling,
    check_gated_model, check_memory_fit,
)


def run_checks(d: Draft) -> Draft:
    for check in CHECKS:
        check(d)
    return d

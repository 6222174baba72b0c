"""The engine mapping: one table from each deploy option to its vLLM / SGLang flag and LMI option.

Every rendering of a deployment comes from `OPTIONS`:

- `sagemaker_environment(spec, model)`: the container environment for SageMaker. vLLM / SGLang DLCs
  read `SM_VLLM_<FLAG>` / `SM_SGLANG_<FLAG>` (the flag upper-cased, '-' → '_'); LMI reads `OPTION_*`.
- `engine_argv(spec, model, port)`: the engine's command-line flags, for HyperPod worker args, the
  byoc images and the local backend (`engine_command(engine)` is the launcher in front of them).
- `argv_from_dlc_env(engine, env)`: the reverse, used by the byoc serve entry point.

Encoding rules that every DLC entrypoint generation accepts (docs/serving-configs.md):
a switch that is on is the empty string (a bare flag), a switch that is off is omitted (never
`true`/`false`/`1`); the port is never set (SageMaker needs 8080, the default); JSON objects are one
compact token; no value has a newline or exceeds 1,024 bytes. A list-valued flag with several items
(`--lora-modules a=… b=…`) is a JSON list, which only the Gen3 entrypoint and our byoc images split:
the deploy spec allows one adapter on the stock DLCs.

This module is plain Python with no Django or third-party imports, so the byoc images copy it as is.
`spec` is a `DeploySpec` and `model` a `ModelFacts` (apps.endpoints.spec); only their attributes are read.
"""

import json
import re
from dataclasses import dataclass

ENGINES = ("vllm", "sglang", "lmi")
DLC_ENV_PREFIX = {"vllm": "SM_VLLM_", "sglang": "SM_SGLANG_"}
MODEL_DIR = "/opt/ml/model"  # where SageMaker (and the HyperPod modelVolumeMount) puts the model
ADAPTER_ROOT = "/opt/ml/additional-model-data-sources"  # SageMaker AdditionalModelDataSources mount
SAGEMAKER_PORT = 8080
ENV_VALUE_MAX_BYTES = 1024
ENV_MAX_ENTRIES = 100
ENV_MAX_TOTAL_BYTES = 32 * 1024
# Variables a DLC entrypoint treats specially: never emitted, and ignored by the byoc parser.
RESERVED_DLC_SUFFIXES = ("PORT", "HOST", "ENGINE")

VALUE = "value"  # --flag <str(value)>
SWITCH = "switch"  # True → bare --flag; False → omitted
TRISTATE = "tristate"  # True → on flag, False → off flag, None → engine default (omitted)
JSON = "json"  # --flag <compact JSON object>
LIST = "list"  # --flag item item … (one token per item)

LAUNCHERS = {
    "vllm": ("python3", "-m", "vllm.entrypoints.openai.api_server"),
    "sglang": ("python3", "-m", "sglang.launch_server"),
}
# Port each engine listens on behind HyperPod / local (the SageMaker images use 8080). On HyperPod the
# worker's modelInvocationPort, metrics port and probe ports must equal it (docs/hyperpod.md).
DEFAULT_ENGINE_PORTS = {"vllm": 8000, "sglang": 8080}
HEALTH_PATH = "/health"
METRICS_PATH = "/metrics"
# Readiness probe timeouts: SGLang's /health takes about a second; the Kubernetes default of 1 s flaps.
READINESS_TIMEOUT_SECONDS = {"vllm": 5, "sglang": 10}
# LMI's names; "auto" is left out so LMI's vLLM backend takes the model's own dtype (its default).
_LMI_DTYPES = {"auto": None, "bfloat16": "bf16", "float16": "fp16", "float32": "fp32"}


@dataclass(frozen=True)
class Option:
    key: str  # canonical option name (see canonical_options)
    kind: str
    vllm: str | tuple[str | None, str | None] | None  # flag; (on, off) for TRISTATE; None: not passed
    sglang: str | tuple[str | None, str | None] | None
    lmi: str | None  # OPTION_* variable; None: not passed to LMI

    def flag(self, engine: str):
        return getattr(self, engine)


OPTIONS: tuple[Option, ...] = (
    Option("model", VALUE, "--model", "--model-path", "OPTION_MODEL_ID"),
    Option("served_model_name", VALUE, "--served-model-name", "--served-model-name", "OPTION_SERVED_MODEL_NAME"),
    Option("max_model_len", VALUE, "--max-model-len", "--context-length", "OPTION_MAX_MODEL_LEN"),
    Option("tensor_parallel_size", VALUE, "--tensor-parallel-size", "--tp-size", "OPTION_TENSOR_PARALLEL_DEGREE"),
    Option("max_num_seqs", VALUE, "--max-num-seqs", "--max-running-requests", "OPTION_MAX_ROLLING_BATCH_SIZE"),
    Option("gpu_memory_utilization", VALUE, "--gpu-memory-utilization", "--mem-fraction-static",
           "OPTION_GPU_MEMORY_UTILIZATION"),
    Option("dtype", VALUE, "--dtype", "--dtype", "OPTION_DTYPE"),
    Option("quantization", VALUE, "--quantization", "--quantization", "OPTION_QUANTIZE"),
    Option("prefix_caching", TRISTATE, ("--enable-prefix-caching", "--no-enable-prefix-caching"),
           (None, "--disable-radix-cache"), "OPTION_ENABLE_PREFIX_CACHING"),
    Option("enforce_eager", SWITCH, "--enforce-eager", "--disable-cuda-graph", "OPTION_ENFORCE_EAGER"),
    Option("trust_remote_code", SWITCH, "--trust-remote-code", "--trust-remote-code", "OPTION_TRUST_REMOTE_CODE"),
    Option("chat_template", VALUE, "--chat-template", "--chat-template", "OPTION_CHAT_TEMPLATE"),
    # vLLM parses tool calls only with auto tool choice on (the predecessor forgot it).
    Option("enable_auto_tool_choice", SWITCH, "--enable-auto-tool-choice", None, "OPTION_ENABLE_AUTO_TOOL_CHOICE"),
    Option("tool_call_parser", VALUE, "--tool-call-parser", "--tool-call-parser", "OPTION_TOOL_CALL_PARSER"),
    Option("reasoning_parser", VALUE, "--reasoning-parser", "--reasoning-parser", None),
    Option("limit_mm_per_prompt", JSON, "--limit-mm-per-prompt", None, "OPTION_LIMIT_MM_PER_PROMPT"),
    Option("enable_lora", SWITCH, "--enable-lora", "--enable-lora", None),
    Option("lora_modules", LIST, "--lora-modules", "--lora-paths", None),
    Option("max_loras", VALUE, "--max-loras", "--max-loras-per-batch", None),
    Option("max_lora_rank", VALUE, "--max-lora-rank", "--max-lora-rank", None),
    # SGLang serves /metrics only when asked (the HyperPod router drops backends without it).
    Option("enable_metrics", SWITCH, None, "--enable-metrics", None),
    Option("rolling_batch", VALUE, None, None, "OPTION_ROLLING_BATCH"),
    Option("model_loading_timeout", VALUE, None, None, "OPTION_MODEL_LOADING_TIMEOUT"),
)
OPTIONS_BY_KEY = {option.key: option for option in OPTIONS}


class EngineConfigError(ValueError):
    """A rendering the target would reject (too long, a newline, an engine without that path)."""


# --- the model: where the engine reads it and what it is called ---

_SERVED_NAME_BAD = re.compile(r"[^A-Za-z0-9._-]+")
# Values every DLC entrypoint generation since Gen2 reads as a switch (case-insensitive, stripped):
# SM_VLLM_SERVED_MODEL_NAME=true would become a bare flag, =false would drop it.
_BOOLEAN_WORDS = ("true", "false")


def served_model_name(model_name: str) -> str:
    """The one name the engine serves the model under; the gateway sends exactly this as `model`.

    The last path segment of the model's name (`meta-llama/Llama-3.1-8B-Instruct` →
    `Llama-3.1-8B-Instruct`), restricted to letters, digits, '.', '_' and '-', at most 64 characters,
    never a word the DLC entrypoints read as a boolean ("true" → "true-model").
    """
    segments = [s for s in str(model_name).split("/") if s.strip()]
    name = _SERVED_NAME_BAD.sub("-", segments[-1] if segments else "").strip("-._")[:64].strip("-._")
    if name.lower() in _BOOLEAN_WORDS:
        name += "-model"
    return name or "model"


def is_s3_uri(uri: str) -> bool:
    return str(uri).startswith("s3://")


def model_location(model) -> str:
    """What the engine loads: the SageMaker model directory for S3 sources, else the repo id."""
    return MODEL_DIR if is_s3_uri(model.source_uri) else model.source_uri


def _s3_prefix_source(uri: str) -> dict:
    if not is_s3_uri(uri):
        raise EngineConfigError(f"Not an S3 URI: {uri!r}")
    return {"S3Uri": uri if uri.endswith("/") else uri + "/", "S3DataType": "S3Prefix", "CompressionType": "None"}


def model_data_source(model_uri: str) -> dict:
    """`PrimaryContainer.ModelDataSource` for an S3 model: the uncompressed prefix, mounted at /opt/ml/model."""
    return {"S3DataSource": _s3_prefix_source(model_uri)}


def adapter_path(name: str) -> str:
    return f"{ADAPTER_ROOT}/{name}"


def additional_model_data_sources(adapters) -> list[dict]:
    """`PrimaryContainer.AdditionalModelDataSources`: one channel per LoRA adapter, mounted at adapter_path()."""
    return [{"ChannelName": a.name, "S3DataSource": _s3_prefix_source(a.source)} for a in adapters]


# --- canonical option values from a spec ---

def canonical_options(spec, model, *, model_path: str | None = None, adapter_root: str = ADAPTER_ROOT) -> dict:
    """Every option's value for this deployment (None: not passed). The table renders these per engine."""
    adapters = tuple(spec.lora_adapters)
    return {
        "model": model_path or model_location(model),
        "served_model_name": served_model_name(model.name or model.source_uri),
        "max_model_len": spec.max_model_len,
        "tensor_parallel_size": spec.tensor_parallel_size,
        "max_num_seqs": spec.max_num_seqs,
        "gpu_memory_utilization": spec.gpu_memory_utilization,
        "dtype": spec.dtype,
        "quantization": spec.quantization or None,
        "prefix_caching": spec.prefix_caching,
        "enforce_eager": spec.enforce_eager,
        "trust_remote_code": spec.trust_remote_code,
        "chat_template": spec.chat_template or None,
        "enable_auto_tool_choice": bool(spec.tool_call_parser),
        "tool_call_parser": spec.tool_call_parser or None,
        "reasoning_parser": spec.reasoning_parser or None,
        "limit_mm_per_prompt": dict(spec.limit_mm_per_prompt) or None,
        "enable_lora": bool(adapters),
        "lora_modules": [f"{a.name}={adapter_root}/{a.name}" for a in adapters] or None,
        "max_loras": len(adapters) or None,
        "max_lora_rank": spec.max_lora_rank if adapters else None,
        "enable_metrics": True,
        "rolling_batch": "vllm",
        "model_loading_timeout": spec.container_startup_health_check_timeout,
    }


def _compact(value) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def flag_tokens(engine: str, options: dict) -> list[tuple[str, list[str]]]:
    """(flag, value tokens) per option passed to a vLLM / SGLang engine, in table order."""
    if engine not in LAUNCHERS:
        raise EngineConfigError(f"{engine} is configured by environment only, not by command-line flags.")
    pairs: list[tuple[str, list[str]]] = []
    for option in OPTIONS:
        flag, value = option.flag(engine), options.get(option.key)
        if flag is None or value is None:
            continue
        if option.kind == VALUE:
            pairs.append((flag, [str(value)]))
        elif option.kind == SWITCH:
            if value:
                pairs.append((flag, []))
        elif option.kind == TRISTATE:
            chosen = flag[0] if value else flag[1]
            if chosen:
                pairs.append((chosen, []))
        elif option.kind == JSON:
            pairs.append((flag, [_compact(value)]))
        elif option.kind == LIST:
            pairs.append((flag, [str(v) for v in value]))
    return pairs


def _check_value(key: str, value: str) -> str:
    if "\n" in value or "\r" in value:
        raise EngineConfigError(f"{key}: values must be one line.")
    if len(value.encode()) > ENV_VALUE_MAX_BYTES:
        raise EngineConfigError(f"{key}: {len(value.encode())} bytes, over SageMaker's {ENV_VALUE_MAX_BYTES}-byte limit.")
    return value


def _check_environment(env: dict[str, str]) -> dict[str, str]:
    if len(env) > ENV_MAX_ENTRIES:
        raise EngineConfigError(f"{len(env)} environment variables, over SageMaker's {ENV_MAX_ENTRIES}.")
    total = sum(len(k.encode()) + len(v.encode()) for k, v in env.items())
    if total > ENV_MAX_TOTAL_BYTES:
        raise EngineConfigError(f"Environment of {total} bytes, over SageMaker's {ENV_MAX_TOTAL_BYTES}.")
    return env


def dlc_env_key(engine: str, flag: str) -> str:
    """`--max-model-len` → `SM_VLLM_MAX_MODEL_LEN` (what the DLC entrypoint turns back into the flag)."""
    return DLC_ENV_PREFIX[engine] + flag.lstrip("-").upper().replace("-", "_")


def dlc_environment(engine: str, options: dict) -> dict[str, str]:
    """SM_VLLM_* / SM_SGLANG_* variables from canonical options, in the encoding every generation accepts."""
    env: dict[str, str] = {}
    for flag, tokens in flag_tokens(engine, options):
        key = dlc_env_key(engine, flag)
        if key.removeprefix(DLC_ENV_PREFIX[engine]) in RESERVED_DLC_SUFFIXES:
            raise EngineConfigError(f"{key} is reserved by the container entrypoint.")
        if not tokens:
            value = ""
        elif len(tokens) == 1:
            value = tokens[0]
        else:
            value = _compact(tokens)  # a JSON list: split by the Gen3 entrypoint and the byoc images only
        env[key] = _check_value(key, value)
    return env


def lmi_options_environment(options: dict) -> dict[str, str]:
    """OPTION_* variables for LMI from canonical options; every value a valid string."""
    env: dict[str, str] = {}
    for option in OPTIONS:
        key, value = option.lmi, options.get(option.key)
        if key is None or value is None:
            continue
        if option.kind == SWITCH:
            if not value:
                continue
            text = "true"
        elif option.kind == TRISTATE:
            text = "true" if value else "false"
        elif option.kind == JSON:
            text = _compact(value)
        elif option.key == "dtype":
            text = _LMI_DTYPES[value]
            if text is None:
                continue
        else:
            text = str(value)
        env[key] = _check_value(key, text)
    return env


# --- the public renderings ---

def lmi_environment(spec, model) -> dict[str, str]:
    """The LMI (djl-inference, vLLM rolling batch) container environment."""
    return _check_environment(lmi_options_environment(canonical_options(spec, model)))


def sagemaker_environment(spec, model) -> dict[str, str]:
    """`PrimaryContainer.Environment` for the spec's engine on SageMaker (secrets such as the owner's Hugging
    Face token are not rendered here: they travel in `Deployment.secrets`, see endpoints/deployment.py)."""
    if spec.engine == "lmi":
        return lmi_environment(spec, model)
    return _check_environment(dlc_environment(spec.engine, canonical_options(spec, model)))


def engine_command(engine: str) -> list[str]:
    """The launcher the flags of `engine_argv` follow (HyperPod `command`, byoc, local backend)."""
    if engine not in LAUNCHERS:
        raise EngineConfigError(f"{engine} has no command line here; it is configured by environment.")
    return list(LAUNCHERS[engine])


def argv_from_pairs(pairs: list[tuple[str, list[str]]]) -> list[str]:
    argv: list[str] = []
    for flag, tokens in pairs:
        argv.append(flag)
        argv.extend(tokens)
    return argv


def engine_argv(spec, model, port: int, *, host: str = "0.0.0.0", model_path: str | None = None,
                adapter_root: str = ADAPTER_ROOT, kv_cache_offload: bool = False) -> list[str]:
    """The engine's flags (after `engine_command`), listening on host:port. No shell involved anywhere.

    `kv_cache_offload`: the HyperPod operator manages the KV cache (`kvCacheSpec`); prefix-caching
    flags then break the pod (docs/hyperpod.md), so they are left out.
    """
    options = canonical_options(spec, model, model_path=model_path, adapter_root=adapter_root)
    if kv_cache_offload:
        options["prefix_caching"] = None
    return argv_from_pairs(flag_tokens(spec.engine, options)) + ["--host", host, "--port", str(int(port))]


def _list_token(item) -> str:
    if isinstance(item, dict | list):
        return _compact(item)
    if isinstance(item, bool):
        return "true" if item else "false"
    return "" if item is None else str(item)


def argv_from_dlc_env(engine: str, env: dict[str, str]) -> list[str]:
    """Flags from SM_<ENGINE>_* variables, as the Gen3 DLC entrypoint builds them (the byoc images use this).

    Keys sorted; `""` or `true` → bare flag; `false` → omitted; a JSON list → one token per item;
    anything else → one token. PORT / HOST / ENGINE are ignored: the caller sets where the engine listens.
    """
    prefix = DLC_ENV_PREFIX[engine]
    argv: list[str] = []
    for key in sorted(env):
        if not key.startswith(prefix):
            continue
        suffix = key[len(prefix):]
        if not suffix or suffix in RESERVED_DLC_SUFFIXES:
            continue
        flag = "--" + suffix.lower().replace("_", "-")
        value = env[key].strip()
        if value == "" or value.lower() == "true":
            argv.append(flag)
        elif value.lower() == "false":
            continue
        elif value.startswith("["):
            items = json.loads(value)
            if items:
                argv.append(flag)
                argv.extend(_list_token(item) for item in items)
        else:
            argv.extend([flag, value])
    return argv

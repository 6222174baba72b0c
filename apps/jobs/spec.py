"""TrainingSpec: the one validated description of a training job, shared by the form and the API.

`TrainingSpecSerializer` validates a request (field-level errors for every cross-field rule) and
fills per-type defaults; `TrainingSpec` is the frozen result that renderers consume and the job row
stores as JSON (`to_dict()` / `from_dict()`).

Fields that do not apply to the job type (preference settings on an SFT job, LoRA settings on a
full fine-tune, ...) are dropped to None, so a stored spec says only what the run uses.
"""

from __future__ import annotations

import ast
import dataclasses
import re
from typing import Any

from rest_framework import serializers

from apps.core.job_types import EASYR1_TYPES, LLAMAFACTORY_TYPES, JobType, tool_for

from .renderers import llamafactory_schema as lf

ALL_TYPES = frozenset(JobType.values)
LF = frozenset(str(t) for t in LLAMAFACTORY_TYPES)
R1 = frozenset(str(t) for t in EASYR1_TYPES)
PREFERENCE_TYPES = frozenset({"dpo", "kto"})

METHODS = ("lora", "qlora", "full")
PRECISIONS = ("bf16", "fp16", "fp32")
BOOSTERS = ("none", "flash_attn2", "liger", "unsloth")
DEEPSPEED_STAGES = (0, 2, 3)
DPO_LOSSES = ("sigmoid", "hinge", "ipo", "kto_pair", "orpo", "simpo")
REWARD_MODEL_TYPES = ("lora", "full")
KL_PENALTIES = ("kl", "abs", "mse", "low_var_kl", "full")
BUILTIN_REWARDS = ("math", "r1v", "dapo")
REWARD_FUNCTIONS = (*BUILTIN_REWARDS, "custom")
BUILTIN_FORMAT_PROMPTS = ("math", "r1v", "dapo")
FORMAT_PROMPTS = ("none", *BUILTIN_FORMAT_PROMPTS, "custom")
TRACKERS = ("none", "wandb", "swanlab", "tensorboard")
EASYR1_OPTIMIZERS = ("adamw_torch",)  # EasyR1 has one optimizer family (AdamW)

MAX_RUN_HOURS = 28 * 24  # SageMaker's MaxRuntimeInSeconds ceiling
MAX_CUSTOM_CODE_CHARS = 64_000
OLD_GPUS = frozenset({"K80", "T4", "V100"})  # no bf16, no FlashAttention-2

_HF_REPO = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,95}/[A-Za-z0-9][A-Za-z0-9._-]{0,95}")
_S3_URI = re.compile(r"s3://([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(/[^\x00-\x1f\x7f]*)?")
_SECRET_REF = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}")
_MODULE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")

# Which job types use each optional field (everything else applies to all ten).
APPLIES_TO: dict[str, frozenset[str]] = {
    "template": LF - {"pt"},
    "quantization_bit": LF,
    "lora_dropout": LF,
    "cutoff_len": LF,
    "max_samples": LF,
    "val_size": LF,
    "per_device_train_batch_size": LF,
    "gradient_accumulation_steps": LF,
    "lr_scheduler_type": LF,
    "logging_steps": LF,
    "deepspeed_stage": LF,
    "booster": LF,
    "pref_beta": PREFERENCE_TYPES,
    "pref_ftx": PREFERENCE_TYPES,
    "pref_loss": frozenset({"dpo"}),
    "kto_chosen_weight": frozenset({"kto"}),
    "kto_rejected_weight": frozenset({"kto"}),
    "reward_model": frozenset({"ppo"}),
    "reward_model_type": frozenset({"ppo"}),
    "ppo_epochs": frozenset({"ppo"}),
    "ppo_max_new_tokens": frozenset({"ppo"}),
    **{name: R1 for name in (
        "rollout_n", "rollout_batch_size", "mini_rollout_batch_size", "global_batch_size",
        "micro_batch_size_per_device_for_update", "micro_batch_size_per_device_for_experience",
        "max_prompt_length", "max_response_length", "rollout_temperature", "val_temperature",
        "rollout_tensor_parallel_size", "clip_ratio_low", "clip_ratio_high", "clip_ratio_dual", "loss_type",
        "loss_avg_mode", "disable_kl", "kl_coef", "kl_penalty", "online_filtering", "reward_function",
        "reward_code", "format_prompt", "format_prompt_template",
    )},
}
LORA_FIELDS = ("lora_rank", "lora_alpha", "lora_dropout", "lora_target")

# Form sections, in order (the form renders one card per section and hides fields that do not apply).
SECTIONS: dict[str, tuple[str, ...]] = {
    "Model and data": ("job_type", "base_model", "datasets", "template", "cutoff_len", "max_samples", "val_size"),
    "Method": ("finetuning_method", "quantization_bit", "lora_rank", "lora_alpha", "lora_dropout", "lora_target"),
    "Hyper-parameters": (
        "learning_rate", "num_train_epochs", "max_steps", "per_device_train_batch_size",
        "gradient_accumulation_steps", "warmup_ratio", "lr_scheduler_type", "optimizer", "weight_decay",
        "max_grad_norm", "precision", "deepspeed_stage", "offload", "booster", "logging_steps", "save_steps",
        "eval_steps", "save_total_limit",
    ),
    "Preference": ("pref_beta", "pref_loss", "pref_ftx", "kto_chosen_weight", "kto_rejected_weight"),
    "PPO": ("reward_model", "reward_model_type", "ppo_epochs", "ppo_max_new_tokens"),
    "Reinforcement learning (GRPO family)": (
        "reward_function", "reward_code", "format_prompt", "format_prompt_template", "rollout_n",
        "rollout_batch_size", "mini_rollout_batch_size", "global_batch_size",
        "micro_batch_size_per_device_for_update", "micro_batch_size_per_device_for_experience",
        "max_prompt_length", "max_response_length", "rollout_temperature", "val_temperature",
        "rollout_tensor_parallel_size", "clip_ratio_low", "clip_ratio_high", "clip_ratio_dual", "loss_type",
        "loss_avg_mode", "disable_kl", "kl_coef", "kl_penalty", "online_filtering",
    ),
    "Compute": (
        "instance_type", "instance_count", "use_spot", "max_wait_hours", "max_run_hours", "volume_size_gb",
        "resume_from_checkpoint",
    ),
    "Tracking": ("tracker", "tracker_project", "tracker_key_ref"),
}


def applies(field: str, job_type: str) -> bool:
    return job_type in APPLIES_TO.get(field, ALL_TYPES)


def fields_for(job_type: str) -> list[str]:
    """The spec fields a job of `job_type` uses, in form order."""
    return [f for section in SECTIONS.values() for f in section if applies(f, job_type)]


# Defaults ------------------------------------------------------------------------------------------

_COMMON_DEFAULTS: dict[str, Any] = {
    "template": None, "finetuning_method": "lora", "quantization_bit": None,
    "lora_rank": 8, "lora_alpha": 16, "lora_dropout": 0.0, "lora_target": "all",
    "cutoff_len": 2048, "max_samples": None, "val_size": 0.0,
    "per_device_train_batch_size": 2, "gradient_accumulation_steps": 4, "learning_rate": 1e-4,
    "num_train_epochs": 3.0, "max_steps": None, "warmup_ratio": 0.1, "lr_scheduler_type": "cosine",
    "optimizer": "adamw_torch", "weight_decay": 0.0, "max_grad_norm": 1.0, "precision": "bf16",
    "deepspeed_stage": None, "offload": False, "booster": "none",
    "logging_steps": 10, "save_steps": 500, "eval_steps": None, "save_total_limit": 3,
    "instance_type": "ml.g5.2xlarge", "instance_count": 1, "use_spot": False, "max_wait_hours": None,
    "max_run_hours": 24.0, "volume_size_gb": 200, "resume_from_checkpoint": None,
    "tracker": "none", "tracker_project": "modelhub", "tracker_key_ref": None,
}
_PER_TYPE_DEFAULTS: dict[str, dict[str, Any]] = {
    "sft": {},
    "pt": {},
    "rm": {},
    "dpo": {"learning_rate": 5e-6, "pref_beta": 0.1, "pref_loss": "sigmoid", "pref_ftx": 0.0},
    "kto": {"learning_rate": 5e-6, "pref_beta": 0.1, "pref_ftx": 0.0, "kto_chosen_weight": 1.0,
            "kto_rejected_weight": 1.0},
    "ppo": {"learning_rate": 1e-5, "num_train_epochs": 1.0, "reward_model_type": "lora", "ppo_epochs": 4,
            "ppo_max_new_tokens": 512},
}
_R1_DEFAULTS: dict[str, Any] = {
    "finetuning_method": "full", "lora_rank": 64, "lora_alpha": 64, "learning_rate": 1e-6, "num_train_epochs": 1.0,
    "warmup_ratio": 0.0,
    "weight_decay": 1e-2, "offload": True, "save_steps": 20, "eval_steps": 20,
    "instance_type": "ml.g6e.12xlarge", "max_run_hours": 48.0, "volume_size_gb": 500,
    "rollout_n": 5, "rollout_batch_size": 512, "mini_rollout_batch_size": None, "global_batch_size": 128,
    "micro_batch_size_per_device_for_update": 1, "micro_batch_size_per_device_for_experience": 2,
    "max_prompt_length": 2048, "max_response_length": 2048, "rollout_temperature": 1.0,
    "val_temperature": 0.6, "rollout_tensor_parallel_size": 1,
    "clip_ratio_low": 0.2, "clip_ratio_high": 0.3, "clip_ratio_dual": 3.0, "loss_type": "default",
    "loss_avg_mode": "token", "disable_kl": False, "kl_coef": 1e-2, "kl_penalty": "low_var_kl",
    "online_filtering": False, "reward_function": "math", "reward_code": None, "format_prompt": "math",
    "format_prompt_template": None,
}
_R1_PER_TYPE: dict[str, dict[str, Any]] = {
    "grpo": {},
    "dapo": {"clip_ratio_high": 0.28, "clip_ratio_dual": 10.0, "disable_kl": True, "online_filtering": True,
             "rollout_n": 16, "mini_rollout_batch_size": 128, "reward_function": "dapo", "format_prompt": "dapo"},
    "gspo": {"loss_type": "gspo_token", "loss_avg_mode": "seq", "clip_ratio_low": 3e-4, "clip_ratio_high": 4e-4,
             "disable_kl": True},
    "cispo": {"loss_type": "cispo", "clip_ratio_low": 0.0, "clip_ratio_high": 4.0},
}
# Fields the API does not fill from defaults: the user must choose them.
_MUST_CHOOSE = {"ppo": ("reward_model",), **{t: ("reward_function",) for t in R1}}


def defaults_for(job_type: str) -> dict[str, Any]:
    """Initial values for every field a job of `job_type` uses (what the form pre-fills)."""
    if job_type not in ALL_TYPES:
        raise ValueError(f"Unknown job type {job_type!r}.")
    values = dict(_COMMON_DEFAULTS)
    if job_type in R1:
        values.update(_R1_DEFAULTS)
        values.update(_R1_PER_TYPE[job_type])
    else:
        values.update(_PER_TYPE_DEFAULTS[job_type])
    return {f: values.get(f) for f in fields_for(job_type) if f not in ("job_type", "base_model", "datasets")}


# The frozen spec -----------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class TrainingSpec:
    job_type: str
    base_model: str  # what the user entered: a catalog key, an HF repo id or an s3:// prefix
    base_model_source: str  # "catalog" | "hf" | "s3"
    base_model_uri: str  # the HF repo id or s3:// prefix the run loads
    datasets: tuple = ()  # catalog Dataset primary keys, in order
    template: str | None = None
    finetuning_method: str = "lora"
    quantization_bit: int | None = None
    lora_rank: int | None = None
    lora_alpha: int | None = None
    lora_dropout: float | None = None
    lora_target: str | None = None
    cutoff_len: int | None = None
    max_samples: int | None = None
    val_size: float | None = None
    per_device_train_batch_size: int | None = None
    gradient_accumulation_steps: int | None = None
    learning_rate: float = 1e-4
    num_train_epochs: float = 3.0
    max_steps: int | None = None
    warmup_ratio: float = 0.0
    lr_scheduler_type: str | None = None
    optimizer: str = "adamw_torch"
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    precision: str = "bf16"
    deepspeed_stage: int | None = None
    offload: bool = False
    booster: str | None = None
    logging_steps: int | None = None
    save_steps: int = 500
    eval_steps: int | None = None
    save_total_limit: int | None = None
    pref_beta: float | None = None
    pref_loss: str | None = None
    pref_ftx: float | None = None
    kto_chosen_weight: float | None = None
    kto_rejected_weight: float | None = None
    reward_model: str | None = None
    reward_model_type: str | None = None
    ppo_epochs: int | None = None
    ppo_max_new_tokens: int | None = None
    rollout_n: int | None = None
    rollout_batch_size: int | None = None
    mini_rollout_batch_size: int | None = None
    global_batch_size: int | None = None
    micro_batch_size_per_device_for_update: int | None = None
    micro_batch_size_per_device_for_experience: int | None = None
    max_prompt_length: int | None = None
    max_response_length: int | None = None
    rollout_temperature: float | None = None
    val_temperature: float | None = None
    rollout_tensor_parallel_size: int | None = None
    clip_ratio_low: float | None = None
    clip_ratio_high: float | None = None
    clip_ratio_dual: float | None = None
    loss_type: str | None = None
    loss_avg_mode: str | None = None
    disable_kl: bool | None = None
    kl_coef: float | None = None
    kl_penalty: str | None = None
    online_filtering: bool | None = None
    reward_function: str | None = None
    reward_code: str | None = None
    format_prompt: str | None = None
    format_prompt_template: str | None = None
    instance_type: str = "ml.g5.2xlarge"
    instance_count: int = 1
    gpus_per_node: int = 1  # snapshot of the instance table when the spec was validated
    use_spot: bool = False
    max_wait_hours: float | None = None
    max_run_hours: float = 24.0
    volume_size_gb: int = 200
    resume_from_checkpoint: str | None = None
    tracker: str = "none"
    tracker_project: str | None = None
    tracker_key_ref: str | None = None  # the name of the user's stored secret, never the key itself
    version: int = 1

    @classmethod
    def from_validated(cls, data: dict) -> TrainingSpec:
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls, data: dict) -> TrainingSpec:
        """Rebuild from stored JSON; unknown keys (from a newer version) are ignored."""
        names = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in names}
        values["datasets"] = tuple(values.get("datasets") or ())
        return cls(**values)

    def to_dict(self) -> dict:
        data = dataclasses.asdict(self)
        data["datasets"] = list(self.datasets)
        return data

    @property
    def tool(self) -> str:
        return tool_for(self.job_type)

    @property
    def uses_lora(self) -> bool:
        return self.finetuning_method in ("lora", "qlora")

    @property
    def needs_merge(self) -> bool:
        """True when the run must produce a merged model: LoRA and QLoRA adapters merged into the
        (unquantized) base for LLaMA-Factory, and the EasyR1 actor exported to Hugging Face format.
        A reward model is used as an adapter by PPO and is never merged."""
        if self.tool == "easyr1":
            return True
        return self.uses_lora and self.job_type != JobType.RM

    @property
    def is_multi_node(self) -> bool:
        return self.instance_count > 1

    @property
    def world_size(self) -> int:
        return self.instance_count * self.gpus_per_node

    @property
    def max_run_seconds(self) -> int:
        return int(round(self.max_run_hours * 3600))

    @property
    def max_wait_seconds(self) -> int | None:
        if not self.use_spot or self.max_wait_hours is None:
            return None
        return int(round(self.max_wait_hours * 3600))

    @property
    def effective_lora_alpha(self) -> int | None:
        if not self.uses_lora:
            return None
        return self.lora_alpha or 2 * (self.lora_rank or 8)


# Validators ----------------------------------------------------------------------------------------


def validate_s3_uri(value: str, *, require_key: bool = True) -> str:
    """Raise serializers.ValidationError unless `value` is s3://bucket/key (bucket naming rules)."""
    match = _S3_URI.fullmatch(value or "")
    if not match or ".." in match.group(1):
        raise serializers.ValidationError("Enter an S3 URI like s3://bucket/prefix/ (lowercase bucket name).")
    if require_key and not (match.group(2) or "").strip("/"):
        raise serializers.ValidationError("Give a prefix inside the bucket, not the bucket alone.")
    return value


def check_reward_code(code: str) -> list[str]:
    """Problems with custom reward code, in words (the code is only parsed here, never run)."""
    if len(code) > MAX_CUSTOM_CODE_CHARS:
        return [f"Keep the reward code under {MAX_CUSTOM_CODE_CHARS} characters."]
    try:
        tree = ast.parse(code)
    except SyntaxError as exc:
        return [f"Line {exc.lineno}: {exc.msg}."]
    functions = {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}
    problems = []
    if "compute_score" not in functions:
        problems.append("Define a top-level function compute_score(...).")
    elif not functions["compute_score"].args.args:
        problems.append("compute_score must take the reward input(s) as its first argument.")
    reward_type = None
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "REWARD_TYPE" for t in node.targets):
            reward_type = node.value.value if isinstance(node.value, ast.Constant) else "?"
    if reward_type not in ("batch", "sequential"):
        problems.append('Declare REWARD_TYPE = "batch" (a list of inputs) or "sequential" (one input).')
    return problems


def check_format_prompt(template: str) -> list[str]:
    import jinja2

    if len(template) > MAX_CUSTOM_CODE_CHARS:
        return [f"Keep the format prompt under {MAX_CUSTOM_CODE_CHARS} characters."]
    try:
        parsed = jinja2.Environment().parse(template)
    except jinja2.TemplateSyntaxError as exc:
        return [f"Line {exc.lineno}: {exc.message}."]
    from jinja2 import meta

    if "content" not in meta.find_undeclared_variables(parsed):
        return ["Use {{ content }} where the prompt text goes."]
    return []


def _instance(name: str):
    from apps.catalog import instances

    return instances.instance_types().get(name)


def instance_type_choices() -> list[tuple[str, str]]:
    from apps.catalog import instances

    return [(name, it.label) for name, it in instances.instance_types().items()]


# The serializer ------------------------------------------------------------------------------------


# Optional fields accept null. For the fields below null is a value ("no maximum", "no DeepSpeed",
# "2 × rank", ...); for every other field null means "the job type's default".
NULL_IS_A_VALUE = frozenset({
    "template", "quantization_bit", "lora_alpha", "max_samples", "max_steps", "eval_steps", "save_total_limit",
    "deepspeed_stage", "mini_rollout_batch_size", "max_wait_hours", "reward_model", "reward_function",
    "reward_code", "format_prompt_template", "resume_from_checkpoint", "tracker_project", "tracker_key_ref",
})


def _choice(choices, **kw):
    kw.setdefault("allow_null", True)
    return serializers.ChoiceField(choices=list(choices), required=False, **kw)


def _int(lo, hi=None, **kw):
    kw.setdefault("allow_null", True)
    return serializers.IntegerField(min_value=lo, max_value=hi, required=False, **kw)


def _float(lo, hi=None, **kw):
    kw.setdefault("allow_null", True)
    return serializers.FloatField(min_value=lo, max_value=hi, required=False, **kw)


def _bool(**kw):
    return serializers.BooleanField(required=False, allow_null=True, **kw)


class TrainingSpecSerializer(serializers.Serializer):
    """A training job's spec. Validated once, here, for both the API and the HTML form.

    Omitted fields take the defaults of the job type (`defaults_for`). Fields that do not apply to
    the job type are ignored. Errors name the field they belong to.
    """

    job_type = serializers.ChoiceField(choices=JobType.choices)
    base_model = serializers.CharField(
        max_length=500,
        help_text="A catalog model key (e.g. qwen3-8b), any Hugging Face repo id (owner/name) or an s3:// prefix.",
    )
    datasets = serializers.ListField(
        child=serializers.CharField(max_length=64), min_length=1, max_length=20,
        help_text="Ids of catalog datasets you may use that suit the job type (one for the GRPO family).",
    )
    template = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, max_length=64,
        help_text="LLaMA-Factory chat template name; defaults to the catalog model's. Not used by pt or the GRPO family.",
    )
    finetuning_method = _choice(METHODS, help_text="lora, qlora (LoRA on a 4- or 8-bit quantized base) or full.")
    quantization_bit = serializers.ChoiceField(
        choices=[4, 8], required=False, allow_null=True, help_text="QLoRA only: 4 or 8."
    )
    lora_rank = _int(1, 1024, help_text="LoRA rank (lora/qlora).")
    lora_alpha = _int(1, 4096, allow_null=True, help_text="LoRA alpha; empty = 2 × rank.")
    lora_dropout = _float(0.0, 0.9, help_text="LoRA dropout (LLaMA-Factory types).")
    lora_target = serializers.CharField(
        required=False, allow_null=True, max_length=500,
        help_text='"all" or a comma list of module names, e.g. q_proj,v_proj; defaults to the catalog model\'s.',
    )
    cutoff_len = _int(16, 262144, help_text="Maximum tokens per example (LLaMA-Factory types).")
    max_samples = _int(1, None, allow_null=True, help_text="Use at most this many examples per dataset.")
    val_size = _float(0.0, 0.5, help_text="Share of the data held out for evaluation (0 = none).")
    per_device_train_batch_size = _int(1, 1024)
    gradient_accumulation_steps = _int(1, 1024)
    learning_rate = _float(1e-9, 1.0)
    num_train_epochs = _float(0.01, 1000.0, help_text="Epochs (ignored when max steps is set).")
    max_steps = _int(1, 10_000_000, allow_null=True, help_text="Stop after this many optimizer steps.")
    warmup_ratio = _float(0.0, 0.9)
    lr_scheduler_type = _choice(lf.LR_SCHEDULERS)
    optimizer = _choice(lf.OPTIMIZERS, help_text="The GRPO family uses AdamW (adamw_torch).")
    weight_decay = _float(0.0, 1.0)
    max_grad_norm = _float(0.0, 1000.0)
    precision = _choice(PRECISIONS, help_text="bf16 needs an Ampere or newer GPU; the GRPO family trains in bf16.")
    deepspeed_stage = serializers.ChoiceField(
        choices=list(DEEPSPEED_STAGES), required=False, allow_null=True,
        help_text="DeepSpeed ZeRO stage (LLaMA-Factory types); required for more than one instance.",
    )
    offload = _bool(
        help_text="Offload optimizer/parameters to CPU (ZeRO-2/3; FSDP offload for the GRPO family)."
    )
    booster = _choice(BOOSTERS, help_text="Attention/kernel booster (LLaMA-Factory types).")
    logging_steps = _int(1, 100_000)
    save_steps = _int(1, 1_000_000, help_text="Checkpoint every N steps (GRPO family: save_freq).")
    eval_steps = _int(1, 1_000_000, allow_null=True,
                      help_text="Evaluate every N steps (needs a validation split; GRPO family: val_freq).")
    save_total_limit = _int(1, 1000, allow_null=True, help_text="Keep at most this many checkpoints.")
    pref_beta = _float(1e-4, 10.0, help_text="Preference beta (dpo, kto).")
    pref_loss = _choice(DPO_LOSSES, help_text="DPO loss (dpo only; KTO has its own loss).")
    pref_ftx = _float(0.0, 100.0, help_text="SFT loss weight mixed into the preference loss (dpo, kto).")
    kto_chosen_weight = _float(0.0, 100.0)
    kto_rejected_weight = _float(0.0, 100.0)
    reward_model = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, max_length=500,
        help_text="PPO: the reward model, an s3:// prefix (e.g. a finished rm job's output) or an HF repo id.",
    )
    reward_model_type = _choice(REWARD_MODEL_TYPES, help_text="PPO: lora (an adapter on the base) or full.")
    ppo_epochs = _int(1, 100)
    ppo_max_new_tokens = _int(1, 32768)
    rollout_n = _int(1, 256, help_text="Responses sampled per prompt.")
    rollout_batch_size = _int(1, 65536, help_text="Prompts per rollout.")
    mini_rollout_batch_size = _int(1, 65536, allow_null=True)
    global_batch_size = _int(1, 65536, help_text="Prompts per actor update.")
    micro_batch_size_per_device_for_update = _int(1, 1024)
    micro_batch_size_per_device_for_experience = _int(1, 1024)
    max_prompt_length = _int(16, 262144)
    max_response_length = _int(16, 262144)
    rollout_temperature = _float(0.0, 5.0)
    val_temperature = _float(0.0, 5.0)
    rollout_tensor_parallel_size = _int(1, 64)
    clip_ratio_low = _float(0.0, 100.0)
    clip_ratio_high = _float(0.0, 100.0)
    clip_ratio_dual = _float(1.0, 1000.0)
    loss_type = _choice(("default", "gspo", "gspo_token", "cispo"))
    loss_avg_mode = _choice(("token", "seq"))
    disable_kl = _bool()
    kl_coef = _float(0.0, 100.0)
    kl_penalty = _choice(KL_PENALTIES)
    online_filtering = _bool()
    reward_function = _choice(REWARD_FUNCTIONS, allow_blank=True, allow_null=True,
                              help_text="GRPO family: a built-in reward (math, r1v, dapo) or custom code.")
    reward_code = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, trim_whitespace=False,
        help_text='Custom reward: Python defining compute_score(...) and REWARD_TYPE = "batch" | "sequential". '
                  "It runs only inside the job's training container.",
    )
    format_prompt = _choice(FORMAT_PROMPTS, help_text="Jinja prompt wrapper: a built-in, none, or custom.")
    format_prompt_template = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, trim_whitespace=False,
        help_text="Custom format prompt (Jinja); use {{ content }} for the prompt text.",
    )
    instance_type = serializers.CharField(required=False, allow_null=True, max_length=64)
    instance_count = _int(1, 64)
    use_spot = _bool()
    max_wait_hours = _float(0.1, MAX_RUN_HOURS, allow_null=True, help_text="Spot only: at least max run hours.")
    max_run_hours = _float(0.1, MAX_RUN_HOURS)
    volume_size_gb = _int(1, 16384)
    resume_from_checkpoint = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, max_length=1000,
        help_text="s3:// prefix of a checkpoint to start from.",
    )
    tracker = _choice(TRACKERS, help_text="Experiment tracking: Weights & Biases, SwanLab or TensorBoard.")
    tracker_project = serializers.CharField(required=False, allow_blank=True, allow_null=True, max_length=100)
    tracker_key_ref = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, max_length=64,
        help_text="The NAME of your stored W&B / SwanLab key (a secret reference), never the key itself.",
    )

    # DRF hooks -------------------------------------------------------------------------------------

    def to_representation(self, instance):
        if isinstance(instance, TrainingSpec):
            instance = instance.to_dict()
        data = {name: instance.get(name) for name in self.fields if name in instance}
        data["datasets"] = [str(d) for d in instance.get("datasets", [])]
        return data

    def validate(self, attrs):
        job_type = str(attrs["job_type"])
        errors: dict[str, list[str]] = {}

        def err(field, message):
            errors.setdefault(field, []).append(message)

        attrs = {k: v for k, v in attrs.items() if v is not None or k in NULL_IS_A_VALUE}
        supplied = set(attrs)
        data = defaults_for(job_type)
        for name in _MUST_CHOOSE.get(job_type, ()):
            data[name] = None
        data.update({k: v for k, v in attrs.items() if k not in ("job_type", "base_model", "datasets")
                     and applies(k, job_type)})
        data["job_type"] = job_type
        if job_type == "ppo" and "reward_model_type" not in supplied and data["finetuning_method"] == "full":
            data["reward_model_type"] = "full"  # a full PPO run cannot load a LoRA reward model

        self._resolve_base_model(attrs["base_model"], data, supplied, err)
        self._check_method(job_type, data, err)
        instance = self._check_compute(job_type, data, err)
        self._check_training(job_type, data, instance, err)
        if job_type == "ppo":
            self._check_ppo(data, err)
        if job_type in R1:
            self._check_rl(job_type, data, instance, err)
        self._check_tracking(data, err)
        data["datasets"] = self._check_datasets(job_type, attrs["datasets"], err)
        if errors:
            raise serializers.ValidationError(errors)

        for name in list(data):
            if name in SECTIONS_FIELDS and not applies(name, job_type):
                data[name] = None
        if data["finetuning_method"] == "full":
            for name in (*LORA_FIELDS, "quantization_bit"):
                data[name] = None
        return data

    @property
    def spec(self) -> TrainingSpec:
        """The validated spec (call after is_valid())."""
        return TrainingSpec.from_validated(self.validated_data)

    # Rules ----------------------------------------------------------------------------------------

    def _user(self):
        if "user" in self.context:
            return self.context["user"]
        request = self.context.get("request")
        return getattr(request, "user", None)

    def _resolve_base_model(self, value, data, supplied, err):
        value = value.strip()
        data["base_model"] = value
        if value.startswith("s3://"):
            try:
                validate_s3_uri(value)
            except serializers.ValidationError as exc:
                err("base_model", str(exc.detail[0]))
                return
            data["base_model_source"], data["base_model_uri"] = "s3", value
            return
        if _HF_REPO.fullmatch(value) and ".." not in value and "--" not in value:
            data["base_model_source"], data["base_model_uri"] = "hf", value
            return
        entry = self._catalog_model(value)
        if entry is None:
            err("base_model", "Choose a model from the catalog, or enter a Hugging Face repo id (owner/name) "
                              "or an s3:// prefix.")
            return
        data["base_model_source"], data["base_model_uri"] = "catalog", entry.source_uri
        if "template" not in supplied and entry.template:
            data["template"] = entry.template
        if "lora_target" not in supplied and getattr(entry, "lora_targets", None):
            data["lora_target"] = entry.lora_target

    def _catalog_model(self, key):
        from apps.catalog.models import BaseModel

        return BaseModel.objects.visible_to_user(self._user()).filter(key=key).first()

    def _check_method(self, job_type, data, err):
        method = data["finetuning_method"]
        if method == "qlora":
            if job_type in R1:
                err("finetuning_method", "The GRPO family trains with lora or full; qlora is not available.")
            elif data.get("quantization_bit") not in (4, 8):
                err("quantization_bit", "QLoRA needs a quantization bit: 4 or 8.")
        elif data.get("quantization_bit") is not None:
            data["quantization_bit"] = None
        if method != "full":
            target = (data.get("lora_target") or "").replace(" ", "")
            modules = [m for m in target.split(",") if m]
            if not modules or not all(_MODULE_NAME.fullmatch(m) for m in modules):
                err("lora_target", 'Enter "all" or a comma list of module names such as q_proj,v_proj.')
            else:
                data["lora_target"] = ",".join(modules)
        template = data.get("template")
        if applies("template", job_type) and template:
            if template not in lf.TEMPLATES:
                err("template", f"Unknown chat template {template!r}; use a LLaMA-Factory template name "
                                "such as qwen3, llama3 or mistral.")
        else:
            data["template"] = template or None

    def _check_compute(self, job_type, data, err):
        name = data.get("instance_type") or ""
        instance = _instance(name)
        if instance is None:
            err("instance_type", f"Unknown instance type {name!r}; choose one from the list.")
        elif instance.gpu_count < 1:
            err("instance_type", f"{name} has no GPU.")
        data["gpus_per_node"] = instance.gpu_count if instance else 1
        if data["use_spot"]:
            wait, run = data.get("max_wait_hours"), data["max_run_hours"]
            if wait is None:
                err("max_wait_hours", "Spot training needs a maximum wait.")
            elif wait < run:
                err("max_wait_hours", f"Must be at least the maximum run time ({run:g} h).")
        else:
            data["max_wait_hours"] = None
        checkpoint = data.get("resume_from_checkpoint") or None
        data["resume_from_checkpoint"] = checkpoint
        if checkpoint:
            try:
                validate_s3_uri(checkpoint)
            except serializers.ValidationError as exc:
                err("resume_from_checkpoint", str(exc.detail[0]))
            else:
                folder = checkpoint.rstrip("/").rsplit("/", 1)[-1]
                if job_type in R1 and not re.fullmatch(r"global_step_\d+", folder):
                    err("resume_from_checkpoint", "EasyR1 resumes from a global_step_<N> folder; give its S3 prefix.")
        if data["instance_count"] > 1 and job_type in LF and data.get("deepspeed_stage") is None:
            err("deepspeed_stage", "Training on more than one instance needs a DeepSpeed stage (0, 2 or 3).")
        return instance

    def _check_training(self, job_type, data, instance, err):
        old_gpu = instance is not None and instance.gpu_name in OLD_GPUS
        if data["precision"] == "bf16" and old_gpu:
            err("precision", f"{instance.gpu_name} GPUs do not support bf16; choose fp16 or a newer instance.")
        if job_type in R1:
            if data["precision"] != "bf16":
                err("precision", "The GRPO family (EasyR1) trains in bf16.")
            if data["optimizer"] not in EASYR1_OPTIMIZERS:
                err("optimizer", "The GRPO family uses AdamW; choose adamw_torch.")
            return
        stage = data.get("deepspeed_stage")
        if data["offload"] and stage not in (2, 3):
            err("offload", "CPU offload needs DeepSpeed stage 2 or 3.")
        if data["finetuning_method"] == "qlora" and stage == 3 and data.get("quantization_bit") == 8:
            err("quantization_bit", "QLoRA with ZeRO-3 works with 4-bit quantization only.")
        booster = data["booster"]
        if booster == "flash_attn2" and old_gpu:
            err("booster", f"FlashAttention-2 needs an Ampere or newer GPU, not {instance.gpu_name}.")
        if booster == "unsloth":
            if data["finetuning_method"] == "full":
                err("booster", "Unsloth boosts lora and qlora only.")
            elif instance is not None and data["instance_count"] * instance.gpu_count > 1:
                err("booster", "Unsloth trains on a single GPU; choose a one-GPU instance or another booster.")
            elif data["finetuning_method"] == "qlora" and data.get("quantization_bit") != 4:
                err("booster", "Unsloth quantizes to 4 bits only; choose 4-bit QLoRA or another booster.")
            elif job_type == "ppo" and data.get("reward_model_type") == "lora":
                err("booster", "Unsloth does not support a LoRA reward model.")
        if job_type == "ppo" and data["val_size"]:
            err("val_size", "PPO does not evaluate during training; set the validation split to 0.")
        if not data["val_size"]:
            data["eval_steps"] = None
        if data.get("precision") == "fp32" and booster == "flash_attn2":
            err("booster", "FlashAttention-2 needs bf16 or fp16 precision.")

    def _check_ppo(self, data, err):
        reward = (data.get("reward_model") or "").strip()
        data["reward_model"] = reward or None
        if not reward:
            err("reward_model", "PPO needs a reward model: the output of an rm job (s3:// prefix) or an HF repo id.")
        elif reward.startswith("s3://"):
            try:
                validate_s3_uri(reward)
            except serializers.ValidationError as exc:
                err("reward_model", str(exc.detail[0]))
        elif not _HF_REPO.fullmatch(reward):
            err("reward_model", "Enter an s3:// prefix or a Hugging Face repo id (owner/name).")
        if data["reward_model_type"] == "lora" and data["finetuning_method"] == "full":
            err("reward_model_type", "Full PPO training needs a full reward model (LoRA reward models need LoRA PPO).")

    def _check_rl(self, job_type, data, instance, err):
        reward = data.get("reward_function") or None
        data["reward_function"] = reward
        if reward is None:
            err("reward_function", "The GRPO family needs a reward: choose a built-in one or write custom code.")
        elif reward == "custom":
            code = data.get("reward_code") or ""
            if not code.strip():
                err("reward_code", "Write the reward function, or choose a built-in reward.")
            for problem in check_reward_code(code) if code.strip() else []:
                err("reward_code", problem)
        else:
            data["reward_code"] = None
        if data["format_prompt"] == "custom":
            template = data.get("format_prompt_template") or ""
            if not template.strip():
                err("format_prompt_template", "Write the format prompt, or choose a built-in one.")
            for problem in check_format_prompt(template) if template.strip() else []:
                err("format_prompt_template", problem)
        else:
            data["format_prompt_template"] = None
        if data["num_train_epochs"] != int(data["num_train_epochs"]):
            err("num_train_epochs", "EasyR1 trains whole epochs; enter a whole number.")
        rollout, global_bs = data["rollout_batch_size"], data["global_batch_size"]
        if rollout % global_bs:
            err("rollout_batch_size", f"Must be a multiple of the global batch size ({global_bs}).")
        mini = data.get("mini_rollout_batch_size")
        if mini is not None:
            if mini % global_bs:
                err("mini_rollout_batch_size", f"Must be a multiple of the global batch size ({global_bs}).")
            elif mini > rollout:
                err("mini_rollout_batch_size", f"Must not exceed the rollout batch size ({rollout}).")
        if instance is not None:
            gpus = instance.gpu_count
            tp = data["rollout_tensor_parallel_size"]
            if gpus % tp:
                err("rollout_tensor_parallel_size", f"Must divide the GPUs per instance ({gpus} on {instance.name}).")
            world = gpus * data["instance_count"]
            if (global_bs * data["rollout_n"]) % world:
                err("global_batch_size", f"Global batch size × rollout n must be a multiple of the GPU count ({world}).")
        if data["clip_ratio_high"] <= 0:
            err("clip_ratio_high", "Must be greater than 0.")

    def _check_tracking(self, data, err):
        tracker = data["tracker"]
        if tracker in ("none", "tensorboard"):
            data["tracker_key_ref"] = None
            if tracker == "none":
                data["tracker_project"] = None
            return
        ref = (data.get("tracker_key_ref") or "").strip()
        data["tracker_key_ref"] = ref or None
        if not ref:
            err("tracker_key_ref", f"Choose the stored {tracker} key to use.")
            return
        if not _SECRET_REF.fullmatch(ref) or _looks_like_key(ref):
            err("tracker_key_ref", "Enter the name of a stored secret, not the key itself.")
            return
        known = self.context.get("secret_refs")
        if known is not None and ref not in known:
            err("tracker_key_ref", f"You have no stored secret named {ref!r}.")
        if not (data.get("tracker_project") or "").strip():
            data["tracker_project"] = "modelhub"

    def _check_datasets(self, job_type, ids, err) -> list:
        wanted = list(dict.fromkeys(str(i).strip() for i in ids))
        if job_type in R1 and len(wanted) > 1:
            err("datasets", "The GRPO family trains on one dataset.")
            return wanted
        from apps.catalog.models import Dataset

        if any(not i.isdigit() for i in wanted):
            err("datasets", "Dataset ids are numbers.")
            return wanted
        user = self._user()
        found = {
            str(ds.pk): ds.pk
            for ds in Dataset.objects.usable_by(user).compatible_with(job_type).filter(pk__in=wanted)
        }
        missing = [i for i in wanted if i not in found]
        if missing:
            visible = set(
                str(pk) for pk in Dataset.objects.usable_by(user).filter(pk__in=missing).values_list("pk", flat=True)
            )
            for i in missing:
                if i in visible:
                    err("datasets", f"Dataset {i} does not suit a {job_type} job.")
                else:
                    err("datasets", f"Dataset {i} does not exist, is not ready, or is not yours.")
        return [found[i] for i in wanted if i in found]


SECTIONS_FIELDS = frozenset(f for section in SECTIONS.values() for f in section)


def _looks_like_key(value: str) -> bool:
    return bool(re.fullmatch(r"[0-9a-f]{40}", value)) or (len(value) >= 32 and not re.search(r"[-_.:]", value))

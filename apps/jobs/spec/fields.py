"""The spec's vocabulary: choices, which fields each job type uses, form sections, per-type defaults."""

from typing import Any

from django.utils.translation import gettext_noop

from apps.core.job_types import EASYR1_TYPES, LLAMAFACTORY_TYPES, JobType

ALL_TYPES = frozenset(JobType.values)
LF = frozenset(str(t) for t in LLAMAFACTORY_TYPES)
R1 = frozenset(str(t) for t in EASYR1_TYPES)
PREFERENCE_TYPES = frozenset({"dpo", "kto"})

# freeze: LLaMA-Factory's partial-parameter tuning (the last/first N layers). OFT (finetuning_type oft, which
# 0.9.4 has) is not offered yet: the merge step and the deploy path know LoRA adapters and full models only.
METHODS = ("lora", "qlora", "freeze", "full")
ADAPTER_METHODS = frozenset({"lora", "qlora"})
R1_METHODS = ("lora", "full")
ROPE_SCALINGS = ("linear", "dynamic", "yarn", "llama3")  # 0.9.4 extras/constants.RopeScaling
PRECISIONS = ("bf16", "fp16", "fp32")
# Boosters and trackers the training images install (LLAMAFACTORY / EASYR1 IMAGE_PACKAGES). Unsloth is not
# offered: it pins its own torch/xformers builds, which the LLaMA-Factory 0.9.4 image cannot take pinned.
BOOSTERS = ("none", "flash_attn2", "liger")
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
EASYR1_LOSS_TYPES = ("default", "gspo", "gspo_token", "cispo")
# LLaMA-Factory 0.9.4 (hparams/parser.py) resets resume_from_checkpoint for rm/ppo full and freeze runs
# ("Cannot resume from checkpoint in current stage.") and its PPO trainer raises on any resume.
NOT_RESUMABLE = {"ppo": ("lora", "qlora", "freeze", "full"), "rm": ("freeze", "full")}
MAX_SAGEMAKER_ENV_VALUE = 512  # CreateTrainingJob Environment values (the resume URI travels there)

MAX_RUN_HOURS = 28 * 24  # SageMaker's MaxRuntimeInSeconds ceiling
MAX_CUSTOM_CODE_CHARS = 64_000
OLD_GPUS = frozenset({"K80", "T4", "V100"})  # no bf16, no FlashAttention-2

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
    **{name: LF for name in (
        "freeze_trainable_layers", "freeze_trainable_modules", "freeze_extra_modules", "use_dora", "use_rslora",
        "pissa_init", "pissa_iter", "loraplus_lr_ratio", "use_galore", "galore_target", "galore_rank",
        "galore_update_interval", "galore_scale", "use_apollo", "apollo_target", "apollo_rank",
        "apollo_update_interval", "apollo_scale", "use_badam", "badam_switch_mode", "badam_switch_interval",
        "rope_scaling",
    )},
    "neftune_noise_alpha": LF - {"ppo"},  # LLaMA-Factory's PPO trainer does not run HF Trainer's NEFTune hook
    "packing": frozenset({"sft", "pt"}),  # only the supervised and pre-training processors pack
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
LORA_FIELDS = ("lora_rank", "lora_alpha", "lora_dropout", "lora_target", "use_dora", "use_rslora", "pissa_init",
               "pissa_iter", "loraplus_lr_ratio")
FREEZE_FIELDS = ("freeze_trainable_layers", "freeze_trainable_modules", "freeze_extra_modules")
# The memory-saving optimizers, each with its settings (LLaMA-Factory's GaloreArguments, ApolloArguments,
# BAdamArgument); the settings are kept only when their switch is on.
OPTIMIZER_SWITCHES = {
    "use_galore": ("galore_target", "galore_rank", "galore_update_interval", "galore_scale"),
    "use_apollo": ("apollo_target", "apollo_rank", "apollo_update_interval", "apollo_scale"),
    "use_badam": ("badam_switch_mode", "badam_switch_interval"),
}

# Form sections, in order (the form renders one card per section and hides fields that do not apply).
SECTIONS: dict[str, tuple[str, ...]] = {  # titles marked for translation; the form shows them translated
    gettext_noop("Model and data"): ("job_type", "base_model", "hf_token_ref", "trust_remote_code", "datasets",
                                     "template", "cutoff_len", "max_samples", "val_size"),
    gettext_noop("Method"): ("finetuning_method", "quantization_bit", "lora_rank", "lora_alpha", "lora_dropout",
                             "lora_target", "use_dora", "use_rslora", "pissa_init", "pissa_iter", "loraplus_lr_ratio",
                             *FREEZE_FIELDS),
    gettext_noop("Memory-saving optimizers"): tuple(
        f for switch, settings in OPTIMIZER_SWITCHES.items() for f in (switch, *settings)
    ),
    gettext_noop("Hyper-parameters"): (
        "learning_rate", "num_train_epochs", "max_steps", "per_device_train_batch_size",
        "gradient_accumulation_steps", "warmup_ratio", "lr_scheduler_type", "optimizer", "weight_decay",
        "max_grad_norm", "precision", "deepspeed_stage", "offload", "booster", "logging_steps", "save_steps",
        "eval_steps", "save_total_limit", "neftune_noise_alpha", "packing", "rope_scaling",
    ),
    gettext_noop("Preference"): ("pref_beta", "pref_loss", "pref_ftx", "kto_chosen_weight", "kto_rejected_weight"),
    gettext_noop("PPO"): ("reward_model", "reward_model_type", "ppo_epochs", "ppo_max_new_tokens"),
    gettext_noop("Reinforcement learning (GRPO family)"): (
        "reward_function", "reward_code", "format_prompt", "format_prompt_template", "rollout_n",
        "rollout_batch_size", "mini_rollout_batch_size", "global_batch_size",
        "micro_batch_size_per_device_for_update", "micro_batch_size_per_device_for_experience",
        "max_prompt_length", "max_response_length", "rollout_temperature", "val_temperature",
        "rollout_tensor_parallel_size", "clip_ratio_low", "clip_ratio_high", "clip_ratio_dual", "loss_type",
        "loss_avg_mode", "disable_kl", "kl_coef", "kl_penalty", "online_filtering",
    ),
    gettext_noop("Compute"): (
        "instance_type", "instance_count", "use_spot", "max_wait_hours", "max_run_hours", "volume_size_gb",
        "resume_from_checkpoint", "training_plan_arn",
    ),
    gettext_noop("Tracking"): ("tracker", "tracker_project", "tracker_key_ref"),
}


def applies(field: str, job_type: str) -> bool:
    return job_type in APPLIES_TO.get(field, ALL_TYPES)


def fields_for(job_type: str) -> list[str]:
    """The spec fields a job of `job_type` uses, in form order."""
    return [f for section in SECTIONS.values() for f in section if applies(f, job_type)]


# Defaults ------------------------------------------------------------------------------------------

_COMMON_DEFAULTS: dict[str, Any] = {
    "template": None, "finetuning_method": "lora", "quantization_bit": 4,
    "lora_rank": 8, "lora_alpha": 16, "lora_dropout": 0.0, "lora_target": "all",
    "cutoff_len": 2048, "max_samples": None, "val_size": 0.0,
    "per_device_train_batch_size": 2, "gradient_accumulation_steps": 4, "learning_rate": 1e-4,
    "num_train_epochs": 3.0, "max_steps": None, "warmup_ratio": 0.1, "lr_scheduler_type": "cosine",
    "optimizer": "adamw_torch", "weight_decay": 0.0, "max_grad_norm": 1.0, "precision": None,  # None: follows the GPU (gpu_precision)
    "deepspeed_stage": None, "offload": False, "booster": "none",
    "logging_steps": 10, "save_steps": 500, "eval_steps": None, "save_total_limit": 3,
    "instance_type": "ml.g5.2xlarge", "instance_count": 1, "use_spot": False, "max_wait_hours": None,
    "max_run_hours": 24.0, "volume_size_gb": 200, "resume_from_checkpoint": None,
    "training_plan_arn": None,
    "tracker": "none", "tracker_project": "modelhub", "tracker_key_ref": None, "hf_token_ref": None,
    "trust_remote_code": False,
    # LLaMA-Factory 0.9.4's own defaults (hparams/finetuning_args.py, data_args.py, model_args.py)
    "freeze_trainable_layers": 2, "freeze_trainable_modules": "all", "freeze_extra_modules": None,
    "use_dora": False, "use_rslora": False, "pissa_init": False, "pissa_iter": 16, "loraplus_lr_ratio": None,
    "use_galore": False, "galore_target": "all", "galore_rank": 16, "galore_update_interval": 200, "galore_scale": 2.0,
    "use_apollo": False, "apollo_target": "all", "apollo_rank": 16, "apollo_update_interval": 200, "apollo_scale": 32.0,
    "use_badam": False, "badam_switch_mode": "ascending", "badam_switch_interval": 50,
    "neftune_noise_alpha": None, "packing": False, "rope_scaling": None,
}
_PER_TYPE_DEFAULTS: dict[str, dict[str, Any]] = {
    "sft": {},
    "pt": {"packing": True},  # LLaMA-Factory packs pre-training data unless told otherwise
    "rm": {},
    "dpo": {"learning_rate": 5e-6, "pref_beta": 0.1, "pref_loss": "sigmoid", "pref_ftx": 0.0},
    "kto": {"learning_rate": 5e-6, "pref_beta": 0.1, "pref_ftx": 0.0, "kto_chosen_weight": 1.0,
            "kto_rejected_weight": 1.0},
    "ppo": {"learning_rate": 1e-5, "num_train_epochs": 1.0, "reward_model_type": "lora", "ppo_epochs": 4,
            "ppo_max_new_tokens": 512},
}
_R1_DEFAULTS: dict[str, Any] = {
    "finetuning_method": "full", "lora_rank": 64, "lora_alpha": 64, "learning_rate": 1e-6, "num_train_epochs": 1.0,
    "warmup_ratio": 0.0, "precision": "bf16",
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
MUST_CHOOSE = {"ppo": ("reward_model",)}


def gpu_precision(gpu_name: str | None) -> str:
    """The default precision on a GPU: bf16, or fp16 where the GPU has no bf16 (T4, V100, K80)."""
    return "fp16" if gpu_name in OLD_GPUS else "bf16"


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


# Optional fields accept null. For the fields below null is a value ("no maximum", "no DeepSpeed",
# "2 × rank", ...); for every other field null means "the job type's default".
NULL_IS_A_VALUE = frozenset({
    "template", "quantization_bit", "lora_alpha", "max_samples", "max_steps", "eval_steps", "save_total_limit",
    "deepspeed_stage", "mini_rollout_batch_size", "max_wait_hours", "reward_model", "reward_function",
    "reward_code", "format_prompt_template", "resume_from_checkpoint", "training_plan_arn", "tracker_project", "tracker_key_ref", "hf_token_ref",
    "freeze_extra_modules", "loraplus_lr_ratio", "neftune_noise_alpha", "rope_scaling",
})

SECTIONS_FIELDS = frozenset(f for section in SECTIONS.values() for f in section)

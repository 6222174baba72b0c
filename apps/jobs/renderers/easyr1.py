"""TrainingSpec -> EasyR1 config (grpo, dapo, gspo, cispo).

Rendered as one YAML file passed as `config=<file>`: `verl.trainer.main` merges it over the PPOConfig
defaults, so it holds exactly our overrides. The per-algorithm settings follow the upstream
examples (docs/training-configs.md); the spec's per-type defaults carry them, so a user can
still tune every value. The entry point adds `trainer.load_checkpoint_path=...` when it resumes.
"""

from __future__ import annotations

from .context import JobContext
from .llamafactory import model_path
from .yamlio import dump

ADV_ESTIMATOR = "grpo"  # dapo, gspo and cispo are GRPO with different losses, clips and filtering
CUSTOM_REWARD_FILE = "reward_function.py"
CUSTOM_FORMAT_PROMPT_FILE = "format_prompt.jinja"
KEEP_ALL = -1  # trainer.save_limit: -1 keeps every checkpoint


def reward_function_path(spec, ctx: JobContext) -> str:
    if spec.reward_function == "custom":
        return f"{ctx.config_dir}/{CUSTOM_REWARD_FILE}:compute_score"
    return f"{ctx.easyr1_root}/examples/reward_function/{spec.reward_function}.py:compute_score"


def format_prompt_path(spec, ctx: JobContext) -> str | None:
    if spec.format_prompt in (None, "none"):
        return None
    if spec.format_prompt == "custom":
        return f"{ctx.config_dir}/{CUSTOM_FORMAT_PROMPT_FILE}"
    return f"{ctx.easyr1_root}/examples/format_prompt/{spec.format_prompt}.jinja"


def lora_target_modules(target: str) -> str:
    """EasyR1's lora.target_modules: "all-linear" or a comma list of module names."""
    modules = [m for m in (target or "all").split(",") if m]
    return "all-linear" if modules == ["all"] else ",".join(modules)


def save_checkpoint_path(ctx: JobContext) -> str:
    return f"{ctx.checkpoint_dir}/easyr1"


def config(spec, ctx: JobContext) -> dict:
    ref = ctx.datasets[0] if ctx.datasets else None
    data_files = (ref.easyr1 if ref and ref.easyr1 else {}) or {}
    data = {
        "train_files": data_files.get("train_files", ""),
        "val_files": data_files.get("val_files", data_files.get("train_files", "")),
        "prompt_key": data_files.get("prompt_key", "problem"),
        "answer_key": data_files.get("answer_key", "answer"),
        "max_prompt_length": spec.max_prompt_length,
        "max_response_length": spec.max_response_length,
        "rollout_batch_size": spec.rollout_batch_size,
        "mini_rollout_batch_size": spec.mini_rollout_batch_size,
        "format_prompt": format_prompt_path(spec, ctx),
        "shuffle": True,
        "seed": 1,
        "filter_overlong_prompts": True,
    }
    algorithm = {
        "adv_estimator": ADV_ESTIMATOR,
        "disable_kl": spec.disable_kl,
        "use_kl_loss": not spec.disable_kl,
        "kl_penalty": spec.kl_penalty,
        "kl_coef": spec.kl_coef,
        "online_filtering": spec.online_filtering,
    }
    if spec.online_filtering:
        algorithm.update(filter_key="accuracy_normalized" if spec.reward_function == "dapo" else "overall",
                         filter_low=0.01, filter_high=0.99)
    actor = {
        "global_batch_size": spec.global_batch_size,
        "micro_batch_size_per_device_for_update": spec.micro_batch_size_per_device_for_update,
        "micro_batch_size_per_device_for_experience": spec.micro_batch_size_per_device_for_experience,
        "max_grad_norm": spec.max_grad_norm,
        "clip_ratio_low": spec.clip_ratio_low,
        "clip_ratio_high": spec.clip_ratio_high,
        "clip_ratio_dual": spec.clip_ratio_dual,
        "loss_avg_mode": spec.loss_avg_mode,
        "loss_type": spec.loss_type,
        "model": {
            "model_path": model_path(spec, ctx),
            "enable_gradient_checkpointing": True,
            "trust_remote_code": spec.trust_remote_code,
            "lora": {
                "rank": spec.lora_rank if spec.uses_lora else 0,
                "alpha": spec.effective_lora_alpha if spec.uses_lora else 64,
                "target_modules": lora_target_modules(spec.lora_target) if spec.uses_lora else "all-linear",
            },
        },
        "optim": {
            "lr": spec.learning_rate,
            "weight_decay": spec.weight_decay,
            "strategy": "adamw",
            "lr_warmup_ratio": spec.warmup_ratio,
        },
        "fsdp": {"enable_full_shard": True, "enable_cpu_offload": False},
        "offload": {"offload_params": bool(spec.offload), "offload_optimizer": bool(spec.offload)},
    }
    rollout = {
        "n": spec.rollout_n,
        "temperature": spec.rollout_temperature,
        "tensor_parallel_size": spec.rollout_tensor_parallel_size,
        "val_override_config": {"temperature": spec.val_temperature, "n": 1},
    }
    reward = {"reward_function": reward_function_path(spec, ctx)}
    if spec.reward_function == "dapo":
        reward["reward_function_kwargs"] = {
            "max_response_length": spec.max_response_length,
            "overlong_buffer_length": max(1, spec.max_response_length // 4),
            "overlong_penalty_factor": 1.0,
        }
    loggers = ["console", "file"]
    if spec.tracker in ("wandb", "swanlab", "tensorboard"):
        loggers.append(spec.tracker)
    validate = spec.eval_steps is not None
    trainer = {
        "total_epochs": int(spec.num_train_epochs),
        "max_steps": spec.max_steps,
        "project_name": spec.tracker_project or "modelhub",
        "experiment_name": ctx.job_name,
        "logger": loggers,
        "nnodes": spec.instance_count,
        "n_gpus_per_node": spec.gpus_per_node,
        "val_freq": spec.eval_steps if validate else -1,
        "val_before_train": validate,
        "save_freq": spec.save_steps,
        "save_limit": spec.save_total_limit or KEEP_ALL,
        "save_checkpoint_path": save_checkpoint_path(ctx),
        "find_last_checkpoint": False,  # the entry point picks the newest *complete* checkpoint itself
    }
    return {
        "data": data,
        "algorithm": algorithm,
        "worker": {"actor": actor, "rollout": rollout, "reward": reward},
        "trainer": trainer,
    }


def render_config_yaml(spec, ctx: JobContext) -> str:
    return dump(config(spec, ctx))

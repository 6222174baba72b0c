"""TrainingSpec -> TRL GRPOTrainer config (the local target's runner for grpo, dapo, gspo, cispo).

EasyR1 needs GPUs, Ray and vLLM, so the local target trains the GRPO family with TRL's GRPOTrainer
(apps/backends/local/grpo.py), from this config rendered from the same spec and context as
easyr1.yaml, with the same built-in rewards and format prompts. The config holds container paths,
like every file of the bundle; the local runner mounts the job folder there.

How EasyR1's options map (`local_unsupported` reports the rest as field errors, never drops them):

| spec (EasyR1)                                   | TRL GRPOConfig                                        |
|-------------------------------------------------|-------------------------------------------------------|
| rollout_n, rollout_temperature                  | num_generations, temperature                          |
| max_prompt_length, max_response_length          | max_prompt_length, max_completion_length              |
| micro_batch_size_per_device_for_update x n      | per_device_train_batch_size (completions)             |
| global_batch_size / micro batch                 | gradient_accumulation_steps                           |
| rollout_batch_size / global_batch_size          | steps_per_generation                                  |
| kl_coef (0 when disable_kl)                     | beta (TRL's KL estimator is k3 = low_var_kl)          |
| clip_ratio_low, clip_ratio_high, clip_ratio_dual| epsilon, epsilon_high, delta (dual clip caps r·A<0)   |
| loss_avg_mode token / seq                       | loss_type dapo (token mean) / grpo (sequence mean)    |
| loss_type gspo, gspo_token                      | importance_sampling_level sequence                    |
| eval_steps (validation on the val split)        | eval_strategy steps, eval_steps                       |
| lora_rank, lora_alpha, lora_target              | peft LoraConfig                                       |
| offload, micro_batch_size_per_device_for_experience | none needed: one process, log-probs in the update batch |
"""

from __future__ import annotations

from .context import JobContext
from .easyr1 import CUSTOM_FORMAT_PROMPT_FILE, CUSTOM_REWARD_FILE, save_checkpoint_path
from .llamafactory import model_path
from .yamlio import dump

TRL_YAML = "trl.yaml"
TRAINER_LOG = "experiment_log.jsonl"  # where the job app reads the GRPO family's log (bundle.trainer_log_key)
HUGGINGFACE_DIR = "huggingface/"
SUPPORTED_KL_PENALTY = "low_var_kl"
PPO_UNSUPPORTED = ("PPO in LLaMA-Factory 0.9.4 needs TRL 0.9.6 or older, which has no GRPO trainer; the local ML "
                   "environment has TRL 0.24 for the GRPO family. Train PPO on SageMaker.")


def _reward(spec, ctx: JobContext) -> dict:
    if spec.reward_function == "custom":
        reward = {"name": "custom", "path": f"{ctx.config_dir}/{CUSTOM_REWARD_FILE}"}
    else:
        reward = {"name": spec.reward_function}
    if spec.reward_function == "dapo":
        reward["kwargs"] = {"max_response_length": spec.max_response_length,
                            "overlong_buffer_length": max(1, spec.max_response_length // 4),
                            "overlong_penalty_factor": 1.0}
    return reward


def _format_prompt(spec, ctx: JobContext) -> dict | None:
    if spec.format_prompt in (None, "none"):
        return None
    if spec.format_prompt == "custom":
        return {"name": "custom", "path": f"{ctx.config_dir}/{CUSTOM_FORMAT_PROMPT_FILE}"}
    return {"name": spec.format_prompt}


def grpo_args(spec, ctx: JobContext) -> dict:
    n = spec.rollout_n
    micro = spec.micro_batch_size_per_device_for_update
    args = {
        "run_name": ctx.job_name,
        "output_dir": save_checkpoint_path(ctx),
        "learning_rate": spec.learning_rate,
        "weight_decay": spec.weight_decay,
        "warmup_ratio": spec.warmup_ratio,
        "lr_scheduler_type": "constant_with_warmup",  # EasyR1's actor schedule
        "max_grad_norm": spec.max_grad_norm,
        "num_train_epochs": spec.num_train_epochs,
        "max_steps": spec.max_steps if spec.max_steps else -1,
        "num_generations": n,
        "temperature": spec.rollout_temperature,
        "max_prompt_length": spec.max_prompt_length,
        "max_completion_length": spec.max_response_length,
        "per_device_train_batch_size": micro * n,
        "gradient_accumulation_steps": max(1, spec.global_batch_size // micro),
        "steps_per_generation": max(1, spec.rollout_batch_size // spec.global_batch_size)
        * max(1, spec.global_batch_size // micro),
        "num_iterations": 1,
        "beta": 0.0 if spec.disable_kl else spec.kl_coef,
        "epsilon": spec.clip_ratio_low,
        "epsilon_high": spec.clip_ratio_high,
        "delta": spec.clip_ratio_dual,
        "loss_type": "grpo" if spec.loss_avg_mode == "seq" else "dapo",
        "importance_sampling_level": "sequence" if spec.loss_type in ("gspo", "gspo_token") else "token",
        "logging_steps": 1,
        "save_strategy": "steps",
        "save_steps": spec.save_steps,
        "save_total_limit": spec.save_total_limit or 3,
        "seed": 1,
        "shuffle_dataset": True,
        "report_to": [spec.tracker] if spec.tracker in ("wandb", "swanlab", "tensorboard") else [],
    }
    if spec.eval_steps:
        args.update(eval_strategy="steps", eval_steps=spec.eval_steps)
    return args


def config(spec, ctx: JobContext) -> dict:
    ref = ctx.datasets[0] if ctx.datasets else None
    data = (ref.easyr1 if ref and ref.easyr1 else {}) or {}
    lora = None
    if spec.uses_lora:
        modules = [m for m in (spec.lora_target or "all").split(",") if m]
        lora = {"rank": spec.lora_rank, "alpha": spec.effective_lora_alpha,
                "target_modules": "all-linear" if modules == ["all"] else modules}
    return {
        "model_path": model_path(spec, ctx),
        "data": {
            "train_files": data.get("train_files", ""),
            "val_files": data.get("val_files", data.get("train_files", "")),
            "prompt_key": data.get("prompt_key", "problem"),
            "answer_key": data.get("answer_key", "answer"),
        },
        "format_prompt": _format_prompt(spec, ctx),
        "reward": _reward(spec, ctx),
        "lora": lora,
        "grpo": grpo_args(spec, ctx),
        "trainer_log": f"{save_checkpoint_path(ctx)}/{TRAINER_LOG}",
        "export_dir": ctx.uri(HUGGINGFACE_DIR) or f"{ctx.checkpoint_dir}/huggingface",
    }


def render_trl_yaml(spec, ctx: JobContext) -> str:
    return dump(config(spec, ctx))


LOCAL_HELP = ("This machine trains the GRPO family (grpo, dapo, gspo) with TRL's GRPOTrainer instead of EasyR1, "
              "which needs GPUs, Ray and vLLM: rollout n and temperature become num_generations and temperature, "
              "the global and rollout batches become gradient accumulation and steps per generation, the KL "
              "coefficient becomes beta (estimated as low_var_kl), the clip ratios become epsilon, epsilon_high and "
              "delta, token or sequence loss averaging becomes TRL's dapo or grpo loss, GSPO becomes sequence-level "
              "importance sampling, and validation uses the rollout temperature. Options with no TRL counterpart "
              "(online filtering, other KL estimators, CISPO, PPO, QLoRA, DeepSpeed, boosters, trackers, several "
              "instances, s3:// models) are refused with the reason.")
R1_TYPES = frozenset({"grpo", "dapo", "gspo", "cispo"})


def local_defaults(job_type: str, data, defaults) -> dict:
    """Values for the fields a request leaves out whose spec default (`defaults`, the job type's) the local
    target refuses, so that a job with every default validates and runs here: DAPO without online
    filtering, validation at the rollout temperature."""
    if job_type not in R1_TYPES:
        return {}
    chosen = {}
    if "online_filtering" not in data:
        chosen["online_filtering"] = False
    if "mini_rollout_batch_size" not in data:
        chosen["mini_rollout_batch_size"] = None
    if "val_temperature" not in data:
        chosen["val_temperature"] = data.get("rollout_temperature", defaults.get("rollout_temperature"))
    return chosen


def local_unsupported(spec) -> dict[str, str]:
    """{field: message} for every option the local target cannot honour (pure; the form shows them
    as field errors when the target is local)."""
    errors: dict[str, str] = {}
    if spec.job_type == "ppo":
        errors["job_type"] = PPO_UNSUPPORTED
    if spec.instance_count > 1:
        errors["instance_count"] = "The local target trains on this one machine: use 1 instance."
    if spec.base_model_source == "s3":
        errors["base_model"] = "The local target cannot read an s3:// model: choose a catalog model stored on this machine."
    if spec.resume_from_checkpoint:
        errors["resume_from_checkpoint"] = "Resuming from an S3 checkpoint is not available on the local target."
    if spec.tracker != "none":
        errors["tracker"] = "Experiment trackers are not installed in the local ML environment: choose none."
    if spec.finetuning_method == "qlora":
        errors["finetuning_method"] = "QLoRA needs bitsandbytes and a GPU, which the local ML environment lacks: use lora."
    if spec.deepspeed_stage is not None:
        errors["deepspeed_stage"] = "DeepSpeed is not installed in the local ML environment: leave it empty."
    if spec.booster not in (None, "none"):
        errors["booster"] = f"The {spec.booster} booster is not installed in the local ML environment: choose none."
    if (spec.reward_model or "").startswith("s3://"):
        errors["reward_model"] = "The local target cannot read an s3:// reward model: use a local job's output folder."
    if spec.tool != "easyr1":
        return errors
    if spec.loss_type == "cispo":
        errors["loss_type"] = ("The CISPO loss needs TRL 0.25 or later; the local ML environment has TRL 0.24 "
                               "(the newest LLaMA-Factory 0.9.4 accepts).")
    if spec.online_filtering:
        errors["online_filtering"] = "TRL has no online filtering (DAPO dynamic sampling): turn it off for the local target."
    if spec.mini_rollout_batch_size:
        errors["mini_rollout_batch_size"] = "Mini rollout batches belong to online filtering, which TRL lacks: leave it empty."
    if not spec.disable_kl and spec.kl_penalty != SUPPORTED_KL_PENALTY:
        errors["kl_penalty"] = f"TRL estimates the KL as {SUPPORTED_KL_PENALTY} (k3) only."
    if spec.global_batch_size % spec.micro_batch_size_per_device_for_update:
        errors["global_batch_size"] = "Locally the global batch must be a multiple of the micro batch for update."
    if spec.rollout_batch_size % spec.global_batch_size:
        errors["rollout_batch_size"] = "Locally the rollout batch must be a multiple of the global batch."
    if spec.eval_steps and spec.val_temperature != spec.rollout_temperature:
        errors["val_temperature"] = ("TRL validates with the rollout temperature: set the validation temperature "
                                     "equal to it, or turn validation off (empty eval steps).")
    return errors

"""TrainingSpec -> LLaMA-Factory training YAML (stages sft, pt, ppo, dpo, kto, rm).

One complete YAML per job (easier to store, diff and replay than override lists); the entry point
adds only `resume_from_checkpoint=<dir>` on the command line when it resumes.
"""

from __future__ import annotations

from . import llamafactory_schema as schema
from .context import JobContext
from .yamlio import dump

PRECISION_KEYS = {"bf16": {"bf16": True}, "fp16": {"fp16": True}, "fp32": {}}
BOOSTER_KEYS = {
    "none": {"flash_attn": "auto"},
    "flash_attn2": {"flash_attn": "fa2"},
    "liger": {"enable_liger_kernel": True},
}
PPO_GENERATION = {"top_k": 0, "top_p": 0.9}
FINETUNING_TYPES = {"lora": "lora", "qlora": "lora", "freeze": "freeze", "full": "full"}
# Memory-saving optimizers: the switch and the settings rendered with it (BAdam always layer-wise, the one
# mode LLaMA-Factory 0.9.4 runs under torchrun).
OPTIMIZER_KEYS = {
    "use_galore": ("galore_target", "galore_rank", "galore_update_interval", "galore_scale"),
    "use_apollo": ("apollo_target", "apollo_rank", "apollo_update_interval", "apollo_scale"),
    "use_badam": ("badam_mode", "badam_switch_mode", "badam_switch_interval"),
}


def model_path(spec, ctx: JobContext) -> str:
    """What `model_name_or_path` points at: the synced S3 copy, or the Hugging Face repo id."""
    return ctx.model_dir if spec.base_model_source == "s3" else spec.base_model_uri


def reward_model_path(spec, ctx: JobContext) -> str:
    return ctx.reward_model_dir if (spec.reward_model or "").startswith("s3://") else spec.reward_model


def deepspeed_config_path(spec, ctx: JobContext) -> str | None:
    if spec.deepspeed_stage is None:
        return None
    name = schema.DEEPSPEED_CONFIGS[(spec.deepspeed_stage, bool(spec.offload))]
    return f"{ctx.llamafactory_root}/examples/deepspeed/{name}"


def train_config(spec, ctx: JobContext) -> dict:
    """The training arguments as a dict, in the order LLaMA-Factory's examples use."""
    c: dict = {"model_name_or_path": model_path(spec, ctx), "trust_remote_code": spec.trust_remote_code}
    if spec.finetuning_method == "qlora":
        c.update(quantization_bit=spec.quantization_bit, quantization_method="bnb")
    c.update(BOOSTER_KEYS[spec.booster or "none"])
    if spec.rope_scaling:
        c["rope_scaling"] = spec.rope_scaling

    c.update(stage=spec.job_type, do_train=True, finetuning_type=FINETUNING_TYPES[spec.finetuning_method])
    if spec.uses_lora:
        c.update(lora_rank=spec.lora_rank, lora_alpha=spec.effective_lora_alpha, lora_dropout=spec.lora_dropout,
                 lora_target=spec.lora_target)
        c.update(_lora_variants(spec))
    if spec.finetuning_method == "freeze":
        c.update(freeze_trainable_layers=spec.freeze_trainable_layers,
                 freeze_trainable_modules=spec.freeze_trainable_modules)
        if spec.freeze_extra_modules:
            c["freeze_extra_modules"] = spec.freeze_extra_modules
    c.update(_optimizer(spec))
    if spec.job_type == "dpo":
        c.update(pref_beta=spec.pref_beta, pref_loss=spec.pref_loss, pref_ftx=spec.pref_ftx)
    elif spec.job_type == "kto":
        c.update(pref_beta=spec.pref_beta, pref_ftx=spec.pref_ftx, kto_chosen_weight=spec.kto_chosen_weight,
                 kto_rejected_weight=spec.kto_rejected_weight)
    elif spec.job_type == "ppo":
        c.update(reward_model=reward_model_path(spec, ctx), reward_model_type=spec.reward_model_type,
                 ppo_epochs=spec.ppo_epochs, max_new_tokens=spec.ppo_max_new_tokens, **PPO_GENERATION)
    deepspeed = deepspeed_config_path(spec, ctx)
    if deepspeed:
        c["deepspeed"] = deepspeed

    c["dataset"] = ",".join(ref.name for ref in ctx.datasets)
    c["dataset_dir"] = ctx.data_dir
    if spec.template and spec.job_type != "pt":
        c["template"] = spec.template
    c["cutoff_len"] = spec.cutoff_len
    if spec.max_samples:
        c["max_samples"] = spec.max_samples
    if spec.packing is not None and spec.packing != (spec.job_type == "pt"):  # LLaMA-Factory: packs pt only
        c["packing"] = spec.packing
    c.update(overwrite_cache=True, preprocessing_num_workers=16, dataloader_num_workers=4)

    c.update(output_dir=ctx.output_dir, logging_steps=spec.logging_steps, save_steps=spec.save_steps)
    if spec.save_total_limit:
        c["save_total_limit"] = spec.save_total_limit
    c.update(plot_loss=True, overwrite_output_dir=False, save_only_model=False)
    c.update(_tracking(spec, ctx))

    c.update(per_device_train_batch_size=spec.per_device_train_batch_size,
             gradient_accumulation_steps=spec.gradient_accumulation_steps, learning_rate=spec.learning_rate,
             num_train_epochs=spec.num_train_epochs)
    if spec.max_steps:
        c["max_steps"] = spec.max_steps
    c.update(lr_scheduler_type=spec.lr_scheduler_type, warmup_ratio=spec.warmup_ratio,
             weight_decay=spec.weight_decay, max_grad_norm=spec.max_grad_norm, optim=spec.optimizer)
    c.update(PRECISION_KEYS[spec.precision])
    c["ddp_timeout"] = 180000000
    if spec.neftune_noise_alpha:
        c["neftune_noise_alpha"] = spec.neftune_noise_alpha

    if spec.val_size:
        c.update(val_size=spec.val_size, per_device_eval_batch_size=spec.per_device_train_batch_size,
                 eval_strategy="steps", eval_steps=spec.eval_steps or spec.save_steps)
    return c


def _lora_variants(spec) -> dict:
    """DoRA, rsLoRA, PiSSA and LoRA+, only when chosen (LLaMA-Factory's defaults are off)."""
    c: dict = {}
    if spec.use_dora:
        c["use_dora"] = True
    if spec.use_rslora:
        c["use_rslora"] = True
    if spec.pissa_init:
        # pissa_convert: save the adapter as plain LoRA, so the merge step can add it to the original base
        # (a PiSSA adapter only fits the residual base it was trained on).
        c.update(pissa_init=True, pissa_iter=spec.pissa_iter, pissa_convert=True)
    if spec.loraplus_lr_ratio:
        c["loraplus_lr_ratio"] = spec.loraplus_lr_ratio
    return c


def _optimizer(spec) -> dict:
    for switch, keys in OPTIMIZER_KEYS.items():
        if getattr(spec, switch, None):
            values = {key: "layer" if key == "badam_mode" else getattr(spec, key) for key in keys}
            return {switch: True, **values}
    return {}


def _tracking(spec, ctx: JobContext) -> dict:
    """Tracker settings; keys come from the container environment (WANDB_API_KEY / SWANLAB_API_KEY), never the YAML."""
    if spec.tracker == "wandb":
        return {"report_to": "wandb", "run_name": ctx.job_name}
    if spec.tracker == "swanlab":
        return {"report_to": "none", "use_swanlab": True, "swanlab_project": spec.tracker_project,
                "swanlab_run_name": ctx.job_name}
    if spec.tracker == "tensorboard":
        return {"report_to": "tensorboard", "run_name": ctx.job_name}
    return {"report_to": "none"}


def render_train_yaml(spec, ctx: JobContext) -> str:
    return dump(train_config(spec, ctx))

"""TrainingSpec: the frozen, validated description of a training run (stored as JSON on the job)."""

from __future__ import annotations

import dataclasses

from apps.catalog import instances
from apps.core.job_types import JobType, tool_for

from .fields import gpu_precision


@dataclasses.dataclass(frozen=True)
class TrainingSpec:
    job_type: str
    base_model: str  # what the user entered: a catalog key, an HF repo id or an s3:// prefix
    base_model_source: str  # "catalog" | "hf" | "s3"
    base_model_uri: str  # the HF repo id or s3:// prefix the run loads
    trust_remote_code: bool = False  # run the model repo's own Python (needs a group that allows it)
    datasets: tuple = ()  # catalog Dataset primary keys, in order
    template: str | None = None
    finetuning_method: str = "lora"
    quantization_bit: int | None = None
    lora_rank: int | None = None
    lora_alpha: int | None = None
    lora_dropout: float | None = None
    lora_target: str | None = None
    use_dora: bool | None = None
    use_rslora: bool | None = None
    pissa_init: bool | None = None
    pissa_iter: int | None = None
    loraplus_lr_ratio: float | None = None
    freeze_trainable_layers: int | None = None
    freeze_trainable_modules: str | None = None
    freeze_extra_modules: str | None = None
    use_galore: bool | None = None
    galore_target: str | None = None
    galore_rank: int | None = None
    galore_update_interval: int | None = None
    galore_scale: float | None = None
    use_apollo: bool | None = None
    apollo_target: str | None = None
    apollo_rank: int | None = None
    apollo_update_interval: int | None = None
    apollo_scale: float | None = None
    use_badam: bool | None = None
    badam_switch_mode: str | None = None
    badam_switch_interval: int | None = None
    neftune_noise_alpha: float | None = None
    packing: bool | None = None
    rope_scaling: str | None = None
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
    training_plan_arn: str | None = None  # a SageMaker training plan's reserved capacity
    tracker: str = "none"
    tracker_project: str | None = None
    tracker_key_ref: str | None = None  # the name of the user's stored secret, never the key itself
    hf_token_ref: str | None = None  # the name of the user's stored Hugging Face token (gated models)
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
        if values.get("precision") is None:  # "follows the GPU": what validation resolves it to
            instance = instances.get(values.get("instance_type", ""))
            values["precision"] = gpu_precision(instance.gpu_name if instance else None)
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

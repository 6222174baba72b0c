"""TrainingSpecSerializer: the one validator of training specs, for the API and the HTML form."""

from rest_framework import serializers
from django.utils.translation import gettext_lazy as _

from apps.core.job_types import JobType
from apps.core.validation import StrictBooleanField, StrictChoiceField, StrictFloatField, StrictIntegerField
from apps.jobs.renderers import llamafactory_schema as lf

from .fields import (
    ADAPTER_METHODS, BOOSTERS, DEEPSPEED_STAGES, DPO_LOSSES, EASYR1_LOSS_TYPES, FORMAT_PROMPTS, FREEZE_FIELDS,
    KL_PENALTIES, LORA_FIELDS, MAX_RUN_HOURS, METHODS, MUST_CHOOSE, NULL_IS_A_VALUE, OPTIMIZER_SWITCHES, PRECISIONS,
    R1, REWARD_FUNCTIONS, REWARD_MODEL_TYPES, ROPE_SCALINGS, SECTIONS_FIELDS, TRACKERS, applies, defaults_for,
    gpu_precision,
)
from .model import TrainingSpec
from .rules import SpecRules


def unused_settings(data) -> list[str]:
    """Settings the chosen method and switches leave unused (stored as None: the spec says what the run uses)."""
    method = data["finetuning_method"]
    unused = []
    if method not in ADAPTER_METHODS:
        unused += [*LORA_FIELDS, "quantization_bit"]
    if method != "freeze":
        unused += FREEZE_FIELDS
    for switch, settings in OPTIMIZER_SWITCHES.items():
        if not data.get(switch):
            unused += settings
    if not data.get("pissa_init"):
        unused.append("pissa_iter")
    return [name for name in unused if name in data]


def _choice(choices, **kw):
    kw.setdefault("allow_null", True)
    return StrictChoiceField(choices=list(choices), required=False, **kw)


def _int(lo, hi=None, **kw):
    kw.setdefault("allow_null", True)
    return StrictIntegerField(min_value=lo, max_value=hi, required=False, **kw)


def _float(lo, hi=None, **kw):
    kw.setdefault("allow_null", True)
    return StrictFloatField(min_value=lo, max_value=hi, required=False, **kw)


def _bool(**kw):
    return StrictBooleanField(required=False, allow_null=True, **kw)


class TrainingSpecSerializer(serializers.Serializer):
    """A training job's spec. Validated once, here, for both the API and the HTML form.

    Omitted fields take the defaults of the job type (`defaults_for`). Fields that do not apply to
    the job type are ignored; names the spec does not define are refused (`validate_job`). Numbers are
    numbers (never true/false), switches are booleans. Errors name the field they belong to.
    """

    job_type = serializers.ChoiceField(choices=JobType.choices)
    base_model = serializers.CharField(
        max_length=500,
        help_text=_("A catalog model key (e.g. qwen3-8b), any Hugging Face repo id (owner/name) or an s3:// prefix."),
    )
    datasets = serializers.ListField(
        child=serializers.CharField(max_length=64), min_length=1, max_length=20,
        help_text=_("Ids of catalog datasets you may use that suit the job type (one for the GRPO family)."),
    )
    template = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, max_length=64,
        help_text=_("LLaMA-Factory chat template name; defaults to the catalog model's. Not used by pt or the GRPO family."),
    )
    finetuning_method = _choice(METHODS, help_text=_("lora, qlora (LoRA on a 4- or 8-bit quantized base), freeze "
                                                   "(train only some layers) or full."))
    quantization_bit = StrictChoiceField(
        choices=[4, 8], required=False, allow_null=True, help_text=_("QLoRA only: 4 or 8.")
    )
    lora_rank = _int(1, 1024, help_text=_("LoRA rank (lora/qlora)."))
    lora_alpha = _int(1, 4096, allow_null=True, help_text=_("LoRA alpha; empty = 2 × rank."))
    lora_dropout = _float(0.0, 0.9, help_text=_("LoRA dropout (LLaMA-Factory types)."))
    lora_target = serializers.CharField(
        required=False, allow_null=True, max_length=500,
        help_text=_('"all" or a comma list of module names, e.g. q_proj,v_proj; defaults to the catalog model\'s.'),
    )
    use_dora = _bool(help_text=_("DoRA: weight-decomposed LoRA (lora/qlora)."))
    use_rslora = _bool(help_text=_("rsLoRA: rank-stabilised scaling, alpha / sqrt(rank) (lora/qlora)."))
    pissa_init = _bool(help_text=_("Initialise the adapter with PiSSA (lora only; not with qlora, PPO, KTO, DPO with a "
                                 "reference model or ZeRO-3). The adapter is saved as plain LoRA."))
    pissa_iter = _int(-1, 1000, help_text=_("PiSSA fast-SVD iterations; -1 runs the exact SVD."))
    loraplus_lr_ratio = _float(1e-3, 1000.0, allow_null=True,
                               help_text=_("LoRA+: learning rate of B over A (e.g. 16); empty = plain LoRA."))
    freeze_trainable_layers = _int(-1024, 1024, help_text=_("Freeze tuning: train the last N layers (negative: the "
                                                          "first N)."))
    freeze_trainable_modules = serializers.CharField(
        required=False, allow_null=True, max_length=500,
        help_text=_('Freeze tuning: "all" or a comma list of module names inside the trainable layers, '
                  "e.g. mlp,self_attn."),
    )
    freeze_extra_modules = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, max_length=500,
        help_text=_("Freeze tuning: modules outside the layers to train as well, e.g. embed_tokens,lm_head."),
    )
    use_galore = _bool(help_text=_("GaLore: low-rank gradient projection (full or freeze; not with DeepSpeed)."))
    galore_target = serializers.CharField(required=False, allow_null=True, max_length=500,
                                          help_text=_('"all" or a comma list of module names.'))
    galore_rank = _int(1, 4096)
    galore_update_interval = _int(1, 100_000, help_text=_("Steps between GaLore projection updates."))
    galore_scale = _float(0.0, 1000.0)
    use_apollo = _bool(help_text=_("APOLLO optimizer (full or freeze; AdamW; not with DeepSpeed)."))
    apollo_target = serializers.CharField(required=False, allow_null=True, max_length=500,
                                          help_text=_('"all" or a comma list of module names.'))
    apollo_rank = _int(1, 4096)
    apollo_update_interval = _int(1, 100_000, help_text=_("Steps between APOLLO projection updates."))
    apollo_scale = _float(0.0, 1000.0)
    use_badam = _bool(help_text=_("BAdam: block-wise (layer by layer) Adam (full or freeze; needs DeepSpeed ZeRO-3)."))
    badam_switch_mode = _choice(lf.BADAM_SWITCH_MODES, help_text=_("Which block BAdam trains next."))
    badam_switch_interval = _int(-1, 100_000, help_text=_("Steps per block; -1 never switches."))
    neftune_noise_alpha = _float(0.0, 100.0, allow_null=True,
                                 help_text=_("NEFTune: noise on the embeddings while training (e.g. 5); empty = off."))
    packing = _bool(help_text=_("Pack several examples into each sequence (sft, pt; pt packs by default)."))
    rope_scaling = _choice(ROPE_SCALINGS, help_text=_("RoPE scaling to stretch the context beyond the model's "
                                                    "(set the cutoff length above it)."))
    cutoff_len = _int(16, 262144, help_text=_("Maximum tokens per example (LLaMA-Factory types)."))
    max_samples = _int(1, None, allow_null=True, help_text=_("Use at most this many examples per dataset."))
    val_size = _float(0.0, 0.5, help_text=_("Share of the data held out for evaluation (0 = none)."))
    per_device_train_batch_size = _int(1, 1024)
    gradient_accumulation_steps = _int(1, 1024)
    learning_rate = _float(1e-9, 1.0)
    num_train_epochs = _float(0.01, 1000.0, help_text=_("Epochs (ignored when max steps is set)."))
    max_steps = _int(1, 10_000_000, allow_null=True, help_text=_("Stop after this many optimizer steps."))
    warmup_ratio = _float(0.0, 0.9)
    lr_scheduler_type = _choice(lf.LR_SCHEDULERS)
    optimizer = _choice(lf.OPTIMIZERS, help_text=_("The GRPO family uses AdamW (adamw_torch)."))
    weight_decay = _float(0.0, 1.0)
    max_grad_norm = _float(0.0, 1000.0)
    precision = _choice(PRECISIONS, help_text=_("Empty: bf16, or fp16 on GPUs without bf16 (T4, V100). "
                                                "The GRPO family trains in bf16."))
    deepspeed_stage = StrictChoiceField(
        choices=list(DEEPSPEED_STAGES), required=False, allow_null=True,
        help_text=_("DeepSpeed ZeRO stage (LLaMA-Factory types); required for more than one instance."),
    )
    offload = _bool(
        help_text=_("Offload optimizer/parameters to CPU (ZeRO-2/3; FSDP offload for the GRPO family).")
    )
    booster = _choice(BOOSTERS, help_text=_("Attention/kernel booster (LLaMA-Factory types)."))
    logging_steps = _int(1, 100_000)
    save_steps = _int(1, 1_000_000, help_text=_("Checkpoint every N steps (GRPO family: save_freq)."))
    eval_steps = _int(1, 1_000_000, allow_null=True,
                      help_text=_("Evaluate every N steps (needs a validation split; GRPO family: val_freq)."))
    save_total_limit = _int(1, 1000, allow_null=True, help_text=_("Keep at most this many checkpoints."))
    pref_beta = _float(1e-4, 10.0, help_text=_("Preference beta (dpo, kto)."))
    pref_loss = _choice(DPO_LOSSES, help_text=_("DPO loss (dpo only; KTO has its own loss)."))
    pref_ftx = _float(0.0, 100.0, help_text=_("SFT loss weight mixed into the preference loss (dpo, kto)."))
    kto_chosen_weight = _float(0.0, 100.0)
    kto_rejected_weight = _float(0.0, 100.0)
    reward_model = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, max_length=500,
        help_text=_("PPO: the reward model, an s3:// prefix (e.g. a finished rm job's output) or an HF repo id."),
    )
    reward_model_type = _choice(REWARD_MODEL_TYPES, help_text=_("PPO: lora (an adapter on the base) or full."))
    ppo_epochs = _int(1, 100)
    ppo_max_new_tokens = _int(1, 32768)
    rollout_n = _int(1, 256, help_text=_("Responses sampled per prompt."))
    rollout_batch_size = _int(1, 65536, help_text=_("Prompts per rollout."))
    mini_rollout_batch_size = _int(1, 65536, allow_null=True)
    global_batch_size = _int(1, 65536, help_text=_("Prompts per actor update."))
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
    loss_type = _choice(EASYR1_LOSS_TYPES)
    loss_avg_mode = _choice(("token", "seq"))
    disable_kl = _bool()
    kl_coef = _float(0.0, 100.0)
    kl_penalty = _choice(KL_PENALTIES)
    online_filtering = _bool()
    reward_function = _choice(REWARD_FUNCTIONS, allow_blank=True, allow_null=True,
                              help_text=_("GRPO family: a built-in reward (math, r1v, dapo) or custom code."))
    reward_code = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, trim_whitespace=False,
        help_text=_('Custom reward: Python defining compute_score(...) and REWARD_TYPE = "batch" | "sequential". '
                  "It runs only inside the job's training container."),
    )
    format_prompt = _choice(FORMAT_PROMPTS, help_text=_("Jinja prompt wrapper: a built-in, none, or custom."))
    format_prompt_template = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, trim_whitespace=False,
        help_text=_("Custom format prompt (Jinja); use {{ content }} for the prompt text."),
    )
    instance_type = serializers.CharField(required=False, allow_null=True, max_length=64)
    instance_count = _int(1, 64)
    use_spot = _bool()
    max_wait_hours = _float(0.1, MAX_RUN_HOURS, allow_null=True, help_text=_("Spot only: at least max run hours."))
    max_run_hours = _float(0.1, MAX_RUN_HOURS)
    volume_size_gb = _int(1, 16384)
    resume_from_checkpoint = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, max_length=1000,
        help_text=_("s3:// prefix of a checkpoint to start from."),
    )
    training_plan_arn = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, max_length=2048,
        help_text=_("SageMaker only: the ARN of a training plan whose reserved capacity the job runs in."),
    )
    tracker = _choice(TRACKERS, help_text=_("Experiment tracking: Weights & Biases, SwanLab or TensorBoard."))
    tracker_project = serializers.CharField(required=False, allow_blank=True, allow_null=True, max_length=100)
    tracker_key_ref = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, max_length=64,
        help_text=_("The NAME of your stored W&B / SwanLab key (a secret reference), never the key itself."),
    )
    trust_remote_code = _bool(help_text=_("Run Python code shipped with the model (custom architectures); needs "
                                        "an administrator to allow it for one of your groups."))
    hf_token_ref = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, max_length=64,
        help_text=_("The NAME of your stored Hugging Face token, for gated base models (e.g. Llama); never the token."),
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
        for name in MUST_CHOOSE.get(job_type, ()):
            data[name] = None
        data.update({k: v for k, v in attrs.items() if k not in ("job_type", "base_model", "datasets")
                     and applies(k, job_type)})
        data["job_type"] = job_type
        if job_type == "ppo" and "reward_model_type" not in supplied and \
                data["finetuning_method"] in ("full", "freeze"):
            data["reward_model_type"] = "full"  # a full or freeze PPO run cannot load a LoRA reward model

        rules = SpecRules(self._user(), self.context.get("secret_refs"))
        rules.resolve_base_model(attrs["base_model"], data, supplied, err)
        rules.check_method(job_type, data, err)
        instance = rules.check_compute(job_type, data, err)
        if data.get("precision") is None:
            data["precision"] = gpu_precision(instance.gpu_name if instance else None)
        rules.check_training(job_type, data, instance, err)
        if job_type not in R1:
            rules.check_llamafactory_methods(job_type, data, err)
        if job_type == "ppo":
            rules.check_ppo(data, err)
        if job_type in R1:
            rules.check_rl(job_type, data, instance, err)
        rules.check_tracking(data, err)
        rules.check_hf_token(data, err)
        rules.check_gated(data, err)
        rules.check_code_permissions(job_type, data, err)
        rules.check_storage_references(data, err)
        data["datasets"] = rules.check_datasets(job_type, attrs["datasets"], err)
        if errors:
            raise serializers.ValidationError(errors)

        for name in list(data):
            if name in SECTIONS_FIELDS and not applies(name, job_type):
                data[name] = None
        for name in unused_settings(data):
            data[name] = None
        return data

    @property
    def spec(self) -> TrainingSpec:
        """The validated spec (call after is_valid())."""
        return TrainingSpec.from_validated(self.validated_data)

    def _user(self):
        if "user" in self.context:
            return self.context["user"]
        request = self.context.get("request")
        return getattr(request, "user", None)

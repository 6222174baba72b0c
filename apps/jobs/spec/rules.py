"""The cross-field rules of a training spec. Each adds field-level errors through `err(field, message)`
and may normalise `data` (the request merged over the job type's defaults)."""

import ast
import re

from django.conf import settings
from rest_framework import serializers

from apps.core import limits
from apps.jobs.renderers import llamafactory_schema as lf

from .checks import (
    MODULE_NAME, SECRET_REF, check_format_prompt, check_reward_code, instance_named, is_hf_repo_id,
    looks_like_key, validate_s3_uri, validate_training_plan_arn,
)
from .fields import (
    ADAPTER_METHODS, EASYR1_OPTIMIZERS, LF, MAX_SAGEMAKER_ENV_VALUE, NOT_RESUMABLE, OLD_GPUS, OPTIMIZER_SWITCHES, R1,
    R1_METHODS, applies,
)

OPTIMIZER_NAMES = {"use_galore": "GaLore", "use_apollo": "APOLLO", "use_badam": "BAdam"}


def reward_code_mentions(code: str, key: str) -> bool:
    """True when the reward code has the string constant `key` (e.g. a dict key "overall")."""
    try:
        tree = limits.parse_python(code)
    except (SyntaxError, limits.LimitExceeded):
        return True  # reported by check_reward_code
    return any(isinstance(node, ast.Constant) and node.value == key for node in ast.walk(tree))


SECRET_LABELS = {"wandb": "Weights & Biases key", "swanlab": "SwanLab key", "hf_token": "Hugging Face token"}


class SpecRules:
    def __init__(self, user, secret_refs=None):
        self.user = user
        self.secret_refs = secret_refs

    def resolve_base_model(self, value, data, supplied, err):
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
        entry = self.catalog_model(value)
        if entry is None and is_hf_repo_id(value):
            data["base_model_source"], data["base_model_uri"] = "hf", value
            return
        if entry is None:
            err("base_model", "Choose a model from the catalog, or enter a Hugging Face repo id (owner/name) "
                              "or an s3:// prefix.")
            return
        data["base_model_source"], data["base_model_uri"] = "catalog", entry.source_uri
        if "template" not in supplied and entry.template:
            data["template"] = entry.template
        if "lora_target" not in supplied and getattr(entry, "lora_targets", None):
            data["lora_target"] = entry.lora_target

    def catalog_model(self, value):
        """The catalog entry `value` names: its key, the key as written with dots ("qwen2.5-0.5b-instruct"
        for qwen2-5-0-5b-instruct), or its Hugging Face repo id (any case)."""
        from django.db.models import Q

        from apps.catalog.models import BaseModel

        slug = re.sub(r"[^a-z0-9]+", "-", value.lower()).strip("-")
        found = BaseModel.objects.visible_to_user(self.user).filter(Q(key=value) | Q(key=slug) | Q(repo_id__iexact=value))
        return min(found, key=lambda m: m.key != value, default=None)

    def check_method(self, job_type, data, err):
        method = data["finetuning_method"]
        if job_type in R1 and method not in R1_METHODS:
            err("finetuning_method", f"The GRPO family trains with lora or full; {method} is not available.")
        elif method == "qlora":
            if data.get("quantization_bit") not in (4, 8):
                err("quantization_bit", "QLoRA needs a quantization bit: 4 or 8.")
        elif data.get("quantization_bit") is not None:
            data["quantization_bit"] = None
        if method != "full":
            target = (data.get("lora_target") or "").replace(" ", "")
            modules = [m for m in target.split(",") if m]
            if not modules or not all(MODULE_NAME.fullmatch(m) for m in modules):
                err("lora_target", 'Enter "all" or a comma list of module names such as q_proj,v_proj.')
            else:
                data["lora_target"] = ",".join(modules)
        template = data.get("template")
        if applies("template", job_type) and template:
            if template not in lf.TEMPLATES:
                err("template", f"LLaMA-Factory {lf.VERSION} (the training image) has no chat template "
                                f"{template!r}; use one of its templates such as qwen3, llama3 or mistral, or "
                                "leave it empty to use the model's own chat template.")
        else:
            data["template"] = template or None

    def check_compute(self, job_type, data, err):
        name = data.get("instance_type") or ""
        instance = instance_named(name)
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
            if len(checkpoint) > MAX_SAGEMAKER_ENV_VALUE:
                err("resume_from_checkpoint", f"At most {MAX_SAGEMAKER_ENV_VALUE} characters: SageMaker passes it "
                                              "in the container environment, whose values are limited to that.")
        self.check_resumable(job_type, data, err)
        plan = data.get("training_plan_arn") or None
        data["training_plan_arn"] = plan
        if plan:
            try:
                validate_training_plan_arn(plan, settings.AWS_REGION)
            except serializers.ValidationError as exc:
                err("training_plan_arn", str(exc.detail[0]))
        if data["instance_count"] > 1 and job_type in LF and data.get("deepspeed_stage") is None:
            err("deepspeed_stage", "Training on more than one instance needs a DeepSpeed stage (0, 2 or 3).")
        return instance

    def check_resumable(self, job_type, data, err):
        """LLaMA-Factory cannot resume PPO (its trainer raises) nor full RM (the resume is dropped and the
        run restarts from scratch); a spot interruption would resume any stage."""
        if data["finetuning_method"] not in NOT_RESUMABLE.get(job_type, ()):
            return
        what = f"{job_type.upper()} {'full fine-tuning' if data['finetuning_method'] == 'full' else 'with LoRA'}"
        why = f"LLaMA-Factory {lf.VERSION} cannot resume {what} from a checkpoint"
        if data.get("resume_from_checkpoint"):
            err("resume_from_checkpoint", f"{why}; start a new run instead.")
        if data["use_spot"]:
            err("use_spot", f"{why}, so a spot interruption would lose the run; use on-demand capacity.")

    def check_training(self, job_type, data, instance, err):
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
        if job_type == "ppo" and data["val_size"]:
            err("val_size", "PPO does not evaluate during training; set the validation split to 0.")
        if not data["val_size"]:
            data["eval_steps"] = None
        if data.get("precision") == "fp32" and booster == "flash_attn2":
            err("booster", "FlashAttention-2 needs bf16 or fp16 precision.")

    def check_llamafactory_methods(self, job_type, data, err):
        """LLaMA-Factory 0.9.4's rules on methods and optimizers, each from the function that enforces it."""
        method, stage = data["finetuning_method"], data.get("deepspeed_stage")
        if method == "freeze":
            if data["freeze_trainable_layers"] == 0:
                err("freeze_trainable_layers", "Train at least one layer: N > 0 trains the last N, N < 0 the first N.")
            self.check_modules(data, "freeze_trainable_modules", err, allow_all=True)
            self.check_modules(data, "freeze_extra_modules", err, allow_empty=True)
        if method in ADAPTER_METHODS and data.get("pissa_init"):
            # hparams/parser.py `_verify_model_args`: PiSSA on a quantized model needs scripts/pissa_init.py;
            # FinetuningArguments.__post_init__: not for PPO, KTO or a DPO loss with a reference model;
            # `get_train_args`: not with ZeRO-3.
            if method == "qlora":
                err("pissa_init", "PiSSA cannot initialise an adapter on a quantized (QLoRA) model; use lora.")
            if job_type in ("ppo", "kto") or job_type == "dpo" and data.get("pref_loss") not in ("orpo", "simpo"):
                err("pissa_init", f"LLaMA-Factory {lf.VERSION} refuses PiSSA for PPO, KTO and DPO with a reference "
                                  "model (every DPO loss but orpo and simpo).")
            if stage == 3:
                err("pissa_init", "PiSSA does not work with DeepSpeed ZeRO-3; choose stage 0 or 2.")
        chosen = [switch for switch in OPTIMIZER_SWITCHES if data.get(switch)]
        if not chosen:
            return
        if len(chosen) > 1:  # FinetuningArguments.__post_init__
            for switch in chosen:
                err(switch, "Choose one of GaLore, APOLLO and BAdam.")
        for switch in chosen:
            name = OPTIMIZER_NAMES[switch]
            if method in ADAPTER_METHODS:  # FinetuningArguments.__post_init__
                err(switch, f"{name} trains full or freeze fine-tuning, not LoRA adapters.")
            prefix = switch.removeprefix("use_")
            if f"{prefix}_target" in data:
                self.check_modules(data, f"{prefix}_target", err, allow_all=True)
        if data.get("use_galore") and data["optimizer"] not in lf.GALORE_OPTIMIZERS:
            # train/trainer_utils.py `_create_galore_optimizer` wraps only these
            err("optimizer", f"GaLore wraps {', '.join(lf.GALORE_OPTIMIZERS)}.")
        if data.get("use_apollo") and data["optimizer"] not in lf.APOLLO_OPTIMIZERS:
            err("optimizer", "APOLLO wraps adamw_torch only.")  # `_create_apollo_optimizer`
        if (data.get("use_galore") or data.get("use_apollo")) and stage is not None:
            # hparams/parser.py `get_train_args`: "GaLore and APOLLO are incompatible with DeepSpeed yet."
            err("deepspeed_stage", "GaLore and APOLLO do not work with DeepSpeed: leave the stage empty.")
        if data.get("use_badam") and stage != 3:
            # `get_train_args`: under torchrun (how the entry point launches every SageMaker run) only layer-wise
            # BAdam runs, and only with ZeRO-3; ratio-wise BAdam is therefore not offered.
            err("deepspeed_stage", "BAdam needs DeepSpeed ZeRO-3 (stage 3).")

    def check_modules(self, data, field, err, *, allow_all=False, allow_empty=False):
        """A comma list of module names ("all" where LLaMA-Factory takes it), normalised without spaces."""
        modules = [m for m in (data.get(field) or "").replace(" ", "").split(",") if m]
        if not modules and allow_empty:
            data[field] = None
        elif allow_all and modules == ["all"] or modules and all(MODULE_NAME.fullmatch(m) for m in modules):
            data[field] = ",".join(modules)
        else:
            err(field, ('Enter "all" or a' if allow_all else "Enter a") +
                " comma list of module names such as q_proj,v_proj.")

    def check_ppo(self, data, err):
        reward = (data.get("reward_model") or "").strip()
        data["reward_model"] = reward or None
        if not reward:
            err("reward_model", "PPO needs a reward model: the output of an rm job (s3:// prefix) or an HF repo id.")
        elif reward.startswith("s3://"):
            try:
                validate_s3_uri(reward)
            except serializers.ValidationError as exc:
                err("reward_model", str(exc.detail[0]))
        elif not is_hf_repo_id(reward):
            err("reward_model", "Enter an s3:// prefix or a Hugging Face repo id (owner/name).")
        if data["reward_model_type"] == "lora" and data["finetuning_method"] not in ADAPTER_METHODS:
            err("reward_model_type", "Full and freeze PPO training need a full reward model (LoRA reward models "
                                     "need LoRA PPO).")

    def check_rl(self, job_type, data, instance, err):
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
        self.check_rl_batches(data, instance, err)
        if data["clip_ratio_low"] >= 1:
            err("clip_ratio_low", "Must be below 1: EasyR1 clips the log-ratio at log(1 - clip_ratio_low).")
        if data["clip_ratio_high"] <= 0:
            err("clip_ratio_high", "Must be greater than 0.")
        if data["online_filtering"] and reward == "custom" and data.get("reward_code") and \
                not reward_code_mentions(data["reward_code"], "overall"):
            err("reward_code", 'Online filtering keeps prompts by the reward\'s "overall" score: return '
                               '{"overall": ...} from compute_score, or turn online filtering off.')

    def check_rl_batches(self, data, instance, err):
        """EasyR1's start-up checks on batch sizes (trainer/ray_trainer.py, workers/fsdp_workers.py)."""
        n, rollout, global_bs = data["rollout_n"], data["rollout_batch_size"], data["global_batch_size"]
        if n < 2:
            err("rollout_n", "GRPO compares several responses per prompt: EasyR1 needs rollout n of 2 or more.")
        experience = data["micro_batch_size_per_device_for_experience"]
        if (rollout * n) % experience:
            err("micro_batch_size_per_device_for_experience",
                f"Must divide rollout batch size × rollout n ({rollout} × {n} = {rollout * n}).")
        if instance is None:
            return
        gpus = instance.gpu_count
        tp = data["rollout_tensor_parallel_size"]
        if gpus % tp:
            err("rollout_tensor_parallel_size", f"Must divide the GPUs per instance ({gpus} on {instance.name}).")
        world = gpus * data["instance_count"]
        samples = global_bs * n
        if samples % world:
            err("global_batch_size", f"Global batch size × rollout n must be a multiple of the GPU count ({world}).")
            return
        per_device = samples // world
        update = data["micro_batch_size_per_device_for_update"]
        if per_device % update:
            err("micro_batch_size_per_device_for_update",
                f"Must divide the update batch per GPU (global batch size × rollout n / GPUs = {per_device}).")

    def check_gated(self, data, err):
        """Gated models (Llama, Gemma, ...) download only with the owner's Hugging Face token."""
        if data.get("hf_token_ref") or data.get("base_model_source") == "s3":
            return
        from apps.catalog.curation import model_facts

        facts = model_facts(data.get("base_model_uri") or "")
        if facts and facts.get("gated"):
            err("hf_token_ref", f"{data['base_model_uri']} is gated on Hugging Face: choose your stored Hugging "
                                "Face token (add one on your profile page after accepting the model's licence).")

    def check_code_permissions(self, job_type, data, err):
        """Remote model code and custom reward code run inside the training container: only admins and
        members of a group whose policy allows it (apps.users GroupPolicy) may ask for them."""
        from apps.users.models import ENABLE_FOR_GROUP, may_run_custom_reward_code, may_trust_remote_code

        if data.get("trust_remote_code") and not may_trust_remote_code(self.user):
            err("trust_remote_code", f"{ENABLE_FOR_GROUP} to run a model's own code (trust_remote_code).")
        if job_type in R1 and data.get("reward_function") == "custom" and not may_run_custom_reward_code(self.user):
            err("reward_code", f"{ENABLE_FOR_GROUP} to train with custom reward code; choose a built-in reward.")

    def check_tracking(self, data, err):
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
        if not SECRET_REF.fullmatch(ref) or looks_like_key(ref):
            err("tracker_key_ref", "Enter the name of a stored secret, not the key itself.")
            return
        self.check_secret_ref("tracker_key_ref", ref, tracker, err)
        if not (data.get("tracker_project") or "").strip():
            data["tracker_project"] = "modelhub"

    def check_hf_token(self, data, err):
        ref = (data.get("hf_token_ref") or "").strip()
        data["hf_token_ref"] = ref or None
        if ref:
            if not SECRET_REF.fullmatch(ref) or looks_like_key(ref) or ref.startswith("hf_"):
                err("hf_token_ref", "Enter the name of a stored secret, not the token itself.")
                return
            self.check_secret_ref("hf_token_ref", ref, "hf_token", err)

    def check_secret_ref(self, field, ref, kind, err):
        # The user's stored secrets of this kind; `secret_refs` (context) only stands in when there is no user.
        known = self.stored_secret_names(kind)
        if known is None:
            known = self.secret_refs
        if known is not None and ref not in known:
            err(field, f"You have no stored {SECRET_LABELS[kind]} named {ref!r}; add it on your profile page.")

    def check_storage_references(self, data, err) -> None:
        """Locations inside ModelHub's own storage must belong to the user's own (or shared) jobs and datasets."""
        if not getattr(self.user, "is_authenticated", False):
            return
        from apps.jobs.references import reference_problem

        s3_weights = data.get("base_model_uri") if data.get("base_model_source") == "s3" else None
        for field, uri in (("base_model", s3_weights), ("resume_from_checkpoint", data.get("resume_from_checkpoint")),
                           ("reward_model", data.get("reward_model"))):
            if uri and (problem := reference_problem(uri, self.user)):
                err(field, problem)

    def stored_secret_names(self, kind: str) -> set[str] | None:
        """Names of the user's stored secrets of `kind` (apps.users.UserSecret); None without a user."""
        if not getattr(self.user, "is_authenticated", False):
            return None
        from apps.users.models import UserSecret

        return set(UserSecret.objects.filter(owner=self.user, kind=kind).values_list("name", flat=True))

    def check_datasets(self, job_type, ids, err) -> list:
        wanted = list(dict.fromkeys(str(i).strip() for i in ids))
        if job_type in R1 and len(wanted) > 1:
            err("datasets", "The GRPO family trains on one dataset.")
            return wanted
        from apps.catalog.models import Dataset

        if any(limits.parse_id(i) is None for i in wanted):
            err("datasets", "Dataset ids are numbers.")
            return wanted
        user = self.user
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

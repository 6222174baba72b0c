"""The job-create form: a Django form built from TrainingSpecSerializer for rendering, validated by
the serializer itself (`validate_job`), so the page and the API show the same errors for the same input
and take the same defaults (`defaults_for`; fields whose default follows the model or the GPU are left
empty, so the spec fills them as it does for the API).

The page shows BASIC (the handful of choices most runs need) and puts every other spec field under
"Advanced", so fields added to the spec land there without a change here.
"""

from django import forms
from django.forms.utils import ErrorDict
from django.utils.translation import gettext, gettext_lazy as _
from rest_framework import fields as drf

from apps.core.job_types import JobType
from apps.core.validation import flatten

from . import spec as specs
from .serializers import NewJob, validate_job
from .spec.fields import FREEZE_FIELDS, LORA_FIELDS, MUST_CHOOSE, OPTIMIZER_SWITCHES
from .targets import default_target, training_targets

# The basic view, in order; MUST_CHOOSE fields of the type (PPO's reward model) join it.
BASIC = ("name", "job_type", "base_model", "datasets", "finetuning_method", "instance_type", "num_train_epochs",
         "learning_rate", "target")
# Empty means "the spec decides from the model or the GPU": the form does not pre-fill these.
AUTOMATIC = {
    "precision": _("Automatic: bf16, or fp16 on GPUs without bf16 (T4, V100)"),
    "template": _("From the catalog model (or the model's own chat template)"),
    "lora_target": _("From the catalog model (all linear layers otherwise)"),
}

TEXTAREAS = {"reward_code", "format_prompt_template"}
PRETTY = {"lr": "LR", "kl": "KL", "ppo": "PPO", "lora": "LoRA", "gb": "GB", "val": "Validation", "ftx": "SFT mix",
          "n": "n", "kto": "KTO", "pref": "Preference", "hf": "Hugging Face", "len": "length", "ref": "secret",
          "num": "number of", "gpu": "GPU", "finetuning": "fine-tuning", "deepspeed": "DeepSpeed", "dora": "DoRA",
          "rslora": "rsLoRA", "pissa": "PiSSA", "loraplus": "LoRA+", "galore": "GaLore", "apollo": "APOLLO",
          "badam": "BAdam", "neftune": "NEFTune", "rope": "RoPE"}
HIDDEN_UNLESS = {
    # field: (controlling field, values that show it) — the page's script shows/hides; the serializer ignores
    "quantization_bit": ("finetuning_method", ["qlora"]),
    **{name: ("finetuning_method", ["lora", "qlora"]) for name in LORA_FIELDS if name != "pissa_iter"},
    "pissa_iter": ("pissa_init", ["on"]),
    **{name: ("finetuning_method", ["freeze"]) for name in FREEZE_FIELDS},
    **{setting: (switch, ["on"]) for switch, settings in OPTIMIZER_SWITCHES.items() for setting in settings},
    "max_wait_hours": ("use_spot", ["on"]),
    "reward_code": ("reward_function", ["custom"]),
    "format_prompt_template": ("format_prompt", ["custom"]),
}


# The spec fields' labels, spelled out for the translation catalogue; a field added to the spec without one
# gets a label made from its name (PRETTY) until it is listed here.
LABELS = {
    "job_type": _("Job type"),
    "base_model": _("Base model"),
    "hf_token_ref": _("Hugging Face token secret"),
    "training_plan_arn": _("Training plan ARN"),
    "trust_remote_code": _("Trust remote code"),
    "datasets": _("Datasets"),
    "template": _("Template"),
    "cutoff_len": _("Cutoff length"),
    "max_samples": _("Max samples"),
    "val_size": _("Validation size"),
    "finetuning_method": _("Fine-tuning method"),
    "quantization_bit": _("Quantization bit"),
    "lora_rank": _("LoRA rank"),
    "lora_alpha": _("LoRA alpha"),
    "lora_dropout": _("LoRA dropout"),
    "lora_target": _("LoRA target"),
    "use_dora": _("Use DoRA"),
    "use_rslora": _("Use rsLoRA"),
    "pissa_init": _("PiSSA init"),
    "pissa_iter": _("PiSSA iter"),
    "loraplus_lr_ratio": _("LoRA+ LR ratio"),
    "freeze_trainable_layers": _("Freeze trainable layers"),
    "freeze_trainable_modules": _("Freeze trainable modules"),
    "freeze_extra_modules": _("Freeze extra modules"),
    "use_galore": _("Use GaLore"),
    "galore_target": _("GaLore target"),
    "galore_rank": _("GaLore rank"),
    "galore_update_interval": _("GaLore update interval"),
    "galore_scale": _("GaLore scale"),
    "use_apollo": _("Use APOLLO"),
    "apollo_target": _("APOLLO target"),
    "apollo_rank": _("APOLLO rank"),
    "apollo_update_interval": _("APOLLO update interval"),
    "apollo_scale": _("APOLLO scale"),
    "use_badam": _("Use BAdam"),
    "badam_switch_mode": _("BAdam switch mode"),
    "badam_switch_interval": _("BAdam switch interval"),
    "learning_rate": _("Learning rate"),
    "num_train_epochs": _("Number of train epochs"),
    "max_steps": _("Max steps"),
    "per_device_train_batch_size": _("Per device train batch size"),
    "gradient_accumulation_steps": _("Gradient accumulation steps"),
    "warmup_ratio": _("Warmup ratio"),
    "lr_scheduler_type": _("LR scheduler type"),
    "optimizer": _("Optimizer"),
    "weight_decay": _("Weight decay"),
    "max_grad_norm": _("Max grad norm"),
    "precision": _("Precision"),
    "deepspeed_stage": _("DeepSpeed stage"),
    "offload": _("Offload"),
    "booster": _("Booster"),
    "logging_steps": _("Logging steps"),
    "save_steps": _("Save steps"),
    "eval_steps": _("Eval steps"),
    "save_total_limit": _("Save total limit"),
    "neftune_noise_alpha": _("NEFTune noise alpha"),
    "packing": _("Packing"),
    "rope_scaling": _("RoPE scaling"),
    "pref_beta": _("Preference beta"),
    "pref_loss": _("Preference loss"),
    "pref_ftx": _("Preference SFT mix"),
    "kto_chosen_weight": _("KTO chosen weight"),
    "kto_rejected_weight": _("KTO rejected weight"),
    "reward_model": _("Reward model"),
    "reward_model_type": _("Reward model type"),
    "ppo_epochs": _("PPO epochs"),
    "ppo_max_new_tokens": _("PPO max new tokens"),
    "reward_function": _("Reward function"),
    "reward_code": _("Reward code"),
    "format_prompt": _("Format prompt"),
    "format_prompt_template": _("Format prompt template"),
    "rollout_n": _("Rollout n"),
    "rollout_batch_size": _("Rollout batch size"),
    "mini_rollout_batch_size": _("Mini rollout batch size"),
    "global_batch_size": _("Global batch size"),
    "micro_batch_size_per_device_for_update": _("Micro batch size per device for update"),
    "micro_batch_size_per_device_for_experience": _("Micro batch size per device for experience"),
    "max_prompt_length": _("Max prompt length"),
    "max_response_length": _("Max response length"),
    "rollout_temperature": _("Rollout temperature"),
    "val_temperature": _("Validation temperature"),
    "rollout_tensor_parallel_size": _("Rollout tensor parallel size"),
    "clip_ratio_low": _("Clip ratio low"),
    "clip_ratio_high": _("Clip ratio high"),
    "clip_ratio_dual": _("Clip ratio dual"),
    "loss_type": _("Loss type"),
    "loss_avg_mode": _("Loss avg mode"),
    "disable_kl": _("Disable KL"),
    "kl_coef": _("KL coef"),
    "kl_penalty": _("KL penalty"),
    "online_filtering": _("Online filtering"),
    "instance_type": _("Instance type"),
    "instance_count": _("Instance count"),
    "use_spot": _("Use spot"),
    "max_wait_hours": _("Max wait hours"),
    "max_run_hours": _("Max run hours"),
    "volume_size_gb": _("Volume size GB"),
    "resume_from_checkpoint": _("Resume from checkpoint"),
    "tracker": _("Tracker"),
    "tracker_project": _("Tracker project"),
    "tracker_key_ref": _("Tracker key secret"),
}


def _label(name: str) -> str:
    if name in LABELS:
        return LABELS[name]
    words = [PRETTY.get(w, w) for w in name.split("_")]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def _choices(field) -> list[tuple[str, str]]:
    return [(str(value), str(label)) for value, label in field.choices.items()]


def _form_field(name: str, field, job_type: str, user) -> forms.Field:
    help_text = field.help_text or ""
    common = {"required": False, "label": _label(name), "help_text": help_text}
    if name == "datasets":
        from apps.catalog.models import Dataset

        usable = Dataset.objects.usable_by(user).compatible_with(job_type).order_by("name")
        choices = [(str(ds.pk), f"{ds.name} ({gettext(ds.get_format_display())})") for ds in usable]
        one = job_type in specs.R1
        help_text = (_("Tick the prompt/answer dataset to train on (one).") if one else
                     _("Tick one or more datasets that suit this job type."))
        if not choices:
            help_text = _("You have no ready dataset for this job type yet: upload one in the catalog.")
        widget = forms.CheckboxSelectMultiple(attrs={"class": "dataset-choice"})
        return forms.MultipleChoiceField(choices=choices, widget=widget,
                                         **{**common, "required": True, "help_text": help_text})
    if name == "tracker_key_ref":
        from apps.users.models import UserSecret

        secrets = UserSecret.objects.filter(owner=user).exclude(kind="hf_token").order_by("name")
        choices = [("", "—"), *[(s.name, f"{s.name} ({s.get_kind_display()}, {s.hint})") for s in secrets]]
        return forms.ChoiceField(choices=choices, **{**common, "help_text": (
            _("Your stored W&B or SwanLab key (add one on your profile page). The key itself only reaches the "
              "training container."))})
    if name == "hf_token_ref":
        from apps.users.models import UserSecret

        tokens = UserSecret.objects.filter(owner=user, kind="hf_token").order_by("name").values_list("name", flat=True)
        return forms.ChoiceField(choices=[("", "—"), *[(t, t) for t in tokens]], **{**common, "help_text": (
            _("Your stored Hugging Face token (add one on your profile page); gated models such as Llama and Gemma "
              "need it."))})
    if name == "instance_type":
        return forms.ChoiceField(choices=specs.instance_type_choices(), **common)
    if name == "base_model":
        attrs = {"list": "catalog-models", "autocomplete": "off", "type": "search",
                 "placeholder": _("Search the catalog, or type owner/name or s3://bucket/prefix/")}
        return forms.CharField(widget=forms.TextInput(attrs=attrs), **{**common, "required": True, "help_text": (
            _("A catalog or custom model (search by name or id), any Hugging Face repo id (owner/name; one the "
              "catalog knows uses its template) or an s3:// prefix."))})
    if isinstance(field, drf.BooleanField):
        return forms.BooleanField(**common)
    if isinstance(field, drf.ChoiceField):
        choices = _choices(field)
        if getattr(field, "allow_null", False) or getattr(field, "allow_blank", False):
            choices = [("", AUTOMATIC.get(name, "—")), *choices]
        return forms.ChoiceField(choices=choices, **common)
    if isinstance(field, drf.IntegerField):
        return forms.IntegerField(min_value=field.min_value, max_value=field.max_value, **common)
    if isinstance(field, drf.FloatField):
        return forms.FloatField(widget=forms.NumberInput(attrs={"step": "any"}), **common)
    if name in TEXTAREAS:
        return forms.CharField(widget=forms.Textarea(attrs={"rows": 10, "class": "mono", "spellcheck": "false"}),
                               strip=False, **common)
    widget = forms.TextInput(attrs={"placeholder": AUTOMATIC[name]}) if name in AUTOMATIC else None
    return forms.CharField(max_length=getattr(field, "max_length", None), widget=widget, **common)


class JobForm(forms.Form):
    name = forms.CharField(max_length=100, label=_("Job name"), help_text=_("Shown in lists; need not be unique."))

    def __init__(self, *args, job_type: str, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.job_type = job_type
        self.user = user
        self.fields["job_type"] = forms.ChoiceField(
            choices=[(value, gettext(label)) for value, label in JobType.choices], label=_("Job type"), initial=job_type,
            help_text=_("What to train. Changing it loads that type's defaults."),
        )
        self.targets = training_targets()
        self.fields["target"] = forms.ChoiceField(
            choices=[(t.name, t.label) for t in self.targets], label=_("Target"), required=False,
            help_text=_("Where the job runs. A target that is not set up yet cannot be chosen."))
        declared = specs.TrainingSpecSerializer().fields
        for name in specs.fields_for(job_type):
            if name == "job_type":
                continue
            self.fields[name] = _form_field(name, declared[name], job_type, user)
            if name in HIDDEN_UNLESS:
                controller, values = HIDDEN_UNLESS[name]
                self.fields[name].widget.attrs.update({"data-show-when": controller, "data-show-values": " ".join(values)})
        if not self.is_bound:
            defaults = specs.defaults_for(job_type)
            prefill = {k: v for k, v in defaults.items() if v is not None and k not in AUTOMATIC}
            self.initial = {**prefill, "target": default_target(), **self.initial}

    def basic_names(self) -> list[str]:
        return [n for n in (*BASIC, *MUST_CHOOSE.get(self.job_type, ())) if n in self.fields]

    def target_options(self) -> list[dict]:
        """The target radios: every training target, unusable ones disabled with what they lack."""
        chosen = self["target"].value() or self.initial.get("target") or default_target()
        return [{"name": t.name, "label": t.label, "usable": t.usable is not False, "missing": t.missing,
                 "detail": t.detail, "checked": t.name == chosen} for t in self.targets]

    def basic_fields(self) -> list:
        return [self[n] for n in self.basic_names() if n != "target"]

    def sections(self) -> list[dict]:
        """The advanced fieldsets (every field not in the basic view), shaped for core/_fields.html."""
        basic = set(self.basic_names())
        result = []
        for title, names in specs.SECTIONS.items():
            bound = [self[n] for n in names if n in self.fields and n not in basic]
            if bound:
                result.append({"title": gettext(title), "visible_fields": bound, "hidden_fields": [],
                               "non_field_errors": [],
                               "slug": title.split(" ")[0].lower()})
        return result

    def advanced_has_errors(self) -> bool:
        basic = set(self.basic_names())
        return any(name not in basic for name in self.errors if name != "__all__")

    def raw_data(self) -> dict:
        """The submitted values as API input: empty fields are left out, so the type's defaults apply."""
        data = {}
        for name, field in self.fields.items():
            value = field.widget.value_from_datadict(self.data, self.files, self.add_prefix(name))
            if isinstance(field, forms.BooleanField):
                data[name] = bool(value)
            elif isinstance(value, list):
                data[name] = value
            elif value not in (None, ""):
                data[name] = value
        data["job_type"] = self.job_type
        return data

    def validate(self, user) -> NewJob | None:
        """Validate with the API's validator (`validate_job`); errors land on the form's fields."""
        result = validate_job(self.raw_data(), user)
        self._errors = ErrorDict()
        self.cleaned_data = {}
        for field, messages in result.errors.items():
            target = field if field in self.fields else None
            for message in flatten(messages):
                self.add_error(target, message)
        return result.value

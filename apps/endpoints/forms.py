"""The deploy and scale forms' HTML side: fields to render, values to send to the validators.

Validation is not here: a posted form becomes a plain request dict (`request_values`) checked
by `validate_deploy` (the API's validator too), whose field errors are attached back onto these
fields for inline display.
"""

from django import forms
from django.conf import settings
from django.forms.utils import ErrorDict, ErrorList
from django.utils.translation import gettext, gettext_lazy as _, gettext_noop

from apps.catalog import instances
from apps.catalog.models import BaseModel
from apps.jobs.models import Status as JobStatus
from apps.jobs.models import TrainingJob
from apps.users.models import UserSecret
from apps.users.ownership import visible_to

from . import spec as deploy_spec
from . import target_options
from .models import Source, Target
from .serializers import default_target

NUMBER = {"class": "input"}
MODALITY_FIELDS = {f"limit_mm_{m}": m for m in deploy_spec.MODALITIES}
AUTOSCALING_FIELDS = ("min_instances", "max_instances", "target_invocations_per_instance")
ADAPTER_FIELDS = {"lora_adapter_name": "name", "lora_adapter_source": "source"}

# Options of the targets on a registered cluster, as their validators declare them: form field
# "<target>_<option>" -> (target, option of the request's `target_options`).
TARGET_OPTION_FIELDS = {
    f"{target}_{option}": (target, option)
    for target in target_options.targets() for option in target_options.serializer(target).form_fields()
}

# Fields that apply to some engines only, inside sections for all (the form hides them for the others).
ENGINE_FIELDS = {"enforce_eager": "vllm lmi"}
# Model fields shown for some sources only.
SOURCE_FIELDS = {"job": "job", "base_model": "catalog", "model_uri": "hf s3", "parameters_b": "hf s3"}
# Fields shown only while autoscaling is enabled.
AUTOSCALING_ONLY = frozenset({"min_instances", "max_instances", "target_invocations_per_instance"})

SECTIONS = [  # (title, help, fields, engines the section applies to: "" for all); titles translated when shown
    (gettext_noop("Model"), gettext_noop("What to serve."),
     ("source", "job", "base_model", "model_uri", "parameters_b", "hf_token_ref"), ""),
    (gettext_noop("Endpoint"), gettext_noop("Where it runs and what clients call it."),
     ("name", "target", "instance_type", "instance_count"), ""),
    (gettext_noop("Engine"), gettext_noop("The serving engine and its main limits."),
     ("engine", "engine_version", "max_model_len", "tensor_parallel_size", "max_num_seqs", "gpu_memory_utilization",
      "dtype", "quantization", "prefix_caching", "enforce_eager", "trust_remote_code"), ""),
    (gettext_noop("Chat and tools"), "", ("chat_template", "tool_call_parser", "reasoning_parser"), ""),
    (gettext_noop("Images, video and audio per prompt"), gettext_noop("Leave empty for text models."),
     tuple(MODALITY_FIELDS), "vllm lmi"),
    (gettext_noop("LoRA adapter"), gettext_noop("Serve an adapter on top of the base model instead of merged weights."),
     ("lora_adapter_name", "lora_adapter_source", "max_lora_rank"), "vllm sglang"),
    ("SageMaker", gettext_noop("Start-up limits for large models."),
     ("container_startup_health_check_timeout", "model_data_download_timeout", "inference_ami_version"), ""),
    (gettext_noop("Autoscaling"), gettext_noop("Add and remove instances with traffic."),
     ("autoscaling_enabled", *AUTOSCALING_FIELDS), ""),
    *((Target(target).label, target_options.serializer(target).FORM_HELP,
       tuple(f for f, (t, _) in TARGET_OPTION_FIELDS.items() if t == target), "") for target in target_options.targets()),
]


def _choices(values, blank: str | None = None):
    items = [(v, v) for v in values if v != ""]
    return ([("", blank)] if blank is not None else []) + items


def _int(label, help_text="", **attrs):
    return forms.IntegerField(label=label, required=False, help_text=help_text,
                              widget=forms.NumberInput(attrs={**NUMBER, **attrs}))


class DeployForm(forms.Form):
    source = forms.ChoiceField(label=_("Model source"), choices=Source.choices)
    job = forms.ChoiceField(label=_("Fine-tuning job"), required=False, help_text=_("Only succeeded jobs can be deployed."))
    base_model = forms.ChoiceField(label=_("Catalog model"), required=False)
    model_uri = forms.CharField(label=_("Hugging Face repo id or S3 prefix"), required=False,
                                help_text=_("owner/name, or s3://bucket/prefix/ holding the model files."))
    parameters_b = forms.FloatField(label=_("Parameters (billions)"), required=False,
                                    help_text=_("For the memory check of a model the catalog does not know."),
                                    widget=forms.NumberInput(attrs={**NUMBER, "step": "0.1"}))

    hf_token_ref = forms.ChoiceField(label=_("Hugging Face token"), required=False,
                                     help_text=_("Your stored token, for gated models such as Llama and Gemma."))

    name = forms.CharField(label=_("Endpoint name"), required=False, max_length=63,
                           help_text=_("Letters, digits and '-'. Clients send it as <code>model</code>. Empty: derived from the model."))
    target = forms.ChoiceField(label=_("Target"), choices=Target.choices, initial=default_target)
    instance_type = forms.ChoiceField(label=_("Instance type"))
    instance_count = _int(_("Instances"), min=1, max=100)

    engine = forms.ChoiceField(label=_("Engine"), choices=[("auto", _("auto (chosen by model and instance)")), ("vllm", "vLLM"),
                                                        ("sglang", "SGLang"), ("lmi", _("LMI (vLLM via DJL)"))])
    engine_version = forms.CharField(label=_("Engine version"), required=False, help_text=_("Empty: the installation's default."))
    max_model_len = _int(_("Max model length (tokens)"), _("Empty: the model's context, at most 12,288."), min=64)
    tensor_parallel_size = _int(_("Tensor parallel size"), _("Empty: every GPU of the instance."), min=1)
    max_num_seqs = _int(_("Max concurrent sequences"), min=1)
    gpu_memory_utilization = forms.FloatField(label=_("GPU memory fraction"), required=False,
                                              help_text=_("vLLM gpu-memory-utilization, SGLang mem-fraction-static."),
                                              widget=forms.NumberInput(attrs={**NUMBER, "step": "0.01", "min": "0.1", "max": "0.98"}))
    dtype = forms.ChoiceField(label=_("Data type"), choices=_choices(deploy_spec.DTYPES))
    quantization = forms.ChoiceField(label=_("Quantization"), required=False,
                                     choices=_choices(deploy_spec.QUANTIZATIONS, _("none (weights as stored)")))
    prefix_caching = forms.ChoiceField(label=_("Prefix caching"), required=False,
                                       choices=[("", _("engine default")), ("on", _("on")), ("off", _("off"))])
    enforce_eager = forms.BooleanField(label=_("Enforce eager (no CUDA graphs)"), required=False)
    trust_remote_code = forms.BooleanField(label=_("Trust remote code"), required=False,
                                           help_text=_("Runs the model repository's own Python code."))

    chat_template = forms.CharField(label=_("Chat template"), required=False,
                                    help_text=_("A file path such as /opt/ml/model/template.jinja, or a template name (SGLang)."))
    tool_call_parser = forms.CharField(label=_("Tool-call parser"), required=False,
                                       help_text=_("The engine's name: vLLM hermes, llama3_json, …; SGLang qwen25, llama3, …."))
    reasoning_parser = forms.CharField(label=_("Reasoning parser"), required=False,
                                       help_text=_("Separates thinking from the answer: vLLM qwen3, deepseek_r1, …; "
                                                 "SGLang qwen3, deepseek-r1, …."))

    limit_mm_image = _int(_("Images per prompt"), min=0, max=64)
    limit_mm_video = _int(_("Videos per prompt"), min=0, max=64)
    limit_mm_audio = _int(_("Audio clips per prompt"), min=0, max=64)

    lora_adapter_name = forms.CharField(label=_("Adapter name"), required=False, help_text=_("Clients select it as <code>model</code>."))
    lora_adapter_source = forms.CharField(label=_("Adapter S3 prefix"), required=False)
    max_lora_rank = forms.ChoiceField(label=_("Max LoRA rank"), required=False,
                                      choices=[("", _("engine default"))] + [(str(r), str(r)) for r in deploy_spec.MAX_LORA_RANKS])

    container_startup_health_check_timeout = _int(_("Start-up health check timeout (s)"), _("Empty: 900 (vLLM, SGLang), 1800 (LMI)."),
                                                  min=60, max=3600)
    model_data_download_timeout = _int(_("Model download timeout (s)"), min=60, max=3600)
    inference_ami_version = forms.ChoiceField(label=_("Inference AMI"), required=False,
                                              choices=_choices(deploy_spec.INFERENCE_AMIS, _("installation default")))

    autoscaling_enabled = forms.BooleanField(label=_("Enable autoscaling"), required=False)
    min_instances = _int(_("Minimum instances"), min=1, max=100)
    max_instances = _int(_("Maximum instances"), min=1, max=100)
    target_invocations_per_instance = _int(_("Target invocations per instance per minute"), min=1)

    def __init__(self, user, *args, errors: dict | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        jobs = visible_to(TrainingJob.objects.alive(), user).filter(status=JobStatus.SUCCEEDED)[:200]
        self.fields["job"].choices = [("", _("choose a succeeded job"))] + [(str(j.pk), f"{j.name} (#{j.pk}, {j.job_type})") for j in jobs]
        models = BaseModel.objects.visible_to_user(user)
        self.fields["base_model"].choices = [("", _("choose a model"))] + [
            (m.key, f"{m.display_name} ({m.parameters_b:g}B)") for m in models]
        self.fields["target"].choices = [(v, gettext(label)) for v, label in Target.choices
                                         if v in settings.SERVING_BACKENDS]
        self.fields["source"].choices = [(v, gettext(label)) for v, label in Source.choices]
        self.fields["instance_type"].choices = [(name, inst.label) for name, inst in instances.instance_types().items()]
        tokens = UserSecret.objects.filter(owner=user, kind="hf_token").order_by("name").values_list("name", flat=True)
        self.fields["hf_token_ref"].choices = [("", _("none"))] + [(t, t) for t in tokens]
        for target in target_options.targets():
            for option, field in target_options.serializer(target).form_fields().items():
                self.fields[f"{target}_{option}"] = field
        if errors is not None:
            self._errors = ErrorDict()
            for field, messages in form_errors(errors).items():
                key = field if field in self.fields else "__all__"
                self._errors.setdefault(key, ErrorList()).extend(messages)

    @staticmethod
    def _visibility(name: str) -> dict[str, str]:
        """data-* attributes that tell the page's script when to show a field."""
        data = {"engines": ENGINE_FIELDS.get(name, ""), "sources": SOURCE_FIELDS.get(name, ""),
                "autoscaling": "1" if name in AUTOSCALING_ONLY else ""}
        return {key: value for key, value in data.items() if value}

    def sections(self):
        for title, help_text, names, engines in SECTIONS:
            fields = [{"bound": self[n], "data": self._visibility(n)} for n in names]
            yield {"title": gettext(title), "help": gettext(help_text) if help_text else "", "fields": fields,
                   "engines": engines,
                   "id": "section-" + "-".join(title.lower().replace(",", "").split()[:2])}


def form_errors(errors: dict) -> dict[str, list[str]]:
    """Validator errors (nested for autoscaling, adapters, modalities) keyed by form field."""
    flat: dict[str, list[str]] = {}

    def add(field, messages):
        if isinstance(messages, dict):
            for sub, value in messages.items():
                add(sub, value)
            return
        items = messages if isinstance(messages, list) else [messages]
        for item in items:
            if isinstance(item, dict | list):
                add(field, item)
            else:
                flat.setdefault(field, []).append(str(item))

    for field, messages in errors.items():
        if field == "autoscaling" and isinstance(messages, dict):
            for sub, value in messages.items():
                add(sub if sub in AUTOSCALING_FIELDS else "autoscaling_enabled", value)
        elif field == "lora_adapters":
            if isinstance(messages, list) and messages and isinstance(messages[0], dict):
                for item in messages:
                    for sub, value in item.items():
                        add({"name": "lora_adapter_name", "source": "lora_adapter_source"}.get(sub, "lora_adapter_name"), value)
            else:
                add("lora_adapter_name", messages)
        elif field == "limit_mm_per_prompt":
            add("limit_mm_image", messages)
        elif field == "target_options":
            fields = {option: name for name, (_, option) in TARGET_OPTION_FIELDS.items()}
            if isinstance(messages, dict):
                for sub, value in messages.items():
                    add(sub.removeprefix("spec.") if sub.startswith("spec.") else fields.get(sub, fields["cluster_id"]), value)
            else:
                add(fields["cluster_id"], messages)
        else:
            add(field, messages)
    return flat


def request_values(post) -> dict:
    """A posted deploy form as the request dict validate_deploy (and the API) take."""
    values = {}
    for key in ("source", "job", "base_model", "model_uri", "parameters_b", "name", "target", "instance_type",
                "instance_count", "engine", "engine_version", "max_model_len", "tensor_parallel_size", "max_num_seqs",
                "gpu_memory_utilization", "dtype", "quantization", "chat_template", "tool_call_parser",
                "reasoning_parser", "hf_token_ref", "max_lora_rank", "container_startup_health_check_timeout", "model_data_download_timeout",
                "inference_ami_version"):
        value = (post.get(key) or "").strip() if key != "chat_template" else post.get(key) or ""
        if value != "":
            values[key] = value
    for key in ("enforce_eager", "trust_remote_code"):
        values[key] = post.get(key) in ("on", "true", "1")
    values["prefix_caching"] = {"on": True, "off": False}.get(post.get("prefix_caching") or "")
    limits = {m: post.get(f) for f, m in MODALITY_FIELDS.items() if (post.get(f) or "").strip()}
    if limits:
        values["limit_mm_per_prompt"] = limits
    adapter = {k: (post.get(f) or "").strip() for f, k in ADAPTER_FIELDS.items()}
    if any(adapter.values()):
        values["lora_adapters"] = [adapter]
    if post.get("autoscaling_enabled") in ("on", "true", "1"):
        values["autoscaling"] = {k: post.get(k) for k in AUTOSCALING_FIELDS if (post.get(k) or "").strip()}
    target = values.get("target", "")
    if target_options.on_cluster(target):
        switches = target_options.serializer(target).FORM_SWITCHES
        options = {}
        for field, (field_target, key) in TARGET_OPTION_FIELDS.items():
            if field_target != target:
                continue
            if key in switches:
                options[key] = post.get(field) in ("on", "true", "1")
            elif (post.get(field) or "").strip():
                options[key] = post.get(field).strip()
        values["target_options"] = options
    return values


def initial_values(user, params) -> dict:
    """Defaults of an empty form, with `?job=<id>` or `?model=<catalog key>` prefilled."""
    initial = {"source": Source.CATALOG, "target": default_target(), "engine": "auto", "instance_count": 1,
               "max_num_seqs": deploy_spec.DEFAULT_MAX_NUM_SEQS, "dtype": "auto",
               "gpu_memory_utilization": deploy_spec.DEFAULT_GPU_MEMORY_UTILIZATION,
               "model_data_download_timeout": deploy_spec.DEFAULT_DOWNLOAD_TIMEOUT,
               "instance_type": "ml.g5.2xlarge", "target_invocations_per_instance": 100}
    job_id = params.get("job")
    if job_id and job_id.isdigit():
        initial.update({"source": Source.JOB, "job": job_id})
    elif params.get("model"):
        initial.update({"source": Source.CATALOG, "base_model": params["model"]})
    return initial


class ScaleForm(forms.Form):
    instance_count = _int(_("Instances"), min=1, max=100)
    autoscaling_enabled = forms.BooleanField(label=_("Autoscaling"), required=False)
    min_instances = _int(_("Minimum instances"), min=1, max=100)
    max_instances = _int(_("Maximum instances"), min=1, max=100)
    target_invocations_per_instance = _int(_("Target invocations per instance per minute"), min=1)

    def __init__(self, *args, endpoint, **kwargs):
        autoscaling = endpoint.autoscaling or {}
        kwargs.setdefault("initial", {
            "instance_count": endpoint.instance_count, "autoscaling_enabled": bool(autoscaling),
            "min_instances": autoscaling.get("min_instances", 1),
            "max_instances": autoscaling.get("max_instances", max(2, endpoint.instance_count)),
            "target_invocations_per_instance": autoscaling.get("target_invocations_per_instance", 100),
        })
        super().__init__(*args, **kwargs)

    def payload(self) -> dict:
        data = self.data
        payload = {}
        if (data.get("instance_count") or "").strip():
            payload["instance_count"] = data["instance_count"]
        if data.get("autoscaling_enabled") in ("on", "true", "1"):
            payload["autoscaling"] = {k: data.get(k) for k in AUTOSCALING_FIELDS if (data.get(k) or "").strip()}
        else:
            payload["autoscaling"] = None
        return payload

    def add_serializer_errors(self, errors: dict) -> None:
        self._errors = ErrorDict()
        for field, messages in form_errors(errors).items():
            key = field if field in self.fields else "__all__"
            self._errors.setdefault(key, ErrorList()).extend(messages)

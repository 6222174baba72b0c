"""Forms shared by the pages and the API (the API validates its input with these same forms)."""

import re

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from apps.core.huggingface import is_hf_repo_id
from apps.core.storage_refs import check_reference

from . import curation
from .formats import DatasetFormat
from .models import BaseModel, Dataset

# Known LLaMA-Factory template names offered as suggestions; any registered name is accepted.
KNOWN_TEMPLATES = sorted({
    "default", "empty", "alpaca", "chatml", "qwen", "qwen3", "qwen3_nothink", "qwen2_vl", "qwen3_vl", "llama2",
    "llama3", "llama4", "mllama", "mistral", "mistral_small", "ministral3", "gemma", "gemma2", "gemma3", "glm4",
    "deepseek", "deepseek3", "deepseekr1", "phi", "phi4", "gpt_oss", "smollm2", "yi", "zephyr",
    "granite3",
})
_TEMPLATE = re.compile(r"^[a-z0-9_]+$")


class _DatasetOptionsForm(forms.Form):
    """What every new dataset takes besides its source: the statistics' tokenizer, cutoff and split."""

    description = forms.CharField(max_length=300, required=False, label=_("Description"))
    base_model = forms.ModelChoiceField(
        queryset=BaseModel.objects.none(), required=False, to_field_name="key", empty_label=_("None (estimate tokens)"),
        label=_("Base model"),
        help_text=_("Its tokenizer counts tokens when available offline; otherwise counts are estimated."),
    )
    cutoff_len = forms.IntegerField(
        initial=2048, min_value=16, max_value=1_048_576, required=False, label=_("Cutoff length (tokens)"),
        help_text=_("Rows longer than this are counted in the statistics (LLaMA-Factory's cutoff_len)."),
    )
    val_fraction = forms.FloatField(
        initial=0.0, min_value=0.0, max_value=0.5, required=False, label=_("Validation split"),
        help_text=_("Share of rows held out for evaluation, 0 to 0.5 (0 = none)."),
    )

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["base_model"].queryset = BaseModel.objects.visible_to_user(user)
        # The source fields of each subclass come first.
        self.order_fields([name for name in self.fields if name not in _DatasetOptionsForm.base_fields])

    def clean_val_fraction(self):
        return self.cleaned_data.get("val_fraction") or 0.0

    def clean_cutoff_len(self):
        return self.cleaned_data.get("cutoff_len") or 2048


class DatasetUploadForm(_DatasetOptionsForm):
    name = forms.CharField(max_length=150, label=_("Name"))
    file = forms.FileField(allow_empty_file=True, help_text="", label=_("File"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["file"].help_text = (
            _("JSON Lines, JSON array, CSV or Parquet, UTF-8, up to %(size)s MB. "
              "The format is detected. For images, upload a .zip or .tar.gz holding one JSON / JSONL file and "
              "the images its rows name in their “images” lists.") % {"size": settings.DATASET_MAX_UPLOAD_MB}
        )
        self.fields["file"].widget.attrs["accept"] = ".jsonl,.ndjson,.json,.csv,.parquet,.zip,.tar.gz,.tgz"


class DatasetRegisterForm(_DatasetOptionsForm):
    SOURCES = [(Dataset.Source.S3, _("S3 prefix")), (Dataset.Source.HF, _("Hugging Face dataset")),
               (Dataset.Source.BUILTIN, _("LLaMA-Factory built-in"))]

    name = forms.CharField(max_length=150, label=_("Name"))
    source = forms.ChoiceField(choices=SOURCES, label=_("Source"))
    source_uri = forms.CharField(
        max_length=500, label=_("Location"),
        help_text=_("s3://bucket/prefix/ for S3, an id such as tatsu-lab/alpaca for Hugging Face, or a built-in name."),
    )
    format = forms.ChoiceField(
        choices=[("", _("Detect (S3 only)")), *DatasetFormat.choices], required=False, label=_("Format"),
        help_text=_("Required for Hugging Face datasets, which ModelHub does not read."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.builtin_names = curation.builtin_names()

    def clean(self):
        data = super().clean()
        source, uri = data.get("source"), (data.get("source_uri") or "").strip()
        data["source_uri"] = uri
        if source == Dataset.Source.S3 and not re.match(r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/.+", uri):
            self.add_error("source_uri", _("Enter an S3 prefix such as s3://my-bucket/datasets/chat/."))
        elif source == Dataset.Source.HF:
            if not is_hf_repo_id(uri):
                self.add_error("source_uri", _("Enter a Hugging Face dataset id such as tatsu-lab/alpaca."))
            if not data.get("format"):
                self.add_error("format", _("Choose the format: ModelHub does not read Hugging Face datasets."))
        elif source == Dataset.Source.BUILTIN and uri not in self.builtin_names:
            self.add_error("source_uri", _("“%(uri)s” is not a built-in dataset. Choose one of: %(names)s.")
                           % {"uri": uri, "names": ", ".join(self.builtin_names)})
        return data


class BaseModelForm(forms.ModelForm):
    """A custom base model: a Hugging Face repo id or an S3 prefix, with its chat template."""

    lora_targets = forms.CharField(
        initial="all", required=False, label=_("LoRA target modules"),
        help_text=_("“all”, or module names separated by commas (q_proj, v_proj, …)."),
    )

    class Meta:
        model = BaseModel
        fields = ["display_name", "repo_id", "s3_uri", "template", "parameters_b", "context_length",
                  "lora_targets", "license", "modality", "family", "description"]
        labels = {
            "display_name": _("Display name"), "repo_id": _("Hugging Face repo id"), "s3_uri": _("S3 prefix"),
            "template": _("LLaMA-Factory chat template"), "parameters_b": _("Parameters (billions)"),
            "context_length": _("Context length"), "license": _("License"), "modality": _("Modality"),
            "family": _("Family"), "description": _("Description"),
        }
        help_texts = {
            "repo_id": _("e.g. Qwen/Qwen3-8B. Leave empty when the weights are in S3."),
            "s3_uri": _("s3://bucket/prefix/ holding the model folder (config.json, safetensors, tokenizer)."),
            "template": _("The LLaMA-Factory chat template name, e.g. qwen3, llama3, mistral, gemma3."),
        }

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["template"].widget.attrs["list"] = "template-names"
        for name in ("modality", "context_length"):  # the model's defaults apply when left out
            self.fields[name].required = False
        self.fields["parameters_b"].widget.attrs.update(step="0.001", min="0.001")
        if self.instance.pk and isinstance(self.instance.lora_targets, list):
            self.initial["lora_targets"] = ", ".join(self.instance.lora_targets)

    def clean_modality(self):
        return self.cleaned_data.get("modality") or BaseModel.Modality.TEXT

    def clean_context_length(self):
        return self.cleaned_data.get("context_length") or 4096

    def clean_parameters_b(self):
        value = self.cleaned_data["parameters_b"]
        if not 0 < value <= 5000:
            raise forms.ValidationError(_("Enter the parameter count in billions, e.g. 7.6."))
        return value

    def clean_repo_id(self):
        value = self.cleaned_data["repo_id"].strip()
        if value and not is_hf_repo_id(value):
            raise forms.ValidationError(_("Enter a repo id like organisation/model-name."))
        return value

    def clean_s3_uri(self):
        value = self.cleaned_data["s3_uri"].strip()
        if value and not re.match(r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/.+", value):
            raise forms.ValidationError(_("Enter an S3 prefix such as s3://my-bucket/models/my-model/."))
        if value and (problem := check_reference(value, self.user, owned_prefixes=[])):
            raise forms.ValidationError(problem)
        return value

    def clean_template(self):
        value = self.cleaned_data["template"].strip()
        if not _TEMPLATE.match(value):
            raise forms.ValidationError(_("Template names are lowercase letters, digits and '_' (e.g. qwen3)."))
        return value

    def clean_lora_targets(self):
        raw = self.cleaned_data.get("lora_targets") or "all"
        if isinstance(raw, list):
            names = [str(n).strip() for n in raw]
        else:
            names = [n.strip() for n in str(raw).split(",")]
        names = [n for n in names if n]
        if not names or any(not re.match(r"^[A-Za-z0-9_.]+$", n) for n in names):
            raise forms.ValidationError(_("Use “all” or module names such as q_proj, v_proj."))
        return names

    def clean(self):
        data = super().clean()
        if not data.get("repo_id") and not data.get("s3_uri"):
            self.add_error("repo_id", _("Enter a Hugging Face repo id or an S3 prefix."))
        elif data.get("repo_id") and data.get("s3_uri"):
            self.add_error("s3_uri", _("Give either a repo id or an S3 prefix, not both."))
        return data

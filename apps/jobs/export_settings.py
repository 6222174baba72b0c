"""Settings of an export (merge / GPTQ quantize a succeeded job's model, optionally push it to the Hugging Face
Hub), with LLaMA-Factory 0.9.4's export rules as field errors. A building block: not yet a job kind.

What LLaMA-Factory 0.9.4 does (train/tuner.py export_model, model/model_utils/quantization.py):
- it refuses to quantize while merging ("Please merge adapters before quantizing the model"), so a quantized
  export of a LoRA / QLoRA job starts from that job's merged model, and a plain export merges the adapter;
- it refuses to merge an adapter into a quantized model, so a QLoRA adapter is merged into the unquantized
  base (as the training run's own merge does, renderers/merge.py);
- GPTQ takes 2, 3, 4 or 8 bits and samples `export_quantization_nsamples` rows of the calibration dataset's
  `text` column longer than `export_quantization_maxlen` tokens, on a GPU;
- `push_to_hub` gets `hf_hub_token`, and with none huggingface_hub reads HF_TOKEN from the environment, so
  the token never needs to be in the rendered YAML. It creates the repository public: a private one must
  exist before the push.
"""

from __future__ import annotations

import dataclasses

from apps.core.huggingface import is_hf_repo_id

GPTQ_BITS = (2, 3, 4, 8)
CALIBRATION_FORMAT = "text"  # the catalog format whose rows carry the `text` column GPTQ samples
MAX_EXPORT_SIZE_GB = 100
MAX_NSAMPLES = 1024
MAXLEN_RANGE = (128, 8192)
ADAPTER_METHODS = ("lora", "qlora")


@dataclasses.dataclass(frozen=True)
class ExportSource:
    """The succeeded job whose model is exported, as the export sees it."""

    status: str
    tool: str
    finetuning_method: str
    base_model_path: str  # what the job trained on (model_name_or_path)
    template: str | None = None
    trust_remote_code: bool = False  # the source job's own setting (a group permission): the export follows it

    @property
    def has_adapter(self) -> bool:
        return self.finetuning_method in ADAPTER_METHODS


@dataclasses.dataclass(frozen=True)
class ExportSettings:
    source: ExportSource
    export_size: int = 5
    quantization_bit: int | None = None
    calibration_format: str | None = None  # the catalog format of the chosen calibration dataset
    nsamples: int = 128
    maxlen: int = 1024
    hub_repo_id: str | None = None
    hub_private: bool = True
    hf_token_ref: str | None = None
    gpu_count: int = 1  # of the instance the export runs on

    @property
    def quantizes(self) -> bool:
        return self.quantization_bit is not None

    def field_errors(self) -> dict[str, str]:
        errors: dict[str, str] = {}
        source = self.source
        if source.status != "succeeded":
            errors["source"] = "Only a succeeded job can be exported."
        elif source.tool != "llamafactory":
            errors["source"] = "EasyR1 runs already end with a Hugging Face model; export a LLaMA-Factory job."
        if not 1 <= self.export_size <= MAX_EXPORT_SIZE_GB:
            errors["export_size"] = f"The shard size is 1 to {MAX_EXPORT_SIZE_GB} GB."
        if self.quantizes:
            errors.update(self._quantization_errors())
        if self.hub_repo_id is not None:
            if not is_hf_repo_id(self.hub_repo_id):
                errors["hub_repo_id"] = "Enter a Hugging Face repository id: owner/name."
            if not self.hf_token_ref:
                errors["hf_token_ref"] = "Pushing to the Hub needs one of your stored Hugging Face tokens."
        return errors

    def _quantization_errors(self) -> dict[str, str]:
        errors = {}
        if self.quantization_bit not in GPTQ_BITS:
            errors["quantization_bit"] = "GPTQ quantizes to 2, 3, 4 or 8 bits."
        if self.calibration_format is None:
            errors["calibration_dataset"] = "A quantized export needs a calibration dataset."
        elif self.calibration_format != CALIBRATION_FORMAT:
            errors["calibration_dataset"] = ("GPTQ samples the `text` column: choose one of your plain-text "
                                             "(pre-training format) datasets.")
        if not 1 <= self.nsamples <= MAX_NSAMPLES:
            errors["nsamples"] = f"1 to {MAX_NSAMPLES} calibration samples."
        low, high = MAXLEN_RANGE
        if not low <= self.maxlen <= high:
            errors["maxlen"] = f"Calibration samples are {low} to {high} tokens long."
        if self.gpu_count < 1:
            errors["instance_type"] = "GPTQ quantization runs on a GPU: choose a GPU instance."
        return errors

"""The LoRA merge (LLaMA-Factory `export`) config, for LoRA and QLoRA alike, and the export job's config.

LLaMA-Factory: "DO NOT use quantized model or quantization_bit when merging lora adapters". A QLoRA
adapter is therefore merged into the *unquantized* base: the export config never carries
`quantization_bit`, and the merged folder is what deploy serves (the predecessor skipped the
merge for QLoRA and pointed deploy at a folder that was never produced).
"""

from __future__ import annotations

from .context import JobContext
from .llamafactory import model_path
from .yamlio import dump

EXPORT_SHARD_GB = 5


def merge_config(spec, ctx: JobContext) -> dict | None:
    """The export YAML as a dict, or None when the run produces no adapter to merge."""
    if spec.tool != "llamafactory" or not spec.needs_merge:
        return None
    c = {
        "model_name_or_path": model_path(spec, ctx),
        "adapter_name_or_path": ctx.output_dir,
        "trust_remote_code": spec.trust_remote_code,
    }
    if spec.template and spec.job_type != "pt":
        c["template"] = spec.template
    c.update(finetuning_type="lora", **export_keys(ctx.export_dir, EXPORT_SHARD_GB))
    return c


def export_keys(export_dir: str, size_gb: int) -> dict:
    return {"export_dir": export_dir, "export_size": size_gb, "export_device": "auto", "export_legacy_format": False}


def export_job_config(settings, *, export_dir: str, adapter_dir: str, merged_dir: str,
                      calibration_file: str | None = None) -> dict:
    """The `llamafactory-cli export` YAML of an export (apps/jobs/export_settings.py) as a dict.

    A plain export of a LoRA / QLoRA job merges its adapter (`adapter_dir`) into the unquantized base; a
    quantized one starts from the job's merged model (`merged_dir`), since LLaMA-Factory quantizes no adapter.
    A full / freeze job's model is in `merged_dir` too. The Hub token is never here: it reaches the push as
    HF_TOKEN in the container's environment."""
    source = settings.source
    merge = source.has_adapter and not settings.quantizes
    c = {"model_name_or_path": source.base_model_path if merge else merged_dir, "trust_remote_code": source.trust_remote_code}
    if merge:
        c.update(adapter_name_or_path=adapter_dir, finetuning_type="lora")
    if source.template:
        c["template"] = source.template
    c.update(export_keys(export_dir, settings.export_size))
    if settings.quantizes:
        c.update(export_quantization_bit=settings.quantization_bit, export_quantization_dataset=calibration_file,
                 export_quantization_nsamples=settings.nsamples, export_quantization_maxlen=settings.maxlen)
    if settings.hub_repo_id:
        c["export_hub_model_id"] = settings.hub_repo_id
    return c


def render_merge_yaml(spec, ctx: JobContext) -> str | None:
    config = merge_config(spec, ctx)
    return dump(config) if config is not None else None

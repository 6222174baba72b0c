"""The LoRA merge (LLaMA-Factory `export`) config, for LoRA and QLoRA alike.

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
    c.update(finetuning_type="lora", export_dir=ctx.export_dir, export_size=EXPORT_SHARD_GB, export_device="auto",
             export_legacy_format=False)
    return c


def render_merge_yaml(spec, ctx: JobContext) -> str | None:
    config = merge_config(spec, ctx)
    return dump(config) if config is not None else None

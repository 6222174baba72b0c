"""dataset_info.json for a job: the catalog entries of its datasets, pointed at where the entry point
downloads each staged folder (`<data_dir>/<name>/`). Built-ins are listed by name for the entry
point, which copies their entries from the image's own LLaMA-Factory data/dataset_info.json."""

from __future__ import annotations

from .context import JobContext
from .yamlio import dump_json


def dataset_info(ctx: JobContext) -> dict:
    info = {}
    for ref in ctx.datasets:
        if ref.entry is None:
            continue
        entry = dict(ref.entry)
        if "file_name" in entry:
            entry["file_name"] = f"{ref.name}/{entry['file_name']}"
        info[ref.name] = entry
    return info


def builtin_names(ctx: JobContext) -> list[str]:
    return [ref.name for ref in ctx.datasets if ref.entry is None]


def render_dataset_info(ctx: JobContext) -> str:
    return dump_json(dataset_info(ctx))

"""dataset_info.json inside the container: the job's rendered entries plus any LLaMA-Factory built-ins."""

from __future__ import annotations

import os


def with_builtins(rendered: dict, builtin_info: dict, names, builtin_data_dir: str) -> dict:
    """Add the entries of built-in datasets `names`, their file paths made absolute (LLaMA-Factory
    joins dataset_dir with file_name, and an absolute file_name wins)."""
    info = dict(rendered)
    missing = [n for n in names if n not in builtin_info]
    if missing:
        raise ValueError(f"Built-in datasets not in this image's LLaMA-Factory: {', '.join(missing)}")
    for name in names:
        entry = dict(builtin_info[name])
        if "file_name" in entry and not os.path.isabs(entry["file_name"]):
            entry["file_name"] = f"{builtin_data_dir.rstrip('/')}/{entry['file_name']}"
        info[name] = entry
    return info

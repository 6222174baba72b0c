"""A local job's folder, and the container paths the rendered bundle names mapped into it.

Every local job owns `STORAGE_DIR/jobs/<remote name>/`, which stands in for the job's S3 prefix:

    config/        the rendered bundle, exactly as the SageMaker image receives it
    input/         /opt/ml/input/data: staged datasets, an uploaded base model, a reward model
    checkpoints/   /opt/ml/checkpoints: the trainer's output_dir, checkpoints and trainer log
    model/         the trained model or adapter, without checkpoints (as the image uploads it)
    merged/        /opt/ml/output/export: a LoRA adapter merged into its base
    huggingface/   the GRPO family's model in Hugging Face format
    run/           the runner's state.json, exit.json, stop request and log

The bundle is rendered once, for the training image, with container paths (/opt/ml/...). A local
run sees the same files through this mount table, the way `docker run -v` would mount the job
folder: the runner relocates every path that starts with a container prefix. Pure: no I/O here.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

CONFIG, INPUT, CHECKPOINTS, MODEL, MERGED, HUGGINGFACE, RUN = (
    "config", "input", "checkpoints", "model", "merged", "huggingface", "run")
STATE_FILE, EXIT_FILE, STOP_FILE, LOG_FILE = "state.json", "exit.json", "stop-requested", "run.log"

# Container path -> folder of the job (longest prefixes first, so the most specific mount wins).
CONTAINER_MOUNTS = (
    ("/opt/ml/input/config/modelhub", CONFIG),
    ("/opt/ml/input/data", INPUT),
    ("/opt/ml/checkpoints", CHECKPOINTS),
    ("/opt/ml/output/export", MERGED),
)


def mounts(job_dir: Path | str) -> tuple[tuple[str, str], ...]:
    root = Path(job_dir)
    return tuple((container, str(root / folder)) for container, folder in CONTAINER_MOUNTS)


def relocate(value, table) -> object:
    """`value` with every string under a mounted container path moved into the job folder (recursively
    through dicts and lists). `file://` URIs become plain paths; other strings stay as they are."""
    if isinstance(value, str):
        if value.startswith("file://"):
            from urllib.parse import unquote, urlparse

            return unquote(urlparse(value).path)
        for container, local in table:
            if value == container or value.startswith(container + "/"):
                return local + value[len(container):]
        return value
    if isinstance(value, Mapping):
        return {key: relocate(item, table) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [relocate(item, table) for item in value]
    return value


def relocated_keys(config: Mapping, table) -> dict:
    """The top-level keys of a flat config (LLaMA-Factory YAML) whose values relocate: the dotlist
    overrides that point the very same YAML at the job folder."""
    moved = {}
    for key, value in config.items():
        new = relocate(value, table)
        if new != value:
            moved[key] = new
    return moved

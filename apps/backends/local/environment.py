"""The local target's ML environment (LOCAL_PYTHON) and what a child process it starts gets to see."""

from __future__ import annotations

import os
import shutil
from functools import cache
from pathlib import Path

from django.conf import settings

from ..base import Readiness

HERE = Path(__file__).resolve().parent
# Passed through from the worker's environment; everything else a child sees is set explicitly.
INHERITED = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "CUDA_VISIBLE_DEVICES", "HIP_VISIBLE_DEVICES")
OFFLINE = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
           "DISABLE_VERSION_CHECK": "1", "LLAMABOARD_ENABLED": "0", "PYTHONUNBUFFERED": "1",
           "TOKENIZERS_PARALLELISM": "false", "GRADIO_ANALYTICS_ENABLED": "False", "DO_NOT_TRACK": "1"}


def python() -> Path:
    return Path(settings.LOCAL_PYTHON)


def tool(name: str) -> str:
    """A console script of the ML environment (llamafactory-cli, transformers, vllm), by full path."""
    return str(python().with_name(name))


def readiness() -> Readiness:
    exe = python()
    if not (exe.is_file() and os.access(exe, os.X_OK)):
        return Readiness(False, (f"The local ML environment is not installed: run `make local-env` "
                                 f"(LOCAL_PYTHON={exe} does not exist).",))
    return Readiness(True, detail=f"{'GPU' if has_gpu() else 'CPU only'}; ML environment {exe.parent.parent}")


@cache
def has_gpu() -> bool:
    """An NVIDIA GPU this machine can use (the driver's tool answers)."""
    smi = shutil.which("nvidia-smi")
    if not smi:
        return False
    import subprocess

    try:
        return subprocess.run([smi, "-L"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def child_env(*layers) -> dict[str, str]:
    """The environment of a process we start: a few inherited basics, offline switches, then `layers`
    in order (the submission's environment, then its secrets: they reach only the child)."""
    env = {key: os.environ[key] for key in INHERITED if key in os.environ}
    env.update(OFFLINE)
    env["HF_HOME"] = str(Path(settings.STORAGE_DIR) / "hf-home")
    for layer in layers:
        env.update({str(k): str(v) for k, v in (layer or {}).items()})
    return env

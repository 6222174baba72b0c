"""One local training run, from its job folder: what the training image's entry point does, on local paths.

    <LOCAL_PYTHON> apps/backends/local/runner.py <job folder>

Runs in the ML environment (never imports Django). It follows the bundle's job.json the way
docker/entrypoint's `modelhub_train` does, reusing its pieces (the trainer and merge command lines,
the dataset_info.json preparation, the finish plan), with the job folder mounted where the image
has /opt/ml (layout.py): stage the datasets into the job folder, train, merge, copy the model to
model/ (merged/, huggingface/ are written in place). S3 sync, multi-node and Ray are the image's
business and have no local counterpart.

LLaMA-Factory job types run `llamafactory-cli train config/train.yaml` -- the very YAML -- with
dotlist overrides that relocate its container paths and, without a GPU, switch mixed precision off.
The GRPO family runs TRL (grpo.py) on config/trl.yaml.

The last thing it does is write run/exit.json: {"code", "reason", "stopped", "ended_at"}. A run that
ends without one was killed (or the machine went down); the backend reports that as a failure.
"""

from __future__ import annotations

import collections
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
sys.path[:0] = [str(HERE), str(REPO / "docker" / "entrypoint")]

import layout  # noqa: E402  (this folder, importable without Django)
from modelhub_train import commands, plan  # noqa: E402
from modelhub_train import run as entrypoint  # noqa: E402

TRL_CONFIG = "trl.yaml"
TAIL = 30
GPU_ENV = "MODELHUB_LOCAL_GPU"


class JobFailed(Exception):
    pass


def log(message: str) -> None:
    print(f"[modelhub-local {datetime.now(UTC):%H:%M:%S.%f}] {message}", flush=True)


_child: subprocess.Popen | None = None
_stopping = False


def _on_term(signum, _frame):
    global _stopping
    _stopping = True
    if _child is not None and _child.poll() is None:
        _child.send_signal(signum)


def run_or_fail(argv: list[str], what: str, *, cwd: Path, env: dict | None = None) -> None:
    """Run argv (no shell) in this process group, echo its output, fail with its last lines."""
    global _child
    if _stopping:
        raise JobFailed("stopped")
    log("running " + " ".join(argv))
    started = time.monotonic()
    last = collections.deque(maxlen=TAIL)
    _child = subprocess.Popen(argv, cwd=cwd, env={**os.environ, **(env or {})}, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, errors="replace")
    for line in _child.stdout:
        sys.stdout.write(line)
        sys.stdout.flush()
        last.append(line.rstrip())
    code = _child.wait()
    _child = None
    log(f"{what} took {time.monotonic() - started:.2f} s")
    if _stopping:
        raise JobFailed("stopped")
    if code != 0:
        tail = " | ".join(line for line in list(last)[-5:] if line)
        raise JobFailed(f"{what} exited with code {code}: {tail}")


def has_gpu() -> bool:
    """Decided by the backend (nvidia-smi) and passed down, so the runner never pays for importing torch."""
    return os.environ.get(GPU_ENV) == "1"


def device_overrides(config: dict, gpu: bool) -> dict:
    """What a CPU run changes in a LLaMA-Factory config: no mixed precision, no worker processes."""
    if gpu:
        return {}
    cpu = {key: False for key in ("bf16", "fp16", "pure_bf16") if config.get(key)}
    for key, value in (("preprocessing_num_workers", 1), ("dataloader_num_workers", 0)):
        if key in config:
            cpu[key] = value
    return cpu


def dotlist(overrides: dict) -> list[str]:
    return [f"{key}={'true' if value is True else 'false' if value is False else value}"
            for key, value in overrides.items()]


def stage_downloads(manifest: dict) -> None:
    """The image downloads datasets and models from S3; here they are copied from local storage."""
    for item in manifest["downloads"]:
        source = Path(item["uri"])
        if "://" in item["uri"] or not source.exists():
            raise JobFailed(f"{item['uri']} is not in local storage: the local target reads only files on this machine.")
        log(f"staging {source} -> {item['dest']}")
        if source.is_dir():
            shutil.copytree(source, item["dest"], dirs_exist_ok=True)
        else:
            Path(item["dest"]).mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, item["dest"])


def train_llamafactory(job_dir: Path, manifest: dict, table, gpu: bool, cli: str) -> None:
    import yaml

    if manifest.get("builtin_datasets"):
        raise JobFailed("LLaMA-Factory's built-in datasets are fetched from the Hugging Face Hub, which the local "
                        "target does not reach: register the data as a ModelHub dataset instead.")
    entrypoint.prepare_datasets(manifest)  # reads config/dataset_info.json, writes it into the data folder
    config_path = job_dir / layout.CONFIG / manifest["train_config"]
    config = yaml.safe_load(config_path.read_text())
    overrides = {**layout.relocated_keys(config, table), **device_overrides(config, gpu)}
    argv = commands.llamafactory_train(str(config_path), None, dotlist(overrides))
    argv[0] = cli
    run_or_fail(argv, "LLaMA-Factory training", cwd=job_dir, env={"FORCE_TORCHRUN": "0"})


def merge_llamafactory(job_dir: Path, manifest: dict, table, cli: str) -> None:
    import yaml

    config_path = job_dir / layout.CONFIG / manifest["merge_config"]
    config = yaml.safe_load(config_path.read_text())
    overrides = {**layout.relocated_keys(config, table), "export_device": "cpu"}
    argv = commands.llamafactory_export(str(config_path)) + dotlist(overrides)
    argv[0] = cli
    run_or_fail(argv, "LoRA merge", cwd=job_dir, env={"FORCE_TORCHRUN": "0"})


def train_trl(job_dir: Path) -> None:
    config_path = job_dir / layout.CONFIG / TRL_CONFIG
    if not config_path.exists():
        raise JobFailed(f"The bundle has no {TRL_CONFIG}: the GRPO family runs on TRL locally.")
    run_or_fail([sys.executable, str(HERE / "grpo.py"), str(config_path), str(job_dir)], "TRL GRPO training",
                cwd=job_dir)


def copy_outputs(manifest: dict, table) -> None:
    """The image uploads model/ (and merged/, huggingface/); here the copies go into the job folder."""
    for upload in plan.finish_plan(manifest, is_master=True, training_succeeded=True).uploads:
        if not upload.get("src"):
            continue  # written in place (huggingface/ by the GRPO runner)
        src, dest = Path(upload["src"]), Path(layout.relocate(upload["uri"], table))
        if src.resolve() == dest.resolve():
            continue
        if not src.is_dir() or not any(src.iterdir()):
            raise JobFailed(f"The {upload['what']} model folder {src} is empty.")
        patterns = upload.get("exclude", ())
        shutil.copytree(src, dest, dirs_exist_ok=True, ignore=lambda _dir, names: [
            n for n in names if any(Path(n).match(p) for p in patterns)] if _dir == str(src) else [])
        log(f"copied the {upload['what']} model to {dest}")


def main(job_dir: Path) -> int:
    signal.signal(signal.SIGTERM, _on_term)
    signal.signal(signal.SIGINT, _on_term)
    started = time.monotonic()
    result = {"code": 0, "reason": "", "stopped": False}
    try:
        table = layout.mounts(job_dir)
        manifest = layout.relocate(json.loads((job_dir / layout.CONFIG / "job.json").read_text()), table)
        os.environ.update(manifest.get("env", {}))
        cli = str(Path(sys.executable).with_name("llamafactory-cli"))
        gpu = has_gpu()
        log(f"job {manifest['job_name']} ({manifest['job_type']}) on {'GPU' if gpu else 'CPU'}")
        stage_downloads(manifest)
        if manifest["tool"] == "easyr1":
            train_trl(job_dir)
        else:
            train_llamafactory(job_dir, manifest, table, gpu, cli)
            if manifest.get("merge_config"):
                merge_llamafactory(job_dir, manifest, table, cli)
        copy_outputs(manifest, table)
        log(f"finished in {time.monotonic() - started:.1f} s")
    except JobFailed as exc:
        result = {"code": 1, "reason": str(exc), "stopped": _stopping}
    except Exception as exc:  # noqa: BLE001 - every failure ends as a recorded reason
        import traceback

        traceback.print_exc()
        result = {"code": 1, "reason": f"{type(exc).__name__}: {exc}", "stopped": _stopping}
    if result["stopped"]:
        result["reason"] = "Stopped"
    elif result["code"]:
        log("FAILED: " + result["reason"])
    exit_path = job_dir / layout.RUN / layout.EXIT_FILE
    exit_path.write_text(json.dumps({**result, "ended_at": datetime.now(UTC).isoformat()}))
    return result["code"]


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: runner.py <job folder>")
    sys.exit(main(Path(sys.argv[1]).resolve()))

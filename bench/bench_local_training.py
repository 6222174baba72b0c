"""The local target's overhead: a training job through LocalTraining against calling the same trainer
directly on the same config, and the time from deploy to the first streamed token.

    .venv/bin/python bench/bench_local_training.py [--steps 30]

Training: an sft job (full fine-tuning, so no merge step) on the tiny model, rendered by the real bundle
renderer; measured from submit() to the run's exit record, against `llamafactory-cli train` run directly
on the same YAML with the same overrides (what the runner adds: process bookkeeping, staging the dataset
into the job folder, copying the model to model/). Both runs in this one process, alternately.
Deploy: LocalServing.deploy() until the first content chunk of a streamed chat reply.
Needs the ML environment (`make local-env`).
"""

import argparse
import asyncio
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.results import record  # noqa: E402
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "modelhub.settings")
WORK = Path(tempfile.mkdtemp(prefix="mh-bench-local-"))
os.environ.setdefault("DATA_DIR", str(WORK / "var"))
os.environ["STORAGE_DIR"] = str(WORK / "storage")


def spec_for(model: Path, steps: int, **changes):
    from apps.jobs.spec.fields import defaults_for
    from apps.jobs.spec.model import TrainingSpec

    names = {f for f in TrainingSpec.__dataclass_fields__}
    values = {k: v for k, v in defaults_for("sft").items() if k in names}
    values.update(job_type="sft", base_model="tiny-chat", base_model_source="catalog", base_model_uri=str(model),
                  datasets=(1,), finetuning_method="full", template="chatml", max_steps=steps, logging_steps=5,
                  save_steps=10_000, cutoff_len=64, per_device_train_batch_size=2, gradient_accumulation_steps=1,
                  precision="fp32")
    values.update(changes)
    return TrainingSpec(**values)


def bundle(spec, name: str):
    from apps.backends.base import JobLocations
    from apps.jobs.renderers import render_job_bundle
    from apps.jobs.renderers.context import DatasetRef, job_context

    staged = WORK / "storage" / "datasets" / "demo" / "staged"
    staged.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "apps" / "catalog" / "demo" / "demo_sft.jsonl", staged)
    root = (WORK / "storage" / "jobs" / name).as_uri() + "/"
    ctx = job_context({"job_id": 1, "job_name": name, "output_uri": root, "checkpoint_uri": root + "checkpoints/",
                       "datasets": [DatasetRef(name="demo_sft", staged_uri=staged.as_uri() + "/",
                                               entry={"file_name": "demo_sft.jsonl"})]})
    locations = JobLocations(root=root, config=root + "config/", checkpoints=root + "checkpoints/",
                             output=root + "output/", trainer_log=root + "checkpoints/output/trainer_log.jsonl")
    return render_job_bundle(spec, ctx), locations


def trainer_seconds(name: str) -> float:
    """How long the trainer subprocess itself ran inside a local run (the runner logs it)."""
    log = (WORK / "storage" / "jobs" / name / "run" / "run.log").read_text()
    return float(re.search(r"LLaMA-Factory training took ([0-9.]+) s", log).group(1))


def run_local(spec, name: str) -> float:
    """Seconds from submit() to the run's exit record (raises if the run failed)."""
    from apps.backends.base import JobRef, Resources, TrainingSubmission
    from apps.backends.local.training import LocalTraining

    files, locations = bundle(spec, name)
    backend = LocalTraining()
    submission = TrainingSubmission(job_id=1, remote_name=name, owner="bench", job_type="sft", tool="llamafactory",
                                    resources=Resources("local"), locations=locations, environment={},
                                    files=files, spec={})
    started = time.perf_counter()
    backend.submit(submission)
    ref = JobRef(job_id=1, remote_name=name, locations=locations)
    while not (state := backend.describe(ref)).is_terminal:
        time.sleep(0.05)
    elapsed = time.perf_counter() - started
    if state.phase != "succeeded":
        raise SystemExit(f"local run failed: {state.failure_reason}")
    return elapsed


def run_direct(spec, name: str) -> float:
    """`llamafactory-cli train` on the same YAML with the same overrides, data already in place."""
    import yaml

    from apps.backends.local import environment, layout

    files, locations = bundle(spec, name)
    job_dir = WORK / "storage" / "jobs" / name
    (job_dir / "config").mkdir(parents=True, exist_ok=True)
    for file_name, text in files.items():
        (job_dir / "config" / file_name).write_text(text)
    data = job_dir / "input" / "datasets" / "demo_sft"
    shutil.copytree(WORK / "storage" / "datasets" / "demo" / "staged", data)
    shutil.copy(job_dir / "config" / "dataset_info.json", job_dir / "input" / "datasets")
    config = yaml.safe_load(files["train.yaml"])
    overrides = {**layout.relocated_keys(config, layout.mounts(job_dir)), "bf16": "false",
                 "preprocessing_num_workers": 1, "dataloader_num_workers": 0}
    argv = [environment.tool("llamafactory-cli"), "train", str(job_dir / "config" / "train.yaml"),
            *(f"{k}={v}" for k, v in overrides.items())]
    started = time.perf_counter()
    subprocess.run(argv, cwd=job_dir, env=environment.child_env({"FORCE_TORCHRUN": "0"}), check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


async def first_token(backend, ref) -> None:
    from apps.backends import http_upstream

    body = json.dumps({"model": "tiny", "stream": True, "max_tokens": 8,
                       "messages": [{"role": "user", "content": "hi"}]}).encode()
    async for chunk in await backend.stream(ref, body):
        if b'"content": "' in chunk and b'"content": ""' not in chunk:
            break
    await http_upstream.close_sessions()


def deploy_to_first_token(model: Path) -> tuple[float, float]:
    from apps.backends.base import Deployment, EndpointRef, ModelSource
    from apps.backends.local.serving import LocalServing

    backend, ref = LocalServing(), EndpointRef(endpoint_id=1, remote_name="mh-bench-ep")
    deployment = Deployment(endpoint_id=1, remote_name="mh-bench-ep", owner="bench", display_name="tiny",
                            engine="vllm", engine_version="", served_model_name="tiny", model=ModelSource(str(model)),
                            instance_type="local", instance_count=1, environment={}, argv=())
    started = time.perf_counter()
    backend.deploy(deployment)
    try:
        while backend.describe(ref).phase != "in_service":
            time.sleep(0.05)
        ready = time.perf_counter() - started
        asyncio.run(first_token(backend, ref))
        return ready, time.perf_counter() - started
    finally:
        backend.delete(ref)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    steps, rounds = args.steps, args.rounds
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    if not Path(settings.LOCAL_PYTHON).exists():
        raise SystemExit("The local ML environment is missing: run `make local-env`.")
    call_command("migrate", verbosity=0)
    model = WORK / "storage" / "models" / "tiny-chat"
    subprocess.run([settings.LOCAL_PYTHON, str(ROOT / "apps/backends/local/tiny_model.py"), str(model)], check=True,
                   stdout=subprocess.DEVNULL)
    spec = spec_for(model, steps)
    run_direct(spec, "mh-bench-warmup")  # page cache, compiled bytecode
    direct, local, inside = [], [], []
    for round_ in range(rounds):  # alternate, so load from other processes hits both alike
        direct.append(run_direct(spec, f"mh-bench-direct-{round_}"))
        local.append(run_local(spec, f"mh-bench-local-{round_}"))
        inside.append(local[-1] / trainer_seconds(f"mh-bench-local-{round_}"))
    ready, token = deploy_to_first_token(model)
    d, l = statistics.median(direct), statistics.median(local)
    print(f"training ({steps} steps, sft full, tiny model), medians of {rounds}: direct {d:.2f} s "
          f"{[round(x, 2) for x in direct]}, local target {l:.2f} s {[round(x, 2) for x in local]}: "
          f"ratio {l / d:.3f}")
    print(f"same runs, local wall / its own trainer subprocess wall: median {statistics.median(inside):.3f} "
          f"{[round(x, 3) for x in inside]}")
    print(f"deploy -> in service {ready:.2f} s, deploy -> first token {token:.2f} s")
    record("bench_local_training", "Local target overhead", {
        f"direct `llamafactory-cli train`, median of {rounds} (s)": d,
        f"through the local target, median of {rounds} (s)": l,
        "local run wall / its own trainer subprocess wall, same runs": ", ".join(f"{x:.3f}" for x in inside),
        "deploy → in service (s)": ready, "deploy → first token (s)": token},
        note=f"sft, full fine-tuning, {steps} steps on the tiny model; the same-run ratio is what the target adds.")
    shutil.rmtree(WORK, ignore_errors=True)


if __name__ == "__main__":
    main()

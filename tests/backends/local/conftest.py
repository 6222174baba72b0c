"""Fixtures for the local target: the ML environment, the tiny model, a job folder per test, and
submissions rendered through the real spec serializer and bundle renderer (the golden files' path)."""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings

from apps.backends.base import JobLocations, Resources, TrainingSubmission

REPO = Path(__file__).resolve().parents[3]
DEMO = REPO / "apps" / "catalog" / "demo"
LF_TYPES = ("sft", "pt", "rm", "ppo", "dpo", "kto")
R1_TYPES = ("grpo", "dapo", "gspo", "cispo")
# demo file and dataset_info entry per format (what the catalog's staging writes for these files)
DATA = {
    "sft": ("demo_sft.jsonl", {}),
    "ppo": ("demo_sft.jsonl", {}),
    "pt": ("demo_text.jsonl", {"columns": {"prompt": "text"}}),
    "dpo": ("demo_preference.jsonl", {"ranking": True, "columns": {
        "prompt": "instruction", "query": "input", "chosen": "chosen", "rejected": "rejected"}}),
    "rm": ("demo_preference.jsonl", {"ranking": True, "columns": {
        "prompt": "instruction", "query": "input", "chosen": "chosen", "rejected": "rejected"}}),
    "kto": ("demo_kto.jsonl", {"columns": {"prompt": "instruction", "query": "input", "response": "output",
                                           "kto_tag": "label"}}),
}
FORMAT_FOR = {"sft": "alpaca", "pt": "text", "ppo": "alpaca", "dpo": "preference", "kto": "kto",
              "rm": "preference", **{t: "prompt_answer" for t in R1_TYPES}}
# A few steps, small batches: each run takes seconds on the tiny model.
FAST = {"max_steps": 3, "save_steps": 100}
FAST_LF = {**FAST, "precision": "fp32", "logging_steps": 1, "cutoff_len": 64, "per_device_train_batch_size": 2,
           "gradient_accumulation_steps": 1, "template": "qwen"}
FAST_R1 = {**FAST, "rollout_n": 2, "rollout_batch_size": 2, "global_batch_size": 2,
           "micro_batch_size_per_device_for_update": 1, "max_prompt_length": 64, "max_response_length": 16,
           "eval_steps": None, "finetuning_method": "lora", "lora_rank": 4, "lora_alpha": 8}


def ml_python() -> Path:
    return Path(settings.LOCAL_PYTHON)


@pytest.fixture(scope="session")
def ml_env():
    if not ml_python().exists():
        pytest.skip(f"the local ML environment is not installed ({ml_python()}): run `make local-env`")
    return ml_python()


@pytest.fixture(scope="session")
def tiny_model(ml_env, tmp_path_factory):
    folder = tmp_path_factory.mktemp("models") / "tiny-chat"
    subprocess.run([str(ml_env), str(REPO / "apps/backends/local/tiny_model.py"), str(folder)], check=True,
                   capture_output=True, timeout=300)
    return folder


@pytest.fixture
def storage(settings, tmp_path):
    settings.STORAGE_DIR = tmp_path / "storage"
    settings.LOCAL_STOP_GRACE_SECONDS = 3
    return settings.STORAGE_DIR


def stage_demo(storage_dir: Path, job_type: str) -> tuple[str, dict, dict | None]:
    """Stage a demo file the way the catalog does: (staged folder URI, dataset_info entry, easyr1 keys)."""
    folder = storage_dir / "datasets" / f"demo-{job_type}" / "staged"
    if job_type in R1_TYPES:
        (folder / "easyr1").mkdir(parents=True, exist_ok=True)
        for split in ("train", "val"):
            shutil.copy(DEMO / "demo_math.jsonl", folder / "easyr1" / f"{split}.jsonl")
        base = "/opt/ml/input/data/datasets/demo_math/easyr1/"
        return folder.as_uri() + "/", {"file_name": "demo_math.jsonl"}, {
            "train_files": base + "train.jsonl@train", "val_files": base + "val.jsonl@train",
            "prompt_key": "problem", "answer_key": "answer"}
    name, extra = DATA[job_type]
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(DEMO / name, folder / name)
    return folder.as_uri() + "/", {"file_name": name, **extra}, None


def render(user, job_type: str, model: Path, storage_dir: Path, remote_name: str, **overrides):
    """(spec, bundle files, locations) for a job on the local target, rendered like the jobs app does."""
    from apps.catalog.models import BaseModel
    from apps.jobs.renderers import render_job_bundle
    from apps.jobs.renderers.context import DatasetRef, job_context
    from apps.jobs.spec import TrainingSpecSerializer
    from tests.jobs.test_spec import make_dataset

    BaseModel.objects.get_or_create(key="tiny-chat", defaults={
        "display_name": "Tiny chat", "repo_id": str(model), "template": "qwen", "parameters_b": 0.0001,
        "lora_targets": ["all"]})
    ds = make_dataset(user, FORMAT_FOR[job_type])
    data = {"job_type": job_type, "base_model": "tiny-chat", "datasets": [ds.pk],
            **(FAST_R1 if job_type in R1_TYPES else FAST_LF)}
    if job_type == "ppo":
        data.update(reward_model="owner/placeholder", reward_model_type="lora")
    if job_type in R1_TYPES:
        data["reward_function"] = "math"
    local_reward_model = overrides.pop("reward_model", None)  # a local folder: the serializer wants s3:// or a repo id
    data.update(overrides)
    serializer = TrainingSpecSerializer(data=data, context={"user": user})
    assert serializer.is_valid(), serializer.errors
    spec = serializer.spec
    if job_type == "ppo":
        spec = dataclasses.replace(spec, reward_model=local_reward_model)
    staged, entry, easyr1 = stage_demo(storage_dir, job_type)
    name = "demo_math" if job_type in R1_TYPES else f"demo_{job_type}"
    root = (storage_dir / "jobs" / remote_name).as_uri() + "/"
    ctx = job_context({"job_id": 1, "job_name": remote_name, "output_uri": root,
                       "checkpoint_uri": root + "checkpoints/", "config_uri": root + "config/",
                       "datasets": [DatasetRef(name=name, staged_uri=staged, entry=entry, easyr1=easyr1)]})
    files = render_job_bundle(spec, ctx)
    log = "easyr1/experiment_log.jsonl" if spec.tool == "easyr1" else "output/trainer_log.jsonl"
    locations = JobLocations(root=root, config=root + "config/", checkpoints=root + "checkpoints/",
                             output=root + "output/", trainer_log=root + "checkpoints/" + log)
    return spec, files, locations


def submission(spec, files, locations, remote_name: str, **fields) -> TrainingSubmission:
    return TrainingSubmission(
        job_id=1, remote_name=remote_name, owner="alice", job_type=spec.job_type, tool=spec.tool,
        resources=Resources(instance_type="local"), locations=locations, environment={}, files=files,
        spec=json.loads(json.dumps(dataclasses.asdict(spec))), **fields)

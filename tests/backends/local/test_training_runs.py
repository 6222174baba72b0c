"""Every job type the local target accepts runs a few steps on the tiny model and records metrics.

Needs the ML environment (`make local-env`); skipped with that reason without it."""

from __future__ import annotations

import time

import pytest

from apps.backends.base import JobPhase, JobRef
from apps.backends.errors import RemoteValidationError
from apps.backends.local.training import LocalTraining
from apps.backends.storage import local_path
from apps.jobs.renderers.metrics import parse_trainer_log

from .conftest import render, submission

pytestmark = pytest.mark.django_db
RUN_TIMEOUT = 300


def wait_until_over(backend, ref, timeout=RUN_TIMEOUT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = backend.describe(ref)
        if state.is_terminal:
            return state
        time.sleep(0.5)
    raise AssertionError(f"{ref.remote_name} still running after {timeout} s")


def run_job(user, job_type, tiny_model, storage, name=None, **overrides):
    name = name or f"mh-{job_type}"
    spec, files, locations = render(user, job_type, tiny_model, storage, name, **overrides)
    backend = LocalTraining()
    started = backend.submit(submission(spec, files, locations, name))
    assert started.phase in (JobPhase.RUNNING, JobPhase.SUCCEEDED, JobPhase.FAILED)
    ref = JobRef(job_id=1, remote_name=name, locations=locations)
    state = wait_until_over(backend, ref)
    log = "\n".join(line.message for line in backend.logs(ref, limit=100000).lines)
    assert state.phase == JobPhase.SUCCEEDED, f"{state.failure_reason}\n{log[-3000:]}"
    points = parse_trainer_log(backend.read_text(locations.trainer_log))
    return state, points, local_path(locations.root)


def assert_progress(points, metric="loss"):
    assert [p["step"] for p in points if metric in p], f"no {metric} in {points}"
    assert points[-1]["step"] == points[-1]["total_steps"] == 3
    assert points[-1]["percentage"] == 100


@pytest.mark.parametrize("job_type", ["sft", "pt", "dpo", "kto"])
def test_llamafactory_types_train_and_merge(user, ml_env, tiny_model, storage, job_type):
    state, points, root = run_job(user, job_type, tiny_model, storage)
    assert_progress(points)
    assert (root / "model" / "adapter_model.safetensors").exists()  # copied without checkpoints
    assert not any(p.name.startswith("checkpoint-") for p in (root / "model").iterdir())
    assert (root / "merged" / "config.json").exists()  # LoRA merged into the base (merge.yaml)
    assert state.output_uri.endswith("/model/")
    assert dict(state.final_metrics)["train_loss"] > 0


def test_reward_model_trains_and_ppo_is_refused_with_the_reason(user, ml_env, tiny_model, storage):
    _, points, rm_root = run_job(user, "rm", tiny_model, storage)
    assert_progress(points)
    assert (rm_root / "model" / "value_head.safetensors").exists()
    spec, files, locations = render(user, "ppo", tiny_model, storage, "mh-ppo", reward_model=str(rm_root / "model"))
    with pytest.raises(RemoteValidationError, match="TRL 0.9.6"):
        LocalTraining().submit(submission(spec, files, locations, "mh-ppo"))


@pytest.mark.parametrize("job_type", ["grpo", "dapo", "gspo"])
def test_grpo_family_runs_on_trl(user, ml_env, tiny_model, storage, job_type):
    extra = {"online_filtering": False, "mini_rollout_batch_size": None} if job_type == "dapo" else {}
    state, points, root = run_job(user, job_type, tiny_model, storage, **extra)
    assert_progress(points)
    assert all("reward" in p for p in points)
    assert "train_runtime" in dict(state.final_metrics)
    assert (root / "huggingface" / "config.json").exists()

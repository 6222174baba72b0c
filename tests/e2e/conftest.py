"""The whole loop on the local target with real processes: uvicorn, a Celery worker and beat on the
embedded broker, the trainer and the model server from the local ML environment. Skipped (with the
reason) where that environment is not installed; the tiny model is built once per session."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from apps.backends.local import process
from apps.catalog.management.commands.load_demo_data import DATASETS
from apps.catalog.models import Dataset
from tests import stack
from tests.conftest import make_user

# A job that trains a few steps in seconds on the tiny model (2 CPU cores).
TINY_SFT = {"job_type": "sft", "base_model": "tiny-chat", "finetuning_method": "lora", "max_steps": 4,
            "logging_steps": 1, "save_steps": 100, "cutoff_len": 64, "per_device_train_batch_size": 2,
            "gradient_accumulation_steps": 1, "precision": "fp32", "lora_rank": 4, "lora_alpha": 8}
PASSWORD = "a-long-test-password"


@pytest.fixture(scope="session")
def ml_python() -> Path:
    python = Path(settings.LOCAL_PYTHON)
    if not python.exists():
        pytest.skip(f"the local ML environment is not installed ({python}): run `make local-env` (CI does)")
    return python


@pytest.fixture(scope="session")
def tiny_folder(ml_python, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("models") / "tiny-chat"
    script = Path(settings.BASE_DIR) / "apps" / "backends" / "local" / "tiny_model.py"
    subprocess.run([str(ml_python), str(script), str(folder)], check=True, capture_output=True, timeout=300)
    return folder


@pytest.fixture
def local_stack(settings, tmp_path, tiny_folder, ml_python):
    """(web URL, user, worker process): the demo data loaded into a fresh storage folder, the web
    server, a worker and beat running with no target named (COMPUTE_BACKEND empty, no AWS settings)."""
    storage = tmp_path / "storage"
    settings.STORAGE_DIR = storage
    shutil.copytree(tiny_folder, storage / "models" / "tiny-chat")
    user = make_user("alice", password=PASSWORD)
    env = stack.stack_env(embedded_broker=True, DATA_DIR=str(tmp_path / "data"), STORAGE_DIR=str(storage),
                          LOCAL_PYTHON=str(ml_python), COMPUTE_BACKEND="", S3_BUCKET="", SAGEMAKER_ROLE_ARN="",
                          TRAINING_RECONCILE_SECONDS="3", ENDPOINT_RECONCILE_SECONDS="8",
                          LOCAL_STOP_GRACE_SECONDS="3")
    (tmp_path / "data").mkdir()
    beat = [sys.executable, "-m", "celery", "-A", "modelhub", "beat", "--loglevel", "INFO",
            "-s", str(tmp_path / "beat-schedule")]
    with stack.worker(env) as worker, stack.process(beat, env, "beat"), stack.web_server(env) as url:
        # As `make run` does: the demo data, validated by the worker through the embedded broker.
        subprocess.run([sys.executable, "manage.py", "load_demo_data", "--owner", "alice"], cwd=stack.ROOT, env=env,
                       check=True, capture_output=True, timeout=120)
        stack.wait_until(lambda: Dataset.objects.filter(owner=user, status=Dataset.Status.READY).count()
                         == len(DATASETS), timeout=90, interval=0.5, message="the demo datasets to be validated")
        try:
            yield url, user, worker
        finally:  # nothing is left running, whatever happened
            for state in [*storage.glob("jobs/*/run/state.json"), *storage.glob("endpoints/*/state.json")]:
                found = process.read_json(state)
                process.terminate(found["pid"], found["start_ticks"], grace=1)

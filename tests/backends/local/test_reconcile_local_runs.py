"""Through the jobs app's reconcile loop with the real local backend: a run outlives the worker that
submitted it (its own process group), the next reconcile re-attaches it (running, with progress), and
a run killed without an exit record (worker and machine gone) ends failed with the reason, never stuck.
Needs the ML environment."""

from __future__ import annotations

import os
import shutil
import signal
import time
from io import StringIO

import pytest
from django.core.management import call_command

from apps.backends.local import process
from apps.catalog.models import BaseModel, Dataset
from apps.jobs import services
from apps.jobs.models import Status, TrainingJob
from apps.jobs.reconcile import reconcile_once
from apps.jobs.serializers import validate_job

pytestmark = pytest.mark.django_db


def test_reconcile_reattaches_a_live_run_and_fails_an_orphan_with_the_reason(user, ml_env, tiny_model, storage,
                                                                               inline_tasks):
    shutil.copytree(tiny_model, storage / "models" / "tiny-chat")
    call_command("load_demo_data", owner=user.username, stdout=StringIO())
    assert BaseModel.objects.filter(key="tiny-chat").exists()
    dataset = Dataset.objects.get(name="Demo: instructions", status=Dataset.Status.READY)
    new = validate_job({"name": "long", "job_type": "sft", "base_model": "tiny-chat", "datasets": [dataset.pk],
                        "max_steps": 100000, "logging_steps": 1, "cutoff_len": 64, "precision": "fp32",
                        "per_device_train_batch_size": 1, "gradient_accumulation_steps": 1}, user, target="local")
    assert new.ok, new.errors
    job = services.create_job(user, new.value.name, new.value.spec.to_dict(), target="local")  # submitted inline
    job.refresh_from_db()
    assert job.status == Status.STARTING, job.status_reason
    pid = int(job.remote_id)
    try:
        assert os.getpgid(pid) == pid != os.getpgid(0)  # its own group: a worker's death does not take it along

        log = storage / "jobs" / job.remote_name / "checkpoints" / "output" / "trainer_log.jsonl"
        deadline = time.monotonic() + 180
        while not (log.exists() and log.stat().st_size) and time.monotonic() < deadline:
            time.sleep(0.5)
        report = reconcile_once()  # the next worker's first cycle
        job.refresh_from_db()
        assert report.errors == [] and job.status == Status.RUNNING and job.remote_status == "running"
        assert job.step and job.total_steps == 100000  # progress read from the run's trainer log

        os.killpg(pid, signal.SIGKILL)  # the machine "crashes": no exit record is written
        deadline = time.monotonic() + 10
        while process.start_ticks(pid) is not None and time.monotonic() < deadline:
            time.sleep(0.1)
        reconcile_once()
        job.refresh_from_db()
        assert job.status == Status.FAILED
        assert f"pid {pid}" in job.status_reason and "without recording a result" in job.status_reason
        assert TrainingJob.objects.filter(status__in=(Status.STARTING, Status.RUNNING)).count() == 0
    finally:
        state = process.read_json(storage / "jobs" / job.remote_name / "run" / "state.json")
        process.terminate(state["pid"], state["start_ticks"], grace=1)

"""Stop ends a local run's processes within seconds; a run outlives the worker that started it and is
re-attached by the next one; a run that dies without an exit record is failed with the reason.
Needs the ML environment."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from pathlib import Path

import pytest

from apps.backends.base import JobPhase, JobRef
from apps.backends.local import process
from apps.backends.local.training import LocalTraining

from .conftest import render, submission

pytestmark = pytest.mark.django_db
LONG = {"max_steps": 100000}  # far longer than any test waits


@pytest.fixture(autouse=True)
def stop_leftovers(storage):
    """Whatever a failing test left running is stopped."""
    yield
    for state_file in (storage / "jobs").glob("*/run/state.json"):
        state = process.read_json(state_file)
        process.terminate(state["pid"], state["start_ticks"], grace=1)


def group_members(pgid: int) -> list[int]:
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2:].split()
        if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            members.append(int(stat.parent.name))
    return members


def wait_for_training(storage: Path, name: str, timeout=180):
    """Until the trainer has logged a step (the LLaMA-Factory child is running, not just the runner)."""
    log = storage / "jobs" / name / "checkpoints" / "output" / "trainer_log.jsonl"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if log.exists() and log.stat().st_size:
            return
        time.sleep(0.5)
    raise AssertionError(f"{name} logged no step in {timeout} s")


def test_stop_ends_the_run_within_seconds(user, ml_env, tiny_model, storage):
    spec, files, locations = render(user, "sft", tiny_model, storage, "mh-stop", **LONG)
    backend, ref = LocalTraining(), JobRef(job_id=1, remote_name="mh-stop", locations=locations)
    backend.submit(submission(spec, files, locations, "mh-stop"))
    wait_for_training(storage, "mh-stop")
    pid = int(backend.describe(ref).remote_id)
    assert len(group_members(pid)) >= 2  # the runner and the trainer

    started = time.monotonic()
    backend.stop(ref)
    assert time.monotonic() - started < 10
    assert group_members(pid) == []
    state = backend.describe(ref)
    assert state.phase == JobPhase.STOPPED and state.ended_at is not None
    backend.stop(ref)  # stopping a run that is over is not an error


def _submit_then_die(sub):
    """A worker that starts the run and is killed right after."""
    LocalTraining().submit(sub)
    os.kill(os.getpid(), signal.SIGKILL)


def test_a_run_outlives_its_worker_is_reattached_then_failed_when_it_dies(user, ml_env, tiny_model, storage):
    spec, files, locations = render(user, "sft", tiny_model, storage, "mh-orphan", **LONG)
    worker = multiprocessing.get_context("fork").Process(
        target=_submit_then_die, args=(submission(spec, files, locations, "mh-orphan"),))
    worker.start()
    worker.join(60)
    assert worker.exitcode == -signal.SIGKILL

    backend, ref = LocalTraining(), JobRef(job_id=1, remote_name="mh-orphan", locations=locations)
    state = backend.describe(ref)  # the next worker finds the run still going
    assert state.phase == JobPhase.RUNNING
    pid = int(state.remote_id)
    assert backend.poll_many([ref])["mh-orphan"].phase == JobPhase.RUNNING
    assert backend.poll_many([JobRef(job_id=1, remote_name="mh-orphan", locations=locations,
                                     last_status="running")]) == {}  # unchanged runs are not reported

    os.killpg(pid, signal.SIGKILL)  # the machine "crashes": no exit record is written
    deadline = time.monotonic() + 10
    while process.is_alive(pid, process.start_ticks(pid) or -1) and time.monotonic() < deadline:
        time.sleep(0.1)
    state = backend.describe(ref)
    assert state.phase == JobPhase.FAILED
    assert f"pid {pid}" in state.failure_reason and "without recording a result" in state.failure_reason


def test_an_unknown_run_is_not_found_and_stop_is_quiet(storage):
    ref = JobRef(job_id=9, remote_name="mh-none")
    assert LocalTraining().describe(ref).phase == JobPhase.NOT_FOUND
    LocalTraining().stop(ref)

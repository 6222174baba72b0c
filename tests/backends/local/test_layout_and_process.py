"""The pure pieces of the local target: the container-path mount table and process bookkeeping.
No ML environment needed."""

from __future__ import annotations

import sys
import time

from apps.backends.local import layout, process

TABLE = layout.mounts("/srv/storage/jobs/mh-1")


def test_container_paths_move_into_the_job_folder():
    assert layout.relocate("/opt/ml/checkpoints/output", TABLE) == "/srv/storage/jobs/mh-1/checkpoints/output"
    assert layout.relocate("/opt/ml/input/config/modelhub/reward_function.py:compute_score", TABLE) == \
        "/srv/storage/jobs/mh-1/config/reward_function.py:compute_score"
    assert layout.relocate("/opt/ml/input/data/datasets", TABLE) == "/srv/storage/jobs/mh-1/input/datasets"
    assert layout.relocate("/opt/ml/output/export", TABLE) == "/srv/storage/jobs/mh-1/merged"
    assert layout.relocate("file:///srv/storage/datasets/ds-1/staged/", TABLE) == "/srv/storage/datasets/ds-1/staged/"


def test_other_values_stay_as_they_are():
    for value in ("Qwen/Qwen3-4B", "/opt/mlx/other", "/opt/ml/checkpointsX", 3, None, True, "s3://b/k"):
        assert layout.relocate(value, TABLE) == value


def test_relocate_walks_nested_manifests():
    manifest = {"paths": {"config_dir": "/opt/ml/input/config/modelhub"}, "downloads": [
        {"uri": "file:///srv/d/staged/", "dest": "/opt/ml/input/data/datasets/d"}]}
    assert layout.relocate(manifest, TABLE) == {
        "paths": {"config_dir": "/srv/storage/jobs/mh-1/config"},
        "downloads": [{"uri": "/srv/d/staged/", "dest": "/srv/storage/jobs/mh-1/input/datasets/d"}]}


def test_relocated_keys_are_the_overrides_of_a_flat_yaml():
    config = {"model_name_or_path": "/srv/models/tiny", "dataset_dir": "/opt/ml/input/data/datasets",
              "output_dir": "/opt/ml/checkpoints/output", "lora_rank": 8}
    assert layout.relocated_keys(config, TABLE) == {
        "dataset_dir": "/srv/storage/jobs/mh-1/input/datasets", "output_dir": "/srv/storage/jobs/mh-1/checkpoints/output"}


def test_spawned_process_is_tracked_and_terminated(tmp_path):
    started = process.spawn([sys.executable, "-c", "import time; print('up', flush=True); time.sleep(60)"],
                            log_path=tmp_path / "run.log", cwd=tmp_path, env={})
    assert process.is_alive(started.pid, started.start_ticks)
    assert not process.is_alive(started.pid, started.start_ticks + 1)  # a recycled pid is not ours
    began = time.monotonic()
    assert process.terminate(started.pid, started.start_ticks, grace=3)
    assert time.monotonic() - began < 3
    assert not process.is_alive(started.pid, started.start_ticks)
    assert not process.terminate(started.pid, started.start_ticks, grace=3)  # already gone


def test_a_process_ignoring_sigterm_is_killed_after_the_grace(tmp_path):
    code = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('up', flush=True); time.sleep(60)"
    started = process.spawn([sys.executable, "-c", code], log_path=tmp_path / "run.log", cwd=tmp_path, env={})
    deadline = time.monotonic() + 10
    while b"up" not in (tmp_path / "run.log").read_bytes() and time.monotonic() < deadline:
        time.sleep(0.05)
    began = time.monotonic()
    process.terminate(started.pid, started.start_ticks, grace=1)
    assert 1 <= time.monotonic() - began < 4
    assert not process.is_alive(started.pid, started.start_ticks)


def test_readiness_says_how_to_install_the_ml_environment(settings, tmp_path):
    from apps.backends.local.serving import LocalServing
    from apps.backends.local.training import LocalTraining

    settings.LOCAL_PYTHON = str(tmp_path / "missing" / "python")
    for backend in (LocalTraining(), LocalServing()):
        ready = backend.readiness()
        assert not ready.usable and "make local-env" in ready.missing[0]
    python = tmp_path / "env" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.symlink_to(sys.executable)
    settings.LOCAL_PYTHON = str(python)
    assert LocalTraining().readiness().usable

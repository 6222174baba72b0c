"""The local target's training runs: one detached runner process per job (runner.py), in its job folder.

submit() writes the rendered bundle into `STORAGE_DIR/jobs/<remote name>/config/` and starts the
runner in the ML environment; the runner's pid and start time go into run/state.json. Everything
after that is read back from the folder and /proc, so a worker that restarts finds its runs again:
a runner that is still alive is re-attached (RUNNING); one that died without writing run/exit.json
is an orphan and is reported FAILED with the reason. Stop is SIGTERM to the runner's process group,
then SIGKILL after LOCAL_STOP_GRACE_SECONDS.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings

from .. import storage
from ..base import (
    Capability,
    JobPhase,
    JobRef,
    LogLine,
    LogPage,
    Readiness,
    RemoteEvent,
    RemoteState,
    TrainingSubmission,
)
from ..errors import RemoteValidationError
from . import environment, layout, process

logger = logging.getLogger(__name__)

TRL_CONFIG = "trl.yaml"
REQUIRED_FILES = {"llamafactory": ("job.json", "train.yaml", "dataset_info.json"), "easyr1": ("job.json", TRL_CONFIG)}
# Job types this target refuses, with why (the form reports the same through renderers.trl.local_unsupported).
REFUSED_JOB_TYPES = {"ppo": "PPO in LLaMA-Factory 0.9.4 needs TRL 0.9.6 or older; the local ML environment has TRL "
                            "0.24 (for the GRPO family). Train PPO on SageMaker."}
FINAL_METRICS_DIRS = ("output", "easyr1")  # LLaMA-Factory's output_dir, the GRPO runner's
# remote_status words (display only) -> phase
STATUS_PHASE = {
    "running": JobPhase.RUNNING, "stopping": JobPhase.STOPPING, "completed": JobPhase.SUCCEEDED,
    "failed": JobPhase.FAILED, "stopped": JobPhase.STOPPED, "orphaned": JobPhase.FAILED,
}


def _parse_time(text: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(text) if text else None
    except ValueError:
        return None


class LocalTraining:
    name = "local"
    label = "This machine"
    capabilities = frozenset({Capability.LOGS, Capability.METRICS, Capability.STOP, Capability.STORAGE})
    storage_target = "local"  # catalog datasets are staged under STORAGE_DIR (apps/catalog/staging.py)

    def readiness(self) -> Readiness:
        return environment.readiness()

    # Locations ---------------------------------------------------------------------------------

    def job_root(self, remote_name: str) -> str:
        return storage.local_uri("jobs", remote_name, folder=True)

    def _job_dir(self, remote_name: str, locations=None) -> Path:
        uri = locations.root if locations is not None else self.job_root(remote_name)
        folder = storage.local_path(uri)
        root = Path(settings.STORAGE_DIR).resolve()
        if root not in folder.resolve().parents:
            raise RemoteValidationError(f"{uri} is outside the local storage folder {root}.")
        return folder

    # Submit ------------------------------------------------------------------------------------

    def submit(self, submission: TrainingSubmission) -> RemoteState:
        job_dir = self._job_dir(submission.remote_name, submission.locations)
        if process.read_json(job_dir / layout.RUN / layout.STATE_FILE):
            state = self._state(submission.remote_name, job_dir)
            return dataclasses.replace(state, adopted=True)
        ready = self.readiness()
        if not ready.usable:
            raise RemoteValidationError(" ".join(ready.missing))
        if submission.job_type in REFUSED_JOB_TYPES:
            raise RemoteValidationError(REFUSED_JOB_TYPES[submission.job_type])
        missing = [n for n in REQUIRED_FILES.get(submission.tool, ("job.json",)) if n not in submission.files]
        if missing:
            raise RemoteValidationError(f"The job's bundle lacks {', '.join(missing)}: the local target cannot run it.")
        if submission.resources.instance_count > 1:
            raise RemoteValidationError("The local target runs on one machine: set the instance count to 1.")
        config_dir = job_dir / layout.CONFIG
        config_dir.mkdir(parents=True, exist_ok=True)
        for name, text in submission.files.items():
            target = (config_dir / name).resolve()
            if config_dir.resolve() not in target.parents:
                raise RemoteValidationError(f"Bundle file name {name!r} leaves the job's config folder.")
            target.write_text(text)
        run_dir = job_dir / layout.RUN
        env = environment.child_env(submission.environment, submission.secrets,
                                    {"MODELHUB_LOCAL_GPU": "1" if environment.has_gpu() else "0"})
        argv = [str(environment.python()), str(environment.HERE / "runner.py"), str(job_dir)]
        started = process.spawn(argv, log_path=run_dir / layout.LOG_FILE, cwd=job_dir, env=env)
        process.write_state(run_dir / layout.STATE_FILE, started, job_id=submission.job_id, tool=submission.tool)
        logger.info("Started local training %s (pid %s)", submission.remote_name, started.pid)
        return self._state(submission.remote_name, job_dir)

    # State -------------------------------------------------------------------------------------

    def _state(self, remote_name: str, job_dir: Path) -> RemoteState:
        run_dir = job_dir / layout.RUN
        state = process.read_json(run_dir / layout.STATE_FILE)
        if state is None:
            return RemoteState(name=remote_name, phase=JobPhase.NOT_FOUND, remote_status="not found")
        started_at = _parse_time(state.get("started_at"))
        exit_record = process.read_json(run_dir / layout.EXIT_FILE)
        stop_requested = (run_dir / layout.STOP_FILE).exists()
        alive = process.is_alive(state["pid"], state["start_ticks"])
        ended_at, reason, message = None, "", ""
        if alive:
            status = "stopping" if stop_requested else "running"
            message = "Stopping" if stop_requested else f"Training in process {state['pid']}"
        elif exit_record is not None:
            ended_at = _parse_time(exit_record.get("ended_at"))
            if exit_record.get("stopped") or (stop_requested and exit_record.get("code")):
                status, message = "stopped", "Stopped"
            elif exit_record.get("code") == 0:
                status, message = "completed", "Training finished"
            else:
                status = "failed"
                reason = exit_record.get("reason") or f"The runner exited with code {exit_record.get('code')}."
        elif stop_requested:
            status, message = "stopped", "Stopped (the process was killed)"
        else:
            status = "orphaned"
            reason = (f"The training process (pid {state['pid']}) ended without recording a result: it was killed "
                      "or the machine restarted. The last lines of its log say more.")
        if ended_at is None and not alive:
            ended_at = self._mtime(run_dir / layout.LOG_FILE)
        history = [RemoteEvent("Started", f"pid {state['pid']}", start=state.get("started_at"))]
        if not alive:
            history.append(RemoteEvent(status.capitalize(), reason or message,
                                       start=ended_at.isoformat() if ended_at else None))
        return RemoteState(
            final_metrics=self._final_metrics(job_dir) if status == "completed" else (),
            name=remote_name, phase=STATUS_PHASE[status], remote_status=status, message=message,
            failure_reason=reason, remote_id=str(state["pid"]), started_at=started_at, ended_at=ended_at,
            billable_seconds=int((ended_at - started_at).total_seconds()) if ended_at and started_at else None,
            output_uri=job_dir.as_uri() + "/" + layout.MODEL + "/", history=tuple(history),
        )

    @staticmethod
    def _final_metrics(job_dir: Path) -> tuple[tuple[str, float], ...]:
        """The trainer's all_results.json (train_loss, train_runtime, ...), numbers only."""
        for folder in FINAL_METRICS_DIRS:
            results = process.read_json(job_dir / layout.CHECKPOINTS / folder / "all_results.json")
            if isinstance(results, dict):
                return tuple(sorted((k, float(v)) for k, v in results.items()
                                    if isinstance(v, int | float) and not isinstance(v, bool)))
        return ()

    @staticmethod
    def _mtime(path: Path) -> datetime | None:
        try:
            return datetime.fromtimestamp(path.stat().st_mtime, UTC)
        except FileNotFoundError:
            return None

    def describe(self, ref: JobRef) -> RemoteState:
        return self._state(ref.remote_name, self._job_dir(ref.remote_name, ref.locations))

    def poll_many(self, refs: Iterable[JobRef]) -> dict[str, RemoteState]:
        return process.changed_states(self.describe, refs)

    # Optional capabilities -----------------------------------------------------------------------

    def stop(self, ref: JobRef) -> None:
        run_dir = self._job_dir(ref.remote_name, ref.locations) / layout.RUN
        state = process.read_json(run_dir / layout.STATE_FILE)
        if state is None:
            return
        (run_dir / layout.STOP_FILE).touch()
        process.terminate(state["pid"], state["start_ticks"], grace=settings.LOCAL_STOP_GRACE_SECONDS)

    def logs(self, ref: JobRef, next_token: str | None = None, limit: int = 500) -> LogPage:
        """The runner's log from byte offset `next_token`, at most `limit` whole lines."""
        path = self._job_dir(ref.remote_name, ref.locations) / layout.RUN / layout.LOG_FILE
        offset = int(next_token) if next_token and next_token.isdigit() else 0
        try:
            with open(path, "rb") as handle:
                handle.seek(offset)
                data = handle.read(1 << 20)
        except FileNotFoundError:
            return LogPage([], None)
        stamp = self._mtime(path) or datetime.now(UTC)
        lines, consumed = [], 0
        for raw in data.splitlines(keepends=True):
            if not raw.endswith(b"\n") or len(lines) >= limit:
                break  # a partial last line waits for the next call
            consumed += len(raw)
            text = raw.decode(errors="replace").rstrip("\r\n")
            lines.append(LogLine(timestamp=stamp, message=text.rsplit("\r", 1)[-1]))  # progress bars: last frame
        return LogPage(lines, str(offset + consumed))

    def read_text(self, uri: str) -> str:
        """A file of a job folder (the trainer log), "" when absent; nothing outside STORAGE_DIR."""
        try:
            path = storage.local_path(uri).resolve()
        except storage.StorageError:
            return ""
        if Path(settings.STORAGE_DIR).resolve() not in path.parents:
            return ""
        try:
            return path.read_text(errors="replace")
        except (FileNotFoundError, IsADirectoryError):
            return ""

    def stage_dataset(self, folder: str, files) -> None:
        """Write (name, chunks) pairs under a folder URI of the local store."""
        for name, chunks in files:
            target = storage.local_path(storage.join(folder, name))
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(target, "wb") as handle:
                for chunk in chunks:
                    handle.write(chunk)

"""A training target that runs nothing: each run walks through a script, one step per poll.

    settings.TRAINING_BACKENDS["fake"] = "apps.backends.fake.training.FakeTraining"

    world = FakeTraining.world
    world.script([("starting", "Queued"), ("running", "Training"), ("failed", "Crashed", "CUDA OOM")])
    ...submit a job to target "fake"...
    world.log(remote_name, "step 1", "step 2"); world.files[locations.trainer_log] = "..."

A submitted run starts in `starting` ("Submitted") and takes the next step of its script on every
`poll_many` (`describe` only looks); `stop` moves an active run to `stopping` and its next step to
`stopped`. Every call is counted in `world.calls`; `world.fail_next` errors are raised by the next
calls, in order. `FakeTraining.reset()` empties the world (tests do it between tests).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import ClassVar

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
from ..errors import BackendError

Step = tuple[str, str] | tuple[str, str, str]  # (phase, remote word[, message])
DEFAULT_SCRIPT: tuple[Step, ...] = ((JobPhase.RUNNING, "Training"), (JobPhase.SUCCEEDED, "Completed"))
ACTIVE = frozenset({JobPhase.STARTING, JobPhase.RUNNING})
TERMINAL = frozenset({JobPhase.SUCCEEDED, JobPhase.FAILED, JobPhase.STOPPED})


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class FakeRun:
    submission: TrainingSubmission
    script: list[Step]
    state: RemoteState
    logs: list[str] = field(default_factory=list)

    def take(self, step: Step) -> None:
        phase, word, message = (*step, "")[:3]
        now = _now()
        history = self.state.history or ()
        changes = {"phase": JobPhase(phase), "remote_status": word, "detail": word, "message": message,
                   "history": (*history, RemoteEvent(status=word, message=message, start=now.isoformat()))}
        if phase == JobPhase.RUNNING and not self.state.started_at:
            changes["started_at"] = now
        if phase in TERMINAL:
            changes |= {"ended_at": now, "started_at": self.state.started_at or now,
                        "failure_reason": message if phase == JobPhase.FAILED else ""}
        self.state = replace(self.state, **changes)


@dataclass
class FakeTrainingWorld:
    runs: dict[str, FakeRun] = field(default_factory=dict)
    scripts: dict[str | None, list[Step]] = field(default_factory=dict)  # by remote name; None: any run
    files: dict[str, str] = field(default_factory=dict)  # uri -> text: staged files, trainer logs
    secrets: dict[str, dict[str, str]] = field(default_factory=dict)  # remote name -> values
    calls: Counter = field(default_factory=Counter)
    fail_next: list[BackendError] = field(default_factory=list)
    readiness: Readiness = field(default_factory=lambda: Readiness(usable=True))

    def script(self, steps: Sequence[Step], name: str | None = None) -> None:
        """The steps the run named `name` (any run when None) walks through after it is submitted."""
        self.scripts[name] = list(steps)

    def log(self, name: str, *lines: str) -> None:
        self.runs[name].logs.extend(lines)

    def advance(self, name: str) -> RemoteState:
        run = self.runs[name]
        if run.script:
            run.take(run.script.pop(0))
        return run.state

    def call(self, method: str) -> None:
        self.calls[method] += 1
        if self.fail_next:
            raise self.fail_next.pop(0)


class FakeTraining:
    name = "fake"
    label = "Fake (in memory)"
    capabilities = frozenset({Capability.LOGS, Capability.METRICS, Capability.STOP, Capability.SECRETS,
                              Capability.STORAGE})
    storage_target = "local"  # the catalog stages datasets to the local store for it
    root = "memory://fake/jobs/"
    world: ClassVar[FakeTrainingWorld] = FakeTrainingWorld()

    @classmethod
    def reset(cls) -> None:
        cls.world = FakeTrainingWorld()

    def readiness(self) -> Readiness:
        return self.world.readiness

    def job_root(self, remote_name: str) -> str:
        return f"{self.root}{remote_name}/"

    def submit(self, submission: TrainingSubmission) -> RemoteState:
        world = self.world
        world.call("submit")
        if submission.remote_name in world.runs:
            return replace(world.runs[submission.remote_name].state, adopted=True)
        script = world.scripts.get(submission.remote_name, world.scripts.get(None, list(DEFAULT_SCRIPT)))
        state = RemoteState(name=submission.remote_name, phase=JobPhase.STARTING, remote_status="Submitted",
                            detail="Submitted", remote_id=f"fake:{submission.remote_name}", history=())
        run = FakeRun(submission=submission, script=list(script), state=state)
        run.take((JobPhase.STARTING, "Submitted"))
        world.runs[submission.remote_name] = run
        for name, text in submission.files.items():
            world.files[submission.locations.config + name] = text
        if submission.secrets:
            world.secrets[submission.remote_name] = dict(submission.secrets)
        return run.state

    def describe(self, ref: JobRef) -> RemoteState:
        self.world.call("describe")
        run = self.world.runs.get(ref.remote_name)
        return run.state if run else RemoteState(name=ref.remote_name, phase=JobPhase.NOT_FOUND)

    def poll_many(self, refs: Iterable[JobRef]) -> dict[str, RemoteState]:
        self.world.call("poll_many")
        return {ref.remote_name: self.world.advance(ref.remote_name) for ref in refs if ref.remote_name in self.world.runs}

    def stop(self, ref: JobRef) -> None:
        self.world.call("stop")
        run = self.world.runs.get(ref.remote_name)
        if run is None or run.state.phase not in ACTIVE:
            return
        run.take((JobPhase.STOPPING, "Stopping", "Stop requested"))
        run.script = [(JobPhase.STOPPED, "Stopped", "Stopped on request")]

    def logs(self, ref: JobRef, next_token: str | None = None, limit: int = 500) -> LogPage:
        self.world.call("logs")
        run = self.world.runs.get(ref.remote_name)
        if next_token is not None and not next_token.isdigit():
            raise ValueError("Invalid log token.")
        start = int(next_token or 0)
        lines = (run.logs if run else [])[start:start + limit]
        page = [LogLine(timestamp=_now(), message=line, stream="fake-1") for line in lines]
        return LogPage(page, str(start + len(lines)))

    def read_text(self, uri: str) -> str:
        self.world.call("read_text")
        return self.world.files.get(uri, "")

    def delete_secrets(self, ref: JobRef) -> bool:
        self.world.call("delete_secrets")
        return self.world.secrets.pop(ref.remote_name, None) is not None


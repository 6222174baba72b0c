"""Checkpoints: which are complete, which to resume from, when a node may mark one complete.

/opt/ml/checkpoints is synced to S3 by SageMaker while training, and restored from S3 on a
restart (spot interruption, retry) on every node. A checkpoint interrupted half-written is synced
too, so each node writes `.modelhub-complete-<host>` into a checkpoint once its own part is
finished; a checkpoint is complete when every host's marker is there (and, for LLaMA-Factory,
the trainer state). Resume picks the newest complete one, never merely the newest.
"""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path

MARKER_PREFIX = ".modelhub-complete-"
PATTERNS = {"checkpoint-*": re.compile(r"checkpoint-(\d+)"), "global_step_*": re.compile(r"global_step_(\d+)")}
# A file the tool writes on the master at the end of a save (None: the folder's existence is enough).
STATE_FILES = {"checkpoint-*": "trainer_state.json", "global_step_*": None}
SETTLE_SECONDS = 300


@dataclasses.dataclass(frozen=True)
class Checkpoint:
    name: str
    step: int
    files: frozenset[str] = frozenset()  # top-level names inside the folder
    newest_mtime: float = 0.0

    def marked_by(self) -> set[str]:
        return {f[len(MARKER_PREFIX):] for f in self.files if f.startswith(MARKER_PREFIX)}


def step_of(name: str, pattern: str) -> int | None:
    match = PATTERNS[pattern].fullmatch(name)
    return int(match.group(1)) if match else None


def marker_name(host: str) -> str:
    return f"{MARKER_PREFIX}{host}"


def is_complete(checkpoint: Checkpoint, hosts, pattern: str) -> bool:
    if not set(hosts) <= checkpoint.marked_by():
        return False
    state = STATE_FILES[pattern]
    return state is None or state in checkpoint.files


@dataclasses.dataclass(frozen=True)
class ResumePlan:
    resume_from: str | None  # folder name of the newest complete checkpoint
    discard: tuple[str, ...]  # incomplete checkpoints newer than it (their steps will be trained again)


def plan_resume(checkpoints: list[Checkpoint], hosts, pattern: str) -> ResumePlan:
    ordered = sorted(checkpoints, key=lambda c: c.step)
    complete = [c for c in ordered if is_complete(c, hosts, pattern)]
    chosen = complete[-1] if complete else None
    floor = chosen.step if chosen else -1
    discard = tuple(c.name for c in ordered if c.step > floor)
    return ResumePlan(chosen.name if chosen else None, discard)


def ready_to_mark(checkpoint: Checkpoint, newer_exists: bool, training_succeeded: bool, now: float,
                  *, is_master: bool, pattern: str, settle_seconds: int = SETTLE_SECONDS) -> bool:
    """Whether this node's part of `checkpoint` is finished.

    Trainers save synchronously, so a newer checkpoint (or a successful end) means this one is done.
    The newest checkpoint while training goes on counts once nothing changed in it for a while
    (and, on the master, the tool's end-of-save file is there)."""
    if newer_exists or training_succeeded:
        return True
    if now - checkpoint.newest_mtime < settle_seconds:
        return False
    state = STATE_FILES[pattern]
    return not is_master or state is None or state in checkpoint.files


def scan(root: str | Path, pattern: str) -> list[Checkpoint]:
    """The checkpoint folders under `root` (I/O: reads the directory tree)."""
    root = Path(root)
    if not root.is_dir():
        return []
    found = []
    for entry in root.iterdir():
        step = step_of(entry.name, pattern)
        if step is None or not entry.is_dir():
            continue
        newest = entry.stat().st_mtime
        for dirpath, _, filenames in os.walk(entry):
            for filename in filenames:
                if not filename.startswith(MARKER_PREFIX):
                    newest = max(newest, os.stat(os.path.join(dirpath, filename)).st_mtime)
        found.append(Checkpoint(entry.name, step, frozenset(p.name for p in entry.iterdir()), newest))
    return sorted(found, key=lambda c: c.step)

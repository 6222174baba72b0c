"""Detached processes the local target manages (a training runner, a model server).

A process is started in its own session (so its process group holds everything it starts, and a
worker that dies or restarts leaves it running), and recorded in a state file: pid, the kernel's
start time of that pid (so a recycled pid is never mistaken for ours), argv and when it started.
Liveness is read from /proc; a process that has exited (or is a zombie) is not alive.
Stopping sends SIGTERM to the group, then SIGKILL after a grace period.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path


@dataclass(frozen=True)
class Started:
    pid: int
    start_ticks: int  # /proc/<pid>/stat field 22: when the kernel started this pid
    started_at: str  # ISO 8601, UTC
    argv: tuple[str, ...]


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # "pid (comm) state ppid ..." where comm may hold spaces and parentheses
    return text[text.rindex(")") + 2:].split()


def start_ticks(pid: int) -> int | None:
    fields = _stat_fields(pid)
    return int(fields[19]) if fields else None


def _reap(pid: int) -> None:
    """Collect the exit status of our own child, so it does not linger as a zombie."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass  # not our child (started by a worker that has since restarted): init reaps it


def is_alive(pid: int, ticks: int) -> bool:
    _reap(pid)
    fields = _stat_fields(pid)
    return bool(fields) and fields[0] not in ("Z", "X") and int(fields[19]) == ticks


def spawn(argv: Sequence[str], *, log_path: Path, cwd: Path, env: Mapping[str, str]) -> Started:
    """Start argv detached (new session, stdin closed, stdout+stderr appended to log_path)."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        child = subprocess.Popen(list(argv), cwd=cwd, env=dict(env), stdin=subprocess.DEVNULL, stdout=log,
                                 stderr=subprocess.STDOUT, start_new_session=True, close_fds=True)
    ticks = start_ticks(child.pid)
    child.returncode = 0  # we reap it ourselves (is_alive); keep Popen's destructor from warning
    return Started(pid=child.pid, start_ticks=ticks or 0, started_at=datetime.now(UTC).isoformat(),
                   argv=tuple(argv))


def write_state(path: Path, started: Started, **extra) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({**asdict(started), **extra}, indent=2))
    os.replace(tmp, path)


def update_state(path: Path, **changes) -> None:
    state = read_json(path) or {}
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({**state, **changes}, indent=2))
    os.replace(tmp, path)


def read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return None


def terminate(pid: int, ticks: int, *, grace: float) -> bool:
    """SIGTERM the process group of pid, then SIGKILL it if still alive after `grace` seconds.
    Returns True when a signal was sent (False: it was not running)."""
    if not is_alive(pid, ticks):
        return False
    _signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not is_alive(pid, ticks):
            break
        time.sleep(0.1)
    _signal_group(pid, signal.SIGKILL)  # also takes any child that outlived its leader
    deadline = time.monotonic() + 5
    while is_alive(pid, ticks) and time.monotonic() < deadline:
        time.sleep(0.05)
    return True


def _signal_group(pid: int, signum: int) -> None:
    try:
        os.killpg(pid, signum)  # the leader's pid is its group's id (start_new_session)
    except (ProcessLookupError, PermissionError):
        pass


def changed_states(describe, refs) -> dict:
    """`poll_many` of a target whose runs are read one by one from this machine: the states whose remote
    status differs from what each ref last recorded, keyed by remote name."""
    states = ((ref, describe(ref)) for ref in refs)
    return {ref.remote_name: state for ref, state in states if state.remote_status != ref.last_status}

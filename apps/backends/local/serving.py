"""The local target's endpoints: one model server process per endpoint, on a free loopback port.

With a GPU and the deployment's engine (vLLM / SGLang) installed in the ML environment, the server is
the engine, started with the deployment's own argv (the engine table's flags), pointed at the local
model folder and a loopback port. Otherwise it is server.py (transformers, OpenAI-compatible; see its
docstring for why not `transformers serve`). The endpoint is IN_SERVICE only once its health check
answers; a server that dies is started again up to LOCAL_SERVER_RESTARTS times, then the endpoint
FAILS with the end of its log as the reason. delete() stops the process group and removes the folder.

State lives in `STORAGE_DIR/endpoints/<remote name>/` (state.json, server.log), read back on every
call, so a restarted worker or web process finds its servers again.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import socket
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings

from .. import http_upstream, storage
from ..base import (
    Capability,
    Deployment,
    EndpointPhase,
    EndpointRef,
    EngineImage,
    LogLine,
    LogPage,
    Readiness,
    RemoteState,
)
from ..errors import RemoteNotFound, RemoteValidationError
from . import environment, process

STATE_FILE, LOG_FILE = "state.json", "server.log"
ENGINE_MODULES = {"vllm": "vllm", "sglang": "sglang"}
LOG_TAIL_LINES = 8


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def model_folder(uri: str) -> Path:
    """The local folder a deployment serves (file:// URI or absolute path)."""
    path = storage.local_path(uri) if uri.startswith(storage.FILE_SCHEME) else Path(uri)
    if not path.is_absolute() or not path.is_dir():
        raise RemoteValidationError(
            f"The local target serves model folders on this machine; {uri!r} is not one "
            "(use a catalog model stored locally or a local job's output).")
    return path


def engine_argv(argv: tuple[str, ...], python: str, model: Path, port: int) -> list[str]:
    """The deployment's engine argv, run by the ML environment's Python, serving `model` on loopback:port."""
    out = list(argv)
    if not out:
        raise RemoteValidationError("The deployment has no engine command line.")
    if out[0].startswith("python"):
        out[0] = python
    values = {"--host": "127.0.0.1", "--port": str(port), "--model": str(model), "--model-path": str(model)}
    for flag, value in values.items():
        if flag in out:
            out[out.index(flag) + 1] = value
        elif flag in ("--host", "--port"):
            out += [flag, value]
    return out


def server_argv(python: str, model: Path, served_name: str, port: int) -> list[str]:
    return [python, str(environment.HERE / "server.py"), "--model", str(model), "--served-model-name", served_name,
            "--host", "127.0.0.1", "--port", str(port)]


def healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


def log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        with open(path, errors="replace") as handle:
            return " | ".join(line.strip() for line in deque(handle, maxlen=lines) if line.strip())
    except FileNotFoundError:
        return ""


class LocalServing:
    name = "local"
    label = "This machine"
    capabilities = frozenset({Capability.STREAMING_CHAT, Capability.LOGS})

    def readiness(self) -> Readiness:
        return environment.readiness()

    def _dir(self, remote_name: str) -> Path:
        return Path(settings.STORAGE_DIR) / "endpoints" / remote_name

    def _use_engine(self, engine: str) -> bool:
        module = ENGINE_MODULES.get(engine)
        if not module or not environment.has_gpu():
            return False
        site = environment.python().parent.parent / "lib"
        return any(site.glob(f"python3*/site-packages/{module}/__init__.py"))

    def engine_image(self, engine: str, version: str = "", region: str = "") -> EngineImage:
        """No image here: the engine runs from the ML environment when it is installed there and a GPU is
        present, otherwise server.py serves the model (deploy records which in the endpoint's detail)."""
        runs = engine if self._use_engine(engine) else "transformers"
        return EngineImage(uri=f"{environment.python()} ({runs})", version=version)

    # Deploy ------------------------------------------------------------------------------------

    def deploy(self, deployment: Deployment) -> RemoteState:
        folder = self._dir(deployment.remote_name)
        state = process.read_json(folder / STATE_FILE)
        if state is not None:
            current = self._state(deployment.remote_name, folder, state)
            if current.phase != EndpointPhase.FAILED:
                return dataclasses.replace(current, adopted=True)
        ready = self.readiness()
        if not ready.usable:
            raise RemoteValidationError(" ".join(ready.missing))
        if deployment.model.adapters:
            raise RemoteValidationError("The local target serves one model: deploy the job's merged model instead of "
                                        "adapters beside a base.")
        model = model_folder(deployment.model.uri)
        folder.mkdir(parents=True, exist_ok=True)
        launch = {"engine": deployment.engine if self._use_engine(deployment.engine) else "transformers",
                  "model": str(model), "served_model_name": deployment.served_model_name,
                  "engine_argv": list(deployment.argv), "environment": dict(deployment.environment), "restarts": 0}
        self._start(folder, launch, deployment.secrets)
        return self._state(deployment.remote_name, folder, process.read_json(folder / STATE_FILE))

    def _start(self, folder: Path, launch: dict, secrets=None) -> None:
        port = free_port()
        python, model = str(environment.python()), Path(launch["model"])
        if launch["engine"] == "transformers":
            argv = server_argv(python, model, launch["served_model_name"], port)
        else:
            argv = engine_argv(tuple(launch["engine_argv"]), python, model, port)
        env = environment.child_env(launch["environment"], secrets)
        started = process.spawn(argv, log_path=folder / LOG_FILE, cwd=folder, env=env)
        process.write_state(folder / STATE_FILE, started, **{**launch, "port": port})

    # State -------------------------------------------------------------------------------------

    def _state(self, remote_name: str, folder: Path, state: dict | None) -> RemoteState:
        if state is None:
            return RemoteState(name=remote_name, phase=EndpointPhase.NOT_FOUND, remote_status="not found")
        port, pid = state["port"], state["pid"]
        started_at = datetime.fromisoformat(state["started_at"])
        common = {"name": remote_name, "remote_id": str(pid), "started_at": started_at,
                  "detail": state["engine"], "instances": (1, 1)}
        if process.is_alive(pid, state["start_ticks"]):
            if healthy(port):
                return RemoteState(phase=EndpointPhase.IN_SERVICE, remote_status="serving",
                                   invocation_url=f"http://127.0.0.1:{port}/v1",
                                   message=f"{state['engine']} on 127.0.0.1:{port}", **common)
            waited = (datetime.now(UTC) - started_at).total_seconds()
            if waited < settings.LOCAL_SERVER_START_SECONDS:
                return RemoteState(phase=EndpointPhase.CREATING, remote_status="starting",
                                   message=f"Loading the model ({int(waited)} s)", **common)
            process.terminate(pid, state["start_ticks"], grace=settings.LOCAL_STOP_GRACE_SECONDS)
            reason = (f"The model server did not answer its health check within "
                      f"{settings.LOCAL_SERVER_START_SECONDS} s: {log_tail(folder / LOG_FILE)}")
            return RemoteState(phase=EndpointPhase.FAILED, remote_status="failed", failure_reason=reason, **common)
        tail = log_tail(folder / LOG_FILE)
        if state.get("restarts", 0) < settings.LOCAL_SERVER_RESTARTS and not state.get("failed"):
            launch = {k: state[k] for k in ("engine", "model", "served_model_name", "engine_argv", "environment")}
            self._start(folder, {**launch, "restarts": state.get("restarts", 0) + 1})
            return RemoteState(phase=EndpointPhase.CREATING, remote_status="restarting",
                               message=f"The model server exited and was started again: {tail}"[:1000],
                               **{**common, "remote_id": str(process.read_json(folder / STATE_FILE)["pid"])})
        if not state.get("failed"):
            process.update_state(folder / STATE_FILE, failed=True)  # no further restarts
        return RemoteState(phase=EndpointPhase.FAILED, remote_status="failed",
                           failure_reason=f"The model server exited: {tail}"[:1000], **common)

    def describe(self, ref: EndpointRef) -> RemoteState:
        folder = self._dir(ref.remote_name)
        return self._state(ref.remote_name, folder, process.read_json(folder / STATE_FILE))

    def poll_many(self, refs: Iterable[EndpointRef]) -> dict[str, RemoteState]:
        return process.changed_states(self.describe, refs)

    def delete(self, ref: EndpointRef) -> None:
        folder = self._dir(ref.remote_name)
        state = process.read_json(folder / STATE_FILE)
        if state is not None:
            process.terminate(state["pid"], state["start_ticks"], grace=settings.LOCAL_STOP_GRACE_SECONDS)
        shutil.rmtree(folder, ignore_errors=True)

    # Chat and logs -----------------------------------------------------------------------------

    def _url(self, ref: EndpointRef) -> str:
        """The server's URL as the last poll recorded it (no file read per request), else from its state file."""
        if ref.invocation_url:
            return ref.invocation_url
        state = process.read_json(self._dir(ref.remote_name) / STATE_FILE)
        if state is None:
            raise RemoteNotFound(f"The local endpoint {ref.remote_name} has no running server.")
        return f"http://127.0.0.1:{state['port']}/v1"

    async def stream(self, ref: EndpointRef, body: bytes):
        return await http_upstream.stream(self._url(ref), body, target="local")

    async def complete(self, ref: EndpointRef, body: bytes) -> bytes:
        return await http_upstream.complete(self._url(ref), body, target="local")

    def logs(self, ref: EndpointRef, next_token: str | None = None, limit: int = 50) -> LogPage:
        path = self._dir(ref.remote_name) / LOG_FILE
        try:
            lines = path.read_text(errors="replace").splitlines()
        except FileNotFoundError:
            return LogPage([], None)
        stamp = datetime.fromtimestamp(path.stat().st_mtime, UTC)
        start = int(next_token) if next_token and next_token.isdigit() else max(0, len(lines) - limit)
        chosen = lines[start:start + limit]
        return LogPage([LogLine(timestamp=stamp, message=line) for line in chosen], str(start + len(chosen)))


def served_models(port: int) -> list[str]:
    """The model ids a local server answers to (for diagnostics and tests)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=5) as response:
        return [m["id"] for m in json.loads(response.read())["data"]]

"""Real ModelHub processes for integration tests: the ASGI web server and Celery workers.

They run against the test database (a file for SQLite, `test_<name>` on MariaDB), so tests that
use them must use `transactional_db` (or `live_server`) so that rows are committed.
"""

import os
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import httpx
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def database_url() -> str:
    """The URL of the database the tests are using right now."""
    s = connection.settings_dict
    if s["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{s['NAME']}"
    password = f":{s['PASSWORD']}" if s.get("PASSWORD") else ""
    return f"mysql://{s['USER']}{password}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 3306}/{s['NAME']}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stack_env(broker_url: str | None = None, *, embedded_broker: bool = False, **extra: str) -> dict[str, str]:
    """The environment for processes that share the test database.

    They use the same broker as the test process (so tasks it sends reach their workers), unless
    `broker_url` names another or `embedded_broker` asks for the SQLite broker in DATA_DIR.
    """
    env = {**os.environ, "DATABASE_URL": database_url(), "WORKER_HEARTBEAT_SECONDS": "1", **extra}
    if broker_url:
        env["CELERY_BROKER_URL"] = broker_url
    elif embedded_broker:
        env.pop("CELERY_BROKER_URL", None)
    return env


def wait_until(predicate, timeout: float = 30, interval: float = 0.1, message: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(interval)
    raise AssertionError(f"Timed out after {timeout}s waiting for {message}")


@contextmanager
def process(argv: list[str], env: dict[str, str], name: str):
    log = tempfile.NamedTemporaryFile(prefix=f"modelhub-{name}-", suffix=".log", delete=False)
    proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        proc.log_text = Path(log.name).read_text(errors="replace")
        os.unlink(log.name)


def worker_argv(queues: str = "control,io", pool: str = "solo") -> list[str]:
    return [sys.executable, "-m", "celery", "-A", "modelhub", "worker", "-Q", queues, "--pool", pool,
            "--loglevel", "INFO", "-n", f"test-{os.getpid()}-{time.monotonic_ns()}@%h"]


@contextmanager
def worker(env: dict[str, str], **kwargs):
    with process(worker_argv(**kwargs), env, "worker") as proc:
        yield proc


@contextmanager
def web_server(env: dict[str, str]):
    port = free_port()
    argv = [sys.executable, "-m", "uvicorn", "modelhub.asgi:application", "--host", "127.0.0.1",
            "--port", str(port), "--lifespan", "on", "--no-access-log"]
    with process(argv, env, "web") as proc:
        url = f"http://127.0.0.1:{port}"

        def up():
            if proc.poll() is not None:
                raise AssertionError(f"web server exited with {proc.returncode}")
            try:
                return httpx.get(f"{url}/accounts/login/", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(up, timeout=30, message="the web server")
        yield url

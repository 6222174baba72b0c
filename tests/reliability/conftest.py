"""Fault tests: real worker (and web) processes, killed or cut off mid-step, against the shared-file
target of `remote.py`; the sweeps (reconcile loops) run in the test process with short settings."""

import json
import os
import sqlite3
import sys
import time
from contextlib import contextmanager
from urllib.parse import urlsplit

import pytest
import redis
from django.conf import settings as django_settings

from apps.backends import registry
from apps.core.models import WorkerHeartbeat
from tests import stack

from . import remote as shared

TRAINING = "tests.reliability.remote.FaultyTraining"
SERVING = "tests.reliability.remote.FaultyServing"


@pytest.fixture
def remote(tmp_path, monkeypatch, settings):
    """The shared target "faulty" for this process and every process the test starts; short sweeps."""
    monkeypatch.setenv("MODELHUB_FAULT_REMOTE", str(tmp_path / "remote.json"))
    monkeypatch.setenv("MODELHUB_TEST_TRAINING_BACKENDS", json.dumps({"faulty": TRAINING}))
    monkeypatch.setenv("MODELHUB_TEST_SERVING_BACKENDS", json.dumps({"faulty": SERVING}))
    settings.TRAINING_BACKENDS = {**settings.TRAINING_BACKENDS, "faulty": TRAINING}
    settings.SERVING_BACKENDS = {**settings.SERVING_BACKENDS, "faulty": SERVING}
    # Minutes in production; seconds here (docs/faults.md lists the settings).
    settings.TRAINING_REDISPATCH_AFTER_SECONDS = 1
    settings.ENDPOINT_STALE_SECONDS = 1
    settings.DATASET_VALIDATION_STALE_SECONDS = 1
    settings.WORKER_STALE_SECONDS = 2  # workers beat every second here (tests.stack.stack_env)
    registry.reset()
    flush_broker()  # messages earlier tests left for ids this test's rows may reuse would run here too
    yield shared
    registry.reset()


@pytest.fixture
def start_worker(tmp_path):
    """`with start_worker(kill_at=..., when=...) as proc`: a real worker on the test's broker, ready."""
    count = iter(range(100))

    @contextmanager
    def start(kill_at: str = "", when: str = "before", **extra):
        n = next(count)
        env = stack.stack_env(MODELHUB_KILL_AT=kill_at, MODELHUB_KILL_WHEN=when,
                              MODELHUB_KILL_MARK=str(tmp_path / f"killed-{n}"), **extra)
        name = f"fault-{os.getpid()}-{n}-{time.monotonic_ns()}@test"
        argv = [sys.executable, "-m", "tests.reliability.worker", "-Q", "control,io", "--pool", "solo",
                "--loglevel", "INFO", "-n", name, "--without-gossip", "--without-mingle"]
        with stack.process(argv, env, "fault-worker") as proc:
            stack.wait_until(lambda: proc.poll() is not None or WorkerHeartbeat.objects.filter(hostname=name).exists(),
                             timeout=60, message="the worker's first heartbeat")
            proc.hostname = name
            yield proc

    return start


def died(proc) -> bool:
    return proc.poll() == -9


def settle(sweep, done, timeout: float = 60, message: str = "the object to settle"):
    """Run `sweep` (a reconcile cycle) until `done()` holds."""

    def step():
        sweep()
        return done()

    return stack.wait_until(step, timeout=timeout, interval=0.5, message=message)


def flush_broker() -> None:
    """Lose every message in flight: FLUSHDB on Redis, the message table emptied on the embedded broker."""
    url = django_settings.CELERY_BROKER_URL
    if url:
        parts = urlsplit(url)
        redis.Redis(host=parts.hostname, port=parts.port or 6379, db=int(parts.path.strip("/") or 0)).flushdb()
        return
    if not django_settings.EMBEDDED_BROKER_PATH.exists():
        return
    with sqlite3.connect(django_settings.EMBEDDED_BROKER_PATH) as db:
        try:
            db.execute("DELETE FROM kombu_message")
        except sqlite3.OperationalError:  # no table yet: nothing was ever sent
            pass


def in_service_endpoint(user, remote, monkeypatch):
    """An endpoint already serving on the target (made as create_endpoint makes it; its deploy never sent)."""
    from apps.core import dispatch
    from apps.endpoints.models import Endpoint

    from .test_worker_killed import create_endpoint

    with monkeypatch.context() as m:
        m.setattr(dispatch, "send_now", lambda task, *args: False)
        endpoint = create_endpoint(user)
    Endpoint.objects.filter(pk=endpoint.pk).update(status="in_service")
    with remote.state() as data:
        data["resources"][endpoint.remote_name] = {"kind": "endpoint", "phase": "in_service", "creates": 1, "deletes": 0}
    endpoint.refresh_from_db()
    return endpoint

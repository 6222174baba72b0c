"""Broker options: Redis redelivers a dead worker's message within minutes; the embedded broker's table
keeps only messages not yet (or just) taken."""

import datetime
import json
import os
import sqlite3
import subprocess
import sys

from kombu import Connection

from apps.core.broker import purge_consumed_messages, purge_broker
from tests.stack import ROOT


def celery_conf(broker_url: str) -> dict:
    code = ("import django; django.setup(); import json, celeryconfig; "
            "print(json.dumps({'options': celeryconfig.broker_transport_options, "
            "'longest_countdown': __import__('apps.core.taskbase', fromlist=['backoff']).backoff(99)}))")
    env = {**os.environ, "CELERY_BROKER_URL": broker_url, "DJANGO_SETTINGS_MODULE": "modelhub.test_settings"}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_redis_redelivers_within_15_minutes_yet_after_the_longest_countdown():
    conf = celery_conf("redis://127.0.0.1:6379/5")
    timeout = conf["options"]["visibility_timeout"]
    assert timeout == 15 * 60  # was 6 hours
    # A message waiting for its countdown is held unacknowledged: the timeout must exceed the longest one
    # (the jobs' backoff and the validation's retry_backoff_max) plus the longest late-acknowledged task.
    assert timeout > max(conf["longest_countdown"], 600) + 150
    assert celery_conf("")["options"] == {}


def test_no_late_acknowledged_task_outlives_the_visibility_timeout(settings):
    """Redis redelivers a message still unacknowledged after the timeout: a late-acknowledged task that runs
    longer would be run twice at once. Longer tasks (submit, validation) must acknowledge when taken."""
    from modelhub.celery import app

    app.loader.import_default_modules()
    ours = {name: task for name, task in app.tasks.items() if not name.startswith("celery.")}
    assert {"jobs.submit", "catalog.validate_dataset", "endpoints.deploy"} <= set(ours)
    late = {name: task.time_limit or app.conf.task_time_limit for name, task in ours.items()
            if (task.acks_late if task.acks_late is not None else app.conf.task_acks_late)}
    assert "endpoints.deploy" in late and "jobs.submit" not in late and "catalog.validate_dataset" not in late
    too_long = {name: limit for name, limit in late.items() if limit >= settings.BROKER_VISIBILITY_TIMEOUT}
    assert too_long == {}


def test_purge_deletes_taken_messages_and_keeps_waiting_ones(tmp_path):
    path = tmp_path / "broker.sqlite3"
    with Connection(f"sqla+sqlite:///{path}") as conn:
        queue = conn.SimpleQueue("io")
        for n in range(5):
            queue.put({"n": n})
        for _ in range(3):
            queue.get(timeout=1).ack()
        queue.close()

    def rows():
        with sqlite3.connect(path) as db:
            return sorted(db.execute("SELECT visible FROM kombu_message").fetchall())

    assert rows() == [(0,), (0,), (0,), (1,), (1,)]
    assert purge_consumed_messages(path, 15 * 60) == 0  # just taken: kept a while
    later = datetime.datetime.now() + datetime.timedelta(minutes=16)
    assert purge_consumed_messages(path, 15 * 60, now=later) == 3
    assert rows() == [(1,), (1,)]
    with Connection(f"sqla+sqlite:///{path}") as conn:  # the waiting messages are still delivered
        queue = conn.SimpleQueue("io")
        assert sorted(queue.get(timeout=1).payload["n"] for _ in range(2)) == [3, 4]
        queue.close()


def test_purge_of_a_broker_not_yet_created_is_a_no_op(tmp_path):
    assert purge_consumed_messages(tmp_path / "none.sqlite3", 60) == 0


def test_the_beat_task_leaves_redis_alone(settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:6379/5"
    assert purge_broker.run() == 0


def test_the_purge_is_scheduled():
    import celeryconfig

    assert celeryconfig.beat_schedule["core.purge-broker"]["task"] == "core.purge_broker"
    assert "apps.core.broker" in celeryconfig.imports

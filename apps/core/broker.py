"""Housekeeping of the embedded broker (kombu's SQLAlchemy transport on a SQLite file).

That transport never deletes a message: taking one off a queue only marks its row invisible (and stamps
the row's `timestamp` with that moment), so the table grows by one row per task for ever. The beat task
below deletes rows taken more than BROKER_PURGE_AFTER_SECONDS ago. Deleting a taken row changes nothing
for the worker running it: acknowledgement on this transport happens in the worker's memory only.

What this transport cannot do is redeliver a message whose worker died: the row is invisible whether its
task finished or was killed. Work lost that way is found by the database-driven sweeps instead (a job
left submitting, an endpoint left queued or deleting, a dataset whose validation stopped renewing its
heartbeat), which send it again; docs/reliability.md lists their windows.
"""

import datetime
import sqlite3

from celery import shared_task
from django.conf import settings


def purge_consumed_messages(path, older_than_seconds: int, now: datetime.datetime | None = None) -> int:
    """Delete messages taken off their queue more than `older_than_seconds` ago; how many were deleted."""
    # kombu writes naive local times (datetime.now) in SQLAlchemy's text form.
    cutoff = (now or datetime.datetime.now()) - datetime.timedelta(seconds=older_than_seconds)
    with sqlite3.connect(path, timeout=30) as db:
        exists = db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'kombu_message'").fetchone()
        if not exists:
            return 0
        deleted = db.execute("DELETE FROM kombu_message WHERE visible = 0 AND timestamp < ?",
                             (cutoff.strftime("%Y-%m-%d %H:%M:%S.%f"),)).rowcount
    return deleted


@shared_task(name="core.purge_broker", soft_time_limit=60, time_limit=90)
def purge_broker() -> int:
    """Beat: keep the embedded broker's message table to the messages not yet (or just) taken."""
    if settings.CELERY_BROKER_URL:
        return 0  # Redis deletes what is acknowledged itself
    return purge_consumed_messages(settings.EMBEDDED_BROKER_PATH, settings.BROKER_PURGE_AFTER_SECONDS)

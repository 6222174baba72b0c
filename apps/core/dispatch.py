"""Sending a task for a row once the row's transaction commits, without ever failing the request.

The row is the record of the work; the message is only a hint to start it now. So a message is sent
after commit (a worker never sees a row that is not there yet), and a broker that refuses it (down,
flushed, full) costs nothing but time: the send is logged and dropped, the row stays in its
transitional state, and that app's sweep (`jobs.reconcile`, `endpoints.reconcile`,
`catalog.redispatch_validations`) sends it again within minutes. A request therefore answers 201 with
the work surely done later, never 500 with a row behind it; only a failing database (nothing committed)
answers 503 (`apps.core.api`).

    send_on_commit("endpoints.deploy", endpoint.pk)
"""

import logging

from django.db import transaction

from modelhub.celery import app as celery_app

logger = logging.getLogger(__name__)


def send_on_commit(task: str, *args) -> None:
    """Send task `task` (by name) with `args` once the current transaction commits (now outside one)."""
    transaction.on_commit(lambda: send_now(task, *args))


def send_now(task: str, *args) -> bool:
    """Send the message; False (logged) when the broker did not take it. Eager (test) runs raise as usual."""
    signature = celery_app.signature(task, args=args)
    if celery_app.conf.task_always_eager:
        # Run here (tests): a web process knows only the tasks whose modules it imported, so import them all.
        celery_app.loader.import_default_modules()
        signature.delay()
        return True
    try:
        signature.apply_async()
    except Exception as exc:  # any failure to publish: the row stays transitional and its sweep re-sends it
        logger.warning("Could not send %s%r (%s); the reconcile sweep will send it again.", task, args, exc)
        return False
    return True

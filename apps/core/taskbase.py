"""The one shape of a task that acts on one row through a backend.

    @object_task("endpoints.deploy", model="endpoints.Endpoint", time_limit=150, on_failure=fail_endpoint)
    def deploy_endpoint(endpoint): ...

The task takes the row's id and loads the row itself (a row deleted meanwhile is nothing to do).
A `TransientError` is retried with `backoff()`, at most `MAX_RETRIES` times; any other `BackendError`,
or running out of retries, calls `on_failure(row, message)`, which makes the row's status terminal
(or records an event when the row keeps working). Every task has explicit time limits; the soft one
leaves the body time to record why it stopped. On a real worker the run holds a lease on the row
(`apps.core.leases`), so the sweeps tell a row a live worker is on from one whose worker died.
"""

import logging
from collections.abc import Callable

from datetime import timedelta

from celery import shared_task
from celery.exceptions import Retry
from django.apps import apps
from django.utils import timezone

from apps.backends.errors import BackendError, TransientError

from . import leases

logger = logging.getLogger(__name__)

MAX_RETRIES = 8


def backoff(retries: int) -> int:
    """Seconds before retry number `retries` + 1: 5, 10, 20, ... capped at 5 minutes."""
    return min(300, 5 * 2**retries)


def object_task(name: str, *, model: str, time_limit: int, soft_time_limit: int | None = None,
                on_failure: Callable[[object, str], None] | None = None, max_retries: int = MAX_RETRIES,
                select_related: tuple[str, ...] = (), acks_late: bool = True):
    """Register `fn(row)` as a Celery task named `name` that takes the row's primary key.

    Tasks acknowledge late (a dead worker's message is redelivered) unless `acks_late` is False: a task
    that may run longer than Redis's visibility timeout must acknowledge when taken, or Redis hands it to
    a second worker while the first still runs; a database sweep then recovers it if its worker dies.
    """

    def decorate(fn):
        def task(self, pk):
            if self.request.is_eager or not self.request.hostname:  # in-process (tests): no worker to watch
                return run(self, pk)
            leases.hold(name, pk, self.request.hostname)
            try:
                result = run(self, pk)
            except Retry:  # its message is due after the backoff
                leases.hold_until(name, pk, timezone.now() + timedelta(seconds=backoff(self.request.retries)))
                raise
            except BaseException:
                leases.release(name, pk)
                raise
            leases.release(name, pk)
            return result

        def run(self, pk):
            row = apps.get_model(model).objects.select_related(*select_related).filter(pk=pk).first()
            if row is None:
                logger.info("%s: %s %s is gone; nothing to do", name, model, pk)
                return None
            try:
                return fn(row)
            except TransientError as exc:
                if self.request.retries >= max_retries:
                    _fail(on_failure, row, f"Gave up after {max_retries} retries: {exc}", name)
                    return None
                logger.info("%s of %s %s: temporary problem, retrying: %s", name, model, pk, exc)
                raise self.retry(exc=exc, countdown=backoff(self.request.retries)) from exc
            except BackendError as exc:
                _fail(on_failure, row, str(exc), name)
                return None

        # The task belongs to the module that declares it (its app), not to this one.
        task.__module__, task.__name__, task.__qualname__, task.__doc__ = (
            fn.__module__, fn.__name__, fn.__qualname__, fn.__doc__)
        task = shared_task(name=name, bind=True, max_retries=max_retries, time_limit=time_limit, acks_late=acks_late,
                           soft_time_limit=soft_time_limit or max(1, time_limit - 30))(task)
        task.body = fn  # the undecorated function, for tests that call it directly
        return task

    return decorate


def _fail(on_failure, row, message: str, name: str) -> None:
    if on_failure is None:
        logger.warning("%s failed for %r: %s", name, row, message)
        return
    row.refresh_from_db()
    on_failure(row, message)

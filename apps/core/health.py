"""Health checks for /healthz: the database, the broker and the workers."""

from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone

from modelhub.celery import app as celery_app

from .models import WorkerHeartbeat


def check_database() -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {"ok": True, "engine": connection.vendor}


def broker_url() -> str:
    return celery_app.conf.broker_url


def check_broker() -> dict:
    url = broker_url()
    if url.startswith(("redis://", "rediss://")):
        import redis

        redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2).ping()
        return {"ok": True, "transport": "redis"}
    with celery_app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
        channel = conn.default_channel
        if hasattr(channel, "session"):  # SQLAlchemy transport: prove the broker database answers
            from sqlalchemy import text

            channel.session.execute(text("SELECT 1"))
        return {"ok": True, "transport": "embedded"}


def check_workers() -> dict:
    cutoff = timezone.now() - timedelta(seconds=settings.WORKER_STALE_SECONDS)
    alive = list(WorkerHeartbeat.objects.filter(last_seen__gte=cutoff).values_list("hostname", flat=True))
    return {"ok": bool(alive), "count": len(alive), "names": alive}


CHECKS = {"database": check_database, "broker": check_broker, "workers": check_workers}


def run_checks() -> dict[str, dict]:
    results = {}
    for name, check in CHECKS.items():
        try:
            results[name] = check()
        except Exception as exc:  # a health check reports every failure, whatever it is
            results[name] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    return results

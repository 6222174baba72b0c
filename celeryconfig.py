"""Celery settings (loaded by modelhub/celery.py).

CELERY_BROKER_URL selects the broker (Redis in production). Unset, ModelHub uses an embedded broker:
kombu's SQLAlchemy transport on a SQLite file in DATA_DIR, so a laptop needs no Redis.
"""

from datetime import timedelta

from django.conf import settings

broker_url = settings.CELERY_BROKER_URL or f"sqla+sqlite:///{settings.EMBEDDED_BROKER_PATH}"
broker_connection_retry_on_startup = True
# Redis hands a message taken by a worker that then died (kill -9, lost host) to another worker after the
# visibility timeout. It must stay above the longest countdown (retries back off up to 10 minutes) plus the
# run time of a task that acknowledges late, or Redis redelivers work that is still running; BROKER_
# VISIBILITY_TIMEOUT (15 minutes) is that bound, so lost work is redelivered within 15 minutes rather than
# the 6 hours it was. Tasks that may run longer acknowledge early and are recovered by a database sweep
# instead (catalog.validate_dataset); docs/reliability.md has the table.
broker_transport_options = (
    {"visibility_timeout": settings.BROKER_VISIBILITY_TIMEOUT} if broker_url.startswith(("redis://", "rediss://"))
    else {}
)
# Modules with tasks outside the apps' tasks.py (the embedded broker's purge).
imports = ["apps.core.broker"]

task_serializer = "json"
result_serializer = "json"
accept_content = ["json"]
task_ignore_result = True
result_backend = None

# A task is acknowledged only once it has run, and goes back to the queue if its worker dies.
task_acks_late = True
task_reject_on_worker_lost = True
worker_prefetch_multiplier = 1

# Every task has a limit; slow tasks set their own, larger ones.
task_soft_time_limit = 120
task_time_limit = 150

# Quick control-plane calls and slow I/O never wait behind each other: transfers, uploads, dataset
# validation and job submission (which stages data) go to `io`; everything else to `control`.
task_default_queue = "control"
task_create_missing_queues = True
task_routes = {
    "catalog.validate_dataset": {"queue": "io"},
    "jobs.submit": {"queue": "io"},
}

worker_hijack_root_logger = False
worker_send_task_events = False
timezone = "UTC"

# Reconcile loops register here: name -> {"task", "schedule", "options": {"expires": ...}}.
# An entry's expiry is below its interval, so a backlog never piles up duplicate cycles.
beat_schedule = {
    "core.prune-worker-records": {
        "task": "core.prune_worker_records",
        "schedule": timedelta(hours=1),
        "options": {"expires": 30 * 60},
    },
}
# Training jobs: one bulk poll of SageMaker per cycle, plus re-dispatch of lost submissions.
beat_schedule["jobs.reconcile"] = {
    "task": "jobs.reconcile",
    "schedule": timedelta(seconds=settings.TRAINING_RECONCILE_SECONDS),
    "options": {"expires": max(5, settings.TRAINING_RECONCILE_SECONDS - 5)},
}
# Endpoints: one bulk list of endpoints per target per cycle, describe on change, re-dispatch of lost work.
beat_schedule["endpoints.reconcile"] = {
    "task": "endpoints.reconcile",
    "schedule": timedelta(seconds=settings.ENDPOINT_RECONCILE_SECONDS),
    "options": {"expires": max(5, settings.ENDPOINT_RECONCILE_SECONDS - 5)},
}
# Datasets: re-dispatch validations whose message was lost (worker killed, request cut short).
beat_schedule["catalog.redispatch-validations"] = {
    "task": "catalog.redispatch_validations",
    "schedule": timedelta(minutes=1),
    "options": {"expires": 50},
}
# Embedded broker: delete messages taken more than BROKER_PURGE_AFTER_SECONDS ago (a no-op on Redis).
beat_schedule["core.purge-broker"] = {
    "task": "core.purge_broker",
    "schedule": timedelta(minutes=10),
    "options": {"expires": 9 * 60},
}
# HyperPod clusters: one check per registered cluster (reachability, capacity, namespaces, operator).
beat_schedule["clusters.reconcile"] = {
    "task": "clusters.reconcile",
    "schedule": timedelta(seconds=settings.CLUSTER_RECONCILE_SECONDS),
    "options": {"expires": max(5, settings.CLUSTER_RECONCILE_SECONDS - 30)},
}
beat_schedule_filename = str(settings.DATA_DIR / "celerybeat-schedule")

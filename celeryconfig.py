"""Celery settings (loaded by modelhub/celery.py).

CELERY_BROKER_URL selects the broker (Redis in production). Unset, ModelHub uses an embedded broker:
kombu's SQLAlchemy transport on a SQLite file in DATA_DIR, so a laptop needs no Redis.
"""

from datetime import timedelta

from django.conf import settings

broker_url = settings.CELERY_BROKER_URL or f"sqla+sqlite:///{settings.EMBEDDED_BROKER_PATH}"
broker_connection_retry_on_startup = True
# Redis redelivers unacknowledged messages after this; keep it above the longest task and countdown.
broker_transport_options = (
    {"visibility_timeout": 6 * 3600} if broker_url.startswith(("redis://", "rediss://")) else {}
)

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
    "schedule": timedelta(minutes=5),
    "options": {"expires": 4 * 60},
}
# HyperPod clusters: one check per registered cluster (reachability, capacity, namespaces, operator).
beat_schedule["clusters.reconcile"] = {
    "task": "clusters.reconcile",
    "schedule": timedelta(seconds=settings.CLUSTER_RECONCILE_SECONDS),
    "options": {"expires": max(5, settings.CLUSTER_RECONCILE_SECONDS - 30)},
}
beat_schedule_filename = str(settings.DATA_DIR / "celerybeat-schedule")

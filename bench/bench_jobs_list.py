"""The jobs API (a page of 50) and the job list page over 100,000 jobs: queries per request and p50 latency.

Builds a fresh SQLite database in a temporary data directory (migrations, then 100,000 training jobs
bulk-inserted for two users), and measures, through Django's test client with a real session and a
real API token, the same requests at 1,000 and at 100,000 jobs. The number of SQL queries must not
grow with the number of jobs; the latency ratio shows what does.

    .venv/bin/python bench/bench_jobs_list.py [--jobs 100000] [--rounds 30]
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.results import record  # noqa: E402
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "modelhub.settings")
os.environ["DATA_DIR"] = tempfile.mkdtemp(prefix="mh-bench-jobs-")
os.environ.setdefault("S3_BUCKET", "modelhub-bench")

import warnings  # noqa: E402

warnings.filterwarnings("ignore", message="No directory at")

STATUSES = ["queued", "submitting", "starting", "running", "stopping", "succeeded", "failed", "stopped"]
TYPES = ["sft", "pt", "ppo", "dpo", "kto", "rm", "grpo", "dapo", "gspo", "cispo"]
REQUESTS = {
    "API: GET /api/v1/jobs/?page_size=50": ("api", "/api/v1/jobs/?page_size=50"),
    "API: filtered + searched": ("api", "/api/v1/jobs/?page_size=50&status=running,failed&job_type=dpo&search=run-1"),
    "page: GET /jobs/": ("web", "/jobs/"),
    "page: GET /jobs/?status=running": ("web", "/jobs/?status=running"),
}


def insert_jobs(owner, other, start: int, count: int) -> None:
    from django.utils import timezone

    from apps.jobs.models import TrainingJob

    now = timezone.now()
    spec = {"job_type": "sft", "base_model": "Qwen/Qwen3-4B", "datasets": [1], "finetuning_method": "lora",
            "instance_type": "ml.g5.2xlarge", "instance_count": 1, "reward_code": "x" * 2000}
    batch = []
    for i in range(start, start + count):
        status = STATUSES[i % len(STATUSES)]
        name = f"run-{i}"
        batch.append(TrainingJob(
            owner=owner if i % 10 else other, name=name, job_type=TYPES[i % len(TYPES)], spec=spec, status=status,
            remote_name=f"mhjob-{name}-{i}bench", output_uri=f"s3://modelhub-bench/modelhub/jobs/mhjob-{name}-{i}bench/",
            created_at=now - timedelta(seconds=i), step=i % 500 if status == "running" else None,
            total_steps=500 if status == "running" else None,
        ))
        if len(batch) == 5000:
            TrainingJob.objects.bulk_create(batch)
            batch = []
    if batch:
        TrainingJob.objects.bulk_create(batch)


def measure(clients, rounds: int) -> dict[str, tuple[int, float]]:
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    results = {}
    for label, (kind, path) in REQUESTS.items():
        client = clients[kind]
        client.get(path)  # warm up (the token's last-use stamp is written at most once a minute)
        reset_queries()
        with CaptureQueriesContext(connection) as queries:
            response = client.get(path)
        count = len(queries)  # read now: the log is cleared by the next request
        assert response.status_code == 200, (path, response.status_code)
        timings = []
        for _ in range(rounds):
            start = time.perf_counter()
            client.get(path)
            timings.append((time.perf_counter() - start) * 1000)
        results[label] = (count, statistics.median(timings))
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.test import Client
    from rest_framework.test import APIClient

    settings.ALLOWED_HOSTS = ["*"]
    # Plain static URLs: the hashed manifest exists only after collectstatic.
    settings.STORAGES = {**settings.STORAGES,
                         "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
    call_command("migrate", verbosity=0)
    from django.contrib.auth.models import Group

    from apps.users.models import ApiToken, User

    owner = User.objects.create_user("bench", password="a-long-bench-password")
    owner.groups.add(Group.objects.get(name="default"))
    other = User.objects.create_user("other", password="a-long-bench-password")
    other.groups.add(Group.objects.get(name="default"))
    _, raw = ApiToken.issue(owner, "bench")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    web = Client()
    web.force_login(owner)
    clients = {"api": api, "web": web}

    small = 1_000
    insert_jobs(owner, other, 0, small)
    at_small = measure(clients, args.rounds)
    started = time.perf_counter()
    insert_jobs(owner, other, small, args.jobs - small)
    inserted = time.perf_counter() - started
    at_large = measure(clients, args.rounds)

    print(f"inserted {args.jobs - small:,} more jobs in {inserted:.1f} s; {args.rounds} rounds per request\n")
    print(f"| request | queries at {small:,} jobs | queries at {args.jobs:,} jobs | p50 at {small:,} | p50 at {args.jobs:,} | ratio |")
    print("|---|---|---|---|---|---|")
    for label in REQUESTS:
        (q_small, t_small), (q_large, t_large) = at_small[label], at_large[label]
        print(f"| {label} | {q_small} | {q_large} | {t_small:.1f} ms | {t_large:.1f} ms | {t_large / t_small:.1f}× |")
        assert q_small == q_large, f"{label}: queries grew with the number of jobs ({q_small} → {q_large})"
    record("bench_jobs_list", f"Job list over {args.jobs:,} jobs", {
        f"`{label}`: queries, p50 at {small:,} → {args.jobs:,} jobs": f"{at_small[label][0]} / {at_large[label][0]}, "
        f"{at_small[label][1]:.1f} → {at_large[label][1]:.1f} ms ({at_large[label][1] / at_small[label][1]:.1f}×)"
        for label in REQUESTS}, note=f"SQLite, {args.rounds} rounds per request.")


if __name__ == "__main__":
    main()

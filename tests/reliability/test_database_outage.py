"""MariaDB stopped for ten seconds under traffic: every request answers 201 (its job is created and
then runs, once) or 503 with nothing created; never 500, never a duplicate.

The web server reaches the suite's MariaDB through `DatabaseProxy`, which plays the outage (every
connection dropped, new ones refused) without stopping the shared server. Runs only when the suite
itself is on MariaDB (the CI run on MariaDB + Redis); SQLite has no server to lose.
"""

import threading
import time

import httpx
import pytest
from django.db import connection

from apps.jobs import reconcile as job_reconcile
from apps.jobs.models import TrainingJob
from apps.users.models import ApiToken
from tests import stack
from tests.jobs.factories import make_dataset

from .conftest import settle
from .dbproxy import DatabaseProxy

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.stack]

OUTAGE_SECONDS = 10


def test_database_stopped_for_ten_seconds_under_traffic(remote, start_worker, user):
    if connection.vendor != "mysql":
        pytest.skip("the database outage is played on MariaDB (the suite runs on SQLite here)")
    settings = connection.settings_dict
    proxy = DatabaseProxy((settings["HOST"] or "127.0.0.1", int(settings["PORT"] or 3306)))
    _, raw = ApiToken.issue(user, "faults")
    dataset = make_dataset(user, "alpaca", staged=True)
    env = stack.stack_env(COMPUTE_BACKEND="faulty")
    env["DATABASE_URL"] = env["DATABASE_URL"].replace(f":{settings['PORT'] or 3306}/", f":{proxy.port}/")
    answers: dict[str, int] = {}
    try:
        with stack.web_server(env) as url:
            def traffic():
                with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {raw}"}, timeout=30) as client:
                    for n in range(30):
                        name = f"under-traffic-{n}"
                        answers[name] = client.post("/api/v1/jobs/", json={
                            "name": name, "job_type": "sft", "base_model": "Qwen/Qwen3-0.6B",
                            "datasets": [str(dataset.pk)], "template": "qwen3"}).status_code
                        time.sleep(0.45)

            sender = threading.Thread(target=traffic)
            sender.start()
            time.sleep(3)
            proxy.down()
            time.sleep(OUTAGE_SECONDS)
            proxy.up()
            sender.join(timeout=120)
    finally:
        proxy.close()

    assert set(answers.values()) <= {201, 503}, answers
    assert 503 in answers.values() and 201 in answers.values(), answers
    created = set(TrainingJob.objects.filter(owner=user).values_list("name", flat=True))
    assert created == {name for name, code in answers.items() if code == 201}  # a 503 created nothing

    with start_worker():
        settle(job_reconcile.reconcile_once, lambda: not TrainingJob.objects.exclude(status="succeeded").exists(),
               timeout=90, message="every created job to run")
    jobs = TrainingJob.objects.filter(owner=user)
    assert sorted(remote.resources("job")) == sorted(job.remote_name for job in jobs)
    assert {r["creates"] for r in remote.resources("job").values()} == {1}

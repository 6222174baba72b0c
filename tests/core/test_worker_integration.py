"""A task enqueued by a web request is executed by a real worker process.

Runs the real ASGI server and a real Celery worker against the test database, once through the
embedded SQLite broker and once through Redis.
"""

import httpx
import pytest

from apps.users.models import ApiToken
from tests import stack
from tests.conftest import make_user
from tests.services import require_redis

pytestmark = [pytest.mark.stack, pytest.mark.django_db(transaction=True)]


@pytest.fixture(params=["embedded", "redis"])
def broker_env(request, tmp_path):
    if request.param == "redis":
        return stack.stack_env(broker_url=require_redis(), DATA_DIR=str(tmp_path))
    # No CELERY_BROKER_URL: the embedded default, a SQLite broker file in DATA_DIR.
    return stack.stack_env(embedded_broker=True, DATA_DIR=str(tmp_path))


def test_web_request_task_runs_on_a_real_worker(broker_env):
    admin = make_user("ops", group="admin")
    _, raw = ApiToken.issue(admin, "integration")
    headers = {"Authorization": f"Bearer {raw}"}

    with stack.web_server(broker_env) as url, stack.worker(broker_env) as worker:
        created = httpx.post(f"{url}/api/v1/system/pings", headers=headers, timeout=10)
        assert created.status_code == 202, created.text
        ping_id = created.json()["id"]

        def completed():
            body = httpx.get(f"{url}/api/v1/system/pings/{ping_id}", headers=headers, timeout=5).json()
            return body if body["completed_at"] else None

        body = stack.wait_until(completed, timeout=60, interval=0.2, message="the worker to run the ping")
        assert body["worker"].startswith("test-")
        assert body["round_trip_ms"] > 0

        health = stack.wait_until(
            lambda: (r := httpx.get(f"{url}/healthz", timeout=10)).status_code == 200 and r,
            timeout=30, message="/healthz to report the worker",
        )
        checks = health.json()["checks"]
        assert checks["workers"]["count"] >= 1
        assert checks["broker"]["transport"] == ("redis" if "CELERY_BROKER_URL" in broker_env else "embedded")
    assert worker.returncode is not None

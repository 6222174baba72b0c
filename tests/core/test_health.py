from datetime import timedelta

import pytest
from django.utils import timezone

from apps.core import health
from apps.core.models import WorkerHeartbeat

pytestmark = pytest.mark.django_db


def beat(seconds_ago=0):
    now = timezone.now() - timedelta(seconds=seconds_ago)
    WorkerHeartbeat.objects.create(hostname=f"w{seconds_ago}@host", pid=1, started_at=now, last_seen=now)


def test_healthy_when_database_broker_and_a_worker_are_up(client):
    beat()
    response = client.get("/healthz")
    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "ok"
    assert body["checks"]["database"]["ok"] and body["checks"]["broker"]["ok"]
    assert body["checks"]["workers"] == {"ok": True, "count": 1, "names": ["w0@host"]}


def test_503_without_a_live_worker(client, settings):
    beat(seconds_ago=settings.WORKER_STALE_SECONDS + 5)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["workers"]["ok"] is False


def test_503_when_the_broker_is_down(client, monkeypatch):
    beat()
    monkeypatch.setattr(health, "broker_url", lambda: "redis://127.0.0.1:1/0")
    response = client.get("/healthz")
    assert response.status_code == 503
    broker = response.json()["checks"]["broker"]
    assert broker["ok"] is False and "Error" in broker["error"]


def test_health_needs_no_login_and_is_not_cached(client):
    response = client.get("/healthz")
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]

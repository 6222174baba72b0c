"""The dispatch rules in one process: a refused message never fails the request, the sweeps send it
again, leases keep them off work a live worker holds, and a database that went away answers 503."""

from datetime import timedelta

import pytest
from celery.canvas import Signature
from django.db import OperationalError
from django.test import RequestFactory
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerDown

from apps.core import leases
from apps.core.middleware import JsonApiErrorsMiddleware
from apps.core.models import WorkerHeartbeat
from apps.endpoints import reconcile as endpoint_reconcile
from apps.endpoints.models import Endpoint
from apps.jobs import reconcile as job_reconcile
from apps.jobs import services as jobs
from apps.jobs.models import Status, TrainingJob
from tests.jobs.factories import make_dataset, make_job

pytestmark = pytest.mark.django_db


class Refused(list):
    """The names of the tasks whose publish was refused; `restore()` brings the broker back."""

    def restore(self):
        self.patch.undo()


@pytest.fixture
def broker_down():
    """Every publish fails as Celery fails when the broker refuses connections."""
    sent = Refused()

    def refuse(self, *args, **kwargs):
        sent.append(self.task)
        raise BrokerDown("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    sent.patch = pytest.MonkeyPatch()
    sent.patch.setattr(Signature, "apply_async", refuse)
    yield sent
    sent.restore()


def test_endpoint_created_while_the_broker_is_down_is_201_and_deployed_by_the_sweep(
        user_api, broker_down, fake_serving, settings, django_capture_on_commit_callbacks, request):
    with django_capture_on_commit_callbacks(execute=True):
        response = user_api.post("/api/v1/endpoints/", {"source": "s3", "model_uri": "s3://my-models/llama/merged",
                                                        "max_model_len": 4096, "instance_type": "ml.g5.2xlarge"},
                                 format="json")
    assert response.status_code == 201, response.json()
    assert broker_down == ["endpoints.deploy"]
    endpoint = Endpoint.objects.get(pk=response.json()["id"])
    assert endpoint.status == "queued" and Endpoint.objects.count() == 1

    settings.ENDPOINT_STALE_SECONDS = 0
    assert endpoint_reconcile.lost_work(timezone.now() + timedelta(seconds=1))["queued"] == [endpoint.pk]
    broker_down.restore()
    inline = request.getfixturevalue("inline_tasks")
    from apps.endpoints.tasks import reconcile_endpoints

    reconcile_endpoints()
    assert ("endpoints.deploy", (endpoint.pk,)) in inline
    endpoint.refresh_from_db()
    assert endpoint.status == "creating"


def test_a_refused_submit_is_sent_by_the_next_cycle_whatever_its_age(user, broker_down, fake_training,
                                                                      django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        job = jobs.create_job(user, "offline", make_job(user).spec, target="fake")
    job.refresh_from_db()
    assert job.status == Status.QUEUED and job.dispatched_at is None
    with django_capture_on_commit_callbacks(execute=True):
        report = job_reconcile.reconcile_once()
    assert report.redispatched == 2  # this job, and the factory's job that was never sent
    assert broker_down == ["jobs.submit"] * 3


def test_leases_are_live_while_the_worker_beats_or_the_retry_is_due(settings):
    settings.WORKER_STALE_SECONDS = 30
    now = timezone.now()
    WorkerHeartbeat.objects.create(hostname="alive", pid=1, started_at=now, last_seen=now)
    WorkerHeartbeat.objects.create(hostname="dead", pid=2, started_at=now, last_seen=now - timedelta(minutes=5))
    leases.hold("t", 1, "alive")
    leases.hold("t", 2, "dead")
    leases.hold("t", 3, "never-started")
    leases.hold_until("t", 4, now + timedelta(seconds=60))
    leases.hold_until("t", 5, now - timedelta(minutes=5))
    leases.hold("other", 6, "alive")
    assert leases.held("t", [1, 2, 3, 4, 5, 6, 7], now) == {"1", "4"}
    leases.release("t", 1)
    assert leases.held("t", [1], now) == set()


def test_a_lost_stop_is_sent_again_once_stale(user, fake_training, settings, inline_tasks):
    settings.TRAINING_REDISPATCH_AFTER_SECONDS = 60
    fake_training.script([("running", "Training")] * 5)
    job = jobs.create_job(user, "runs", make_job(user).spec, target="fake")
    job_reconcile.reconcile_once()
    job.refresh_from_db()
    assert job.status == Status.RUNNING
    TrainingJob.objects.filter(pk=job.pk).update(status=Status.STOPPING)  # its stop message was lost
    job_reconcile.reconcile_once()
    assert fake_training.calls["stop"] == 0  # too early: the message may be on its way
    TrainingJob.objects.filter(pk=job.pk).update(status_changed_at=timezone.now() - timedelta(minutes=2))
    job_reconcile.reconcile_once()
    assert fake_training.calls["stop"] == 1
    job_reconcile.reconcile_once()
    job.refresh_from_db()
    assert job.status == Status.STOPPED


def test_a_database_that_went_away_answers_503_and_never_500(user, user_api, monkeypatch):
    dataset = make_dataset(user, "alpaca", staged=True)

    def lost(*args, **kwargs):
        raise OperationalError(2013, "Lost connection to server during query")

    monkeypatch.setattr(jobs, "create_job", lost)
    response = user_api.post("/api/v1/jobs/", {"name": "x", "job_type": "sft", "base_model": "Qwen/Qwen3-0.6B",
                                               "datasets": [str(dataset.pk)], "template": "qwen3"}, format="json")
    assert response.status_code == 503 and response["Retry-After"] == "10"
    assert response.json()["code"] == "unavailable"

    middleware = JsonApiErrorsMiddleware(lambda request: None)
    page = middleware.process_exception(RequestFactory().post("/jobs/new/"), OperationalError("gone"))
    assert page.status_code == 503 and page["Retry-After"] == "10"
    api = middleware.process_exception(RequestFactory().post("/api/v1/jobs/"), OperationalError("gone"))
    assert api.status_code == 503 and b'"unavailable"' in api.content

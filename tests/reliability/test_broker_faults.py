"""The broker down, flushed, and the target throttling or failing with 5xx: nothing is lost, nothing
is made twice.

- Broker down: a real web server whose broker refuses connections answers 201/202 for a new job, a
  large dataset and an endpoint's deletion; the rows wait in their transitional states, and once a
  worker and the sweeps run on the real broker each reaches its end with one remote resource.
- Broker flushed: messages already sent are lost (Redis FLUSHDB; the embedded broker's table emptied);
  the sweeps send them again.
- Throttling and 5xx from the target: the task retries with its backoff; its lease keeps the sweep
  from sending a second message meanwhile, so the remote call is made exactly twice.
"""

import httpx
import pytest
from django.db.models import Q

from apps.catalog.models import Dataset
from apps.catalog.tasks import redispatch_validations
from apps.endpoints.tasks import reconcile_endpoints
from apps.jobs import reconcile as job_reconcile
from apps.jobs.models import TrainingJob
from apps.users.models import ApiToken
from tests import stack
from tests.jobs.factories import make_dataset

from .conftest import flush_broker, in_service_endpoint, settle
from .test_worker_killed import create_endpoint, create_job, status_of

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.stack]

ROWS = b'{"instruction": "a", "input": "", "output": "b"}\n' * 3


def sweep_all():
    job_reconcile.reconcile_once()
    reconcile_endpoints()
    redispatch_validations()


def calls(remote, method: str) -> int:
    return sum(1 for name, *_ in remote.read()["calls"] if name == method)


def test_broker_down_at_the_web_server_answers_201_and_loses_nothing(remote, start_worker, user, tmp_path,
                                                                     monkeypatch):
    _, raw = ApiToken.issue(user, "faults")
    headers = {"Authorization": f"Bearer {raw}"}
    dataset = make_dataset(user, "alpaca", staged=True)
    endpoint = in_service_endpoint(user, remote, monkeypatch)
    dead_broker = f"redis://127.0.0.1:{stack.free_port()}/0"  # nothing listens there
    env = stack.stack_env(broker_url=dead_broker, COMPUTE_BACKEND="faulty")
    with stack.web_server(env) as url:
        job = httpx.post(f"{url}/api/v1/jobs/", headers=headers, timeout=30, json={
            "name": "offline", "job_type": "sft", "base_model": "Qwen/Qwen3-0.6B", "datasets": [str(dataset.pk)],
            "template": "qwen3"})
        upload = httpx.post(f"{url}/api/v1/datasets/", headers=headers, timeout=30, data={"name": "offline-rows"},
                            files={"file": ("rows.jsonl", ROWS, "application/jsonl")})
        deleted = httpx.delete(f"{url}/api/v1/endpoints/{endpoint.pk}/", headers=headers, timeout=30)
    assert (job.status_code, upload.status_code, deleted.status_code) == (201, 201, 202), (job.text, upload.text)
    job = TrainingJob.objects.get(pk=job.json()["id"])
    assert job.status == "queued" and job.dispatched_at is None  # the broker refused it: the sweep sends it
    new_dataset = Dataset.objects.get(owner=user, name="offline-rows")
    assert new_dataset.status == "validating" and status_of(endpoint) == "deleting"

    with start_worker():
        settle(sweep_all, lambda: (status_of(job), status_of(new_dataset), status_of(endpoint))
               == ("succeeded", "ready", "deleted"), message="the work the broker refused")
    assert TrainingJob.objects.filter(owner=user).count() == 1
    assert {name: (r["creates"], r["phase"]) for name, r in remote.read()["resources"].items()} == {
        job.remote_name: (1, "succeeded"), endpoint.remote_name: (1, "gone")}


def test_broker_flushed_with_work_in_flight(remote, start_worker, user):
    job, endpoint = create_job(user), create_endpoint(user)  # sent; no worker has taken them
    flush_broker()
    with start_worker():
        settle(sweep_all, lambda: (status_of(job), status_of(endpoint)) == ("succeeded", "in_service"),
               message="the work whose messages were flushed")
    assert {name: r["creates"] for name, r in remote.read()["resources"].items()} == {
        job.remote_name: 1, endpoint.remote_name: 1}


def test_throttling_and_5xx_are_retried_without_duplicates(remote, start_worker, user):
    remote.fail("submit", "throttle")
    remote.fail("deploy", "5xx")
    with start_worker():
        job, endpoint = create_job(user), create_endpoint(user)
        settle(sweep_all, lambda: (status_of(job), status_of(endpoint)) == ("succeeded", "in_service"),
               message="the throttled submit and the failed deploy")
    assert (calls(remote, "submit"), calls(remote, "deploy")) == (2, 2)  # the refused call and one retry
    assert {name: r["creates"] for name, r in remote.read()["resources"].items()} == {
        job.remote_name: 1, endpoint.remote_name: 1}
    assert job.submit_attempts == 2
    assert not TrainingJob.objects.filter(Q(status="failed") | Q(remote_id="")).exists()

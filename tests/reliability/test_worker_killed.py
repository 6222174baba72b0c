"""kill -9 of a worker in the middle of each step (submit, validation, deploy, delete): the object still
reaches the right state, with exactly one remote resource, within seconds of the (shortened) sweeps.

The dying worker is a real Celery worker (tests/reliability/worker.py) on the suite's broker (Redis or
the embedded SQLite broker); a fresh worker and the reconcile sweeps then finish the work.
"""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.catalog import services as catalog
from apps.catalog.models import Dataset
from apps.catalog.tasks import redispatch_validations
from apps.endpoints import reconcile as endpoint_reconcile
from apps.endpoints import services as endpoints
from apps.endpoints.models import Endpoint
from apps.endpoints.tasks import reconcile_endpoints
from apps.jobs import reconcile as job_reconcile
from apps.jobs import services as jobs
from apps.jobs.models import TrainingJob
from apps.jobs.spec import TrainingSpecSerializer
from tests import stack
from tests.endpoints.factories import spec_dict
from tests.jobs.factories import make_dataset

from .conftest import died, in_service_endpoint, settle

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.stack]

KILL_SUBMIT = "tests.reliability.remote:FaultyTraining.submit"
KILL_DEPLOY = "tests.reliability.remote:FaultyServing.deploy"
KILL_DELETE = "tests.reliability.remote:FaultyServing.delete"
KILL_VALIDATION = "apps.catalog.services:inspect_files"


def create_job(user) -> TrainingJob:
    dataset = make_dataset(user, "alpaca", staged=True)
    serializer = TrainingSpecSerializer(
        data={"job_type": "sft", "base_model": "Qwen/Qwen3-0.6B", "datasets": [str(dataset.pk)], "template": "qwen3"},
        context={"user": user})
    assert serializer.is_valid(), serializer.errors
    return jobs.create_job(user, "crash", serializer.spec.to_dict(), target="faulty")


def create_endpoint(user) -> Endpoint:
    return endpoints.create_endpoint(
        user, name="", source="s3", model_uri="s3://models-bucket/jobs/7/merged/", engine="vllm",
        instance_type="ml.g4dn.xlarge", instance_count=1, spec=spec_dict("ml.g4dn.xlarge"), target="faulty")


def status_of(row):
    row.refresh_from_db()
    return row.status


@pytest.mark.parametrize("when", ["before", "after"])
def test_worker_killed_mid_submit(remote, start_worker, user, when):
    with start_worker(kill_at=KILL_SUBMIT, when=when) as dying:
        job = create_job(user)
        stack.wait_until(lambda: died(dying), timeout=60, message="the worker to die in submit")
    assert status_of(job) == "submitting" and not job.remote_id
    assert len(remote.resources("job")) == (1 if when == "after" else 0)

    with start_worker():
        settle(job_reconcile.reconcile_once, lambda: status_of(job) == "succeeded", message="the job to succeed")
    assert remote.resources("job") == {job.remote_name: {"kind": "job", "phase": "succeeded", "creates": 1, "deletes": 0}}
    # Killed before creating, the sweep must send the submit again; after, the poll may adopt the run first.
    assert job.submit_attempts == 2 if when == "before" else job.submit_attempts in (1, 2)


def test_worker_killed_mid_validation(remote, start_worker, user):
    upload = SimpleUploadedFile("rows.jsonl", b'{"instruction": "a", "input": "", "output": "b"}\n' * 5)
    with start_worker(kill_at=KILL_VALIDATION) as dying:
        dataset = catalog.create_from_upload(owner=user, name="rows", uploaded_file=upload)
        stack.wait_until(lambda: died(dying), timeout=60, message="the worker to die in validation")
    assert status_of(dataset) == "validating"

    with start_worker():
        settle(redispatch_validations, lambda: status_of(dataset) == "ready", message="the dataset to be ready")
    assert dataset.row_count == 5
    assert Dataset.objects.filter(owner=user).count() == 1  # one row, however many messages ran


def test_worker_killed_mid_deploy(remote, start_worker, user):
    with start_worker(kill_at=KILL_DEPLOY, when="after") as dying:
        endpoint = create_endpoint(user)
        stack.wait_until(lambda: died(dying), timeout=60, message="the worker to die in deploy")
    assert status_of(endpoint) == "queued"

    with start_worker():
        settle(reconcile_endpoints, lambda: status_of(endpoint) == "in_service", message="the endpoint in service")
    assert remote.resources("endpoint") == {
        endpoint.remote_name: {"kind": "endpoint", "phase": "in_service", "creates": 1, "deletes": 0}}


def test_worker_killed_mid_delete(remote, start_worker, user, monkeypatch):
    endpoint = in_service_endpoint(user, remote, monkeypatch)
    with start_worker(kill_at=KILL_DELETE, when="after") as dying:
        endpoints.request_delete(endpoint)
        stack.wait_until(lambda: died(dying), timeout=60, message="the worker to die in delete")
    assert status_of(endpoint) == "deleting"

    with start_worker():
        settle(reconcile_endpoints, lambda: status_of(endpoint) == "deleted", message="the endpoint deleted")
    assert remote.resources("endpoint") == {
        endpoint.remote_name: {"kind": "endpoint", "phase": "gone", "creates": 1, "deletes": 1}}
    assert endpoint_reconcile.lost_work() == {"queued": [], "deleting": [], "updating": []}

"""A worker killed mid-submission, then the reconcile loop: exactly one remote training job.

The submitting worker is a separate process (tests/jobs/crash_worker.py) SIGKILLed either just
before or just after CreateTrainingJob; SageMaker is a moto server shared by that process and
this one, and the database is the real test database both processes use.
"""

import sys
from datetime import timedelta

import boto3
import httpx
import pytest
from django.utils import timezone

from apps.backends import aws, registry
from apps.jobs import reconcile, services, tasks
from apps.jobs.models import Status, TrainingJob
from apps.jobs.spec import TrainingSpecSerializer
from tests import stack

from .factories import make_dataset

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.stack]
BUCKET = "modelhub-crash"


@pytest.fixture
def moto_server(monkeypatch, settings):
    port = stack.free_port()
    env = {**stack.stack_env(), "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    with stack.process([sys.executable, "-m", "moto.server", "-p", str(port)], env, "moto"):
        url = f"http://127.0.0.1:{port}"
        stack.wait_until(lambda: _up(url), timeout=30, message="moto server")
        values = {
            "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": url, "S3_BUCKET": BUCKET, "SAGEMAKER_ROLE_ARN": "arn:aws:iam::123456789012:role/r",
            "TRAINING_IMAGE_LLAMAFACTORY": "123456789012.dkr.ecr.us-east-1.amazonaws.com/lf:1",
        }
        for key, value in values.items():
            monkeypatch.setenv(key, value)
        settings.S3_BUCKET = BUCKET
        settings.SAGEMAKER_ROLE_ARN = values["SAGEMAKER_ROLE_ARN"]
        settings.TRAINING_IMAGE_LLAMAFACTORY = values["TRAINING_IMAGE_LLAMAFACTORY"]
        aws.client.cache_clear()
        registry.reset()
        boto3.client("s3", region_name="us-east-1", endpoint_url=url).create_bucket(Bucket=BUCKET)
        yield boto3.client("sagemaker", region_name="us-east-1", endpoint_url=url)
        aws.client.cache_clear()
        registry.reset()


def _up(url):
    try:
        return httpx.get(f"{url}/moto-api/", timeout=1).status_code < 500
    except httpx.HTTPError:
        return False


def remote_jobs(sagemaker):
    return [j["TrainingJobName"] for j in sagemaker.list_training_jobs(NameContains="mhjob-")["TrainingJobSummaries"]]


@pytest.fixture
def queued_job(moto_server, user, monkeypatch):
    dataset = make_dataset(user, "alpaca")
    dataset.staged = {"s3": f"s3://{BUCKET}/modelhub/datasets/x/staged/"}
    dataset.save()
    serializer = TrainingSpecSerializer(
        data={"job_type": "sft", "base_model": "Qwen/Qwen3-0.6B", "datasets": [str(dataset.pk)], "template": "qwen3"},
        context={"user": user})
    assert serializer.is_valid(), serializer.errors
    sent = []
    monkeypatch.setattr("apps.jobs.tasks.submit_job.delay", sent.append)  # the message that the dying worker takes
    job = services.create_job(user, "crash", serializer.spec.to_dict())
    assert sent == [job.pk]
    return job


def run_dying_worker(job, when):
    env = {**stack.stack_env()}
    proc = stack.subprocess.run([sys.executable, "-m", "tests.jobs.crash_worker", str(job.pk), when],
                                cwd=stack.ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == -9, proc.stdout + proc.stderr  # SIGKILL, not a clean exit


def inline_redispatch(monkeypatch):
    sent = []

    def run(pk):
        sent.append(pk)
        tasks.submit_job.run(pk)

    monkeypatch.setattr("apps.jobs.tasks.submit_job.delay", run)
    return sent


def test_killed_before_create_then_reconcile_creates_exactly_one(queued_job, moto_server, monkeypatch):
    run_dying_worker(queued_job, "before_create")
    job = TrainingJob.objects.get(pk=queued_job.pk)
    assert job.status == Status.SUBMITTING and not job.remote_arn
    assert remote_jobs(moto_server) == []

    sent = inline_redispatch(monkeypatch)
    reconcile.reconcile_once()
    assert sent == []  # too early: the message may just be slow

    TrainingJob.objects.filter(pk=job.pk).update(status_changed_at=timezone.now() - timedelta(minutes=10),
                                                 dispatched_at=timezone.now() - timedelta(minutes=10))
    reconcile.reconcile_once()
    assert sent == [job.pk]
    assert remote_jobs(moto_server) == [job.remote_name]
    reconcile.reconcile_once()  # moto reports Completed at once
    job.refresh_from_db()
    assert job.status == Status.SUCCEEDED
    assert remote_jobs(moto_server) == [job.remote_name]
    assert job.submit_attempts == 2


def test_killed_after_create_then_reconcile_adopts_the_one_job(queued_job, moto_server, monkeypatch):
    run_dying_worker(queued_job, "after_create")
    job = TrainingJob.objects.get(pk=queued_job.pk)
    assert job.status == Status.SUBMITTING and not job.remote_arn  # the row never heard of it
    assert remote_jobs(moto_server) == [job.remote_name]

    sent = inline_redispatch(monkeypatch)
    reconcile.reconcile_once()  # the list shows our name: describe and adopt, no re-dispatch needed
    job.refresh_from_db()
    assert sent == []
    assert job.status == Status.SUCCEEDED and job.remote_arn.endswith(job.remote_name)
    # a late duplicate of the submit message changes nothing
    tasks.submit_job.run(job.pk)
    assert remote_jobs(moto_server) == [job.remote_name]
    assert job.events.filter(kind="status", data__to="starting").count() == 1

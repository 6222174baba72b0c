"""The real path: uvicorn web server, a Celery worker process (control + io queues), moto server.

A job created with the API is submitted by the worker (io queue), the reconcile task sent through
the broker moves it to succeeded (moto completes training jobs at once), and the logs endpoint reads
the job's CloudWatch streams.
"""

import time

import boto3
import httpx
import pytest

from apps.jobs.models import Status, TrainingJob
from apps.jobs.tasks import reconcile_jobs
from apps.users.models import ApiToken
from tests import stack

from .conftest import MOTO_BUCKET
from .factories import make_dataset

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.stack]


def test_api_to_worker_to_sagemaker_and_back(user, moto_server):
    dataset = make_dataset(user, "alpaca")
    dataset.staged = {"s3": f"s3://{MOTO_BUCKET}/modelhub/datasets/x/staged/"}
    dataset.save()
    _, token = ApiToken.issue(user, "stack")
    env = stack.stack_env(**moto_server.env)
    with stack.worker(env) as worker, stack.web_server(env) as url:
        headers = {"Authorization": f"Bearer {token}"}
        body = {"name": "stack run", "job_type": "sft", "base_model": "Qwen/Qwen3-0.6B",
                "datasets": [str(dataset.pk)], "template": "qwen3"}
        response = httpx.post(f"{url}/api/v1/jobs/", json=body, headers=headers, timeout=30)
        assert response.status_code == 201, response.text
        job_id = response.json()["id"]

        def status():
            return TrainingJob.objects.get(pk=job_id).status

        stack.wait_until(lambda: status() == Status.STARTING, timeout=60, message="submission by the worker")
        job = TrainingJob.objects.get(pk=job_id)
        assert moto_server.remote_jobs() == [job.remote_name]

        reconcile_jobs.delay()
        stack.wait_until(lambda: status() == Status.SUCCEEDED, timeout=60, message="reconcile through the broker")

        logs = boto3.client("logs", region_name="us-east-1", endpoint_url=moto_server.url)
        logs.create_log_group(logGroupName="/aws/sagemaker/TrainingJobs")
        stream = f"{job.remote_name}/algo-1-1700000000"
        logs.create_log_stream(logGroupName="/aws/sagemaker/TrainingJobs", logStreamName=stream)
        logs.put_log_events(logGroupName="/aws/sagemaker/TrainingJobs", logStreamName=stream,
                            logEvents=[{"timestamp": int(time.time() * 1000), "message": "{'loss': 1.23, 'epoch': 0.5}"}])
        page = httpx.get(f"{url}/api/v1/jobs/{job_id}/logs", headers=headers, timeout=30).json()
        assert [line["message"] for line in page["lines"]] == ["{'loss': 1.23, 'epoch': 0.5}"]
        assert page["lines"][0]["stream"] == "algo-1-1700000000"
        again = httpx.get(f"{url}/api/v1/jobs/{job_id}/logs", params={"next_token": page["next_token"]},
                          headers=headers, timeout=30).json()
        assert again["lines"] == []
        events = httpx.get(f"{url}/api/v1/jobs/{job_id}/events", headers=headers, timeout=30).json()["results"]
        assert [e["data"]["to"] for e in events if e["kind"] == "status"] == ["submitting", "starting", "succeeded"]
    assert "jobs.submit" in worker.log_text and "jobs.reconcile" in worker.log_text

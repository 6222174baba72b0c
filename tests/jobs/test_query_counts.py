"""The job list (API page of 50, and the page) runs the same number of queries whatever the number of jobs."""

import pytest
from django.db import connection, reset_queries
from django.test import Client
from django.test.utils import CaptureQueriesContext

from apps.jobs.models import TrainingJob

from .factories import make_job

pytestmark = pytest.mark.django_db


def queries(client, path) -> int:
    client.get(path)  # warm up (token last-use stamp)
    reset_queries()
    with CaptureQueriesContext(connection) as captured:
        assert client.get(path).status_code == 200
        return len(captured)


def add_jobs(owner, count):
    spec = {"job_type": "sft", "finetuning_method": "lora"}
    TrainingJob.objects.bulk_create([
        TrainingJob(owner=owner, name=f"bulk-{i}", job_type="sft", spec=spec, status="running" if i % 2 else "failed",
                    remote_name=f"mhjob-bulk-{i}x", step=i, total_steps=100)
        for i in range(count)
    ])


@pytest.mark.parametrize("path", ["/api/v1/jobs/?page_size=50", "/api/v1/jobs/?status=running&search=bulk&ordering=name"])
def test_api_list_queries_do_not_grow(user, user_api, path):
    make_job(user, name="bulk-first", status="running")  # the page is never empty
    few = queries(user_api, path)
    add_jobs(user, 120)
    assert queries(user_api, path) == few


@pytest.mark.parametrize("path", ["/jobs/", "/jobs/?status=running", "/"])
def test_list_page_and_dashboard_queries_do_not_grow(user, path):
    client = Client()
    client.force_login(user)
    make_job(user, name="bulk-first", status="running")  # the page is never empty
    few = queries(client, path)
    add_jobs(user, 120)
    assert queries(client, path) == few

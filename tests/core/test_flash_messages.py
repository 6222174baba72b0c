"""A flash never contradicts the object's state: a job whose submission fails at once is shown failed,
under a neutral message, never a green "queued"; a failed endpoint offers no snippets to call it."""

import pytest
from django.test import Client

from apps.backends.errors import RemoteValidationError

from apps.jobs.models import TrainingJob
from tests.chat.conftest import make_endpoint
from tests.jobs.factories import make_dataset, valid_spec

pytestmark = pytest.mark.django_db


def test_a_job_failing_at_once_shows_failed_under_a_neutral_message(user, fake_training, inline_tasks):
    fake_training.fail_next.append(RemoteValidationError("Set S3_BUCKET in .env."))  # the submit fails at once
    web = Client()
    web.force_login(user)
    data = valid_spec("sft", make_dataset(user, "alpaca"))
    created = web.post("/jobs/new", data)
    page = web.get(created["Location"]).content.decode()  # the worker was faster than the browser
    job = TrainingJob.objects.get()
    assert job.status == "failed"
    assert 'class="badge badge-failed" id="job-status"' in page and job.status_reason in page
    assert "alert-success" not in page and "queued" not in page.split('<ul class="messages"')[1].split("</ul>")[0]
    assert "Created job" in page


@pytest.mark.parametrize("status,snippets", [("in_service", True), ("failed", False), ("deleted", False)])
def test_failed_endpoints_show_no_invoke_snippets(client, user, status, snippets):
    endpoint = make_endpoint(user, "bot", "local", status=status, status_reason="CUDA out of memory")
    client.force_login(user)
    page = client.get(f"/endpoints/{endpoint.pk}/").content.decode()
    assert ('id="invoke-title"' in page) is snippets

"""Endpoint pages: list, deploy form (inline errors, fit preview, ?job= prefill), detail (failure
reason, logs, snippets), scale, delete, dashboard section, ownership."""

import pytest
from django.urls import reverse
from django.utils.html import escape

from apps.backends.errors import RemoteNotConfigured, RemoteNotFound, TransientError
from apps.endpoints import tasks
from apps.endpoints.models import Endpoint, Status
from apps.jobs.models import Status as JobStatus
from apps.users.models import User
from tests.jobs.factories import make_job

from .factories import make_endpoint

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser_client(client, user):
    client.force_login(user)
    return client


def form_data(model, **overrides):
    return {"source": "catalog", "base_model": model.key, "target": "sagemaker", "instance_type": "ml.g5.2xlarge",
            "instance_count": "1", "engine": "vllm", "dtype": "auto", "max_num_seqs": "256",
            "gpu_memory_utilization": "0.9", "model_data_download_timeout": "1200", **overrides}


def test_list_shows_own_endpoints_with_status_engine_instance_and_source(browser_client, user, other_user):
    mine = make_endpoint(user, name="my-bot")
    make_endpoint(other_user, name="their-bot")
    html = browser_client.get(reverse("endpoints:list")).content.decode()
    assert "my-bot" in html and "their-bot" not in html
    assert "badge-queued" in html and "ml.g4dn.xlarge" in html and "S3 prefix" in html and "vllm" in html
    assert 'hx-trigger="every 3s"' in html  # a queued endpoint is moving: the rows refresh themselves
    Endpoint.objects.filter(pk=mine.pk).update(status=Status.IN_SERVICE)
    rows = browser_client.get(reverse("endpoints:list"), HTTP_HX_REQUEST="true").content.decode()
    assert rows.lstrip().startswith("<tbody") and "badge-in_service" in rows and "every 3s" not in rows


def test_deploy_form_prefills_a_job(browser_client, user, settings):
    settings.S3_BUCKET = "modelhub-test"
    job = make_job(user, name="my-sft", status=JobStatus.SUCCEEDED)
    html = browser_client.get(reverse("endpoints:new") + f"?job={job.pk}").content.decode()
    assert '<option value="job" selected>' in html
    assert f'<option value="{job.pk}" selected>' in html
    assert 'hx-post="/endpoints/new/fit"' in html


def test_deploy_form_creates_and_redirects(browser_client, small_model, fake_serving, inline_tasks):
    response = browser_client.post(reverse("endpoints:new"), form_data(small_model, name="form-bot"))
    endpoint = Endpoint.objects.get(name="form-bot")
    assert response.status_code == 302 and response["Location"] == reverse("endpoints:detail", args=[endpoint.pk])
    assert endpoint.status == Status.CREATING and endpoint.spec["max_num_seqs"] == 256


def test_deploy_form_shows_inline_errors_and_creates_nothing(browser_client, small_model, huge_model, fake_serving, inline_tasks):
    response = browser_client.post(reverse("endpoints:new"), form_data(
        small_model, instance_type="ml.g4dn.xlarge", tensor_parallel_size="4"))
    assert response.status_code == 400
    html = response.content.decode()
    assert "ml.g4dn.xlarge has 1 GPU; use at most 1." in html
    assert 'class="field has-error"' in html
    assert 'value="4"' in html  # what the user typed is kept
    bad_name = browser_client.post(reverse("endpoints:new"), form_data(small_model, name="bad_name"))
    assert bad_name.status_code == 400 and "Use only letters, digits and" in bad_name.content.decode()
    too_big = browser_client.post(reverse("endpoints:new"), form_data(huge_model, instance_type="ml.g5.2xlarge"))
    assert too_big.status_code == 400 and "larger instance" in too_big.content.decode()
    assert Endpoint.objects.count() == 0 and inline_tasks == []


def test_fit_preview(browser_client, small_model, huge_model):
    ok = browser_client.post(reverse("endpoints:fit"), form_data(small_model), HTTP_HX_REQUEST="true").content.decode()
    assert "Fits" in ok and "alert-success" in ok
    refused = browser_client.post(reverse("endpoints:fit"), form_data(huge_model), HTTP_HX_REQUEST="true").content.decode()
    assert "Does not fit" in refused and "alert-error" in refused
    assert Endpoint.objects.count() == 0


def test_detail_shows_failure_reason_log_tail_and_snippets(browser_client, user, fake_serving, settings):
    settings.SITE_URL = "https://hub.example.com"
    endpoint = make_endpoint(user, name="broken-bot")
    reason = "The primary container did not pass the ping health check."
    fake_serving.deploy_scripts[endpoint.remote_name] = (["creating", "failed"], reason)
    fake_serving.logs[endpoint.remote_name] = ["torch.OutOfMemoryError: CUDA out of memory"]
    tasks.deploy_endpoint.run(endpoint.pk)
    tasks.reconcile_endpoints.run()
    html = browser_client.get(reverse("endpoints:detail", args=[endpoint.pk])).content.decode()
    assert "Failure reason:" in html and reason in html
    assert "torch.OutOfMemoryError: CUDA out of memory" in html
    assert "/v1/chat/completions" not in html  # a failed endpoint takes no requests: no invoke snippets
    assert "every 3s" not in html  # failed: nothing moves, no polling


def test_detail_of_an_endpoint_in_service_shows_invoke_snippets(browser_client, user, fake_serving, settings):
    settings.SITE_URL = "https://hub.example.com"
    endpoint = make_endpoint(user, name="good-bot")
    fake_serving.deploy_scripts[endpoint.remote_name] = (["creating", "in_service"], "")
    tasks.deploy_endpoint.run(endpoint.pk)
    tasks.reconcile_endpoints.run()
    html = browser_client.get(reverse("endpoints:detail", args=[endpoint.pk])).content.decode()
    assert "https://hub.example.com/v1/chat/completions" in html
    assert "base_url=&#x27;https://hub.example.com/v1&#x27;" in html and "model=&#x27;good-bot&#x27;" in html
    assert f"EndpointName=&#x27;{endpoint.remote_name}&#x27;" in html and "region_name=&#x27;fake-region-1&#x27;" in html


def test_live_partial_polls_only_while_moving(browser_client, user):
    endpoint = make_endpoint(user)
    url = reverse("endpoints:live", args=[endpoint.pk])
    assert "every 3s" in browser_client.get(url).content.decode()
    Endpoint.objects.filter(pk=endpoint.pk).update(status=Status.IN_SERVICE)
    assert "every 3s" not in browser_client.get(url).content.decode()


def test_logs_partial(browser_client, user, fake_serving):
    endpoint = make_endpoint(user)
    fake_serving.logs[endpoint.remote_name] = ["INFO Started server process", "INFO Uvicorn running on :8080"]
    html = browser_client.get(reverse("endpoints:logs", args=[endpoint.pk])).content.decode()
    assert "Uvicorn running on :8080" in html
    assert f"From the fake target&#x27;s log of {endpoint.remote_name}." in html


@pytest.mark.parametrize("error, says", [
    (RemoteNotConfigured("ModelHub has no usable AWS configuration (Unable to locate credentials)."), "没有可用的云凭证"),
    (RemoteNotFound("The specified log group does not exist."), "还没有日志"),
    (TransientError("Could not reach AWS: timed out"), "暂时无法获取日志"),
])
def test_logs_say_what_went_wrong_in_the_users_language_and_keep_the_clouds_words(browser_client, user, fake_serving,
                                                                               monkeypatch, error, says):
    from apps.backends.fake.serving import FakeServing

    def fail(self, ref, next_token=None, limit=50):
        raise error

    monkeypatch.setattr(FakeServing, "logs", fail)
    User.objects.filter(pk=user.pk).update(language="zh-hans")
    endpoint = make_endpoint(user)
    html = browser_client.get(reverse("endpoints:logs", args=[endpoint.pk])).content.decode()
    assert says in html
    assert f'<p class="mono" lang="en" data-raw>{escape(str(error))}</p>' in html  # the cloud's own words, as they came


def test_a_target_without_logs_or_scaling_shows_neither_card(browser_client, user, fake_serving, monkeypatch):
    from apps.backends.base import Capability
    from apps.backends.fake.serving import FakeServing

    endpoint = make_endpoint(user)
    detail = reverse("endpoints:detail", args=[endpoint.pk])
    html = browser_client.get(detail).content.decode()
    assert "Load latest lines" in html and 'id="scale-title"' in html
    monkeypatch.setattr(FakeServing, "capabilities", frozenset(Capability) - {Capability.LOGS, Capability.SCALING})
    html = browser_client.get(detail).content.decode()
    assert "Load latest lines" not in html and 'id="scale-title"' not in html
    html = browser_client.get(reverse("endpoints:logs", args=[endpoint.pk])).content.decode()
    assert "No logs for this endpoint." in html


def test_scale_from_the_page(browser_client, user, fake_serving, request):
    endpoint = make_endpoint(user)
    Endpoint.objects.filter(pk=endpoint.pk).update(status=Status.IN_SERVICE)
    inline_tasks = request.getfixturevalue("inline_tasks")
    bad = browser_client.post(reverse("endpoints:scale", args=[endpoint.pk]),
                              {"instance_count": "2", "autoscaling_enabled": "on", "min_instances": "3", "max_instances": "1"})
    assert bad.status_code == 400 and "Must be at least the minimum" in bad.content.decode()
    assert Endpoint.objects.get(pk=endpoint.pk).status == Status.IN_SERVICE
    good = browser_client.post(reverse("endpoints:scale", args=[endpoint.pk]), {"instance_count": "2"})
    assert good.status_code == 302
    endpoint.refresh_from_db()
    assert endpoint.instance_count == 2 and ("endpoints.update", (endpoint.pk,)) in inline_tasks


def test_delete_needs_the_name_typed(browser_client, user, fake_serving, inline_tasks):
    endpoint = make_endpoint(user, name="to-delete")  # deployed at once: the fake has it
    url = reverse("endpoints:delete", args=[endpoint.pk])
    assert "Type <span class=\"mono\">to-delete</span> to confirm" in browser_client.get(url).content.decode()
    before = Endpoint.objects.get(pk=endpoint.pk).status
    wrong = browser_client.post(url, {"confirm_name": "other"})
    assert wrong.status_code == 400 and Endpoint.objects.get(pk=endpoint.pk).status == before != Status.DELETING
    right = browser_client.post(url, {"confirm_name": "to-delete"})
    assert right.status_code == 302
    assert Endpoint.objects.get(pk=endpoint.pk).status == Status.DELETING  # the fake still says Deleting
    assert ("endpoints.delete", (endpoint.pk,)) in inline_tasks


def test_other_users_endpoints_are_404_on_every_page(browser_client, other_user):
    endpoint = make_endpoint(other_user)
    for name in ("detail", "live", "logs", "delete"):
        assert browser_client.get(reverse(f"endpoints:{name}", args=[endpoint.pk])).status_code == 404
    assert browser_client.post(reverse("endpoints:scale", args=[endpoint.pk]), {"instance_count": "2"}).status_code == 404
    assert browser_client.post(reverse("endpoints:delete", args=[endpoint.pk]), {"confirm_name": endpoint.name}).status_code == 404


def test_dashboard_section_counts_by_status_engine_and_target(browser_client, user, other_user):
    make_endpoint(user)
    live = make_endpoint(user)
    make_endpoint(other_user)
    Endpoint.objects.filter(pk=live.pk).update(status=Status.IN_SERVICE)
    from apps.endpoints.dashboard import endpoint_counts

    counts = endpoint_counts(user)
    assert counts["total"] == 2 and counts["in_service"] == 1
    assert {r["key"]: r["count"] for r in counts["by_status"]} == {"queued": 1, "in_service": 1}
    assert counts["by_engine"] == [{"key": "vllm", "count": 2}]
    assert [(r["key"], r["count"]) for r in counts["by_target"]] == [("sagemaker", 2)]
    html = browser_client.get(reverse("dashboard")).content.decode()
    assert "Endpoints" in html and "in service of 2 endpoints" in html

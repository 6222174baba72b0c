import re

import pytest
from django.test import Client

from apps.jobs import services
from apps.jobs.models import Status, TrainingJob

from .factories import FORMAT_FOR_TYPE, make_dataset, make_job, valid_spec

pytestmark = pytest.mark.django_db


@pytest.fixture
def web(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def admin_web(admin_user):
    client = Client()
    client.force_login(admin_user)
    return client


def test_list_page_filters_and_shows_only_own_jobs(web, user, other_user):
    make_job(user, name="alpha-sft", status=Status.RUNNING, step=50, total_steps=200)
    make_job(user, name="beta-dpo", job_type="dpo", status=Status.FAILED, status_reason="CUDA out of memory")
    make_job(other_user, name="not-mine")
    page = web.get("/jobs/").content.decode()
    assert "alpha-sft" in page and "beta-dpo" in page and "not-mine" not in page
    assert 'hx-trigger="every 5s"' in page  # a running job on the page: rows refresh
    assert "25.0%" in page
    failed = web.get("/jobs/?status=failed").content.decode()
    assert "beta-dpo" in failed and "alpha-sft" not in failed and "CUDA out of memory" in failed
    assert "alpha-sft" in web.get("/jobs/?search=alpha").content.decode()
    assert "beta-dpo" not in web.get("/jobs/?search=alpha").content.decode()
    rows = web.get("/jobs/?status=failed", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="job-rows").content.decode()
    assert rows.lstrip().startswith('<tbody id="job-rows"') and "beta-dpo" in rows
    assert "every 5s" not in rows  # only terminal jobs: polling stops


def test_admin_sees_owner_column_and_filter(admin_web, user, other_user):
    make_job(user, name="a-job")
    make_job(other_user, name="b-job")
    page = admin_web.get("/jobs/?owner=bob").content.decode()
    assert "b-job" in page and "a-job" not in page


@pytest.mark.parametrize("job_type", list(FORMAT_FOR_TYPE))
def test_new_form_renders_each_type_with_its_defaults(web, user, job_type):
    make_dataset(user, FORMAT_FOR_TYPE[job_type], name=f"my {job_type} data")
    page = web.get(f"/jobs/new?job_type={job_type}").content.decode()
    assert f"my {job_type} data" in page
    assert ("Reinforcement learning" in page) == (job_type in ("grpo", "dapo", "gspo", "cispo"))
    assert ('name="pref_beta"' in page) == (job_type in ("dpo", "kto"))
    assert "Estimated cost" in page


def test_form_shows_the_same_errors_as_the_api_inline(web, user, user_api):
    dataset = make_dataset(user, "alpaca")
    bad = valid_spec("sft", dataset) | {"name": "", "finetuning_method": "qlora", "use_spot": True,
                                        "max_run_hours": 10, "max_wait_hours": 2}
    api_errors = user_api.post("/api/v1/jobs/", bad, format="json").json()["errors"]
    post = {k: v for k, v in bad.items() if k != "use_spot"} | {"use_spot": "on"}
    response = web.post("/jobs/new", post)
    assert response.status_code == 400
    page = response.content.decode()
    for field, messages in api_errors.items():
        assert f'id="id_{field}"' in page, field
        for message in messages:
            assert str(message).replace("'", "&#x27;") in page, message
    assert re.search(r'class="field has-error"[^>]*>\s*<label for="id_max_wait_hours"', page)
    assert not TrainingJob.objects.exists()


def test_form_creates_a_job_and_redirects(web, user, fake_training, inline_tasks):
    dataset = make_dataset(user, "alpaca", staged=True)
    data = valid_spec("sft", dataset) | {"lora_rank": "16"}
    response = web.post("/jobs/new", data)
    job = TrainingJob.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/jobs/{job.pk}/"
    assert job.spec["lora_rank"] == 16 and job.spec["template"] == "qwen3" and job.owner == user
    assert inline_tasks == [("jobs.submit", (job.pk,))] and job.target == "fake"
    page = web.get(response["Location"]).content.decode()
    assert "<dt>Target</dt><dd>Fake (in memory)</dd>" in page


def test_clone_prefills_the_form(web, user):
    dataset = make_dataset(user, "preference")
    job = make_job(user, name="dpo-run", job_type="dpo",
                   spec={"job_type": "dpo", "base_model": "Qwen/Qwen3-0.6B", "datasets": [dataset.pk],
                         "pref_beta": 0.25, "template": "qwen3", "finetuning_method": "lora"})
    page = web.get(f"/jobs/new?from={job.pk}").content.decode()
    assert 'value="dpo-run (copy)"' in page and 'value="0.25"' in page
    assert re.search(rf'name="datasets" value="{dataset.pk}"[^>]*checked', page)  # a ticked checkbox


def test_detail_live_and_actions(web, user, fake_training, inline_tasks):
    job = make_job(user, name="watch-me", status=Status.RUNNING, step=10, total_steps=40, eta_seconds=600)
    job.record_event("Training: Training in progress.", kind="remote")
    page = web.get(f"/jobs/{job.pk}/").content.decode()
    assert "watch-me" in page and "25.0%" in page and "Training in progress" in page
    assert job.output_uri in page and 'data-copy="#output-uri"' in page
    assert f'/api/v1/jobs/{job.pk}/metrics' in page
    assert 'hx-trigger="every 3s"' in page
    live = web.get(f"/jobs/{job.pk}/live").content.decode()
    assert live.startswith('<div id="job-live"') and "step 10 of 40" in live
    assert web.post(f"/jobs/{job.pk}/stop").status_code == 302
    assert inline_tasks == [("jobs.stop", (job.pk,))]
    job.refresh_from_db()
    assert job.status == Status.STOPPING
    assert web.post(f"/jobs/{job.pk}/delete").status_code == 302
    assert web.get(f"/jobs/{job.pk}/").status_code == 404
    assert TrainingJob.objects.get(pk=job.pk).deleted_at is not None


def test_terminal_job_page_stops_polling_and_offers_deploy(web, user):
    job = make_job(user, status=Status.SUCCEEDED)
    page = web.get(f"/jobs/{job.pk}/").content.decode()
    assert 'data-terminal="1"' in page
    assert "every 3s" not in page.split('id="job-live"')[1].split(">")[0]
    assert job.output_uri + "merged/" in page


def test_other_users_pages_are_404(web, other_user):
    job = make_job(other_user)
    for path in ("", "live", "logs"):
        assert web.get(f"/jobs/{job.pk}/{path}").status_code == 404
    assert web.post(f"/jobs/{job.pk}/stop").status_code == 404
    assert web.post(f"/jobs/{job.pk}/delete").status_code == 404
    assert web.get(f"/jobs/new?from={job.pk}").status_code == 404


def test_estimate_partial(web):
    page = web.get("/jobs/new/estimate?instance_type=ml.g5.2xlarge&instance_count=2&max_run_hours=10").content.decode()
    assert "$30.40" in page  # 1.52 $/h × 2 × 10 h


def test_dashboard_section(web, user):
    make_job(user, name="running-one", status=Status.RUNNING, step=1, total_steps=4)
    make_job(user, name="broken", status=Status.FAILED, status_reason="AlgorithmError: boom")
    page = web.get("/").content.decode()
    assert "Training jobs" in page and "running-one" in page and "AlgorithmError: boom" in page


def test_log_tail_partial_appends_and_stops_at_the_end(web, user, fake_training):
    job = make_job(user, spec={"template": "qwen3"})
    services.submit(job)
    fake_training.log(job.remote_name, "step 1 <loss>")
    TrainingJob.objects.filter(pk=job.pk).update(status=Status.SUCCEEDED)
    first = web.get(f"/jobs/{job.pk}/logs").content.decode()
    assert "step 1 &lt;loss&gt;" in first and "[fake-1]" in first  # escaped
    assert f"/jobs/{job.pk}/logs?next_token=1" in first  # keeps reading after the last line
    last = web.get(f"/jobs/{job.pk}/logs?next_token=1").content.decode()
    assert "End of log." in last and "hx-get" not in last  # finished job, nothing new: polling stops


def test_queued_job_log_waits_without_calling_the_backend(web, user, fake_training):
    job = make_job(user)
    page = web.get(f"/jobs/{job.pk}/logs").content.decode()
    assert "Waiting for the job to start" in page and "every 3s" in page
    assert fake_training.calls == {}


def test_a_target_without_logs_says_so(web, user, fake_training, monkeypatch):
    from apps.backends.base import Capability
    from apps.backends.fake.training import FakeTraining

    monkeypatch.setattr(FakeTraining, "capabilities", FakeTraining.capabilities - {Capability.LOGS})
    job = make_job(user, status=Status.RUNNING)
    page = web.get(f"/jobs/{job.pk}/logs").content.decode()
    assert "keeps no logs" in page and "hx-get" not in page and fake_training.calls == {}


def test_deploy_button_links_to_the_endpoint_form(web, user):
    job = make_job(user, status=Status.SUCCEEDED)
    page = web.get(f"/jobs/{job.pk}/").content.decode()
    assert f'href="/endpoints/new?job={job.pk}"' in page
    running = make_job(user, status=Status.RUNNING)
    assert "/endpoints/new?job=" not in web.get(f"/jobs/{running.pk}/").content.decode()


def test_tracker_key_is_chosen_from_stored_secrets(web, user):
    from apps.users.models import UserSecret

    UserSecret.objects.create(owner=user, name="wandb-team", kind="wandb", value="k" * 40)
    page = web.get("/jobs/new").content.decode()
    assert '<option value="wandb-team">wandb-team (Weights &amp; Biases API key' in page
    assert "k" * 40 not in page


def test_new_job_page_lists_what_the_target_is_missing(web, fake_training):
    from apps.backends.base import Readiness

    assert 'id="target-readiness"' not in web.get("/jobs/new").content.decode()
    fake_training.readiness = Readiness(usable=False, missing=("Set LAB_TOKEN: the lab's API token.",
                                                               "Set LAB_QUEUE: where jobs wait."))
    page = web.get("/jobs/new").content.decode()
    assert 'id="target-readiness"' in page and "Fake (in memory) cannot run them" in page
    assert "Set LAB_TOKEN" in page and "Set LAB_QUEUE" in page

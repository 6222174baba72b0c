"""Compare runs: the pure helpers (differing settings, one step axis for several runs) and the page."""

import json
import re

import pytest
from django.http import QueryDict
from django.test import Client

from apps.jobs.compare import MAX_RUNS, MISSING, Row, chart_data, differing_fields, display, selected_ids
from apps.jobs.models import Status

from .factories import make_dataset, make_job, trainer_log_uri

# --- differing_fields -------------------------------------------------------------------------------


def test_only_fields_whose_values_differ_are_rows_in_first_seen_order():
    a = {"job_type": "sft", "learning_rate": 1e-4, "lora_rank": 8, "epochs": 3}
    b = {"job_type": "sft", "learning_rate": 5e-5, "lora_rank": 8, "epochs": 3}
    c = {"job_type": "sft", "learning_rate": 1e-4, "lora_rank": 16, "epochs": 3}
    assert differing_fields([a, b, c]) == [
        Row("learning_rate", ("0.0001", "5e-05", "0.0001")),
        Row("lora_rank", ("8", "8", "16")),
    ]


def test_a_field_one_run_lacks_differs_and_a_field_all_leave_empty_does_not():
    a = {"use_spot": True, "resume_from_checkpoint": "", "deepspeed": None, "tags": []}
    b = {"use_spot": False, "neftune_noise_alpha": 5}
    rows = {row.key: row.values for row in differing_fields([a, b])}
    assert rows == {"use_spot": ("yes", "no"), "neftune_noise_alpha": (MISSING, "5")}


def test_values_are_compared_as_displayed():
    a = {"datasets": ["alpaca", "lima"], "lora_target": ("q_proj", "v_proj")}
    b = {"datasets": ["alpaca", "lima"], "lora_target": ["q_proj", "v_proj"]}  # a tuple and a list read the same
    assert differing_fields([a, b]) == []
    assert display(["alpaca", "lima"]) == "alpaca, lima" and display(0) == "0" and display(False) == "no"


def test_one_spec_or_none_has_nothing_to_differ_from():
    assert differing_fields([]) == [] and differing_fields([{"lr": 1}]) == []


# --- chart_data -------------------------------------------------------------------------------------


def test_runs_share_one_step_axis_with_gaps_where_a_run_logged_nothing():
    first = [{"step": 10, "loss": 2.0}, {"step": 20, "loss": 1.5, "eval_loss": 1.7}, {"step": 30, "loss": 1.2}]
    second = [{"step": 5, "loss": 2.2}, {"step": 20, "loss": 1.4}]
    data = chart_data([first, second])
    assert data["steps"] == [5, 10, 20, 30]
    assert data["series"] == [
        {"run": 0, "curve": "loss", "values": [None, 2.0, 1.5, 1.2]},
        {"run": 0, "curve": "eval_loss", "values": [None, None, 1.7, None]},
        {"run": 1, "curve": "loss", "values": [2.2, None, 1.4, None]},
    ]


def test_reward_curves_are_drawn_and_other_keys_are_not():
    grpo = [{"step": 1, "loss": 0.01, "reward": 0.2, "lr": 1e-6}, {"step": 2, "reward": 0.4, "lr": 1e-6}]
    data = chart_data([grpo, []])
    assert [(s["run"], s["curve"]) for s in data["series"]] == [(0, "loss"), (0, "reward")]
    assert data["series"][1]["values"] == [0.2, 0.4]


def test_selected_ids_accepts_repeated_and_comma_lists_without_duplicates_or_junk():
    params = QueryDict("ids=4&ids=2,x,4&ids=&ids=-1&ids=9")
    assert selected_ids(params) == [4, 2, 9]
    many = QueryDict("ids=" + ",".join(str(i) for i in range(1, 20)))
    assert selected_ids(many) == list(range(1, MAX_RUNS + 1))


# --- the page ---------------------------------------------------------------------------------------


@pytest.fixture
def web(user):
    client = Client()
    client.force_login(user)
    return client


def _trainer_log(fake_sagemaker, job, points):
    bucket, key = trainer_log_uri(job)[5:].split("/", 1)
    lines = [json.dumps({"current_steps": step, "total_steps": 30, "loss": loss}) for step, loss in points]
    fake_sagemaker.s3.put_object(Bucket=bucket, Key=key, Body="\n".join(lines).encode())


def _chart(page: str) -> dict:
    match = re.search(r'<script id="compare-data" type="application/json">(.*?)</script>', page, re.S)
    assert match, "the chart's data is on the page"
    return json.loads(match.group(1))


@pytest.mark.django_db
def test_page_compares_two_runs_from_their_trainer_logs(web, user, fake_sagemaker):
    data = make_dataset(user, "alpaca", name="support chats")
    one = make_job(user, name="lr-1e-4", status=Status.SUCCEEDED, remote_id="arn:1",
                   spec={"learning_rate": 1e-4, "lora_rank": 8, "datasets": [data.pk]})
    two = make_job(user, name="lr-5e-5", status=Status.RUNNING, remote_id="arn:2",
                   spec={"learning_rate": 5e-5, "lora_rank": 8, "datasets": [data.pk], "use_spot": True})
    _trainer_log(fake_sagemaker, one, [(10, 2.0), (20, 1.5)])
    _trainer_log(fake_sagemaker, two, [(10, 2.1), (30, 1.1)])

    page = web.get(f"/jobs/compare?ids={one.pk}&ids={two.pk}").content.decode()
    chart = _chart(page)
    assert chart["runs"] == ["lr-1e-4", "lr-5e-5"] and chart["steps"] == [10, 20, 30]
    assert [s["values"] for s in chart["series"]] == [[2.0, 1.5, None], [2.1, None, 1.1]]
    settings_table = page[page.index('id="compare-settings"'):]
    assert "Learning rate" in settings_table and "5e-05" in settings_table and "Use spot" in settings_table
    assert "Lora rank" not in settings_table and "support chats" not in settings_table  # the same in both
    two.refresh_from_db()
    assert two.step == 30  # the same read as the job page: progress is refreshed too


@pytest.mark.django_db
def test_other_users_jobs_are_not_found_and_never_read(web, user, other_user, fake_sagemaker):
    mine = make_job(user, name="mine", status=Status.SUCCEEDED, remote_id="arn:1")
    theirs = make_job(other_user, name="their secret run", status=Status.SUCCEEDED, remote_id="arn:2")
    _trainer_log(fake_sagemaker, theirs, [(1, 9.0)])
    page = web.get(f"/jobs/compare?ids={mine.pk},{theirs.pk},999999").content.decode()
    assert "their secret run" not in page
    assert f"Not found: jobs {theirs.pk}, 999999." in page
    assert _chart(page)["runs"] == ["mine"]
    assert fake_sagemaker.s3.calls["get_object"] == 1  # only our job's log was read


@pytest.mark.django_db
def test_admin_may_compare_anyones_runs(admin_user, other_user, fake_sagemaker):
    job = make_job(other_user, name="bobs run", status=Status.SUCCEEDED, remote_id="arn:1")
    client = Client()
    client.force_login(admin_user)
    assert _chart(client.get(f"/jobs/compare?ids={job.pk}").content.decode())["runs"] == ["bobs run"]


@pytest.mark.django_db
def test_picker_lists_visible_jobs_and_queued_jobs_are_not_read(web, user, other_user, fake_sagemaker):
    queued = make_job(user, name="waiting")
    make_job(other_user, name="not-mine")
    response = web.get(f"/jobs/compare?ids={queued.pk}")
    page = response.content.decode()
    assert response.status_code == 200
    assert re.search(rf'value="{queued.pk}" checked', page) and "not-mine" not in page
    assert _chart(page)["series"] == [] and "has logged a training step yet" in page
    assert fake_sagemaker.s3.calls["get_object"] == 0


@pytest.mark.django_db
def test_list_page_links_to_compare(web):
    assert 'href="/jobs/compare"' in web.get("/jobs/").content.decode()


def test_compare_needs_login(client):
    response = client.get("/jobs/compare")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]

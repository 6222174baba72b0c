"""The job form and its API twin: targets with their readiness, the pickers, the basic / Advanced split
remembered per user, and the preview of what will run."""

import re

import pytest
from django.test import Client

from apps.backends.base import Readiness
from apps.jobs.models import TrainingJob

from .factories import make_dataset

pytestmark = pytest.mark.django_db

LACKS = ("Set LAB_TOKEN: the lab's API token.", "Set LAB_QUEUE: where jobs wait.")


@pytest.fixture
def web(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def sft_data(user):
    return make_dataset(user, "alpaca")


def test_unusable_target_is_shown_disabled_with_what_to_set(web, fake_training, settings):
    settings.TRAINING_BACKENDS = {name: path for name, path in settings.TRAINING_BACKENDS.items() if name != "local"}
    fake_training.readiness = Readiness(usable=False, missing=LACKS)
    page = web.get("/jobs/new").content.decode()
    radios = re.findall(r'<input type="radio" name="target" value="(\w+)"([^>]*)>', page)
    assert {name for name, _ in radios} == {"sagemaker", "fake"}  # every target in TRAINING_BACKENDS
    assert all("disabled" in attrs for _, attrs in radios)  # SageMaker has no role/images in tests either
    assert "Set LAB_TOKEN" in page and "Set LAB_QUEUE" in page and "Set SAGEMAKER_ROLE_ARN" in page


def test_new_jobs_default_to_a_usable_target(web, fake_training, settings):
    settings.TRAINING_BACKENDS = {name: path for name, path in settings.TRAINING_BACKENDS.items() if name != "local"}
    settings.COMPUTE_BACKEND = ""  # automatic: SageMaker is not set up in tests, so the usable fake is chosen
    page = web.get("/jobs/new").content.decode()
    assert re.search(r'name="target" value="fake" checked', page)
    assert re.search(r'name="target" value="sagemaker" disabled', page)


def test_api_refuses_an_unusable_target_with_everything_missing_in_one_error(user_api, fake_training, sft_data):
    fake_training.readiness = Readiness(usable=False, missing=LACKS)
    body = {"name": "x", "job_type": "sft", "base_model": "Qwen/Qwen3-0.6B", "datasets": [sft_data.pk], "target": "fake"}
    response = user_api.post("/api/v1/jobs/", body, format="json")
    assert response.status_code == 400
    errors = response.json()["errors"]["target"]
    assert len(errors) == 1 and LACKS[0] in errors[0] and LACKS[1] in errors[0]
    assert "Unknown target" in user_api.post("/api/v1/jobs/", {**body, "target": "mars"}, format="json").json()["errors"]["target"][0]
    fake_training.readiness = Readiness(usable=True)
    response = user_api.post("/api/v1/jobs/", body, format="json")
    assert response.status_code == 201 and response.json()["target"] == "fake"
    assert not TrainingJob.objects.exclude(target="fake").exists()


def test_form_refuses_an_unusable_target_too(web, fake_training, sft_data, settings):
    fake_training.readiness = Readiness(usable=False, missing=LACKS)
    response = web.post("/jobs/new", {"name": "x", "job_type": "sft", "base_model": "qwen2.5-0.5b-instruct",
                                      "datasets": [sft_data.pk], "target": "fake"})
    assert response.status_code == 400 and "Set LAB_QUEUE" in response.content.decode()
    assert not TrainingJob.objects.exists()


def test_form_with_every_default_launches_on_the_usable_target(web, fake_training, sft_data):
    response = web.post("/jobs/new", {"name": "defaults", "job_type": "sft", "base_model": "qwen2.5-0.5b-instruct",
                                      "datasets": [sft_data.pk], "target": "fake", "instance_type": "ml.g4dn.xlarge"})
    assert response.status_code == 302, response.content.decode()[:2000]
    job = TrainingJob.objects.get()
    assert job.target == "fake" and job.spec["precision"] == "fp16" and job.spec["base_model_uri"] == "Qwen/Qwen2.5-0.5B-Instruct"


def test_pickers(web, user, sft_data):
    from apps.users.models import UserSecret

    make_dataset(user, "alpaca", name="second-set")
    UserSecret.objects.create(owner=user, name="my-hf", kind="hf_token", value="hf_" + "y" * 34)
    page = web.get("/jobs/new").content.decode()
    ticks = re.findall(r'type="checkbox" name="datasets" value="(\d+)"', page)
    assert {str(sft_data.pk)} < set(ticks) and 'id="dataset-search"' in page and "second-set" in page
    assert '<select name="datasets"' not in page  # no Ctrl-click multi-select
    assert re.search(r'<select name="hf_token_ref"[^>]*>.*<option value="my-hf">', page, re.S)
    assert '<option value="qwen2-5-0-5b-instruct">Qwen2.5 0.5B Instruct · Qwen/Qwen2.5-0.5B-Instruct' in page
    assert "y" * 34 not in page


def test_basic_fields_first_everything_else_under_advanced(web):
    page = web.get("/jobs/new?job_type=grpo").content.decode()
    basic, advanced = page.split('<details id="advanced"', 1)
    for name in ("name", "base_model", "finetuning_method", "instance_type", "num_train_epochs", "learning_rate"):
        assert f'name="{name}"' in basic and f'name="{name}"' not in advanced
    for name in ("precision", "rollout_n", "reward_function", "lora_rank", "tracker"):
        assert f'name="{name}"' in advanced and f'name="{name}"' not in basic
    assert not re.match(r"[^>]*\bopen\b", advanced)


def test_advanced_state_is_remembered_per_user(web, user, other_user):
    assert web.post("/jobs/new/advanced", {"open": "1"}).status_code == 204
    user.refresh_from_db()
    assert user.preferences["job_form_advanced"] is True
    assert re.match(r'[^>]*\sopen>', web.get("/jobs/new").content.decode().split('<details id="advanced"', 1)[1])
    other = Client()
    other.force_login(other_user)
    assert not re.match(r'[^>]*\sopen>', other.get("/jobs/new").content.decode().split('<details id="advanced"', 1)[1])
    web.post("/jobs/new/advanced", {"open": "0"})
    user.refresh_from_db()
    assert user.preferences["job_form_advanced"] is False


def test_preview_renders_what_the_submit_renders(web, sft_data):
    response = web.post("/jobs/new/preview", {"name": "p", "job_type": "sft", "base_model": "qwen2.5-0.5b-instruct",
                                              "datasets": [sft_data.pk], "instance_type": "ml.g4dn.xlarge",
                                              "max_run_hours": "2"})
    page = response.content.decode()
    assert response.status_code == 200 and 'id="preview-errors"' not in page
    assert 'data-file="train.yaml"' in page and "model_name_or_path: Qwen/Qwen2.5-0.5B-Instruct" in page
    assert "fp16: true" in page and "template: qwen" in page
    assert "ml.g4dn.xlarge" in page and re.search(r"up to \$\d+\.\d\d for 2 h", page)


def test_preview_easyr1_and_errors(web, user, sft_data):
    math = make_dataset(user, "prompt_answer")
    page = web.post("/jobs/new/preview", {"name": "g", "job_type": "grpo", "base_model": "Qwen/Qwen3-0.6B",
                                          "datasets": [math.pk]}).content.decode()
    assert re.search(r'data-file="[^"]*\.yaml"', page) and "reward" in page and "ml.g6e.12xlarge" in page
    page = web.post("/jobs/new/preview", {"name": "", "job_type": "sft", "base_model": "no such model",
                                          "datasets": [sft_data.pk]}).content.decode()
    assert 'id="preview-errors"' in page and "Base model:" in page and "Job name:" in page
    assert "model_name_or_path" not in page

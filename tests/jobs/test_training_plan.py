"""A SageMaker training plan ARN: validated by shape and region, refused on targets whose backend cannot use
one, sent as ResourceConfig.TrainingPlanArn (the request recorded at the moto client) and shown on the job page."""

import pytest
from django.test import Client
from django.urls import reverse

from apps.jobs.models import TrainingJob
from apps.jobs.serializers import validate_job
from tests.backends.test_sagemaker_training_submit import BUCKET, moto_backend  # noqa: F401 - the fixture
from tests.jobs.factories import make_dataset

pytestmark = pytest.mark.django_db
PLAN = "arn:aws:sagemaker:us-east-1:123456789012:training-plan/p5-reserved-week"


def job_request(user, **extra):
    dataset = make_dataset(user, "alpaca")
    dataset.staged = {"s3": f"s3://{BUCKET}/modelhub/datasets/ds/staged/"}
    dataset.save()
    return {"name": "planned", "job_type": "sft", "base_model": "Qwen/Qwen3-4B", "datasets": [str(dataset.pk)],
            "template": "qwen3", **extra}


def test_the_plan_reaches_create_training_job_and_the_job_page(user, user_api, moto_backend, inline_tasks):  # noqa: F811
    response = user_api.post("/api/v1/jobs/", job_request(user, training_plan_arn=PLAN), format="json")
    assert response.status_code == 201, response.json()
    [request] = moto_backend.sagemaker.created
    assert request["ResourceConfig"]["TrainingPlanArn"] == PLAN
    assert request["ResourceConfig"]["InstanceType"] == "ml.g5.2xlarge"

    job = TrainingJob.objects.get(pk=response.json()["id"])
    assert job.spec["training_plan_arn"] == PLAN
    web = Client()
    web.force_login(user)
    page = web.get(reverse("jobs:detail", args=[job.pk])).content.decode()
    assert 'data-testid="training-plan"' in page and PLAN in page


def test_without_a_plan_the_request_names_none(user, user_api, moto_backend, inline_tasks):  # noqa: F811
    assert user_api.post("/api/v1/jobs/", job_request(user), format="json").status_code == 201
    [request] = moto_backend.sagemaker.created
    assert "TrainingPlanArn" not in request["ResourceConfig"]


@pytest.mark.parametrize("arn, words", [
    ("arn:aws:sagemaker:us-east-1:123456789012:training-job/not-a-plan", "training plan ARN like"),
    ("arn:aws:sagemaker:us-east-1:12345:training-plan/short-account", "training plan ARN like"),
    ("arn:aws:sagemaker:us-east-1:123456789012:training-plan/-leading-dash", "training plan ARN like"),
    ("arn:aws:sagemaker:us-west-2:123456789012:training-plan/elsewhere", "in us-west-2; jobs run in us-east-1"),
])
def test_a_malformed_or_foreign_plan_is_a_field_error_and_nothing_is_made(user, user_api, moto_backend, arn, words):  # noqa: F811
    response = user_api.post("/api/v1/jobs/", job_request(user, training_plan_arn=arn), format="json")
    assert response.status_code == 400
    [message] = response.json()["errors"]["training_plan_arn"]
    assert words in message
    assert not TrainingJob.objects.exists() and moto_backend.sagemaker.created == []


def test_a_target_without_training_plans_refuses_one(user, user_api, fake_training):
    response = user_api.post("/api/v1/jobs/", job_request(user, training_plan_arn=PLAN), format="json")
    assert response.status_code == 400
    assert "cannot use one" in response.json()["errors"]["training_plan_arn"][0]
    assert not TrainingJob.objects.exists() and not fake_training.calls["submit"]


def test_the_local_target_refuses_a_plan_and_accepts_the_same_job_without_one(user):
    refused = validate_job(job_request(user, training_plan_arn=PLAN), user, target="local")
    assert "training_plan_arn" in refused.errors
    accepted = validate_job(job_request(user), user, target="local")
    assert not accepted.errors and accepted.value.spec.training_plan_arn is None


def test_the_form_offers_the_field_and_shows_the_refusal_beside_it(user, fake_training):
    web = Client()
    web.force_login(user)
    data = job_request(user, training_plan_arn=PLAN, target="fake")
    page = web.get("/jobs/new").content.decode()
    assert 'name="training_plan_arn"' in page and "Training plan ARN" in page
    response = web.post("/jobs/new", data)
    assert response.status_code == 400
    assert "cannot use one" in response.content.decode() and not TrainingJob.objects.exists()

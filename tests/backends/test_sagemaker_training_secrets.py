"""A job's stored secrets reach its container through one Secrets Manager secret (moto), never through
the CreateTrainingJob request, and the secret is gone once the job is over or deleted."""

import json

import pytest
from botocore.exceptions import ClientError

from apps.backends.sagemaker.secrets import secret_name
from apps.backends.errors import TransientError
from apps.jobs import reconcile, services
from apps.jobs.lifecycle import release_secrets
from apps.jobs.models import JobEvent, Status, TrainingJob
from apps.jobs.submission import job_ref
from apps.users.models import UserSecret
from tests.backends.test_sagemaker_training_submit import BUCKET, moto_backend  # noqa: F401 (fixture)
from tests.jobs.factories import make_dataset

pytestmark = pytest.mark.django_db
WANDB_KEY = "0123456789abcdef0123456789abcdef01234567"
HF_TOKEN = "hf_" + "Zq9" * 12


def secrets_client(backend):
    return backend.secrets.client


def job_secret(backend, job) -> dict | None:
    try:
        return json.loads(secrets_client(backend).get_secret_value(SecretId=secret_name(job.remote_name))["SecretString"])
    except ClientError as exc:
        assert exc.response["Error"]["Code"] == "ResourceNotFoundException"
        return None


def our_secrets(backend) -> list[str]:
    names = []
    for page in secrets_client(backend).get_paginator("list_secrets").paginate():
        names += [s["Name"] for s in page["SecretList"] if s["Name"].startswith("modelhub/jobs/")]
    return names


def create_tracked_job(user, user_api, *, hf=True) -> TrainingJob:
    UserSecret.objects.create(owner=user, name="wandb-team", kind="wandb", value=WANDB_KEY)
    UserSecret.objects.create(owner=user, name="hf-main", kind="hf_token", value=HF_TOKEN)
    dataset = make_dataset(user, "alpaca")
    dataset.staged = {"s3": f"s3://{BUCKET}/modelhub/datasets/ds/staged/"}
    dataset.save()
    data = {"name": "tracked", "job_type": "sft", "base_model": "Qwen/Qwen3-4B", "datasets": [str(dataset.pk)],
            "template": "qwen3", "tracker": "wandb", "tracker_key_ref": "wandb-team", "tracker_project": "p"}
    if hf:
        data["hf_token_ref"] = "hf-main"
    response = user_api.post("/api/v1/jobs/", data, format="json")
    assert response.status_code == 201, response.json()
    return TrainingJob.objects.get(pk=response.json()["id"])


def test_secret_values_go_to_secrets_manager_and_never_into_the_request(
    user, user_api, moto_backend, inline_tasks  # noqa: F811
):
    job = create_tracked_job(user, user_api)
    job.refresh_from_db()
    assert job.status == Status.STARTING, job.status_reason

    [request] = moto_backend.sagemaker.created
    sent = json.dumps(request, default=str)
    for value in (WANDB_KEY, HF_TOKEN, WANDB_KEY[:16], HF_TOKEN[3:19]):
        assert value not in sent, "a secret value is in the CreateTrainingJob request"
    env = request["Environment"]
    assert not {"WANDB_API_KEY", "SWANLAB_API_KEY", "HF_TOKEN"} & set(env)

    # The container gets the ARN of exactly one secret, named after the job, holding exactly its variables.
    assert our_secrets(moto_backend) == [f"modelhub/jobs/{job.remote_name}"]
    described = secrets_client(moto_backend).describe_secret(SecretId=secret_name(job.remote_name))
    assert env["MODELHUB_SECRETS_ARN"] == described["ARN"]
    assert {t["Key"]: t["Value"] for t in described["Tags"]}["modelhub:job-id"] == str(job.pk)
    assert job_secret(moto_backend, job) == {"WANDB_API_KEY": WANDB_KEY, "HF_TOKEN": HF_TOKEN}

    # Nor anywhere else ModelHub shows or stages.
    for url in (f"/api/v1/jobs/{job.pk}/", f"/api/v1/jobs/{job.pk}/events"):
        page = user_api.get(url).content.decode()
        assert WANDB_KEY not in page and HF_TOKEN not in page
    assert not JobEvent.objects.filter(message__contains=WANDB_KEY).exists()
    for obj in moto_backend.s3.list_objects_v2(Bucket=BUCKET, Prefix="modelhub/jobs/")["Contents"]:
        body = moto_backend.s3.get_object(Bucket=BUCKET, Key=obj["Key"])["Body"].read().decode()
        assert WANDB_KEY not in body and HF_TOKEN not in body


def test_a_job_without_secrets_makes_no_secret(user, moto_backend, inline_tasks):  # noqa: F811
    from tests.jobs.factories import make_job

    job = make_job(user, spec={"template": "qwen3", "datasets": []})
    services.submit(job)
    [request] = moto_backend.sagemaker.created
    assert "MODELHUB_SECRETS_ARN" not in request["Environment"]
    assert our_secrets(moto_backend) == []


def test_a_retried_submit_updates_the_one_secret(user, user_api, moto_backend, django_capture_on_commit_callbacks):  # noqa: F811
    throttled = ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"},
                             "ResponseMetadata": {"HTTPStatusCode": 400}}, "CreateTrainingJob")
    moto_backend.sagemaker.fail_next.append(throttled)
    with django_capture_on_commit_callbacks(execute=False):
        job = create_tracked_job(user, user_api)
    with pytest.raises(TransientError):  # the task would retry it
        services.submit(job)
    job.refresh_from_db()
    assert job.status == Status.SUBMITTING
    assert our_secrets(moto_backend) == [f"modelhub/jobs/{job.remote_name}"]

    # The key was rotated before the retry: the retry rewrites the same secret, no second one.
    secret = UserSecret.objects.get(name="wandb-team")
    secret.value = "f" * 40
    secret.save()
    services.submit(job)
    job.refresh_from_db()
    assert job.status == Status.STARTING, job.status_reason
    assert our_secrets(moto_backend) == [f"modelhub/jobs/{job.remote_name}"]
    assert job_secret(moto_backend, job) == {"WANDB_API_KEY": "f" * 40, "HF_TOKEN": HF_TOKEN}
    [request] = moto_backend.sagemaker.created
    arn = secrets_client(moto_backend).describe_secret(SecretId=secret_name(job.remote_name))["ARN"]
    assert request["Environment"]["MODELHUB_SECRETS_ARN"] == arn


def test_secret_is_deleted_when_the_job_ends(user, user_api, moto_backend, inline_tasks):  # noqa: F811
    job = create_tracked_job(user, user_api)
    assert job_secret(moto_backend, job) is not None
    reconcile.reconcile_once()  # moto completes jobs at once
    job.refresh_from_db()
    assert job.status == Status.SUCCEEDED, job.status_reason
    assert job_secret(moto_backend, job) is None and our_secrets(moto_backend) == []
    assert job.events.filter(message="Deleted the job's secrets from the backend").count() == 1

    # Idempotent: releasing again (a second terminal path, a delete) finds nothing and records nothing.
    release_secrets(job)
    services.delete_job(job)
    assert job.events.filter(message="Deleted the job's secrets from the backend").count() == 1
    assert not job.events.filter(level="error").exists()


def test_secret_is_deleted_when_the_job_is_deleted(user, user_api, moto_backend, inline_tasks):  # noqa: F811
    job = create_tracked_job(user, user_api, hf=False)
    assert job_secret(moto_backend, job) == {"WANDB_API_KEY": WANDB_KEY}
    job.refresh_from_db()
    services.delete_job(job, by=user)
    job.refresh_from_db()
    assert job.deleted_at is not None and job.status == Status.STOPPING
    assert [name for name, _ in inline_tasks] == ["jobs.submit", "jobs.stop", "jobs.release_secrets"]
    assert moto_backend.sagemaker.stopped == [job.remote_name]
    assert job_secret(moto_backend, job) is None


def test_a_submit_that_fails_after_storing_the_secret_deletes_it(user, user_api, moto_backend, inline_tasks):  # noqa: F811
    invalid = ClientError({"Error": {"Code": "ValidationException", "Message": "Instance type not allowed"},
                           "ResponseMetadata": {"HTTPStatusCode": 400}}, "CreateTrainingJob")
    moto_backend.sagemaker.fail_next.append(invalid)
    job = create_tracked_job(user, user_api)
    job.refresh_from_db()
    assert job.status == Status.FAILED and "Instance type not allowed" in job.status_reason
    assert our_secrets(moto_backend) == []


def test_deleting_a_secret_that_is_already_gone_is_fine(user, moto_backend):  # noqa: F811
    from tests.jobs.factories import make_job

    job = make_job(user, status=Status.SUCCEEDED, spec={"hf_token_ref": "hf"})
    assert moto_backend.delete_secrets(job_ref(job)) is False
    services.delete_remote_secrets(job)
    assert not job.events.exists()


def test_secrets_use_the_configured_kms_key_and_prefix(user, moto_backend, settings):  # noqa: F811
    import boto3

    from tests.jobs.factories import make_job

    key_id = boto3.client("kms", region_name="us-east-1").create_key()["KeyMetadata"]["KeyId"]
    settings.TRAINING_SECRETS_KMS_KEY_ID = key_id
    settings.TRAINING_SECRETS_PREFIX = "team-a/jobs/"
    job = make_job(user, status=Status.SUBMITTING)
    arn = moto_backend.secrets.put(job.pk, job.remote_name, {"HF_TOKEN": HF_TOKEN})
    described = secrets_client(moto_backend).describe_secret(SecretId=arn)
    assert described["Name"] == f"team-a/jobs/{job.remote_name}" and described["KmsKeyId"] == key_id

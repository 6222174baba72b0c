"""All ten job types: created through the API, submitted to SageMaker (moto), staged config = golden.

moto stores the training job but drops `Environment` and rewrites `MetricDefinitions`, so the
request our backend sends is recorded at the client and asserted on directly; everything moto does
keep (name, role, image, instance, output path, tags) is read back with describe.
"""

import dataclasses
import json

import boto3
import pytest
from moto import mock_aws

from apps.backends.sagemaker.training import SageMakerTraining, credentials_found
from apps.backends.storage import split_s3
from apps.jobs import bundle
from apps.jobs.models import Status, TrainingJob
from apps.jobs.renderers import metric_definitions, render_job_bundle
from tests.fixtures.training import install_training_backend
from tests.jobs.factories import make_dataset, trainer_log_uri
from tests.jobs.test_render_golden import CASES, CONTEXT, GOLDEN, dataset_refs
from tests.jobs.test_spec import FORMAT_FOR

pytestmark = pytest.mark.django_db
JOB_TYPES = ["sft", "pt", "ppo", "dpo", "kto", "rm", "grpo", "dapo", "gspo", "cispo"]
BUCKET = "modelhub-test"
ROLE = "arn:aws:iam::123456789012:role/modelhub-training"


class RecordingClient:
    """The real (moto) client, with every CreateTrainingJob request kept, and StopTrainingJob (which moto
    lacks) recorded only."""

    def __init__(self, client):
        self._client = client
        self.created: list[dict] = []
        self.stopped: list[str] = []
        self.fail_next: list[Exception] = []  # raised by the next CreateTrainingJob calls, in order

    def create_training_job(self, **request):
        if self.fail_next:
            raise self.fail_next.pop(0)
        self.created.append(request)
        return self._client.create_training_job(**request)

    def stop_training_job(self, TrainingJobName):
        self.stopped.append(TrainingJobName)
        return {}

    def __getattr__(self, name):
        return getattr(self._client, name)


@pytest.fixture
def moto_backend(monkeypatch, settings):
    """The SageMaker backend on moto's AWS, serving target "sagemaker"."""
    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    settings.S3_BUCKET = BUCKET
    settings.S3_PREFIX = "modelhub"
    settings.SAGEMAKER_ROLE_ARN = ROLE
    settings.TRAINING_IMAGE_LLAMAFACTORY = "123456789012.dkr.ecr.us-east-1.amazonaws.com/modelhub-llamafactory:0.9.4"
    settings.TRAINING_IMAGE_EASYR1 = "123456789012.dkr.ecr.us-east-1.amazonaws.com/modelhub-easyr1:0.3.2"
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        sagemaker = RecordingClient(boto3.client("sagemaker", region_name="us-east-1"))
        backend = SageMakerTraining(sagemaker=sagemaker, s3=s3,
                                    secretsmanager=boto3.client("secretsmanager", region_name="us-east-1"))
        install_training_backend(settings, "sagemaker", backend)
        yield backend


def create_through_api(user, user_api, job_type):
    """POST the golden `<type>-lora` case through the API; the submit task runs in-process (inline_tasks)."""
    dataset = make_dataset(user, FORMAT_FOR[job_type])
    dataset.staged = {"s3": f"s3://{BUCKET}/modelhub/datasets/ds-{dataset.pk}/staged/"}
    dataset.save()
    _, overrides = CASES[f"{job_type}-lora"]
    data = {"name": f"{job_type} run", "job_type": job_type, "base_model": "Qwen/Qwen3-4B",
            "datasets": [str(dataset.pk)], **overrides}
    if job_type == "ppo":
        data["reward_model"] = "s3://modelhub-test/jobs/mh-rm-7/model/"
    if job_type in ("grpo", "dapo", "gspo", "cispo"):
        data["reward_function"] = "math"
    response = user_api.post("/api/v1/jobs/", data, format="json")
    assert response.status_code == 201, response.json()
    return TrainingJob.objects.get(pk=response.json()["id"])


@pytest.mark.parametrize("job_type", JOB_TYPES)
def test_job_type_reaches_sagemaker_with_a_well_formed_request(job_type, user, user_api, moto_backend, inline_tasks):
    job = create_through_api(user, user_api, job_type)
    job.refresh_from_db()
    assert job.status == Status.STARTING, job.status_reason
    spec = bundle.training_spec(job)

    # What moto stored.
    described = moto_backend.sagemaker.describe_training_job(TrainingJobName=job.remote_name)
    assert job.remote_id == described["TrainingJobArn"]
    assert described["RoleArn"] == ROLE
    easyr1 = job_type in ("grpo", "dapo", "gspo", "cispo")
    assert described["AlgorithmSpecification"]["TrainingImage"].split("/")[-1].startswith(
        "modelhub-easyr1" if easyr1 else "modelhub-llamafactory")
    assert described["ResourceConfig"] == {"InstanceType": spec.instance_type, "InstanceCount": spec.instance_count,
                                           "VolumeSizeInGB": spec.volume_size_gb}
    assert described["OutputDataConfig"]["S3OutputPath"] == f"{job.output_uri}output/"
    tags = {t["Key"]: t["Value"] for t in moto_backend.sagemaker.list_tags(ResourceArn=job.remote_id)["Tags"]}
    assert tags["modelhub:job-id"] == str(job.pk) and tags["modelhub:owner"] == "alice"

    # What we sent (moto drops Environment and rewrites MetricDefinitions).
    [request] = moto_backend.sagemaker.created
    assert request["TrainingJobName"] == job.remote_name and len(job.remote_name) <= 63
    assert request["AlgorithmSpecification"]["MetricDefinitions"] == metric_definitions(job_type)
    assert request["CheckpointConfig"] == {"S3Uri": f"{job.output_uri}checkpoints/", "LocalPath": "/opt/ml/checkpoints"}
    assert request["StoppingCondition"]["MaxRuntimeInSeconds"] == spec.max_run_seconds
    assert request["EnableManagedSpotTraining"] is False
    env = request["Environment"]
    assert env["MODELHUB_CONFIG_URI"] == f"{job.output_uri}config/"
    assert env["MODELHUB_JOB_TYPE"] == job_type and env["MODELHUB_JOB_ID"] == str(job.pk)
    assert all(len(k) <= 512 and len(v) <= 512 for k, v in env.items()) and len(env) <= 100
    assert not any("key" in k.lower() or "token" in k.lower() for k in env), "no secrets in the environment"

    # The staged bundle is exactly what the renderers produce for this job.
    s3 = moto_backend.s3
    prefix = f"modelhub/jobs/{job.remote_name}/config/"
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix)["Contents"]]
    expected = render_job_bundle(spec, bundle.render_context(job, spec))
    assert sorted(k[len(prefix):] for k in keys) == sorted(expected)
    for name, text in expected.items():
        assert s3.get_object(Bucket=BUCKET, Key=prefix + name)["Body"].read().decode() == text
    manifest = json.loads(expected["job.json"])
    assert manifest["job_name"] == job.remote_name and manifest["job_type"] == job_type

    # And the stored spec, rendered with the golden context, matches the configuration engineer's golden files.
    golden_spec = dataclasses.replace(spec, datasets=(7,))
    files = render_job_bundle(golden_spec, {**CONTEXT, "datasets": dataset_refs(job_type)})
    folder = GOLDEN / f"{job_type}-lora"
    assert sorted(files) == sorted(p.name for p in folder.iterdir())
    for name, text in files.items():
        assert text == (folder / name).read_text(), f"{job_type}-lora/{name} differs from its golden file"


def test_spot_request_waits_at_least_the_run_time(user, user_api, moto_backend, inline_tasks):
    dataset = make_dataset(user, "alpaca")
    dataset.staged = {"s3": f"s3://{BUCKET}/modelhub/datasets/ds/staged/"}
    dataset.save()
    data = {"name": "spot", "job_type": "sft", "base_model": "Qwen/Qwen3-4B", "datasets": [str(dataset.pk)],
            "template": "qwen3", "use_spot": True, "max_run_hours": 5, "max_wait_hours": 8,
            "resume_from_checkpoint": "s3://my-bucket/runs/ckpt/checkpoint-100/"}
    assert user_api.post("/api/v1/jobs/", data, format="json").status_code == 201
    [request] = moto_backend.sagemaker.created
    assert request["EnableManagedSpotTraining"] is True
    assert request["StoppingCondition"] == {"MaxRuntimeInSeconds": 5 * 3600, "MaxWaitTimeInSeconds": 8 * 3600}
    assert request["Environment"]["MODELHUB_RESUME_FROM"] == "s3://my-bucket/runs/ckpt/checkpoint-100/"


def test_missing_image_fails_the_job_with_a_clear_reason(user, user_api, moto_backend, settings, inline_tasks):
    settings.TRAINING_IMAGE_LLAMAFACTORY = ""
    job = create_through_api(user, user_api, "sft")
    job.refresh_from_db()
    assert job.status == Status.FAILED
    assert "TRAINING_IMAGE_LLAMAFACTORY is not configured" in job.status_reason
    assert moto_backend.sagemaker.created == []


def test_metrics_come_from_the_trainer_log_in_the_checkpoint_location(user, moto_backend):
    from apps.jobs import services
    from tests.jobs.factories import make_job

    job = make_job(user, status=Status.RUNNING, spec={"job_type": "sft", "finetuning_method": "lora",
                                                      "base_model": "Qwen/Qwen3-4B", "base_model_source": "hf",
                                                      "base_model_uri": "Qwen/Qwen3-4B", "max_steps": None})
    assert services.refresh_metrics(job) == []  # nothing logged yet
    lines = [
        {"current_steps": 10, "total_steps": 40, "loss": 1.8, "lr": 2e-5, "epoch": 0.25, "percentage": 25.0,
         "elapsed_time": "0:00:41", "remaining_time": "0:02:03"},
        {"current_steps": 20, "total_steps": 40, "loss": 1.2, "lr": 1.5e-5, "epoch": 0.5, "percentage": 50.0,
         "elapsed_time": "0:01:22", "remaining_time": "0:01:22"},
        {"current_steps": 20, "total_steps": 40, "eval_loss": 1.3, "epoch": 0.5, "percentage": 50.0,
         "elapsed_time": "0:01:30", "remaining_time": "0:01:20"},
    ]
    text = "\n".join(json.dumps(line) for line in lines) + '\n{"current_steps": 3'  # partial last line
    bucket, key = split_s3(trainer_log_uri(job))
    moto_backend.s3.put_object(Bucket=bucket, Key=key, Body=text.encode())
    points = services.refresh_metrics(job)
    assert [p["step"] for p in points] == [10, 20]
    assert points[1]["loss"] == 1.2 and points[1]["eval_loss"] == 1.3
    job.refresh_from_db()
    assert (job.step, job.total_steps, job.percentage, job.eta_seconds) == (20, 40, 50.0, 80)


def test_a_deleted_secret_fails_the_job_clearly(user, moto_backend):
    from apps.jobs import services
    from apps.jobs.models import TrainingJob
    from apps.jobs.spec import TrainingSpecSerializer
    from apps.users.models import UserSecret

    secret = UserSecret.objects.create(owner=user, name="swan", kind="swanlab", value="s" * 40)
    dataset = make_dataset(user, "alpaca")
    dataset.staged = {"s3": f"s3://{BUCKET}/modelhub/datasets/ds/staged/"}
    dataset.save()
    serializer = TrainingSpecSerializer(data={
        "job_type": "sft", "base_model": "Qwen/Qwen3-4B", "datasets": [str(dataset.pk)], "template": "qwen3",
        "tracker": "swanlab", "tracker_key_ref": "swan"}, context={"user": user, "secret_refs": {"swan"}})
    assert serializer.is_valid(), serializer.errors
    job = TrainingJob.objects.create(owner=user, name="t", job_type="sft", spec=serializer.spec.to_dict())
    secret.delete()
    services.submit(job)
    job.refresh_from_db()
    assert job.status == Status.FAILED and "'swan'" in job.status_reason
    assert moto_backend.sagemaker.created == []


@pytest.fixture
def fresh_credentials():
    """The credential lookup is cached per process; look again in this test, and after it."""
    credentials_found.cache_clear()
    yield
    credentials_found.cache_clear()


def test_readiness_lists_everything_missing_at_once(settings, monkeypatch, fresh_credentials):
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "AWS_SHARED_CREDENTIALS_FILE",
                "AWS_CONFIG_FILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_WEB_IDENTITY_TOKEN_FILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    settings.S3_BUCKET = settings.SAGEMAKER_ROLE_ARN = settings.TRAINING_IMAGE_EASYR1 = ""
    settings.TRAINING_IMAGE_LLAMAFACTORY = "123456789012.dkr.ecr.us-east-1.amazonaws.com/modelhub-llamafactory:1"
    readiness = SageMakerTraining().readiness()
    assert not readiness.usable
    missing = " ".join(readiness.missing)
    for setting in ("S3_BUCKET", "SAGEMAKER_ROLE_ARN", "TRAINING_IMAGE_EASYR1", "AWS credentials"):
        assert setting in missing
    assert "TRAINING_IMAGE_LLAMAFACTORY" not in missing and len(readiness.missing) == 4

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    settings.S3_BUCKET, settings.SAGEMAKER_ROLE_ARN, settings.TRAINING_IMAGE_EASYR1 = BUCKET, ROLE, "img:1"
    credentials_found.cache_clear()  # credentials appeared: a new process would find them
    assert SageMakerTraining().readiness().usable


@pytest.mark.parametrize("status, secondary, phase", [
    ("InProgress", "Starting", "starting"), ("InProgress", "Downloading", "starting"),
    ("Pending", "Pending", "starting"), ("InProgress", "Training", "running"), ("InProgress", "Uploading", "running"),
    ("InProgress", "SomethingNew", "starting"), ("Stopping", "Stopping", "stopping"), ("Completed", "Completed", "succeeded"),
    ("Failed", "Failed", "failed"), ("Stopped", "MaxWaitTimeExceeded", "stopped"), ("Rebooting", "", "unknown"),
])
def test_sagemaker_statuses_map_onto_modelhub_phases(status, secondary, phase):
    from apps.backends.sagemaker.training import job_phase

    assert job_phase(status, secondary) == phase

import sys
from types import SimpleNamespace

import pytest

from apps.backends import registry
from apps.backends.sagemaker.training import SageMakerTraining
from tests.fixtures.training import install_training_backend

from .fake_sagemaker import FakeS3, FakeSageMaker


@pytest.fixture(autouse=True)
def s3_bucket(settings):
    """Jobs keep their files under S3_BUCKET; give every job test one."""
    settings.S3_BUCKET = "modelhub-test"


@pytest.fixture
def fake_sagemaker(settings):
    """The SageMaker training backend, as target "sagemaker", wired to a scripted in-memory SageMaker."""
    settings.SAGEMAKER_ROLE_ARN = "arn:aws:iam::123456789012:role/modelhub-training"
    settings.TRAINING_IMAGE_LLAMAFACTORY = "123456789012.dkr.ecr.us-east-1.amazonaws.com/modelhub-llamafactory:1"
    settings.TRAINING_IMAGE_EASYR1 = "123456789012.dkr.ecr.us-east-1.amazonaws.com/modelhub-easyr1:1"
    settings.S3_BUCKET = "modelhub-test"
    fake = FakeSageMaker()
    fake.s3 = FakeS3()
    fake.backend = SageMakerTraining(sagemaker=fake, s3=fake.s3)
    install_training_backend(settings, "sagemaker", fake.backend)
    return fake


MOTO_BUCKET = "modelhub-moto"


@pytest.fixture
def moto_server(monkeypatch, settings):
    """A moto server process (shared by this process, workers and web servers), with ModelHub's
    AWS settings pointed at it here and in `server.env` for child processes."""
    import boto3
    import httpx

    from apps.backends import aws
    from tests import stack

    port = stack.free_port()
    url = f"http://127.0.0.1:{port}"
    values = {
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": url, "S3_BUCKET": MOTO_BUCKET,
        "SAGEMAKER_ROLE_ARN": "arn:aws:iam::123456789012:role/modelhub-training",
        "TRAINING_IMAGE_LLAMAFACTORY": "123456789012.dkr.ecr.us-east-1.amazonaws.com/modelhub-llamafactory:1",
        "TRAINING_IMAGE_EASYR1": "123456789012.dkr.ecr.us-east-1.amazonaws.com/modelhub-easyr1:1",
    }

    def up():
        try:
            return httpx.get(f"{url}/moto-api/", timeout=1).status_code < 500
        except httpx.HTTPError:
            return False

    with stack.process([sys.executable, "-m", "moto.server", "-p", str(port)], {**stack.stack_env(), **values}, "moto"):
        stack.wait_until(up, timeout=30, message="moto server")
        for key, value in values.items():
            monkeypatch.setenv(key, value)
        for key in ("S3_BUCKET", "SAGEMAKER_ROLE_ARN", "TRAINING_IMAGE_LLAMAFACTORY", "TRAINING_IMAGE_EASYR1"):
            setattr(settings, key, values[key])
        aws.client.cache_clear()
        registry.reset()
        boto3.client("s3", region_name="us-east-1", endpoint_url=url).create_bucket(Bucket=MOTO_BUCKET)
        sagemaker = boto3.client("sagemaker", region_name="us-east-1", endpoint_url=url)

        def remote_jobs():
            summaries = sagemaker.list_training_jobs(NameContains="mhjob-")["TrainingJobSummaries"]
            return [j["TrainingJobName"] for j in summaries]

        yield SimpleNamespace(url=url, env=values, sagemaker=sagemaker, remote_jobs=remote_jobs)
    aws.client.cache_clear()
    registry.reset()

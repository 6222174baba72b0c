import pytest

from apps.backends import registry
from apps.backends.sagemaker.training import SageMakerTraining

from .fake_sagemaker import FakeSageMaker


@pytest.fixture(autouse=True)
def s3_bucket(settings):
    """Jobs keep their files under S3_BUCKET; give every job test one."""
    settings.S3_BUCKET = "modelhub-test"


@pytest.fixture
def fake_sagemaker(monkeypatch, settings):
    """The SageMaker training backend wired to a scripted in-memory SageMaker."""
    settings.SAGEMAKER_ROLE_ARN = "arn:aws:iam::123456789012:role/modelhub-training"
    settings.TRAINING_IMAGE_LLAMAFACTORY = "123456789012.dkr.ecr.us-east-1.amazonaws.com/modelhub-llamafactory:1"
    settings.TRAINING_IMAGE_EASYR1 = "123456789012.dkr.ecr.us-east-1.amazonaws.com/modelhub-easyr1:1"
    settings.S3_BUCKET = "modelhub-test"
    fake = FakeSageMaker()
    backend = SageMakerTraining(sagemaker=fake)
    monkeypatch.setattr("apps.jobs.services.backend_named", lambda name: backend)
    fake.backend = backend
    yield fake
    registry.reset()


@pytest.fixture
def run_on_commit(monkeypatch):
    """Run submit/stop tasks inline instead of sending them to a broker; records what ran."""
    ran = []

    def submit(job_id):
        from apps.jobs import tasks

        ran.append(("submit", job_id))
        tasks.submit_job.run(job_id)

    def stop(job_id):
        from apps.jobs import tasks

        ran.append(("stop", job_id))
        tasks.stop_job.run(job_id)

    monkeypatch.setattr("apps.jobs.tasks.submit_job.delay", submit)
    monkeypatch.setattr("apps.jobs.tasks.stop_job.delay", stop)
    return ran

"""The owner's group execution role reaches SageMaker (moto): CreateTrainingJob's RoleArn and CreateModel's
ExecutionRoleArn; without a group role the settings' default is used. Only the request is checked here (moto
records the ARN), not what IAM would allow the role to do."""

import pytest

from apps.backends.sagemaker.serving import SageMakerServing
from apps.endpoints.deployment import deployment
from apps.jobs.models import Status
from tests.backends.test_sagemaker_serving import moto  # noqa: F401  (fixture)
from tests.backends.test_sagemaker_training_submit import ROLE, create_through_api, moto_backend  # noqa: F401
from tests.conftest import grant_group_policy
from tests.endpoints.factories import ROLE as SERVING_DEFAULT_ROLE
from tests.endpoints.factories import make_endpoint

pytestmark = pytest.mark.django_db
TEAM_ROLE = "arn:aws:iam::123456789012:role/modelhub-team-a"


@pytest.mark.parametrize("job_type", ["sft", "grpo"])
def test_training_runs_as_the_owners_group_role(job_type, user, user_api, moto_backend, inline_tasks):  # noqa: F811
    grant_group_policy(user, "team-a", execution_role_arn=TEAM_ROLE)
    job = create_through_api(user, user_api, job_type)
    job.refresh_from_db()
    assert job.status == Status.STARTING, job.status_reason
    assert moto_backend.sagemaker.created[-1]["RoleArn"] == TEAM_ROLE
    described = moto_backend.sagemaker.describe_training_job(TrainingJobName=job.remote_name)
    assert described["RoleArn"] == TEAM_ROLE != ROLE


def test_training_without_a_group_role_runs_as_the_default(user, user_api, moto_backend, inline_tasks):  # noqa: F811
    job = create_through_api(user, user_api, "sft")
    described = moto_backend.sagemaker.describe_training_job(TrainingJobName=job.remote_name)
    assert described["RoleArn"] == ROLE


def test_endpoint_model_runs_as_the_owners_group_role(moto, user, other_user):  # noqa: F811
    grant_group_policy(user, "team-a", execution_role_arn=TEAM_ROLE)
    mine = make_endpoint(user, model_uri="s3://models-bucket/jobs/7/merged")
    SageMakerServing().deploy(deployment(mine))
    assert moto.describe_model(ModelName=mine.remote_name)["ExecutionRoleArn"] == TEAM_ROLE
    theirs = make_endpoint(other_user, model_uri="s3://models-bucket/jobs/8/merged")
    SageMakerServing().deploy(deployment(theirs))
    assert moto.describe_model(ModelName=theirs.remote_name)["ExecutionRoleArn"] == SERVING_DEFAULT_ROLE


def test_the_job_secret_is_tagged_with_its_owner(user, user_api, moto_backend, inline_tasks):  # noqa: F811
    """The tag a group role's policy can scope secretsmanager:GetSecretValue on."""
    from apps.backends.sagemaker.secrets import secret_name
    from tests.backends.test_sagemaker_training_secrets import create_tracked_job

    grant_group_policy(user, "team-a", execution_role_arn=TEAM_ROLE)
    job = create_tracked_job(user, user_api, hf=False)
    described = moto_backend.secrets.client.describe_secret(SecretId=secret_name(job.remote_name))
    assert {t["Key"]: t["Value"] for t in described["Tags"]}["modelhub:owner"] == user.get_username()
    assert moto_backend.sagemaker.created[-1]["RoleArn"] == TEAM_ROLE

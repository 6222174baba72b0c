"""The real path: an API request on the real web server, the deploy and delete tasks on a real Celery
worker, boto3 against a moto server (SageMaker + application-autoscaling) shared by all processes."""

import sys

import boto3
import httpx
import pytest

from apps.catalog.models import BaseModel
from apps.users.models import ApiToken
from tests import stack
from tests.conftest import make_user

from .factories import ROLE

pytestmark = [pytest.mark.stack, pytest.mark.django_db(transaction=True)]
REGION = "us-east-1"


@pytest.fixture
def moto_url(tmp_path):
    port = stack.free_port()
    env = {**stack.stack_env(), "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    with stack.process([sys.executable, "-m", "moto.server", "-p", str(port)], env, "moto"):
        url = f"http://127.0.0.1:{port}"

        def up():
            try:
                return httpx.get(f"{url}/moto-api/", timeout=1).status_code < 500
            except httpx.HTTPError:
                return False

        stack.wait_until(up, timeout=30, message="moto server")
        yield url


def test_deploy_and_delete_through_web_and_worker(moto_url, tmp_path):
    env = stack.stack_env(
        DATA_DIR=str(tmp_path), AWS_ENDPOINT_URL=moto_url, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
        AWS_REGION=REGION, SAGEMAKER_ROLE_ARN=ROLE, ENDPOINT_RECONCILE_SECONDS="2",
    )
    sagemaker = boto3.client("sagemaker", region_name=REGION, endpoint_url=moto_url,
                             aws_access_key_id="testing", aws_secret_access_key="testing")
    user = make_user("alice")
    BaseModel.objects.get_or_create(key="stack-qwen", defaults={
        "display_name": "Qwen 0.5B", "repo_id": "Qwen/Qwen2.5-0.5B-Instruct", "template": "qwen",
        "parameters_b": 0.5, "context_length": 32768})
    headers = {"Authorization": f"Bearer {ApiToken.issue(user, 'stack')[1]}"}

    with stack.web_server(env) as web, stack.worker(env):
        created = httpx.post(f"{web}/api/v1/endpoints/", headers=headers, timeout=60, json={
            "source": "catalog", "base_model": "stack-qwen", "instance_type": "ml.g4dn.xlarge", "name": "stack-bot"})
        assert created.status_code == 201, created.text
        endpoint = created.json()
        url = f"{web}/api/v1/endpoints/{endpoint['id']}/"

        def status(wanted):
            body = httpx.get(url, headers=headers, timeout=10).json()
            return body if body["status"] == wanted else None

        # moto puts an endpoint InService at once: the deploy task adopts that state directly.
        body = stack.wait_until(lambda: status("in_service"), timeout=90, interval=0.3, message="in service")
        name = body["remote_name"]
        assert name == f"mh-stack-bot-{endpoint['id']}"
        container = sagemaker.describe_model(ModelName=name)["PrimaryContainer"]
        assert container["Environment"]["SM_VLLM_MODEL"] == "Qwen/Qwen2.5-0.5B-Instruct"
        assert container["Environment"]["SM_VLLM_DTYPE"] == "float16"  # T4: no bfloat16
        assert sagemaker.describe_endpoint(EndpointName=name)["EndpointStatus"] == "InService"

        deleted = httpx.delete(url, headers=headers, timeout=10)
        assert deleted.status_code == 202, deleted.text
        stack.wait_until(lambda: status("deleted"), timeout=90, interval=0.3, message="deleted")
        assert sagemaker.list_endpoints()["Endpoints"] == []
        assert sagemaker.list_endpoint_configs()["EndpointConfigs"] == []
        assert sagemaker.list_models()["Models"] == []
        events = httpx.get(f"{url}events/", headers=headers, timeout=10).json()["results"]
        assert [e["data"]["to"] for e in events if e["kind"] == "status"] == [
            "queued", "creating", "in_service", "deleting", "deleted"]

"""Must-show of the local target, through the API and the `openai` client: an sft LoRA job on the
tiny model with the demo dataset reaches 100 % with a loss curve, its merged model is deployed on
this machine, the gateway streams a reply from it, and deleting the endpoint ends its process."""

from __future__ import annotations

import httpx
import openai
import pytest

from apps.backends.local import process
from apps.catalog.models import Dataset
from apps.endpoints.models import Endpoint
from apps.jobs.models import TrainingJob
from apps.users.models import ApiToken
from tests import stack

from .conftest import TINY_SFT

pytestmark = [pytest.mark.stack, pytest.mark.django_db(transaction=True)]


def test_fine_tune_deploy_chat_and_delete_through_the_api(local_stack, settings):
    url, user, worker = local_stack
    token = ApiToken.issue(user, "e2e")[1]
    api = httpx.Client(base_url=f"{url}/api/v1", headers={"Authorization": f"Bearer {token}"}, timeout=30)
    dataset = Dataset.objects.get(name="Demo: instructions")

    created = api.post("/jobs/", json={"name": "tiny sft", **TINY_SFT, "datasets": [dataset.pk]})
    assert created.status_code == 201, created.text
    job_id = created.json()["id"]
    assert created.json()["target"] == "local"  # no AWS settings: the target on this machine

    def finished():
        body = api.get(f"/jobs/{job_id}/").json()
        return body if body["is_terminal"] else None

    job = stack.wait_until(finished, timeout=240, interval=1, message="the job to finish")
    assert job["status"] == "succeeded", (job, worker.log_text if hasattr(worker, "log_text") else "")
    metrics = api.get(f"/jobs/{job_id}/metrics/").json()
    assert metrics["progress"]["percentage"] == 100
    losses = [r["loss"] for r in metrics["records"] if "loss" in r]
    assert len(losses) >= 2 and all(loss > 0 for loss in losses)  # a curve, not a point

    deployed = api.post("/endpoints/", json={"source": "job", "job": job_id, "name": "tiny-sft",
                                             "instance_type": "ml.g5.2xlarge"})
    assert deployed.status_code == 201, deployed.text
    endpoint_id = deployed.json()["id"]
    endpoint = Endpoint.objects.get(pk=endpoint_id)
    assert endpoint.target == "local"
    assert endpoint.model_uri == TrainingJob.objects.get(pk=job_id).uri("merged/")

    def serving():
        body = api.get(f"/endpoints/{endpoint_id}/").json()
        assert body["status"] not in ("failed", "deleted"), body
        return body["status"] == "in_service"

    stack.wait_until(serving, timeout=180, interval=1, message="the endpoint to come into service")
    state = process.read_json(settings.STORAGE_DIR / "endpoints" / endpoint.remote_name / "state.json")
    assert process.is_alive(state["pid"], state["start_ticks"])

    client = openai.OpenAI(base_url=f"{url}/v1", api_key=token, timeout=60)
    chunks = list(client.chat.completions.create(
        model="tiny-sft", messages=[{"role": "user", "content": "Who are you?"}], max_tokens=8, stream=True))
    assert chunks and chunks[-1].choices[0].finish_reason in ("stop", "length")
    assert sum(1 for c in chunks if c.choices and c.choices[0].delta.content) >= 1
    assert all(c.model == "tiny-sft" for c in chunks)

    assert api.delete(f"/endpoints/{endpoint_id}/").status_code in (202, 204)
    stack.wait_until(lambda: api.get(f"/endpoints/{endpoint_id}/").json()["status"] == "deleted"
                     or Endpoint.objects.get(pk=endpoint_id).status == "deleted",
                     timeout=60, interval=1, message="the endpoint to be deleted")
    assert not process.is_alive(state["pid"], state["start_ticks"])

"""A target that no code in apps/endpoints or apps/chat knows: registered through settings alone, it
carries an endpoint through its whole life (deploy, in service, chat streamed through /v1 by the
official OpenAI client against the real ASGI app, scale, delete)."""

from pathlib import Path

import httpx
import openai
import pytest
from asgiref.sync import async_to_sync

from apps.endpoints import tasks
from apps.endpoints.models import Endpoint, Status
from apps.users.models import ApiToken

from .factories import make_endpoint

pytestmark = pytest.mark.django_db

TARGET = "acme-cloud"
APPS = Path(__file__).resolve().parents[2] / "apps"


@pytest.fixture
def acme(fake_serving):
    fake_serving.register(TARGET)  # settings.SERVING_BACKENDS[TARGET] = the in-memory target
    fake_serving.reply = "Hello from a target nobody named."
    return fake_serving


def cycle(endpoint):
    tasks.reconcile_endpoints.run()
    endpoint.refresh_from_db()


def stream_chat(token: str, model: str) -> list:
    """Chat Completions with stream=True through the gateway of modelhub.asgi, in this process."""
    from modelhub.asgi import application

    async def go():
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            client = openai.AsyncOpenAI(base_url="http://testserver/v1", api_key=token, http_client=http, max_retries=0)
            stream = await client.chat.completions.create(
                model=model, messages=[{"role": "user", "content": "Who are you?"}], stream=True)
            return [chunk async for chunk in stream]

    return async_to_sync(go)()  # the gateway's database work runs on this thread, in the test's transaction


def test_a_target_registered_in_settings_serves_an_endpoint_for_its_whole_life(acme, user, user_api, request):
    for app in ("endpoints", "chat"):
        for source in (APPS / app).rglob("*.py"):
            assert TARGET not in source.read_text(), f"{source} names the new target"

    endpoint = make_endpoint(user, name="acme-bot", target=TARGET)
    inline_tasks = request.getfixturevalue("inline_tasks")
    tasks.deploy_endpoint.run(endpoint.pk)
    endpoint.refresh_from_db()
    assert endpoint.status == Status.CREATING
    assert acme.endpoints[endpoint.remote_name].deployment.engine == "vllm"
    cycle(endpoint), cycle(endpoint)
    assert endpoint.status == Status.IN_SERVICE

    token = ApiToken.issue(user, "new-target")[1]
    chunks = stream_chat(token, "acme-bot")
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == acme.reply
    assert {c.model for c in chunks} == {"acme-bot"}
    assert chunks[-1].choices[0].finish_reason == "stop" and chunks[-1].usage.completion_tokens == 6
    [(remote, sent)] = acme.chats
    assert remote == endpoint.remote_name and sent["stream"] is True and sent["model"] == "merged"

    response = user_api.patch(f"/api/v1/endpoints/{endpoint.pk}/", {"instance_count": 3}, format="json")
    assert response.status_code == 202 and ("endpoints.update", (endpoint.pk,)) in inline_tasks
    assert acme.endpoints[endpoint.remote_name].instance_count == 3
    cycle(endpoint)
    assert endpoint.status == Status.IN_SERVICE and endpoint.instance_count == 3

    assert user_api.delete(f"/api/v1/endpoints/{endpoint.pk}/").status_code == 202
    cycle(endpoint)
    assert endpoint.status == Status.DELETED
    assert [e.data["to"] for e in endpoint.events.filter(kind="status").order_by("id")] == [
        "queued", "creating", "in_service", "updating", "in_service", "deleting", "deleted"]
    assert Endpoint.objects.get(pk=endpoint.pk).target == TARGET

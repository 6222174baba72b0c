"""LoRA adapters through the running app (uvicorn) with the official `openai` client: an adapter answers
by its model id (`<endpoint>:<adapter>`), streamed and not, the fake upstream receiving the engine's own
name for it; /v1/models lists it; unknown adapters and other users' adapters are 404."""

import openai
import pytest

from apps.users.models import ApiToken
from tests.conftest import make_user

from .conftest import make_endpoint

pytestmark = [pytest.mark.stack, pytest.mark.django_db(transaction=True)]

MESSAGES = [{"role": "user", "content": "Write SQL"}]
ADAPTERS = [{"name": "sql", "source": "s3://b/adapters/sql/"}, {"name": "support", "source": "s3://b/adapters/support/"}]


def client_for(web, user) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{web}/v1", api_key=ApiToken.issue(user, "adapters")[1], max_retries=0, timeout=30)


@pytest.fixture
def alice(transactional_db):
    return make_user("alice")


@pytest.fixture
def upstreams(sagemaker_fake, hyperpod_fake, local_fake):
    return {"sagemaker": sagemaker_fake, "hyperpod": hyperpod_fake, "local": local_fake}


@pytest.mark.parametrize(("engine", "target", "upstream_name"), [
    ("vllm", "local", "sql"),  # vLLM serves the adapter under its own name
    ("sglang", "local", "{served}:sql"),  # SGLang selects it with "<base>:<adapter>"
    ("vllm", "sagemaker", "sql"),
    ("sglang", "sagemaker", "{served}:sql"),
])
def test_an_adapter_answers_by_its_name_streamed_and_not(web, alice, upstreams, engine, target, upstream_name):
    upstream = upstreams[target]
    make_endpoint(alice, "bot", target, upstream=upstream, engine=engine, spec={"lora_adapters": ADAPTERS})
    client = client_for(web, alice)
    expected_upstream = upstream_name.format(served=upstream.served_model)

    reply = client.chat.completions.create(model="bot:sql", messages=MESSAGES)
    assert reply.model == "bot:sql"
    assert reply.choices[0].message.content == "".join(upstream.tokens)
    assert upstream.requests[-1].body["model"] == expected_upstream

    chunks = list(client.chat.completions.create(model="bot:sql", messages=MESSAGES, stream=True))
    assert {c.model for c in chunks} == {"bot:sql"}
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "".join(upstream.tokens)
    assert upstream.requests[-1].body["model"] == expected_upstream

    # The endpoint's own name still selects the base model.
    assert client.chat.completions.create(model="bot", messages=MESSAGES).model == "bot"
    assert upstream.requests[-1].body["model"] == upstream.served_model


def test_v1_models_lists_adapters_and_retrieves_one(web, alice, local_fake):
    make_endpoint(alice, "bot", "local", upstream=local_fake, spec={"lora_adapters": ADAPTERS})
    client = client_for(web, alice)
    assert [m.id for m in client.models.list()] == ["bot", "bot:sql", "bot:support"]
    adapter = client.models.retrieve("bot:support")
    assert (adapter.id, adapter.owned_by, adapter.model_extra["parent"]) == ("bot:support", "alice", "bot")
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("bot:nope")


def test_unknown_and_other_users_adapters_are_404(web, alice, local_fake):
    bob = make_user("bob")
    make_endpoint(alice, "bot", "local", upstream=local_fake, spec={"lora_adapters": ADAPTERS})
    for user, model in ((alice, "bot:nope"), (bob, "bot:sql"), (bob, "bot")):
        with pytest.raises(openai.NotFoundError) as info:
            client_for(web, user).chat.completions.create(model=model, messages=MESSAGES)
        assert info.value.body["code"] == "model_not_found" and model in info.value.body["message"]
    assert local_fake.requests == []
    assert [m.id for m in client_for(web, bob).models.list()] == []

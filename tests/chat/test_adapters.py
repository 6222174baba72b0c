"""LoRA adapters as models: the naming rule, what each engine is sent, admission (visibility and shares
exactly as for the base model), /v1/models, and the playground's conversations and choices."""

import pytest
from django.contrib.auth.models import Group
from rest_framework.test import APIClient

from apps.chat import access
from apps.chat.errors import GatewayError
from apps.chat.model_ids import ChatModel, model_id, split_model_id, upstream_model
from apps.users.models import ApiToken
from apps.users.shares import share
from tests.conftest import make_user

from .conftest import make_endpoint

pytestmark = pytest.mark.django_db

ADAPTERS = [{"name": "sql", "source": "s3://b/adapters/sql/"}, {"name": "support", "source": "s3://b/adapters/support/"}]


def with_adapters(owner, name: str, engine: str = "vllm", **fields):
    return make_endpoint(owner, name, "local", engine=engine, served_model_name="Qwen2.5-7B-Instruct",
                         spec={"lora_adapters": ADAPTERS}, **fields)


def bearer(user) -> str:
    return f"Bearer {ApiToken.issue(user, 't')[1]}"


def refused(authorization: str, model) -> GatewayError:
    with pytest.raises(GatewayError) as info:
        access.admit(authorization, model)
    return info.value


def test_the_naming_rule_round_trips():
    assert model_id("bot", "") == "bot" and model_id("bot", "sql") == "bot:sql"
    assert split_model_id("bot:sql") == ("bot", "sql") and split_model_id("bot") == ("bot", "")
    assert split_model_id("bot:a:b") == ("bot", "a:b")  # no adapter is called "a:b": refused as unknown


@pytest.mark.parametrize(("engine", "adapter", "sent"), [
    ("vllm", "", "Qwen2.5-7B-Instruct"),
    ("vllm", "sql", "sql"),  # --lora-modules sql=… serves the adapter as model "sql"
    ("sglang", "", "Qwen2.5-7B-Instruct"),
    ("sglang", "sql", "Qwen2.5-7B-Instruct:sql"),  # SGLang's OpenAI API: model "<base>:<adapter>"
])
def test_the_engine_is_sent_its_own_name_for_the_model(user, engine, adapter, sent):
    endpoint = with_adapters(user, f"ep-{engine}", engine=engine)
    assert upstream_model(endpoint, adapter) == sent
    chosen = access.admit(bearer(user), model_id(endpoint.name, adapter))[1]
    assert chosen == ChatModel(endpoint, model_id(endpoint.name, adapter), sent)


def test_an_unknown_adapter_is_404_like_an_unknown_endpoint(user):
    with_adapters(user, "bot")
    token = bearer(user)
    for name in ("bot:nope", "bot:", "nope:sql", "bot:sql:x"):
        error = refused(token, name)
        assert (error.status, error.code, error.param) == (404, "model_not_found", "model")
        assert name in error.message


def test_another_users_adapter_is_404_until_it_is_shared_with_her_group(user, other_user):
    owner_group = Group.objects.create(name="team-a")
    user.groups.add(owner_group)
    endpoint = with_adapters(user, "bot")
    token = bearer(other_user)
    assert refused(token, "bot:sql").status == 404
    assert [m["id"] for m in access.models_for(token)] == []
    other_user.groups.add(owner_group)
    share(endpoint, owner_group, by=user)
    assert access.admit(token, "bot:sql")[1].upstream == "sql"
    assert [m["id"] for m in access.models_for(token)] == ["bot", "bot:sql", "bot:support"]


def test_an_adapter_of_an_endpoint_out_of_service_is_409(user):
    with_adapters(user, "bot", status="creating")
    error = refused(bearer(user), "bot:sql")
    assert (error.status, error.code) == (409, "model_not_ready")
    assert "'bot'" in error.message


def test_v1_models_lists_each_adapter_with_its_endpoint_as_parent(user):
    with_adapters(user, "bot")
    make_endpoint(user, "plain", "local")
    models = access.models_for(bearer(user))
    assert [(m["id"], m.get("parent")) for m in models] == [
        ("bot", None), ("bot:sql", "bot"), ("bot:support", "bot"), ("plain", None)]
    assert {m["owned_by"] for m in models} == {user.username}
    assert all(m["object"] == "model" for m in models)


def test_a_conversation_may_name_an_adapter_but_not_an_unknown_one(user, other_user):
    with_adapters(user, "bot")
    with_adapters(other_user, "theirs")
    client = APIClient()
    client.force_authenticate(user)
    created = client.post("/api/v1/chat/conversations", {"endpoint_name": "bot:sql", "compare_endpoint_name": "bot"},
                          format="json")
    assert created.status_code == 201, created.content
    assert (created.json()["endpoint_name"], created.json()["compare_endpoint_name"]) == ("bot:sql", "bot")
    for name, words in (("bot:nope", "no adapter named"), ("theirs:sql", "No endpoint named")):
        answer = client.post("/api/v1/chat/conversations", {"endpoint_name": name}, format="json")
        assert answer.status_code == 400
        assert words in str(answer.json()["errors"]["endpoint_name"])


def test_the_playground_offers_each_endpoints_adapters(client, user):
    with_adapters(user, "bot")
    make_endpoint(user, "plain", "local")
    client.force_login(user)
    page = client.get("/playground/")
    choices = {e["name"]: e["adapters"] for e in page.context["endpoints"]}
    assert choices == {"bot": ["sql", "support"], "plain": []}
    assert page.context["models"] == 4
    assert 'id="pg-model"' in page.content.decode()

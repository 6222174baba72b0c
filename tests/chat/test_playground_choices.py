"""What the playground offers: endpoints in service only, two different ones side by side, and images only
where the model reads them (refused by the API too, with a word, for a text-only catalog model)."""

import base64

import pytest

from apps.catalog.models import BaseModel
from apps.chat.models import Conversation

from .conftest import make_endpoint

pytestmark = pytest.mark.django_db

PNG = "data:image/png;base64," + base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"0" * 16).decode()


def catalog_model(key: str, modality: str) -> BaseModel:
    return BaseModel.objects.create(key=key, display_name=key, repo_id=f"org/{key}", template="qwen",
                                    parameters_b=1, modality=modality)


def option(page: str, select_id: str) -> str:
    return page.split(f'id="{select_id}"')[1].split("</select>")[0]


def test_failed_and_creating_endpoints_are_not_offered(client, user):
    make_endpoint(user, "ready", "local")
    make_endpoint(user, "broken", "local", status="failed")
    make_endpoint(user, "starting", "local", status="creating")
    client.force_login(user)
    page = client.get("/playground/").content.decode()
    for select in ("pg-endpoint", "pg-compare-endpoint"):
        offered = option(page, select)
        assert 'value="ready"' in offered and 'value="broken"' not in offered and 'value="starting"' not in offered
    assert "broken</a> (failed)" in page and "starting</a> (creating)" in page


def test_only_failed_endpoints_give_the_empty_state_naming_them(client, user):
    make_endpoint(user, "broken", "local", status="failed")
    client.force_login(user)
    page = client.get("/playground/").content.decode()
    assert "No endpoint in service" in page and "js/playground.js" not in page and "broken</a> (failed)" in page


def test_side_by_side_starts_with_a_second_endpoint_and_needs_two(client, user):
    make_endpoint(user, "a-model", "local")
    client.force_login(user)
    page = client.get("/playground/").content.decode()
    assert 'id="pg-compare" disabled' in page  # one endpoint: nothing to compare with
    make_endpoint(user, "b-model", "local")
    page = client.get("/playground/").content.decode()
    assert 'id="pg-compare" disabled' not in page
    compare = option(page, "pg-compare-endpoint")
    assert 'value="b-model" data-images="unknown" selected' in compare  # not the first lane's endpoint


def test_options_say_whether_the_model_reads_images(client, user):
    make_endpoint(user, "texty", "local", base_model=catalog_model("qwen-text", "text"))
    make_endpoint(user, "seeing", "local", base_model=catalog_model("qwen-vl", "vision"))
    make_endpoint(user, "from-hf", "local")
    client.force_login(user)
    offered = option(client.get("/playground/").content.decode(), "pg-endpoint")
    assert 'value="texty" data-images="no"' in offered
    assert 'value="seeing" data-images="yes"' in offered
    assert 'value="from-hf" data-images="unknown"' in offered


@pytest.mark.parametrize("endpoints,refused", [
    (("texty", ""), True), (("seeing", ""), False), (("from-hf", ""), False), (("seeing", "texty"), True)])
def test_images_for_a_text_only_model_are_refused_with_a_word(user, user_api, endpoints, refused):
    make_endpoint(user, "texty", "local", base_model=catalog_model("qwen-text", "text"))
    make_endpoint(user, "seeing", "local", base_model=catalog_model("qwen-vl", "vision"))
    make_endpoint(user, "from-hf", "local")
    conversation = Conversation.objects.create(owner=user, endpoint_name=endpoints[0],
                                               compare_endpoint_name=endpoints[1])
    response = user_api.post(f"/api/v1/chat/conversations/{conversation.pk}/messages",
                             {"text": "what is this?", "images": [PNG]}, format="json")
    if refused:
        assert response.status_code == 400
        assert "texty reads text only" in response.json()["errors"]["images"][0]
        assert not conversation.messages.exists()
    else:
        assert response.status_code == 201, response.content

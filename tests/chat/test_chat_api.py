"""The playground's chat API: conversations (in-process) and replies (through the running app)."""

import json

import httpx
import pytest
from django.test import Client

from apps.chat.models import Conversation, Message
from tests import stack
from tests.conftest import make_user

from .conftest import make_endpoint

PNG = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="


# Conversations ------------------------------------------------------------------------------

def test_create_list_rename_delete(user, user_api, other_api, local_fake):
    make_endpoint(user, "mine", "local", upstream=local_fake)
    created = user_api.post("/api/v1/chat/conversations", {
        "endpoint_name": "mine", "system_prompt": "Be brief.", "params": {"temperature": 0.3, "stop": ["END"]},
    }, format="json")
    assert created.status_code == 201, created.json()
    pk = created.json()["id"]
    assert [c["id"] for c in user_api.get("/api/v1/chat/conversations").json()["results"]] == [pk]
    assert other_api.get("/api/v1/chat/conversations").json()["results"] == []
    assert other_api.get(f"/api/v1/chat/conversations/{pk}").status_code == 404
    assert user_api.patch(f"/api/v1/chat/conversations/{pk}", {"title": "Renamed"}, format="json").json()["title"] == "Renamed"
    assert other_api.delete(f"/api/v1/chat/conversations/{pk}").status_code == 404
    assert user_api.delete(f"/api/v1/chat/conversations/{pk}").status_code == 204
    assert not Conversation.objects.exists()


@pytest.mark.parametrize("body, field", [
    ({"endpoint_name": "someone-elses"}, "endpoint_name"),
    ({"params": {"temperature": 3}}, "params"),
    ({"params": {"top_k": 3}}, "params"),
    ({"params": {"stop": ["a", "b", "c", "d", "e"]}}, "params"),
])
def test_invalid_settings_are_field_errors(user, user_api, other_user, local_fake, body, field):
    make_endpoint(other_user, "someone-elses", "local", upstream=local_fake)
    response = user_api.post("/api/v1/chat/conversations", body, format="json")
    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert not Conversation.objects.exists()


def test_user_turns_with_text_and_images(user, user_api):
    pk = user_api.post("/api/v1/chat/conversations", {}, format="json").json()["id"]
    first = user_api.post(f"/api/v1/chat/conversations/{pk}/messages", {"text": "What is this?\nmore", "images": [PNG]},
                          format="json")
    assert first.status_code == 201
    assert first.json()["content"] == [{"type": "text", "text": "What is this?\nmore"},
                                       {"type": "image_url", "image_url": {"url": PNG}}]
    assert Conversation.objects.get(pk=pk).title == "What is this?"
    for bad in ({"text": "  "}, {"images": ["data:text/html;base64,PGI+"]}, {"images": [PNG] * 5}):
        response = user_api.post(f"/api/v1/chat/conversations/{pk}/messages", bad, format="json")
        assert response.status_code == 400, bad
    assert Message.objects.count() == 1


def test_big_images_within_the_limit_and_a_clear_413_beyond(user, user_api, settings):
    import base64

    settings.CHAT_MAX_REQUEST_BYTES = 6 * 1024 * 1024
    pk = user_api.post("/api/v1/chat/conversations", {}, format="json").json()["id"]
    image = "data:image/png;base64," + base64.b64encode(b"\x89PNG" + b"0" * (3 * 1024 * 1024)).decode()
    ok = user_api.post(f"/api/v1/chat/conversations/{pk}/messages", {"text": "x", "images": [image]}, format="json")
    assert ok.status_code == 201  # 4 MB of JSON: above Django's 2.5 MB form limit, within ours
    too_big = user_api.post(f"/api/v1/chat/conversations/{pk}/messages", {"text": "x", "images": [image, image]},
                            format="json")
    assert too_big.status_code == 413 and too_big.json()["code"] == "request_too_large"
    assert Message.objects.count() == 1


# Replies, through the running app ------------------------------------------------------------

def session_client(web, user) -> httpx.Client:
    django_client = Client()
    django_client.force_login(user)
    token = "a" * 32
    return httpx.Client(base_url=web, timeout=30, headers={"X-CSRFToken": token},
                        cookies={"sessionid": django_client.cookies["sessionid"].value, "csrftoken": token})


def sse_events(response) -> list:
    events = []
    for block in response.read().decode().split("\n\n"):
        if block.startswith("data: "):
            data = block[len("data: "):]
            events.append(data if data == "[DONE]" else json.loads(data))
    return events


def add_turn(http, pk, text):
    assert http.post(f"/api/v1/chat/conversations/{pk}/messages", json={"text": text}).status_code == 201


def stream_reply(http, pk, lane=0) -> list:
    with http.stream("POST", f"/api/v1/chat/conversations/{pk}/reply", json={"lane": lane, "stream": True}) as response:
        assert response.status_code == 200, response.read()
        return sse_events(response)


@pytest.mark.stack
@pytest.mark.django_db(transaction=True)
def test_streamed_replies_are_saved_and_sent_back_next_turn(web, local_fake):
    alice = make_user("alice")
    make_endpoint(alice, "tiny", "local", upstream=local_fake)
    conversation = Conversation.objects.create(owner=alice, endpoint_name="tiny", system_prompt="Be brief.",
                                               params={"temperature": 0.5, "seed": 1})
    http = session_client(web, alice)
    add_turn(http, conversation.pk, "first question")
    events = stream_reply(http, conversation.pk)
    assert events[-1] == "[DONE]"
    saved = events[-2]["message"]
    assert saved["content"] == "".join(local_fake.tokens) and saved["finish_reason"] == "stop"
    assert saved["completion_tokens"] == len(local_fake.tokens) and saved["ttft_ms"] > 0

    add_turn(http, conversation.pk, "second question")
    stream_reply(http, conversation.pk)
    sent = local_fake.requests[-1].body
    assert sent["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "first question"},
        {"role": "assistant", "content": "".join(local_fake.tokens)},
        {"role": "user", "content": "second question"},
    ]
    assert (sent["temperature"], sent["seed"], sent["model"]) == (0.5, 1, local_fake.served_model)


@pytest.mark.stack
@pytest.mark.django_db(transaction=True)
def test_side_by_side_lanes_keep_their_own_replies(web, local_fake, sagemaker_fake):
    alice = make_user("alice")
    make_endpoint(alice, "base", "local", upstream=local_fake)
    make_endpoint(alice, "tuned", "sagemaker", upstream=sagemaker_fake)
    conversation = Conversation.objects.create(owner=alice, endpoint_name="base", compare_endpoint_name="tuned")
    http = session_client(web, alice)
    add_turn(http, conversation.pk, "hi")
    stream_reply(http, conversation.pk, lane=0)
    sagemaker_fake.tokens = ["Tuned", " answer"]
    try:
        stream_reply(http, conversation.pk, lane=1)
        add_turn(http, conversation.pk, "again")
        stream_reply(http, conversation.pk, lane=1)
    finally:
        from .fakes import TOKENS
        sagemaker_fake.tokens = list(TOKENS)
    assert sagemaker_fake.requests[-1].body["messages"] == [
        {"role": "user", "content": "hi"}, {"role": "assistant", "content": "Tuned answer"},
        {"role": "user", "content": "again"},
    ]
    lanes = list(conversation.messages.filter(role="assistant").values_list("lane", "endpoint_name"))
    assert lanes == [(0, "base"), (1, "tuned"), (1, "tuned")]


@pytest.mark.stack
@pytest.mark.django_db(transaction=True)
def test_stopping_keeps_the_partial_reply_and_cancels_upstream(web, local_fake):
    alice = make_user("alice")
    make_endpoint(alice, "slow", "local", upstream=local_fake)
    conversation = Conversation.objects.create(owner=alice, endpoint_name="slow")
    local_fake.delay, local_fake.tokens = 0.1, [f" w{i}" for i in range(100)]
    try:
        http = session_client(web, alice)
        add_turn(http, conversation.pk, "go")
        with http.stream("POST", f"/api/v1/chat/conversations/{conversation.pk}/reply", json={"lane": 0}) as response:
            seen = [line for line, _ in zip(response.iter_lines(), range(8)) if line.startswith("data: ")]
        assert len(seen) >= 3
        stack.wait_until(lambda: local_fake.cancelled == 1, timeout=5, message="upstream cancellation")
        reply = stack.wait_until(lambda: conversation.messages.filter(role="assistant").first(), timeout=5,
                                 message="the partial reply to be saved")
    finally:
        from .fakes import TOKENS
        local_fake.delay, local_fake.tokens = 0.0, list(TOKENS)
    assert reply.finish_reason == "cancelled"
    assert reply.text.startswith(" w0 w1") and len(reply.text) < len("".join(f" w{i}" for i in range(100)))


@pytest.mark.stack
@pytest.mark.django_db(transaction=True)
def test_non_streaming_reply_and_errors(web, local_fake, hyperpod_fake):
    alice = make_user("alice")
    make_endpoint(alice, "tiny", "local", upstream=local_fake)
    make_endpoint(alice, "warming", "hyperpod", upstream=hyperpod_fake, status="creating")
    conversation = Conversation.objects.create(owner=alice, endpoint_name="tiny", compare_endpoint_name="warming")
    http = session_client(web, alice)
    add_turn(http, conversation.pk, "hello")
    response = http.post(f"/api/v1/chat/conversations/{conversation.pk}/reply", json={"lane": 0, "stream": False})
    assert response.status_code == 200
    assert response.json()["message"]["content"] == "".join(local_fake.tokens)
    busy = http.post(f"/api/v1/chat/conversations/{conversation.pk}/reply", json={"lane": 1})
    assert busy.status_code == 409 and busy.json()["code"] == "model_not_ready"
    bob = make_user("bob")
    other = session_client(web, bob).post(f"/api/v1/chat/conversations/{conversation.pk}/reply", json={"lane": 0})
    assert other.status_code == 404
    anonymous = httpx.post(f"{web}/api/v1/chat/conversations/{conversation.pk}/reply", json={"lane": 0},
                           headers={"X-CSRFToken": "a" * 32}, cookies={"csrftoken": "a" * 32})
    assert anonymous.status_code == 401
    assert conversation.messages.filter(role="assistant").count() == 1


@pytest.mark.stack
@pytest.mark.django_db(transaction=True)
def test_image_turns_reach_the_model_as_content_parts(web, hyperpod_fake):
    alice = make_user("alice")
    make_endpoint(alice, "vision", "hyperpod", upstream=hyperpod_fake)
    conversation = Conversation.objects.create(owner=alice, endpoint_name="vision")
    http = session_client(web, alice)
    assert http.post(f"/api/v1/chat/conversations/{conversation.pk}/messages",
                     json={"text": "What is in the picture?", "images": [PNG]}).status_code == 201
    stream_reply(http, conversation.pk)
    sent = hyperpod_fake.requests[-1]
    assert sent.headers["authorization"] == "Bearer sk-hyperpod-test-key-0123456789"
    assert sent.body["messages"] == [{"role": "user", "content": [
        {"type": "text", "text": "What is in the picture?"}, {"type": "image_url", "image_url": {"url": PNG}}]}]

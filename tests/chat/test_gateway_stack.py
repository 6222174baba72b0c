"""The OpenAI-compatible gateway, driven through the running app (uvicorn) with the official
`openai` client, against fake SageMaker, HyperPod (TLS + API key) and local upstreams."""

import json

import httpx
import openai
import pytest

from apps.users.models import ApiToken
from tests import stack
from tests.conftest import make_user

from .conftest import make_endpoint

pytestmark = [pytest.mark.stack, pytest.mark.django_db(transaction=True)]

MESSAGES = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Say hello"}]
ERROR_KEYS = {"message", "type", "param", "code"}


@pytest.fixture
def alice(transactional_db):
    return make_user("alice")


def token_for(user) -> str:
    return ApiToken.issue(user, "gateway-test")[1]


def client_for(web, user) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{web}/v1", api_key=token_for(user), max_retries=0, timeout=30)


@pytest.fixture
def upstreams(sagemaker_fake, hyperpod_fake, local_fake):
    return {"sagemaker": sagemaker_fake, "hyperpod": hyperpod_fake, "local": local_fake}


TARGETS = ["sagemaker", "hyperpod", "local"]


@pytest.mark.parametrize("target", TARGETS)
def test_non_streaming(web, alice, upstreams, target):
    upstream = upstreams[target]
    make_endpoint(alice, f"chat-{target}", target, upstream=upstream)
    reply = client_for(web, alice).chat.completions.create(model=f"chat-{target}", messages=MESSAGES,
                                                           temperature=0.2, max_tokens=50, seed=3)
    assert reply.choices[0].message.content == "".join(upstream.tokens)
    assert reply.model == f"chat-{target}"
    assert reply.usage.completion_tokens == len(upstream.tokens)
    sent = upstream.requests[-1].body
    assert sent["model"] == upstream.served_model  # the engine's served name, not ours
    assert sent["messages"] == MESSAGES
    assert (sent["temperature"], sent["max_tokens"], sent["seed"], sent["stream"]) == (0.2, 50, 3, False)


@pytest.mark.parametrize("target", TARGETS)
def test_streaming(web, alice, upstreams, target):
    upstream = upstreams[target]
    make_endpoint(alice, f"stream-{target}", target, upstream=upstream)
    stream = client_for(web, alice).chat.completions.create(model=f"stream-{target}", messages=MESSAGES, stream=True)
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "".join(upstream.tokens)
    assert len([c for c in chunks if c.choices and c.choices[0].delta.content]) == len(upstream.tokens)
    assert {c.model for c in chunks} == {f"stream-{target}"}
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert chunks[-1].usage.completion_tokens == len(upstream.tokens)
    assert upstream.requests[-1].body["stream"] is True
    assert upstream.requests[-1].body["model"] == upstream.served_model


@pytest.mark.parametrize("target", TARGETS)
def test_stream_is_clean_sse_ending_in_done(web, alice, upstreams, target):
    """Raw bytes: every event is one `data:` line of JSON, and `[DONE]` ends it even when the upstream
    (the local fake, like transformers serve) never sent one."""
    make_endpoint(alice, f"raw-{target}", target, upstream=upstreams[target])
    with httpx.stream("POST", f"{web}/v1/chat/completions", headers={"Authorization": f"Bearer {token_for(alice)}"},
                      json={"model": f"raw-{target}", "messages": MESSAGES, "stream": True}, timeout=30) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        body = response.read().decode()
    events = body.split("\n\n")
    assert events[-2:] == ["data: [DONE]", ""]
    for raw in events[:-2]:
        assert raw.startswith("data: ") and "\n" not in raw
        json.loads(raw[len("data: "):])
    if target == "local":
        assert upstreams["local"].send_done is False


@pytest.mark.parametrize("target", ["hyperpod", "sagemaker"])
def test_streams_that_end_with_done_reuse_the_upstream_connection(web, alice, upstreams, target):
    """The upstream's body ends a moment after [DONE] (a separate write): waiting for that end returns the
    connection to the pool, so the next request needs no new TCP (or TLS) connection."""
    upstream = upstreams[target]
    make_endpoint(alice, f"reuse-{target}", target, upstream=upstream)
    client = client_for(web, alice)
    upstream.end_delay = 0.05
    try:
        list(client.chat.completions.create(model=f"reuse-{target}", messages=MESSAGES, stream=True))
        before = upstream.connections
        for _ in range(3):
            chunks = list(client.chat.completions.create(model=f"reuse-{target}", messages=MESSAGES, stream=True))
            assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "".join(upstream.tokens)
    finally:
        upstream.end_delay = 0.0
    assert upstream.connections == before


def test_lmi_endpoint_streaming_json_lines(web, alice, sagemaker_fake):
    """LMI streams one JSON object per line (its `jsonlines` output formatter), not SSE."""
    make_endpoint(alice, "lmi", "sagemaker", upstream=sagemaker_fake, engine="lmi")
    sagemaker_fake.jsonlines = True
    try:
        chunks = list(client_for(web, alice).chat.completions.create(model="lmi", messages=MESSAGES, stream=True))
    finally:
        sagemaker_fake.jsonlines = False
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "".join(sagemaker_fake.tokens)


def test_models_lists_what_the_user_may_use(web, alice, local_fake):
    bob = make_user("bob")
    make_endpoint(alice, "mine", "local", upstream=local_fake)
    make_endpoint(alice, "mine-creating", "local", upstream=local_fake, status="creating")
    make_endpoint(bob, "bobs", "local", upstream=local_fake)
    assert [m.id for m in client_for(web, alice).models.list()] == ["mine"]
    admin = make_user("root", group="admin")
    assert [m.id for m in client_for(web, admin).models.list()] == ["bobs", "mine"]
    assert client_for(web, alice).models.retrieve("mine").owned_by == "alice"


def test_admin_may_chat_with_any_endpoint(web, alice, local_fake):
    make_endpoint(alice, "alices", "local", upstream=local_fake)
    admin = make_user("root", group="admin")
    reply = client_for(web, admin).chat.completions.create(model="alices", messages=MESSAGES)
    assert reply.choices[0].message.content == "".join(local_fake.tokens)


def test_client_disconnect_cancels_the_upstream(web, alice, local_fake):
    local_fake.delay, local_fake.tokens = 0.1, [f" t{i}" for i in range(100)]
    try:
        make_endpoint(alice, "slow", "local", upstream=local_fake)
        with httpx.stream("POST", f"{web}/v1/chat/completions", headers={"Authorization": f"Bearer {token_for(alice)}"},
                          json={"model": "slow", "messages": MESSAGES, "stream": True}, timeout=30) as response:
            lines = response.iter_lines()
            got = [line for line, _ in zip(lines, range(6)) if line.startswith("data: ")]
            assert len(got) >= 2
        # The client went away after a few tokens: the upstream stream must be abandoned long before its 10 s end.
        stack.wait_until(lambda: local_fake.cancelled == 1, timeout=5, message="the upstream to be cancelled")
        assert local_fake.completed == 0
    finally:
        from .fakes import TOKENS
        local_fake.delay, local_fake.tokens = 0.0, list(TOKENS)


@pytest.mark.parametrize("target", ["sagemaker", "local"])
def test_an_upstream_failing_mid_stream_ends_with_an_error_event(web, alice, upstreams, target):
    upstream = upstreams[target]
    make_endpoint(alice, f"dies-{target}", target, upstream=upstream)
    upstream.fail_after = 3
    try:
        stream = client_for(web, alice).chat.completions.create(model=f"dies-{target}", messages=MESSAGES, stream=True)
        received = []
        with pytest.raises(openai.APIError) as info:
            for chunk in stream:
                received.append(chunk.choices[0].delta.content or "")
        assert "".join(received) == "".join(upstream.tokens[:3])
        assert ("StreamBroken" if target == "sagemaker" else "engine died") in str(info.value.message)
        with httpx.stream("POST", f"{web}/v1/chat/completions", headers={"Authorization": f"Bearer {token_for(alice)}"},
                          json={"model": f"dies-{target}", "messages": MESSAGES, "stream": True}, timeout=30) as response:
            events = response.read().decode().split("\n\n")
        error = json.loads(events[-3][len("data: "):])["error"]
        assert set(error) == ERROR_KEYS and error["code"] == "upstream_error"
        assert events[-2:] == ["data: [DONE]", ""]
    finally:
        upstream.fail_after = None


# Errors: each in OpenAI's shape ---------------------------------------------------------------

def raw_error(web, token: str | None, body, *, content: bytes | None = None) -> tuple[int, dict, httpx.Headers]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if content is not None:
        response = httpx.post(f"{web}/v1/chat/completions", headers={**headers, "Content-Type": "application/json"},
                              content=content, timeout=30)
    else:
        response = httpx.post(f"{web}/v1/chat/completions", headers=headers, json=body, timeout=30)
    data = response.json()
    assert set(data) == {"error"} and set(data["error"]) == ERROR_KEYS, data
    return response.status_code, data["error"], response.headers


def test_401_without_or_with_a_bad_token(web, alice, local_fake):
    make_endpoint(alice, "ep", "local", upstream=local_fake)
    status, error, _ = raw_error(web, None, {"model": "ep", "messages": MESSAGES})
    assert (status, error["code"]) == (401, "invalid_api_key")
    with pytest.raises(openai.AuthenticationError) as info:
        openai.OpenAI(base_url=f"{web}/v1", api_key="mh_not-a-real-token", max_retries=0).chat.completions.create(
            model="ep", messages=MESSAGES)
    assert info.value.status_code == 401 and "Invalid API token" in info.value.message
    token, raw = ApiToken.issue(alice, "revoked")
    token.revoke()
    status, error, _ = raw_error(web, raw, {"model": "ep", "messages": MESSAGES})
    assert status == 401 and "revoked" in error["message"]
    assert local_fake.requests == []


def test_403_for_an_account_outside_every_group(web, alice, local_fake):
    make_endpoint(alice, "ep", "local", upstream=local_fake)
    alice.groups.clear()
    with pytest.raises(openai.PermissionDeniedError) as info:
        client_for(web, alice).chat.completions.create(model="ep", messages=MESSAGES)
    assert info.value.body["code"] == "permission_denied"
    assert local_fake.requests == []


def test_404_for_unknown_and_other_users_models(web, alice, local_fake):
    make_endpoint(make_user("bob"), "bobs", "local", upstream=local_fake)
    for name in ("nope", "bobs"):
        with pytest.raises(openai.NotFoundError) as info:
            client_for(web, alice).chat.completions.create(model=name, messages=MESSAGES)
        assert info.value.body == {"message": f"The model '{name}' does not exist or you do not have access to it.",
                                   "type": "invalid_request_error", "param": "model", "code": "model_not_found"}
    assert local_fake.requests == []


def test_409_when_the_endpoint_is_not_in_service(web, alice, local_fake):
    make_endpoint(alice, "warming", "local", upstream=local_fake, status="creating")
    status, error, headers = raw_error(web, token_for(alice), {"model": "warming", "messages": MESSAGES})
    assert (status, error["code"], headers["x-should-retry"]) == (409, "model_not_ready", "false")
    with pytest.raises(openai.ConflictError):
        client_for(web, alice).chat.completions.create(model="warming", messages=MESSAGES, stream=True)


@pytest.mark.parametrize(
    "change, param",
    [({"temperature": 5}, "temperature"), ({"messages": []}, "messages"), ({"stop": ["a"] * 5}, "stop"),
     ({"messages": [{"role": "wizard", "content": "x"}]}, "messages.[0].role"), ({"frobnicate": 1}, "frobnicate"),
     ({"stream": "yes"}, "stream"), ({"n": 2}, "n"), ({"max_tokens": 0}, "max_tokens")],
)
def test_400_names_the_invalid_parameter(web, alice, local_fake, change, param):
    make_endpoint(alice, "ep", "local", upstream=local_fake)
    status, error, _ = raw_error(web, token_for(alice), {"model": "ep", "messages": MESSAGES, **change})
    assert (status, error["type"], error["param"]) == (400, "invalid_request_error", param)
    assert local_fake.requests == []


def test_400_for_a_body_that_is_not_json(web, alice):
    status, error, _ = raw_error(web, token_for(alice), None, content=b"{not json")
    assert status == 400 and "not valid JSON" in error["message"]


def test_unknown_urls_and_wrong_methods_answer_in_openais_shape(web, alice):
    """/v1 is served beside Django: its own 404 and 405, never Django's HTML pages."""
    auth = {"Authorization": f"Bearer {token_for(alice)}"}
    for method, path, status, code in [("POST", "/v1/completions", 404, "unknown_url"),
                                       ("GET", "/v1/chat/completions", 405, "method_not_allowed"),
                                       ("POST", "/v1/models", 405, "method_not_allowed")]:
        response = httpx.request(method, f"{web}{path}", headers=auth, timeout=30)
        error = response.json()["error"]
        assert (response.status_code, error["code"], set(error)) == (status, code, ERROR_KEYS), (method, path)
        assert response.headers["content-type"] == "application/json"
    assert httpx.get(f"{web}/v1/chat/completions", headers=auth, timeout=30).headers["allow"] == "POST"
    assert "POST /v1/completions" in httpx.post(f"{web}/v1/completions", timeout=30).json()["error"]["message"]


def test_413_for_an_oversized_request(web, alice, local_fake):
    make_endpoint(alice, "ep", "local", upstream=local_fake)
    huge = [{"role": "user", "content": "x" * (300 * 1024)}]
    status, error, _ = raw_error(web, token_for(alice), {"model": "ep", "messages": huge})
    assert (status, error["code"]) == (413, "request_too_large")
    assert local_fake.requests == []


def test_502_when_the_upstream_fails(web, alice, local_fake, hyperpod_fake):
    make_endpoint(alice, "broken", "local", upstream=local_fake)
    local_fake.fail_status = 500
    try:
        with pytest.raises(openai.InternalServerError) as info:
            client_for(web, alice).chat.completions.create(model="broken", messages=MESSAGES, stream=True)
        assert info.value.status_code == 502 and info.value.body["code"] == "upstream_error"
    finally:
        local_fake.fail_status = None
    # HyperPod with a key the model server does not accept.
    make_endpoint(alice, "wrong-key", "hyperpod", upstream=hyperpod_fake, api_key="sk-wrong")
    status, error, _ = raw_error(web, token_for(alice), {"model": "wrong-key", "messages": MESSAGES})
    assert status == 502 and "credentials" in error["message"] and "sk-wrong" not in error["message"]


def test_502_when_the_hyperpod_certificate_is_not_trusted(web, alice, tmp_path):
    from .conftest import self_signed, server_tls
    from .fakes import FakeModelServer

    with FakeModelServer(kind="openai", ssl_context=server_tls(*self_signed(tmp_path, "untrusted"))) as untrusted:
        make_endpoint(alice, "untrusted", "hyperpod", upstream=untrusted)
        status, error, _ = raw_error(web, token_for(alice), {"model": "untrusted", "messages": MESSAGES})
        assert status == 502 and error["code"] == "upstream_error"
        assert untrusted.requests == []  # TLS failed before any request was sent


def test_504_when_the_upstream_does_not_answer(web, alice, sagemaker_fake):
    make_endpoint(alice, "stuck", "sagemaker", upstream=sagemaker_fake)
    sagemaker_fake.stall = 6  # the web server's CHAT_UPSTREAM_READ_TIMEOUT is 3 s
    try:
        with pytest.raises(openai.APIStatusError) as info:
            client_for(web, alice).chat.completions.create(model="stuck", messages=MESSAGES, stream=True)
        assert info.value.status_code == 504 and info.value.body["code"] == "upstream_timeout"
    finally:
        sagemaker_fake.stall = 0


def test_429_after_the_per_user_limit(transactional_db, certs, sagemaker_fake, local_fake):
    alice = make_user("alice")
    make_endpoint(alice, "ep", "local", upstream=local_fake)
    env = {**__import__("tests.chat.conftest", fromlist=["gateway_env"]).gateway_env(certs, sagemaker_fake),
           "CHAT_RATE_LIMIT_REQUESTS": "3", "CHAT_RATE_LIMIT_WINDOW_SECONDS": "3600"}
    with stack.web_server(env) as web:
        client = client_for(web, alice)
        for _ in range(3):
            client.chat.completions.create(model="ep", messages=MESSAGES)
        with pytest.raises(openai.RateLimitError) as info:
            client.chat.completions.create(model="ep", messages=MESSAGES)
        assert info.value.body["code"] == "rate_limit_exceeded"
        assert int(info.value.response.headers["retry-after"]) > 0
        # Another user has a budget of their own.
        client_for(web, make_user("bob", group="admin")).chat.completions.create(model="ep", messages=MESSAGES)
    assert len(local_fake.requests) == 4

"""The /v1 gateway before it does any work: Host checked, token checked before the body is read, depth
bounded, and a rate-limit cache that is down costs the limit, not the service. Driven with scripted ASGI
messages against the real gateway app and database."""

import asyncio
import json
import logging

import pytest

from apps.chat import access, gateway
from apps.users.models import ApiToken
from tests.conftest import make_user

DEEP = b'{"model": "ep", "messages": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"


@pytest.fixture(autouse=True)
def _forget():
    access._admitted.clear()
    yield
    access._admitted.clear()


def call(body: bytes, *, host="127.0.0.1:8000", token=None, path="/v1/chat/completions", method="POST"):
    """(status, JSON body, how many times the gateway read the request body)."""
    headers = [(b"host", host.encode()), (b"content-type", b"application/json")]
    if token:
        headers.append((b"authorization", f"Bearer {token}".encode()))
    scope = {"type": "http", "method": method, "path": path, "headers": headers, "server": ("127.0.0.1", 8000)}
    reads, sent = [], []

    async def receive():
        reads.append(1)
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message):
        sent.append(message)

    asyncio.run(gateway.application(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    payload = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], json.loads(payload), len(reads)


@pytest.fixture
def token(transactional_db):
    _, raw = ApiToken.issue(make_user("alice"), "t")
    return raw


def test_an_anonymous_request_is_refused_before_its_body_is_read(transactional_db):
    status, body, reads = call(DEEP)
    assert status == 401 and body["error"]["code"] == "invalid_api_key" and reads == 0
    status, _, reads = call(DEEP, token="mh_not_a_real_token_0123456789")
    assert status == 401 and reads == 0


def test_a_body_nested_100000_deep_is_a_400_in_openais_shape(token):
    status, body, reads = call(DEEP, token=token)
    assert status == 400 and reads == 1
    assert body["error"]["message"] == "The request body is nested more than 64 levels deep."
    shallow = json.dumps({"model": "ep", "messages": [{"role": "user", "content": "hi"}],
                          "metadata": {"a": [[[[["fine"]]]]]}}).encode()
    status, body, _ = call(shallow, token=token)
    assert status == 404 and body["error"]["code"] == "model_not_found"  # got past the bounds to the lookup


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8000", "127.0.0.1.evil.example", "[::1]"])
def test_hosts_outside_allowed_hosts_are_refused_on_every_gateway_url(transactional_db, settings, host):
    settings.ALLOWED_HOSTS = ["127.0.0.1", "modelhub.example"]
    for path, method in (("/v1/chat/completions", "POST"), ("/v1/models", "GET"), ("/v1/nope", "GET")):
        status, body, reads = call(b"{}", host=host, path=path, method=method)
        assert status == 400 and body["error"]["code"] == "invalid_host" and reads == 0


def test_allowed_hosts_pass(token, settings):
    settings.ALLOWED_HOSTS = [".modelhub.example"]
    status, body, _ = call(b"", host="api.modelhub.example", token=token, path="/v1/models", method="GET")
    assert status == 200 and body == {"object": "list", "data": []}


def test_a_rate_limit_cache_that_is_down_means_no_limit_logged_not_a_500(user, settings, caplog):
    settings.CACHES = {**settings.CACHES, "rate": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                                   "LOCATION": "redis://127.0.0.1:1/0",
                                                   "OPTIONS": {"socket_connect_timeout": 0.2}}}
    settings.CHAT_RATE_LIMIT_CACHE, settings.CHAT_RATE_LIMIT_REQUESTS = "rate", 1
    with caplog.at_level(logging.WARNING, logger="apps.chat.access"):
        for _ in range(3):  # over the limit of 1, yet answered: nothing counts while the cache is away
            access.check_rate(user)
    assert "Chat rate limit not applied: the cache 'rate' is unreachable" in caplog.text

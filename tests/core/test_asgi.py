"""The plain-ASGI plumbing beside Django (apps.core.asgi), driven with scripted ASGI messages."""

import asyncio
import json

import pytest

from apps.core.asgi import BodyTooLarge, ClientGone, PrefixRouter, read_body, send_event_stream, send_json


class Recorder:
    """An ASGI app that records which scopes reached it."""

    def __init__(self):
        self.paths = []

    async def __call__(self, scope, receive, send):
        self.paths.append(scope.get("path", scope["type"]))


def http_scope(path="/", headers=()):
    return {"type": "http", "method": "POST", "path": path, "headers": list(headers)}


def messages(*items):
    """A `receive` that hands out `items` in order, then waits for ever (as a server does)."""
    queue = list(items)

    async def receive():
        if queue:
            return queue.pop(0)
        await asyncio.Event().wait()

    return receive


def test_router_sends_each_prefix_to_its_app_and_the_rest_to_django():
    gateway, django = Recorder(), Recorder()
    router = PrefixRouter({"/v1/": gateway}, default=django)

    async def go():
        for path in ("/v1/chat/completions", "/v1", "/v1/models/x", "/v10/models", "/api/v1/me", "/"):
            await router(http_scope(path), messages(), None)

    asyncio.run(go())
    assert gateway.paths == ["/v1/chat/completions", "/v1", "/v1/models/x"]
    assert django.paths == ["/v10/models", "/api/v1/me", "/"]


def test_lifespan_is_answered_and_runs_the_shutdown_hooks():
    closed, sent = [], []

    async def close():
        closed.append(True)

    async def failing():
        raise RuntimeError("boom")  # logged; the other hooks and the shutdown still complete

    async def send(message):
        sent.append(message["type"])

    router = PrefixRouter({}, default=Recorder(), on_shutdown=(failing, close))
    receive = messages({"type": "lifespan.startup"}, {"type": "lifespan.shutdown"})
    asyncio.run(router({"type": "lifespan"}, receive, send))
    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert closed == [True]


def test_read_body_joins_parts_and_refuses_what_is_over_the_limit():
    parts = [{"type": "http.request", "body": b"ab", "more_body": True},
             {"type": "http.request", "body": b"cd", "more_body": False}]
    assert asyncio.run(read_body(http_scope(), messages(*parts), limit=4)) == b"abcd"
    with pytest.raises(BodyTooLarge):  # streamed past the limit without a Content-Length
        asyncio.run(read_body(http_scope(), messages(*parts), limit=3))
    declared = http_scope(headers=[(b"content-length", b"999")])
    with pytest.raises(BodyTooLarge):  # refused from the header, before reading anything
        asyncio.run(read_body(declared, messages(), limit=100))
    with pytest.raises(ClientGone):  # went away half-way through its request
        asyncio.run(read_body(http_scope(), messages(parts[0], {"type": "http.disconnect"}), limit=100))


def test_send_json_sets_length_type_and_extra_headers():
    sent = []

    async def send(message):
        sent.append(message)

    asyncio.run(send_json(send, 429, {"error": {"message": "slow down"}}, {"Retry-After": "3"}))
    start, body = sent
    headers = dict(start["headers"])
    assert start["status"] == 429
    assert headers[b"content-type"] == b"application/json"
    assert headers[b"retry-after"] == b"3" and headers[b"x-content-type-options"] == b"nosniff"
    assert int(headers[b"content-length"]) == len(body["body"])
    assert json.loads(body["body"]) == {"error": {"message": "slow down"}}


def test_event_stream_sends_every_event_then_ends_the_body():
    sent = []

    async def send(message):
        sent.append(message)

    async def events():
        for i in range(3):
            yield f"data: {i}\n\n".encode()

    asyncio.run(send_event_stream(send, messages(), events()))
    assert dict(sent[0]["headers"])[b"content-type"].startswith(b"text/event-stream")
    assert [m["body"] for m in sent[1:]] == [b"data: 0\n\n", b"data: 1\n\n", b"data: 2\n\n", b""]
    assert [m.get("more_body", False) for m in sent[1:]] == [True, True, True, False]


def test_a_client_that_disconnects_closes_the_event_source():
    """The source would stream for ever; the disconnect must stop it and run its clean-up."""
    sent, cleaned_up = [], asyncio.Event()

    async def send(message):
        sent.append(message)

    async def endless():
        try:
            while True:
                yield b"data: x\n\n"
                await asyncio.sleep(0.01)
        finally:
            cleaned_up.set()

    async def go():
        gone = asyncio.Event()

        async def receive():
            await gone.wait()
            return {"type": "http.disconnect"}

        streaming = asyncio.ensure_future(send_event_stream(send, receive, endless()))
        await asyncio.sleep(0.05)
        gone.set()
        await asyncio.wait_for(streaming, 2)
        return cleaned_up.is_set()

    assert asyncio.run(go()) is True
    assert len(sent) > 2  # it had been streaming
    assert all(m.get("more_body", False) for m in sent[1:])  # and was cut off, not ended normally

"""Plain ASGI for the few paths that are served beside Django rather than through it.

Django's ASGI handler runs every request through its middleware and two OS threads (a
per-request executor and the thread that joins it). That is what a page needs, and too much
for a hot streaming API such as the OpenAI-compatible gateway, which does its own
authentication and holds hundreds of streams per process. `PrefixRouter` sends such paths to
their own ASGI app; the helpers below are all that app needs to read a request and answer it.
"""

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import aclosing, suppress

logger = logging.getLogger(__name__)

Scope = dict
Receive = Callable[[], Awaitable[dict]]
Send = Callable[[dict], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# What Django's SecurityMiddleware would have added to an API response.
BASE_HEADERS = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"same-origin")]


class BodyTooLarge(Exception):
    pass


class ClientGone(Exception):
    """The client disconnected before its request was read: there is nobody to answer."""


class PrefixRouter:
    """HTTP requests under one of `routes`' path prefixes go to that app, everything else to `default`.

    Lifespan events are answered here (Django does not speak them); `on_shutdown` coroutines run
    when the server stops, e.g. to close pooled upstream connections.
    """

    def __init__(self, routes: dict[str, ASGIApp], default: ASGIApp,
                 on_shutdown: tuple[Callable[[], Awaitable[None]], ...] = ()):
        self.routes = tuple(routes.items())
        self.default = default
        self.on_shutdown = on_shutdown

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] == "http":
            path = scope["path"]
            for prefix, app in self.routes:
                if path.startswith(prefix) or path == prefix.rstrip("/"):
                    await app(scope, receive, send)
                    return
        await self.default(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                for hook in self.on_shutdown:
                    try:
                        await hook()
                    except Exception:
                        logger.exception("Shutdown hook %s failed", hook)
                await send({"type": "lifespan.shutdown.complete"})
                return


def header(scope: Scope, name: bytes) -> str:
    """A request header's value ('' if absent); `name` in lower case."""
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return ""


async def read_body(scope: Scope, receive: Receive, limit: int) -> bytes:
    """The whole request body; BodyTooLarge as soon as it is known to exceed `limit` bytes, ClientGone
    if the client disconnects first."""
    try:
        declared = int(header(scope, b"content-length") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        raise BodyTooLarge
    parts, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        part = message.get("body", b"")
        size += len(part)
        if size > limit:
            raise BodyTooLarge
        parts.append(part)
        if not message.get("more_body", False):
            return b"".join(parts)


def _start(status: int, content_type: bytes, headers: dict[str, str] | None) -> dict:
    extra = [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in (headers or {}).items()]
    return {"type": "http.response.start", "status": status,
            "headers": [(b"content-type", content_type), *BASE_HEADERS, *extra]}


async def send_json(send: Send, status: int, data, headers: dict[str, str] | None = None) -> None:
    body = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()
    start = _start(status, b"application/json", headers)
    start["headers"].append((b"content-length", str(len(body)).encode()))
    await send(start)
    await send({"type": "http.response.body", "body": body})


SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}  # proxies (nginx) must not hold events back


async def send_event_stream(send: Send, receive: Receive, events: AsyncIterator[bytes]) -> None:
    """Stream `events` (SSE bytes) as a `text/event-stream` response until they end or the client goes away.

    A client that disconnects cancels the stream, which closes `events` (and so whatever it reads from).
    """
    await send(_start(200, b"text/event-stream; charset=utf-8", SSE_HEADERS))

    async def pump() -> None:
        async with aclosing(events):
            async for data in events:
                await send({"type": "http.response.body", "body": data, "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    streaming = asyncio.ensure_future(pump())
    watching = asyncio.ensure_future(_disconnected(receive))
    try:
        await asyncio.wait((streaming, watching), return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (streaming, watching):
            task.cancel()
        with suppress(asyncio.CancelledError):
            await streaming
        with suppress(asyncio.CancelledError):
            await watching


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass

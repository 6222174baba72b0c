"""The one streaming path from any endpoint to any of our clients (gateway and playground).

`open_stream` sends the request through the serving backend of the endpoint's target (its
`stream`, whatever the target: a signed runtime call, HTTPS with an API key, loopback) and waits
for the first chunk, so failures before any output become proper HTTP errors. The returned `ChunkStream` yields parsed `chat.completion.chunk`
objects as they arrive, whatever the upstream's framing, and stops at `[DONE]` or at the end of
the body (servers such as `transformers serve` never send `[DONE]`). Nothing is buffered beyond
one incomplete event. Closing it (`aclose`, or cancellation when our client disconnects) closes
the upstream connection.

Relaying costs per event, so the gateway does not decode ordinary chunks: `next_batch` hands
each event's bytes to a converter, and `with_model` renames the model in place where that is
certain to equal decoding and re-encoding (everything else is decoded by `parse_chunk`).
"""

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator, Callable
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

from apps.backends import registry
from apps.backends.base import Capability, supports
from apps.backends.errors import BackendError
from apps.backends.sse import DONE, JSONLinesParser, SSEParser
from apps.backends.upstream_errors import UpstreamError
from apps.endpoints.deployment import ref

from .completions import upstream_body


def _chat_backend(endpoint):
    """The serving backend that talks to the endpoint, if its target can chat."""
    try:
        backend = registry.serving_backend(endpoint.target)
    except registry.UnknownBackend:
        backend = None
    if not supports(backend, Capability.STREAMING_CHAT):
        raise UpstreamError(f"This installation cannot chat with {endpoint.get_target_display()} endpoints.")
    return backend


@contextmanager
def _as_upstream_error():
    """A target's own refusal (no server for the endpoint, a missing key) reaches clients as an upstream
    error in their protocol's shape, never as a 500."""
    try:
        yield
    except UpstreamError:
        raise
    except BackendError as exc:
        raise UpstreamError(str(exc)) from exc


async def complete(endpoint, request: dict, model: str = "") -> dict:
    """A non-streaming reply, as the upstream's chat.completion object. `model` is what the engine is sent
    (an adapter's upstream name: `model_ids.upstream_model`); by default the endpoint's served name."""
    body = upstream_body({**request, "stream": False}, model or endpoint.served_model_name)
    with _as_upstream_error():
        raw = await _chat_backend(endpoint).complete(ref(endpoint), body)
    try:
        reply = json.loads(raw)
    except ValueError:
        raise UpstreamError("The model server sent a reply that is not JSON.") from None
    if not isinstance(reply, dict) or not isinstance(reply.get("choices"), list):
        raise UpstreamError(_error_message(reply) or "The model server sent a reply without choices.")
    return reply


def _error_message(data) -> str:
    if isinstance(data, dict):
        error = data.get("error") or data.get("detail") or data.get("message")
        if isinstance(error, dict):
            error = error.get("message")
        return str(error or "")
    return ""


@dataclass
class Stats:
    """What one reply cost and how fast it came, measured where we stand."""

    started: float = field(default_factory=time.perf_counter)
    first_token_at: float | None = None
    last_token_at: float | None = None
    deltas: int = 0
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    finish_reason: str = ""
    error: str = ""
    keep_text: bool = False  # the playground saves the reply; the gateway only relays it
    text_parts: list[str] = field(default_factory=list)

    def observe(self, chunk: dict) -> str:
        """Account for one chunk; returns the text it adds."""
        usage = chunk.get("usage")
        if isinstance(usage, dict):
            self.prompt_tokens = usage.get("prompt_tokens", self.prompt_tokens)
            self.completion_tokens = usage.get("completion_tokens", self.completion_tokens)
        text = ""
        for choice in chunk.get("choices") or ():
            delta = choice.get("delta") or {}
            piece = delta.get("content") or delta.get("reasoning_content") or ""
            if piece:
                now = time.perf_counter()
                if self.first_token_at is None:
                    self.first_token_at = now
                self.last_token_at = now
                self.deltas += 1
                text += delta.get("content") or ""
            if choice.get("finish_reason"):
                self.finish_reason = choice["finish_reason"]
        if text and self.keep_text:
            self.text_parts.append(text)
        return text

    @property
    def text(self) -> str:
        return "".join(self.text_parts)

    @property
    def tokens(self) -> int:
        return self.completion_tokens if self.completion_tokens is not None else self.deltas

    @property
    def ttft_ms(self) -> float | None:
        return None if self.first_token_at is None else (self.first_token_at - self.started) * 1000

    @property
    def tokens_per_second(self) -> float | None:
        if self.first_token_at is None or self.last_token_at is None or self.tokens < 2:
            return None
        span = self.last_token_at - self.first_token_at
        return (self.tokens - 1) / span if span > 0 else None


_DONE = DONE.encode()
DRAIN_SECONDS = 0.25


def parse_chunk(data: bytes) -> dict:
    try:
        chunk = json.loads(data.decode("utf-8", errors="replace"))
    except ValueError:
        raise UpstreamError("The model server sent an event that is not JSON.") from None
    if not isinstance(chunk, dict):
        raise UpstreamError("The model server sent an unexpected event.")
    if "error" in chunk or chunk.get("object") == "error":
        raise UpstreamError(f"The model failed while answering: {_error_message(chunk) or 'unknown error'}")
    return chunk


class ChunkStream:
    def __init__(self, raw: AsyncIterator[bytes], parser):
        self._raw = raw
        self._parser = parser
        self._pending: list[bytes] = []  # complete events not handed out yet
        self._finished = False
        self._saw_done = False

    async def __anext__(self) -> dict:
        batch = await self.next_batch(limit=1)
        if not batch:
            raise StopAsyncIteration
        return batch[0]

    async def next_batch(self, convert: Callable[[bytes], Any] = parse_chunk, limit: int | None = None) -> list:
        """The events complete after at most one read from the upstream, each through `convert`
        (by default `parse_chunk`); [] at the end.

        A relay that falls behind finds several events per read and sends them on in one write,
        so under load it does fewer, larger writes instead of falling further behind. An event
        that `convert` refuses with an UpstreamError is raised after the events before it.
        """
        events = await self._next_events()
        batch = []
        for index, data in enumerate(events):
            if len(batch) == limit:
                self._pending = events[index:]
                break
            try:
                batch.append(convert(data))
            except UpstreamError:
                if not batch:
                    raise
                self._pending = events[index:]  # deliver what came before it first; fail on the next call
                break
        return batch

    def __aiter__(self):
        return self

    async def _next_events(self) -> list[bytes]:
        while not self._pending and not self._finished:
            try:
                piece = await anext(self._raw)
            except StopAsyncIteration:
                self._finished = True
                self._pending = self._parser.flush_raw()
            else:
                self._pending = self._parser.feed_raw(piece)
            if _DONE in self._pending:
                self._pending = self._pending[: self._pending.index(_DONE)]
                self._finished = self._saw_done = True
        if not self._pending and self._saw_done:
            await self._read_to_end()
        events, self._pending = self._pending, []
        return events

    async def _read_to_end(self) -> None:
        """After `[DONE]` the upstream's body normally ends at once: read that end (for at most
        DRAIN_SECONDS) so that its connection goes back to the pool instead of being dropped, which
        would cost the next request a new TCP (and, for an HTTPS endpoint, TLS) connection. Done once the
        events before `[DONE]` are handed out, so that they do not wait for it."""
        self._saw_done = False
        with suppress(TimeoutError, UpstreamError):
            async with asyncio.timeout(DRAIN_SECONDS):
                async for _ in self._raw:
                    pass

    async def aclose(self) -> None:
        await self._raw.aclose()


_MODEL_VALUE = re.compile(rb'\s*:\s*("[^"\\]*")')  # after the key: a plain string (no escapes)


def with_model(data: bytes, model_json: bytes) -> bytes | None:
    """The chunk `data` with its top-level "model" replaced by `model_json`, edited as bytes.

    None unless the edit is certainly what decoding, setting "model" and encoding would mean: the
    key follows `{` or `,` (so it is not inside a string) with no `{` before it but the first (so
    it is at the top level: keys only exist in objects), it is the only "model" in the event,
    nothing is called "error" (error events must be decoded), and the event is one line of UTF-8.
    Ordinary chunks of vLLM, SGLang, TGI and LMI pass; the caller decodes anything else.
    """
    key = data.find(b'"model"')
    value = _MODEL_VALUE.match(data, key + 7) if key > 0 else None
    if (
        value is None
        or data[:key].rstrip()[-1:] not in (b"{", b",")
        or data.find(b"{", 1, key) != -1
        or data.find(b'"model"', value.end()) != -1
        or b'"error"' in data
        or b"\n" in data
        or not data.startswith(b"{")
        or not data.endswith(b"}")
        or not _is_utf8(data)
    ):
        return None
    return data[: value.start(1)] + model_json + data[value.end(1) :]


def _is_utf8(data: bytes) -> bool:
    if data.isascii():
        return True
    try:
        data.decode()
    except UnicodeDecodeError:
        return False
    return True


async def open_stream(endpoint, request: dict, model: str = "") -> tuple[dict | None, ChunkStream]:
    """Start a streaming reply; returns its first chunk (None if the reply is empty) and the rest.
    `model` as for `complete`."""
    body = upstream_body({**request, "stream": True}, model or endpoint.served_model_name)
    parser = JSONLinesParser() if endpoint.engine == "lmi" else SSEParser()
    with _as_upstream_error():
        raw = await _chat_backend(endpoint).stream(ref(endpoint), body)
    chunks = ChunkStream(raw, parser)
    try:
        first = await anext(chunks)
    except StopAsyncIteration:
        return None, chunks
    except BaseException:
        await chunks.aclose()
        raise
    return first, chunks

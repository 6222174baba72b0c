"""SSE events for our clients from an upstream's chunks: the part of relaying that the gateway and
the playground share (each sends the events its own way)."""

import json
import logging

from apps.backends.sse import DONE_EVENT, event
from apps.backends.upstream_errors import UpstreamError

from . import relay
from .errors import from_upstream

logger = logging.getLogger(__name__)


def dumps(data: dict) -> str:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


def chunk_event(chunk: dict, model: str, stats: relay.Stats | None) -> bytes:
    chunk["model"] = model
    if stats is not None:
        stats.observe(chunk)
    return event(dumps(chunk))


def relabeller(model: str, stats: relay.Stats | None):
    """Upstream event bytes → our SSE event for the client's `model`; decoded only when needed."""
    model_json = json.dumps(model, ensure_ascii=False).encode()

    def relabel(data: bytes) -> bytes:
        if stats is None:  # the playground's stats read every chunk anyway
            edited = relay.with_model(data, model_json)
            if edited is not None:
                return b"data: " + edited + b"\n\n"
        return chunk_event(relay.parse_chunk(data), model, stats)

    return relabel


async def relay_events(first: dict | None, chunks: relay.ChunkStream, model: str, stats: relay.Stats | None = None,
                       *, done: bool = True):
    """SSE bytes for a stream: each chunk as the client's model, errors as an error event, `[DONE]` last.

    All events of one upstream read go out in one write.
    """
    relabel = relabeller(model, stats)
    try:
        if first is not None:
            yield chunk_event(first, model, stats)
        while batch := await chunks.next_batch(relabel):
            yield b"".join(batch)
    except UpstreamError as exc:
        logger.warning("Upstream failed mid-stream for %s: %s", model, exc)
        if stats is not None:
            stats.error = str(exc)
        yield event(dumps(from_upstream(exc).body()))
    finally:
        await chunks.aclose()
    if done:
        yield DONE_EVENT

"""The streaming core on its own: chunks from any framing, errors after the text that preceded them."""

import asyncio
import json

import pytest

from apps.backends.sse import SSEParser
from apps.backends.upstream_errors import UpstreamError
from apps.chat.relay import ChunkStream, Stats


def chunk(text: str) -> bytes:
    data = {"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"content": text}}]}
    return b"data: " + json.dumps(data).encode() + b"\n\n"


async def pieces(*parts: bytes):
    for part in parts:
        yield part


def drain(stream: ChunkStream) -> tuple[list, Exception | None]:
    async def go():
        got = []
        try:
            while batch := await stream.next_batch():
                got += batch
        except UpstreamError as exc:
            return got, exc
        return got, None
    return asyncio.run(go())


def test_error_in_the_same_read_as_text_comes_after_the_text():
    body = chunk("a") + chunk("b") + b'data: {"object": "error", "message": "engine died"}\n\n' + chunk("never")
    got, error = drain(ChunkStream(pieces(body), SSEParser()))
    assert [c["choices"][0]["delta"]["content"] for c in got] == ["a", "b"]
    assert "engine died" in str(error)


def test_done_stops_reading_and_a_missing_done_ends_at_eof():
    got, _ = drain(ChunkStream(pieces(chunk("a") + b"data: [DONE]\n\n" + chunk("after")), SSEParser()))
    assert len(got) == 1
    got, _ = drain(ChunkStream(pieces(chunk("a"), chunk("b")[:10], chunk("b")[10:]), SSEParser()))
    assert len(got) == 2


@pytest.mark.parametrize("bad", [b"data: not json\n\n", b"data: [1, 2]\n\n"])
def test_malformed_events_are_upstream_errors(bad):
    _, error = drain(ChunkStream(pieces(bad), SSEParser()))
    assert isinstance(error, UpstreamError)


def test_stats_prefer_usage_and_measure_speed():
    stats = Stats(keep_text=True)
    for text in ("Hel", "lo"):
        stats.observe({"choices": [{"delta": {"content": text}}]})
    stats.observe({"choices": [{"delta": {}, "finish_reason": "length"}], "usage": {"prompt_tokens": 4, "completion_tokens": 7}})
    assert (stats.text, stats.tokens, stats.prompt_tokens, stats.finish_reason) == ("Hello", 7, 4, "length")
    assert stats.ttft_ms >= 0 and stats.tokens_per_second > 0

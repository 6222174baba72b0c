"""The streaming core on its own: chunks from any framing, errors after the text that preceded them, and
the gateway's relaying of ordinary chunks as bytes (only `model` rewritten) against decoding them."""

import asyncio
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from apps.backends.sse import SSEParser
from apps.backends.upstream_errors import UpstreamError
from apps.chat.streaming import relay_events
from apps.chat.relay import ChunkStream, Stats, with_model


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


# ------------------------------------------------------------------ relaying without decoding
MODEL_JSON = json.dumps("my-endpoint").encode()


def vllm_chunk(content: str, **extra) -> dict:
    return {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "/opt/ml/model",
            "choices": [{"index": 0, "delta": {"content": content}, "finish_reason": None}], **extra}


@pytest.mark.parametrize("separators", [(",", ":"), (", ", ": ")])
@pytest.mark.parametrize("content", ["hi", ' "model": "evil", ', "{[}]", "日本語 🎉", "a\\b"])
def test_model_is_renamed_in_place_in_ordinary_chunks(content, separators):
    data = json.dumps(vllm_chunk(content), separators=separators, ensure_ascii=False).encode()
    edited = with_model(data, MODEL_JSON)
    assert edited is not None, "an ordinary chunk should not need decoding"
    assert json.loads(edited) == {**vllm_chunk(content), "model": "my-endpoint"}


@pytest.mark.parametrize("data", [
    json.dumps(vllm_chunk("model")).encode(),  # the content is the string "model": decode to be sure
    json.dumps(vllm_chunk('say "model')).encode(),  # ... or ends with it
    json.dumps({"choices": [{"delta": {"content": "x"}, "model": "inner"}], "model": "m"}).encode(),  # nested first
    json.dumps({"id": "a{b", "model": "m", "choices": []}).encode(),  # a bracket before it
    json.dumps({'a"model': "m", "choices": []}).encode(),  # a key that only ends in "model"
    json.dumps({"model": "m\u00e9", "choices": []}).encode(),  # an escape in the value
    json.dumps({"model": None, "choices": []}).encode(),
    json.dumps({"id": "x", "choices": []}).encode(),  # no model at all
    json.dumps({"model": "m", "model2": 1, "error": None}).encode(),
    json.dumps({"object": "error", "model": "m", "message": "boom"}).encode(),
    b'{"model": "m",\n"choices": []}',  # multi-line data
    b'{"model": "m", "choices": [{"delta": {"content": "\xff"}}]}',  # not UTF-8
    b'x, "model": "m"}', b'{"model": "m", "choices": [', b"not json", b"[1, 2]", b"",
])
def test_anything_unusual_is_left_to_the_decoder(data):
    assert with_model(data, MODEL_JSON) is None


chunk_dicts = st.fixed_dictionaries(
    {"id": st.text(max_size=8), "model": st.text(max_size=12)},
    optional={"object": st.sampled_from(["chat.completion.chunk", "error"]), "created": st.integers(0, 2**40),
              "choices": st.lists(st.fixed_dictionaries({"delta": st.fixed_dictionaries(
                  {}, optional={"content": st.text(max_size=20), "role": st.just("assistant")})}), max_size=2),
              "usage": st.none() | st.fixed_dictionaries({"completion_tokens": st.integers(0, 9)}),
              "error": st.none() | st.text(max_size=5)},
)


@given(chunk_dicts, st.booleans(), st.booleans(), st.randoms())
def test_a_renamed_chunk_always_equals_the_decoded_one(chunk, compact, ascii_only, rng):
    items = list(chunk.items())
    rng.shuffle(items)
    data = json.dumps(dict(items), separators=(",", ":") if compact else None, ensure_ascii=ascii_only).encode()
    edited = with_model(data, MODEL_JSON)
    if edited is not None:
        assert json.loads(edited) == {**chunk, "model": "my-endpoint"}
        assert b"\n" not in edited


def relayed_bytes(body: bytes, cuts: list[int], stats: Stats | None = None) -> bytes:
    """What the gateway sends for an upstream body cut at `cuts`."""
    cuts = sorted({c for c in cuts if 0 < c < len(body)})
    parts = [body[a:b] for a, b in zip([0, *cuts], [*cuts, len(body)])]

    async def go():
        stream = ChunkStream(pieces(*parts), SSEParser())
        first = await anext(stream)
        return b"".join([piece async for piece in relay_events(first, stream, "my-endpoint", stats)])
    return asyncio.run(go())


def relayed(body: bytes, cuts: list[int], stats: Stats | None = None) -> list:
    """The same, as decoded events."""
    events = relayed_bytes(body, cuts, stats).split(b"\n\n")
    assert events[-1] == b"" and all(e.startswith(b"data: ") and b"\n" not in e for e in events[:-1])
    return [e[6:].decode() if e == b"data: [DONE]" else json.loads(e[6:]) for e in events[:-1]]


UPSTREAM = b"".join([
    b"data: " + json.dumps(vllm_chunk("")).encode() + b"\r\n\r\n",
    b": keep-alive\n\n",
    b"data: " + json.dumps(vllm_chunk(' "model": "x" ')).encode() + b"\n\n",
    b"data: " + json.dumps(vllm_chunk("model")).encode() + b"\n\n",
    b"data: " + json.dumps(vllm_chunk("Hé 日本")).encode() + b"\n\n",
    b"data: " + json.dumps({"choices": [{"delta": {"content": "!"}}], "model": "llama.cpp-order"}).encode() + b"\n\n",
    b"data: " + json.dumps(vllm_chunk("", usage={"completion_tokens": 5})).encode() + b"\n\n",
    b"data: [DONE]\n\n",
])
EXPECTED = [
    {**vllm_chunk(""), "model": "my-endpoint"},
    {**vllm_chunk(' "model": "x" '), "model": "my-endpoint"},
    {**vllm_chunk("model"), "model": "my-endpoint"},
    {**vllm_chunk("Hé 日本"), "model": "my-endpoint"},
    {"choices": [{"delta": {"content": "!"}}], "model": "my-endpoint"},
    {**vllm_chunk("", usage={"completion_tokens": 5}), "model": "my-endpoint"},
    "[DONE]",
]


@given(st.lists(st.integers(min_value=1, max_value=len(UPSTREAM) - 1), max_size=30))
def test_relay_gives_the_same_events_whatever_the_chunking(cuts):
    assert relayed(UPSTREAM, cuts) == EXPECTED


def test_ordinary_chunks_keep_the_upstreams_bytes():
    upstream_form = json.dumps(vllm_chunk("Hé 日本")).encode()  # ASCII escapes, spaces after separators
    assert upstream_form.replace(b'"/opt/ml/model"', b'"my-endpoint"') in relayed_bytes(UPSTREAM, [7, 300])


def test_relay_with_stats_decodes_every_chunk_and_sends_the_same():
    stats = Stats(keep_text=True)
    assert relayed(UPSTREAM, [], stats) == EXPECTED
    assert stats.text == ' "model": "x" modelHé 日本!' and stats.tokens == 5


def test_an_error_event_after_renamed_chunks_follows_them():
    body = UPSTREAM[: UPSTREAM.index(b"data: [DONE]")]
    body = body.replace(b"data: " + json.dumps(vllm_chunk("model")).encode(),
                        b'data: {"object": "error", "message": "engine died", "model": "m"}')
    events = relayed(body, [])
    assert events[:2] == EXPECTED[:2]
    assert "engine died" in events[2]["error"]["message"] and events[3] == "[DONE]"
    assert len(events) == 4


# ------------------------------------------------------------------ through the target's backend
def test_chat_goes_through_the_serving_backend_of_the_endpoints_target(fake_serving):
    from apps.chat import relay
    from apps.endpoints.models import Endpoint

    fake_serving.register("elsewhere")
    endpoint = Endpoint(pk=5, name="bot", target="elsewhere", remote_name="mh-bot-5", served_model_name="served",
                        engine="vllm")

    async def go():
        first, chunks = await relay.open_stream(endpoint, {"messages": [{"role": "user", "content": "hi"}]})
        rest = [c async for c in chunks]
        reply = await relay.complete(endpoint, {"messages": [{"role": "user", "content": "hi"}]})
        return [first, *rest], reply

    streamed, reply = asyncio.run(go())
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in streamed)
    assert text == reply["choices"][0]["message"]["content"] == fake_serving.reply
    assert [(name, body["model"], body["stream"]) for name, body in fake_serving.chats] == [
        ("mh-bot-5", "served", True), ("mh-bot-5", "served", False)]


def test_a_target_that_cannot_chat_is_an_upstream_error(fake_serving, monkeypatch):
    from apps.backends.base import Capability
    from apps.backends.fake.serving import FakeServing
    from apps.chat import relay
    from apps.endpoints.models import Endpoint

    monkeypatch.setattr(FakeServing, "capabilities", frozenset(Capability) - {Capability.STREAMING_CHAT})
    endpoint = Endpoint(pk=5, name="bot", target="sagemaker", remote_name="mh-bot-5", engine="vllm")
    with pytest.raises(UpstreamError, match="cannot chat with SageMaker endpoints"):
        asyncio.run(relay.open_stream(endpoint, {"messages": []}))
    assert fake_serving.chats == []


@pytest.mark.django_db
def test_a_targets_own_refusal_is_an_upstream_error_not_a_crash(user, fake_serving):
    """The target says the endpoint has no server (a BackendError of its own): clients get an upstream error."""
    from apps.backends.errors import RemoteNotFound
    from apps.chat import relay
    from tests.chat.conftest import make_endpoint

    endpoint = make_endpoint(user, "gone", "sagemaker")

    async def refuse(ref, body):
        raise RemoteNotFound("The endpoint has no running server.")

    backend = relay._chat_backend(endpoint)
    backend.complete = refuse
    with pytest.raises(UpstreamError, match="no running server"):
        asyncio.run(relay.complete(endpoint, {"messages": [{"role": "user", "content": "hi"}]}))

"""The async SageMaker runtime client against a fake runtime that checks SigV4 and streams real
event-stream frames with irregular payload parts."""

import asyncio
import json

import pytest

from apps.backends import http_upstream
from apps.backends.sagemaker import runtime
from apps.backends.sse import DONE, SSEParser
from apps.backends.upstream_errors import UpstreamError, UpstreamRejected
from tests.chat.fakes import FakeModelServer, encode_event_message


@pytest.fixture
def aws_env(monkeypatch, settings):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.setattr(runtime, "_credentials", None)
    return settings


def run(coroutine):
    async def go():
        try:
            return await coroutine
        finally:
            await http_upstream.close_sessions()
    return asyncio.run(go())


def collect(server, body: dict, seed: int = 7) -> list[bytes]:
    async def go():
        return [part async for part in runtime.invoke_endpoint_with_response_stream(
            "mh-ep", json.dumps(body).encode(), region="us-east-1")]
    return run(go())


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_stream_reframes_irregular_payload_parts(aws_env, seed):
    with FakeModelServer(kind="sagemaker", seed=seed) as server:
        aws_env.SAGEMAKER_RUNTIME_ENDPOINT_URL = server.url
        parts = collect(server, {"messages": [{"role": "user", "content": "hi"}], "stream": True})
    assert len(parts) > len(server.tokens) + 2, "the fake should cut the reply into many parts"
    parser = SSEParser()
    events = [e for p in parts for e in parser.feed(p)] + parser.flush()
    assert events[-1] == DONE
    chunks = [json.loads(e) for e in events[:-1]]
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    assert text == "".join(server.tokens)
    assert server.requests[0].path == "/endpoints/mh-ep/invocations-response-stream"


def test_invoke_endpoint_is_signed_and_returns_the_body(aws_env):
    with FakeModelServer(kind="sagemaker") as server:
        aws_env.SAGEMAKER_RUNTIME_ENDPOINT_URL = server.url
        raw = run(runtime.invoke_endpoint("mh-ep", b'{"messages": []}', region="us-east-1"))
    assert json.loads(raw)["choices"][0]["message"]["content"] == "".join(server.tokens)


def test_bad_signature_is_an_upstream_error(aws_env, monkeypatch):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wrong")
    with FakeModelServer(kind="sagemaker") as server:
        aws_env.SAGEMAKER_RUNTIME_ENDPOINT_URL = server.url
        with pytest.raises(UpstreamError, match="SignatureDoesNotMatch"):
            run(runtime.invoke_endpoint("mh-ep", b"{}", region="us-east-1"))


def test_model_error_with_client_status_is_a_rejection(aws_env):
    with FakeModelServer(kind="sagemaker", fail_status=424) as server:
        aws_env.SAGEMAKER_RUNTIME_ENDPOINT_URL = server.url
        with pytest.raises(UpstreamError) as info:
            run(runtime.invoke_endpoint("mh-ep", b"{}", region="us-east-1"))
    assert not isinstance(info.value, UpstreamRejected)
    assert "failing with 424" in str(info.value)


def test_model_stream_error_event_raises():
    from botocore.eventstream import EventStreamBuffer

    frame = encode_event_message({":message-type": "exception", ":exception-type": "ModelStreamError"},
                                 json.dumps({"Message": "boom", "ErrorCode": "StreamBroken"}).encode())
    buffer = EventStreamBuffer()
    buffer.add_data(frame)
    with pytest.raises(UpstreamError, match="StreamBroken"):
        runtime._payload(next(buffer))


def test_serving_backend_chats_through_the_signed_runtime_with_the_remote_name(aws_env):
    from apps.backends.base import EndpointRef
    from apps.backends.sagemaker.serving import SageMakerServing

    backend, ref = SageMakerServing(), EndpointRef(endpoint_id=7, remote_name="mh-qwen-7", region="us-east-1")
    body = json.dumps({"messages": [{"role": "user", "content": "hi"}]}).encode()

    async def stream():
        return b"".join([part async for part in await backend.stream(ref, body)])

    with FakeModelServer(kind="sagemaker") as server:
        aws_env.SAGEMAKER_RUNTIME_ENDPOINT_URL = server.url
        reply = json.loads(run(backend.complete(ref, body)))
        streamed = run(stream())
    assert reply["choices"][0]["message"]["content"] == "".join(server.tokens)
    assert [r.path for r in server.requests] == ["/endpoints/mh-qwen-7/invocations",
                                                 "/endpoints/mh-qwen-7/invocations-response-stream"]
    assert streamed.endswith(b"data: [DONE]\n\n")

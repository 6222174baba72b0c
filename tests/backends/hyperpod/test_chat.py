"""Chat through the HyperPod backend: HTTPS to the cluster URL (certificate verified against the
configured CA), the endpoint's API key as a Bearer header, and the served model name as `model`."""

import asyncio
import json

import pytest

from apps.backends import http_upstream
from apps.backends.base import EndpointRef
from apps.backends.hyperpod.serving import HyperPodServing
from apps.backends.upstream_errors import UpstreamError
from apps.chat.completions import upstream_body
from tests.chat.conftest import self_signed, server_tls
from tests.chat.fakes import TOKENS, FakeModelServer

KEY = "sk-hp-chat-key-5a6b7c8d9e0f11223344"


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    return self_signed(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def upstream(certs, settings):
    settings.CHAT_UPSTREAM_CA_BUNDLE = certs[0]
    with FakeModelServer(kind="openai", api_key=KEY, ssl_context=server_tls(*certs), served_model="Qwen3-8B") as server:
        yield server


def ref(upstream, api_key=KEY) -> EndpointRef:
    return EndpointRef(endpoint_id=42, remote_name="mh-qwen3-8b-42", api_key=api_key,
                       invocation_url=f"{upstream.url}/v1/chat/completions",
                       options={"cluster_id": 1, "served_model_name": "Qwen3-8B"})


BODY = json.dumps({"model": "my-public-endpoint-name", "stream": True,
                   "messages": [{"role": "user", "content": "hi"}]}).encode()


def run(coroutine_factory):
    async def main():
        try:
            return await coroutine_factory()
        finally:
            await http_upstream.close_sessions()

    return asyncio.run(main())


def test_issue_08_stream_sends_the_key_and_the_served_model_name(upstream):
    """The client names the endpoint; the chat code sends the engine's served name, which the backend keeps."""
    body = upstream_body(json.loads(BODY), "Qwen3-8B")

    async def collect():
        chunks = await HyperPodServing().stream(ref(upstream), body)
        return b"".join([chunk async for chunk in chunks])

    text = run(collect).decode()
    assert "".join(TOKENS[:2]) in "".join(
        json.loads(line[6:])["choices"][0]["delta"].get("content", "")
        for line in text.splitlines() if line.startswith("data: {"))
    sent = upstream.requests[-1]
    assert sent.headers["authorization"] == f"Bearer {KEY}" and sent.body["model"] == "Qwen3-8B"


def test_complete_without_streaming(upstream):
    body = json.dumps({"model": "Qwen3-8B", "messages": [{"role": "user", "content": "hi"}]}).encode()
    reply = json.loads(run(lambda: HyperPodServing().complete(ref(upstream), body)))
    assert reply["choices"][0]["message"]["content"]


def test_issue_01_a_wrong_key_is_a_clear_error(upstream):
    with pytest.raises(UpstreamError, match="refused ModelHub's credentials"):
        run(lambda: HyperPodServing().complete(ref(upstream, api_key="sk-wrong"), BODY))


def test_plain_http_urls_are_refused(upstream):
    insecure = EndpointRef(endpoint_id=1, remote_name="x", invocation_url="http://example.internal/v1/chat/completions")
    with pytest.raises(UpstreamError, match="HTTPS"):
        run(lambda: HyperPodServing().complete(insecure, BODY))

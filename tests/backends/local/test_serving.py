"""Local endpoints: a model server on a loopback port, healthy before in service, streamed through
http_upstream, restarted or failed when it dies, gone after delete. Needs the ML environment."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import signal
import time

import pytest

from apps.backends import http_upstream
from apps.backends.base import Deployment, EndpointPhase, EndpointRef, ModelSource
from apps.backends.errors import RemoteValidationError
from apps.backends.local import process
from apps.backends.local.serving import LocalServing, engine_argv, served_models


def deployment(model, name="mh-ep") -> Deployment:
    return Deployment(endpoint_id=1, remote_name=name, owner="alice", display_name="tiny", engine="vllm",
                      engine_version="", served_model_name="tiny-chat", model=ModelSource(uri=str(model)),
                      instance_type="local", instance_count=1, environment={},
                      argv=("python3", "-m", "vllm.entrypoints.openai.api_server", "--model", "/opt/ml/model",
                            "--host", "0.0.0.0", "--port", "8080"))


def wait_for(backend, ref, phases, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = backend.describe(ref)
        if state.phase in phases:
            return state
        time.sleep(0.3)
    raise AssertionError(f"{ref.remote_name} never reached {phases}: {state}")


def state_file(storage, name="mh-ep"):
    return process.read_json(storage / "endpoints" / name / "state.json")


async def chat(ref, backend, body):
    chunks = [chunk async for chunk in await backend.stream(ref, json.dumps(body).encode())]
    reply = await backend.complete(ref, json.dumps({**body, "stream": False}).encode())
    await http_upstream.close_sessions()
    return b"".join(chunks).decode(), json.loads(reply)


def test_engine_argv_points_the_deployment_flags_at_the_local_folder_and_port(tmp_path):
    argv = engine_argv(("python3", "-m", "vllm.entrypoints.openai.api_server", "--model", "/opt/ml/model",
                        "--max-model-len", "4096", "--host", "0.0.0.0"), "/venv/bin/python", tmp_path, 9000)
    assert argv == ["/venv/bin/python", "-m", "vllm.entrypoints.openai.api_server", "--model", str(tmp_path),
                    "--max-model-len", "4096", "--host", "127.0.0.1", "--port", "9000"]


def test_a_model_that_is_not_a_local_folder_is_refused(storage, ml_env):
    with pytest.raises(RemoteValidationError, match="model folders on this machine"):
        LocalServing().deploy(deployment("Qwen/Qwen3-0.6B"))


@pytest.fixture
def endpoint(storage, ml_env):
    """(backend, ref) of an endpoint named mh-ep, deleted after the test whatever happened."""
    backend, ref = LocalServing(), EndpointRef(endpoint_id=1, remote_name="mh-ep")
    yield backend, ref
    backend.delete(ref)


def test_adapters_beside_a_base_are_refused(storage, ml_env, tiny_model):
    with pytest.raises(RemoteValidationError, match="serves one model"):
        LocalServing().deploy(dataclasses.replace(deployment(tiny_model), model=ModelSource(
            uri=str(tiny_model), adapters=(("a", str(tiny_model)),))))


def test_serve_stream_restart_and_delete(storage, endpoint, tiny_model, settings):
    settings.LOCAL_SERVER_RESTARTS = 1
    backend, ref = endpoint
    first = backend.deploy(deployment(tiny_model))
    assert first.phase == EndpointPhase.CREATING and first.detail == "transformers"  # no GPU here: our server
    state = wait_for(backend, ref, {EndpointPhase.IN_SERVICE})
    assert state.invocation_url.startswith("http://127.0.0.1:")
    port = state_file(storage)["port"]
    assert served_models(port) == ["tiny-chat"]

    body = {"model": "tiny-chat", "stream": True, "max_tokens": 6, "temperature": 0,
            "messages": [{"role": "user", "content": "hi"}]}
    streamed, whole = asyncio.run(chat(ref, backend, body))
    events = [line[len("data: "):] for line in streamed.splitlines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert chunks[-1]["choices"][0]["finish_reason"] in ("stop", "length")
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    assert whole["choices"][0]["message"]["content"] == text  # greedy: the same reply both ways
    assert whole["usage"]["completion_tokens"] >= 1

    # The server dies: it is started again once, then the endpoint fails with the reason.
    first_pid = state_file(storage)["pid"]
    os.killpg(first_pid, signal.SIGKILL)
    time.sleep(0.3)
    restarted = backend.describe(ref)
    assert restarted.phase == EndpointPhase.CREATING and restarted.remote_status == "restarting"
    assert state_file(storage)["pid"] != first_pid
    wait_for(backend, ref, {EndpointPhase.IN_SERVICE})
    os.killpg(state_file(storage)["pid"], signal.SIGKILL)
    time.sleep(0.3)
    failed = backend.describe(ref)
    assert failed.phase == EndpointPhase.FAILED and "exited" in failed.failure_reason

    backend.delete(ref)
    assert backend.describe(ref).phase == EndpointPhase.NOT_FOUND
    assert not (storage / "endpoints" / "mh-ep").exists()


def test_delete_ends_the_server_process(storage, endpoint, tiny_model):
    backend, ref = endpoint
    backend.deploy(deployment(tiny_model))
    wait_for(backend, ref, {EndpointPhase.IN_SERVICE})
    saved = state_file(storage)
    started = time.monotonic()
    backend.delete(ref)
    assert time.monotonic() - started < 10
    assert not process.is_alive(saved["pid"], saved["start_ticks"])

"""byoc/serve.py: argv from the environment, and the SageMaker proxy against a fake engine on loopback."""

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from apps.endpoints import engines
from byoc import serve

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "endpoints" / "golden"


# --- argv from the environment ---

def groups(argv):
    """Flags with their values, sorted (argparse does not care about their order)."""
    out = []
    for token in argv:
        if token.startswith("--"):
            out.append([token])
        else:
            out[-1].append(token)
    return sorted(map(tuple, out))


def test_command_line_from_golden_environment_matches_the_mapping():
    expected = json.loads((GOLDEN / "vllm_s3_llama8b_tools.json").read_text())["expected"]
    argv = serve.engine_command_line("vllm", expected["sagemaker_environment"], 8081)
    assert argv[:3] == ["python3", "-m", "vllm.entrypoints.openai.api_server"]
    assert argv[-4:] == ["--host", "127.0.0.1", "--port", "8081"]
    wanted = expected["engine_argv"][: expected["engine_argv"].index("--host")]
    assert groups(argv[3:-4]) == groups(wanted)


def test_sglang_command_line_and_model_defaults(tmp_path):
    env = {"SM_SGLANG_TP_SIZE": "2", "SM_SGLANG_ENABLE_METRICS": "", "SM_SGLANG_PORT": "9999"}
    (tmp_path / "config.json").write_text("{}")
    argv = serve.engine_command_line("sglang", env, 8081, model_dir=str(tmp_path))
    assert argv[:3] == ["python3", "-m", "sglang.launch_server"]
    assert argv[3:] == ["--enable-metrics", "--tp-size", "2", "--model-path", str(tmp_path),
                        "--host", "127.0.0.1", "--port", "8081"]  # SM_SGLANG_PORT ignored
    empty = tmp_path / "empty"
    empty.mkdir()
    argv = serve.engine_command_line("vllm", {"HF_MODEL_ID": "org/model"}, 8081, model_dir=str(empty))
    assert argv[3:5] == ["--model", "org/model"]
    with pytest.raises(serve.ConfigError, match="SM_VLLM_MODEL"):
        serve.engine_command_line("vllm", {}, 8081, model_dir=str(empty))
    with pytest.raises(serve.ConfigError):
        serve.engine_command_line("lmi", {}, 8081)


def test_values_with_spaces_stay_one_argument():
    argv = serve.engine_command_line("vllm", {"SM_VLLM_MODEL": "/m", "SM_VLLM_CHAT_TEMPLATE": "a b; rm -rf /"}, 1)
    assert argv[argv.index("--chat-template") + 1] == "a b; rm -rf /"


@pytest.mark.parametrize(("body", "header", "route"), [
    (b'{"messages": []}', None, "/v1/chat/completions"),
    (b'{"prompt": "hi"}', None, "/v1/completions"),
    (b'{"input": "hi"}', None, "/v1/embeddings"),
    (b'{"messages": []}', "route=/v1/audio/transcriptions", "/v1/audio/transcriptions"),
    (b'{"messages": []}', "route=/admin", "/v1/chat/completions"),
    (b'{"messages": []}', "route=/v1/../admin", "/v1/chat/completions"),
    (b'{"other": 1}', None, None),
    (b"not json", None, None),
    (b"[1, 2]", None, None),
])
def test_invocation_route(body, header, route):
    assert serve.invocation_route(body, header) == route


# --- the proxy against a fake engine ---

class FakeEngine(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    state: dict = {}

    def log_message(self, *args):
        pass

    def _json(self, status, payload):
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self._json(200 if self.path == "/health" and self.state["healthy"] else 503, {})

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if body.get("fail"):
            return self._json(422, {"error": "bad request from the engine"})
        if not body.get("stream"):
            return self._json(200, {"path": self.path, "body": body})
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

        def chunk(data: bytes):
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()

        chunk(b'data: {"n": 1}\n\n')
        # The second piece is only sent once the client has seen the first: a buffering proxy fails here.
        released = self.state["release"].wait(timeout=5)
        chunk(b'data: {"n": 2}\n\n' if released else b"data: buffered\n\n")
        chunk(b"data: [DONE]\n\n")
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


@pytest.fixture
def proxy():
    FakeEngine.state = {"healthy": True, "release": threading.Event()}
    engine = ThreadingHTTPServer(("127.0.0.1", 0), FakeEngine)
    server = serve.make_server(("127.0.0.1", 0), engine.server_address)
    for s in (engine, server):
        threading.Thread(target=s.serve_forever, daemon=True).start()
    yield server.server_address, FakeEngine.state, engine
    server.shutdown()
    engine.shutdown()
    server.server_close()
    engine.server_close()


def call(address, method, path, body=None, headers=None):
    connection = http.client.HTTPConnection(*address, timeout=10)
    connection.request(method, path, body=json.dumps(body).encode() if body is not None else None,
                       headers={"Content-Type": "application/json", **(headers or {})})
    response = connection.getresponse()
    data = response.read()
    connection.close()
    return response.status, data


def test_ping_follows_engine_health(proxy):
    address, state, engine = proxy
    assert call(address, "GET", "/ping")[0] == 200
    state["healthy"] = False
    assert call(address, "GET", "/ping")[0] == 503


def test_ping_is_503_when_the_engine_is_down():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    server = serve.make_server(("127.0.0.1", 0), ("127.0.0.1", closed_port))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        assert call(server.server_address, "GET", "/ping")[0] == 503
        status, body = call(server.server_address, "POST", "/invocations", {"messages": []})
        assert status == 503 and b"not reachable" in body
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(("payload", "path"), [
    ({"model": "m", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 4}, "/v1/chat/completions"),
    ({"model": "m", "prompt": "hi"}, "/v1/completions"),
    ({"model": "m", "input": "hi"}, "/v1/embeddings"),
])
def test_invocations_reach_the_right_route_with_the_same_body(proxy, payload, path):
    address, _, _ = proxy
    status, data = call(address, "POST", "/invocations", payload)
    assert status == 200
    assert json.loads(data) == {"path": path, "body": payload}


def test_custom_attributes_route(proxy):
    address, _, _ = proxy
    status, data = call(address, "POST", "/invocations", {"input": "x"},
                        {"X-Amzn-SageMaker-Custom-Attributes": "route=/v1/score"})
    assert status == 200 and json.loads(data)["path"] == "/v1/score"


def test_bad_bodies_and_paths(proxy):
    address, _, _ = proxy
    assert call(address, "POST", "/invocations", {"nothing": 1})[0] == 400
    assert call(address, "GET", "/admin")[0] == 404
    assert call(address, "POST", "/admin", {})[0] == 404
    status, data = call(address, "POST", "/invocations", {"messages": [], "fail": True})
    assert status == 422 and json.loads(data) == {"error": "bad request from the engine"}


def test_streaming_replies_pass_through_piece_by_piece(proxy):
    address, state, _ = proxy
    connection = http.client.HTTPConnection(*address, timeout=10)
    connection.request("POST", "/invocations", body=json.dumps({"messages": [], "stream": True}),
                       headers={"Content-Type": "application/json"})
    response = connection.getresponse()
    assert response.status == 200 and response.getheader("Content-Type") == "text/event-stream"
    first = b""
    while b"\n\n" not in first:
        first += response.read1(1024)
    assert first == b'data: {"n": 1}\n\n'
    state["release"].set()
    rest = response.read()
    connection.close()
    assert rest == b'data: {"n": 2}\n\ndata: [DONE]\n\n'


# --- the real entry point as a process, with a fake engine behind it ---

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_entry_point_starts_engine_without_shell_and_serves_sagemaker_contract(tmp_path):
    expected = json.loads((GOLDEN / "vllm_s3_llama8b_tools.json").read_text())["expected"]
    engine_port, listen_port = _free_port(), _free_port()
    argv_file = tmp_path / "argv.json"
    env = {
        "PATH": os.environ["PATH"], **expected["sagemaker_environment"],
        "MODELHUB_ENGINE_LAUNCHER": json.dumps([sys.executable, str(Path(__file__).parent / "fake_engine.py")]),
        "MODELHUB_ENGINE_PORT": str(engine_port), "SAGEMAKER_BIND_TO_PORT": str(listen_port),
        "FAKE_ENGINE_ARGV_FILE": str(argv_file),
    }
    process = subprocess.Popen([sys.executable, str(ROOT / "byoc" / "serve.py"), "vllm", "serve"], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        for _ in range(300):  # wait for readiness (not a timing assertion)
            try:
                if call(("127.0.0.1", listen_port), "GET", "/ping")[0] == 200:
                    break
            except OSError:
                pass
            assert process.poll() is None, process.stdout.read().decode()
            time.sleep(0.1)
        status, data = call(("127.0.0.1", listen_port), "POST", "/invocations",
                            {"model": "Llama-3.1-8B-Instruct", "messages": [{"role": "user", "content": "hi"}]})
        assert status == 200
        reply = json.loads(data)
        assert reply["path"] == "/v1/chat/completions" and reply["model"] == "Llama-3.1-8B-Instruct"
        recorded = json.loads(argv_file.read_text())
        assert recorded == engines.argv_from_dlc_env("vllm", expected["sagemaker_environment"]) + [
            "--host", "127.0.0.1", "--port", str(engine_port)]
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=30)
    assert code == 128 + signal.SIGTERM  # the engine was stopped and its status passed on


def test_entry_point_refuses_without_a_model(tmp_path):
    result = subprocess.run([sys.executable, str(ROOT / "byoc" / "serve.py"), "vllm"],
                            env={"PATH": os.environ["PATH"]}, capture_output=True, timeout=60)
    assert result.returncode == 2
    assert b"No model" in result.stderr

"""Serve entry point of ModelHub's custom vLLM / SGLang images (for versions the SageMaker DLCs lack).

    python3 /opt/modelhub/serve.py vllm|sglang [serve]

SageMaker starts the container with the argument `serve` and configures it by environment only,
so this reads the same SM_VLLM_* / SM_SGLANG_* variables as the DLCs (rendered by
apps/endpoints/engines.py, which the image carries as `modelhub_engines.py`), builds the engine's
argv from them with the same table, starts the engine on 127.0.0.1:8081 without a shell, and
serves SageMaker's contract in front of it on 8080 (or SAGEMAKER_BIND_TO_PORT):

- `GET /ping`: 200 when the engine's `/health` answers 200, else 503;
- `POST /invocations`: forwarded to the engine's OpenAI route chosen by the body (`messages` →
  chat completions, `prompt` → completions, `input` → embeddings) or by the header
  `X-Amzn-SageMaker-Custom-Attributes: route=/v1/...`; streamed replies (SSE) are passed on as
  they arrive.

Only the standard library is used, so the entry point runs in any engine image.
"""

import http.client
import json
import logging
import os
import signal
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

try:  # inside the image
    import modelhub_engines as engines
except ImportError:  # in the repository (tests)
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from apps.endpoints import engines

log = logging.getLogger("modelhub.serve")

MODEL_DIR = engines.MODEL_DIR
MODEL_FLAGS = {"vllm": "--model", "sglang": "--model-path"}
ROUTES_BY_BODY = (("messages", "/v1/chat/completions"), ("prompt", "/v1/completions"), ("input", "/v1/embeddings"))
HEALTH_PATH = "/health"
MAX_BODY_BYTES = 64 * 1024 * 1024
READ_CHUNK = 64 * 1024


class ConfigError(Exception):
    pass


def _model_dir_has_files(path: str) -> bool:
    directory = Path(path)
    return directory.is_dir() and any(directory.iterdir())


def engine_command_line(engine: str, env: dict[str, str], port: int, *, model_dir: str = MODEL_DIR,
                        launcher: list[str] | None = None) -> list[str]:
    """The engine's full argv from the container environment; the model defaults like the DLCs'.

    Model: SM_VLLM_MODEL / SM_SGLANG_MODEL_PATH, else `model_dir` when it holds files, else HF_MODEL_ID.
    """
    if engine not in MODEL_FLAGS:
        raise ConfigError(f"Unknown engine {engine!r}; use vllm or sglang.")
    flags = engines.argv_from_dlc_env(engine, env)
    if MODEL_FLAGS[engine] not in flags:
        if _model_dir_has_files(model_dir):
            flags += [MODEL_FLAGS[engine], model_dir]
        elif env.get("HF_MODEL_ID"):
            flags += [MODEL_FLAGS[engine], env["HF_MODEL_ID"]]
        else:
            raise ConfigError(
                f"No model: set {engines.dlc_env_key(engine, MODEL_FLAGS[engine])}, attach one at {model_dir} "
                "or set HF_MODEL_ID."
            )
    return [*(launcher or engines.engine_command(engine)), *flags, "--host", "127.0.0.1", "--port", str(port)]


def invocation_route(body: bytes, custom_attributes: str | None = None) -> str | None:
    """The engine route for an /invocations body; None when neither body nor header says."""
    for attribute in (custom_attributes or "").split(","):
        key, _, value = attribute.strip().partition("=")
        if key == "route" and value.startswith("/v1/") and ".." not in value:
            return value
    try:
        payload = json.loads(body or b"{}")
    except ValueError:
        return None
    if not isinstance(payload, dict):
        return None
    for key, route in ROUTES_BY_BODY:
        if key in payload:
            return route
    return None


class ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    engine_address: tuple[str, int] = ("127.0.0.1", 8081)
    engine_timeout: float = 3600.0

    def log_message(self, format, *args):  # noqa: A002 - BaseHTTPRequestHandler's signature
        log.debug("%s " + format, self.address_string(), *args)

    def _reply(self, status: int, payload: dict | None = None) -> None:
        body = json.dumps(payload).encode() if payload is not None else b""
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _connection(self, timeout: float) -> http.client.HTTPConnection:
        host, port = self.engine_address
        return http.client.HTTPConnection(host, port, timeout=timeout)

    def do_GET(self):  # noqa: N802 - http.server naming
        if self.path != "/ping":
            return self._reply(404, {"error": "Not found: SageMaker calls /ping and /invocations."})
        try:
            connection = self._connection(timeout=5)
            connection.request("GET", HEALTH_PATH)
            healthy = connection.getresponse().status == 200
            connection.close()
        except OSError:
            healthy = False
        return self._reply(200 if healthy else 503, None if healthy else {"error": "The engine is not ready."})

    def do_POST(self):  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            return self._reply(413, {"error": f"Request bodies are limited to {MAX_BODY_BYTES} bytes."})
        body = self.rfile.read(length)
        if self.path == "/invocations":
            route = invocation_route(body, self.headers.get("X-Amzn-SageMaker-Custom-Attributes"))
            if route is None:
                return self._reply(400, {"error": "Send an OpenAI body with 'messages', 'prompt' or 'input'."})
        elif self.path.startswith("/v1/"):
            route = self.path
        else:
            return self._reply(404, {"error": "Not found: SageMaker calls /ping and /invocations."})
        self._forward(route, body)

    def _forward(self, route: str, body: bytes) -> None:
        try:
            connection = self._connection(timeout=self.engine_timeout)
            connection.request("POST", route, body=body, headers={
                "Content-Type": self.headers.get("Content-Type") or "application/json",
                "Accept": self.headers.get("Accept") or "*/*",
            })
            upstream = connection.getresponse()
        except OSError as exc:
            return self._reply(503, {"error": f"The engine is not reachable: {exc.__class__.__name__}."})
        try:
            self.send_response(upstream.status)
            self.send_header("Content-Type", upstream.getheader("Content-Type") or "application/json")
            length = upstream.getheader("Content-Length")
            if length is not None:
                data = upstream.read()
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                return
            # A stream (SSE): pass each piece on as soon as the engine writes it.
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            while chunk := upstream.read1(READ_CHUNK):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        finally:
            connection.close()


def make_server(listen: tuple[str, int], engine_address: tuple[str, int]) -> ThreadingHTTPServer:
    handler = type("BoundProxyHandler", (ProxyHandler,), {"engine_address": engine_address})
    server = ThreadingHTTPServer(listen, handler)
    server.daemon_threads = True
    return server


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO"), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = [a for a in (sys.argv[1:] if argv is None else argv) if a != "serve"]
    if len(args) != 1:
        print("usage: serve.py vllm|sglang [serve]", file=sys.stderr)
        return 2
    engine = args[0]
    engine_port = int(os.environ.get("MODELHUB_ENGINE_PORT", "8081"))
    listen_port = int(os.environ.get("SAGEMAKER_BIND_TO_PORT", "8080"))
    # For tests and debugging: a JSON list replacing the engine's launcher (python3 -m …).
    launcher = json.loads(os.environ["MODELHUB_ENGINE_LAUNCHER"]) if os.environ.get("MODELHUB_ENGINE_LAUNCHER") else None
    try:
        command = engine_command_line(engine, dict(os.environ), engine_port, launcher=launcher)
    except (ConfigError, engines.EngineConfigError, ValueError) as exc:
        log.error("%s", exc)
        return 2
    log.info("starting %s: %s", engine, command)  # argv holds no secrets: HF_TOKEN stays in the environment
    process = subprocess.Popen(command)  # noqa: S603 - an argv list, no shell
    server = make_server(("0.0.0.0", listen_port), ("127.0.0.1", engine_port))  # noqa: S104 - SageMaker routes to it

    def stop(signum, frame):
        process.terminate()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    threading.Thread(target=server.serve_forever, name="proxy", daemon=True).start()
    log.info("SageMaker proxy on :%d → engine on 127.0.0.1:%d", listen_port, engine_port)
    code = process.wait()
    server.shutdown()
    log.info("engine exited with %s", code)
    return code if code >= 0 else 128 - code


if __name__ == "__main__":
    sys.exit(main())

"""A stand-in for `python3 -m vllm.entrypoints.openai.api_server`: records its argv, serves /health and chat.

Run by serve.py through MODELHUB_ENGINE_LAUNCHER in the end-to-end test; writes its argv (JSON) to
the file named by FAKE_ENGINE_ARGV_FILE.
"""

import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _send(self, status, payload):
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self._send(200 if self.path == "/health" else 404, {})

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self._send(200, {"path": self.path, "model": body.get("model"), "argv": sys.argv[1:]})


def main():
    argv = sys.argv[1:]
    with open(os.environ["FAKE_ENGINE_ARGV_FILE"], "w") as fh:
        json.dump(argv, fh)
    port = int(argv[argv.index("--port") + 1])
    host = argv[argv.index("--host") + 1]
    ThreadingHTTPServer((host, port), Handler).serve_forever()


if __name__ == "__main__":
    main()

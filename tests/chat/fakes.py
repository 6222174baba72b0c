"""Fake model servers on loopback, speaking real HTTP from their own thread and event loop.

- `FakeModelServer(kind="openai")`: an OpenAI-compatible chat server (local engine or HyperPod;
  HTTPS when given an SSL context, API key checked when given one). `send_done=False` behaves like
  `transformers serve`, which ends its streams without `data: [DONE]`.
- `FakeModelServer(kind="sagemaker")`: the SageMaker runtime API. It checks the SigV4 signature
  of every request, and answers InvokeEndpointWithResponseStream with
  `application/vnd.amazon.eventstream` frames whose PayloadPart boundaries cut SSE events, lines
  and UTF-8 characters at random places, written to the socket in pieces that split frames too.

Every request is recorded (`requests`), and so is every stream the client abandoned (`cancelled`).
"""

import asyncio
import binascii
import json
import random
import ssl
import struct
import threading
import time
from dataclasses import dataclass, field

TOKENS = ["Hello", ",", " wörld", "!", " Ünïcode", " 日本", " 🎉", " works", "."]


def encode_event_message(headers: dict[str, str], payload: bytes) -> bytes:
    """One `application/vnd.amazon.eventstream` message (string headers only)."""
    encoded = b"".join(
        bytes([len(k)]) + k.encode() + b"\x07" + struct.pack(">H", len(v.encode())) + v.encode()
        for k, v in headers.items()
    )
    prelude = struct.pack(">II", 12 + len(encoded) + len(payload) + 4, len(encoded))
    message = prelude + struct.pack(">I", binascii.crc32(prelude)) + encoded + payload
    return message + struct.pack(">I", binascii.crc32(message))


def payload_part(data: bytes) -> bytes:
    return encode_event_message({":message-type": "event", ":event-type": "PayloadPart",
                                 ":content-type": "application/octet-stream"}, data)


def irregular_cuts(data: bytes, rng: random.Random, low: int = 1, high: int = 23) -> list[bytes]:
    pieces, i = [], 0
    while i < len(data):
        n = rng.randint(low, high)
        pieces.append(data[i:i + n])
        i += n
    return pieces


class _StreamFailure:
    pass


@dataclass
class Recorded:
    path: str
    headers: dict
    body: dict


@dataclass
class FakeModelServer:
    kind: str = "openai"  # or "sagemaker"
    tokens: list = field(default_factory=lambda: list(TOKENS))
    delay: float = 0.0  # seconds between tokens
    send_done: bool = True
    api_key: str | None = None
    ssl_context: ssl.SSLContext | None = None
    served_model: str = "served-model"
    fail_status: int | None = None  # answer every request with this HTTP status
    stall: float = 0.0  # wait this long before answering at all
    fail_after: int | None = None  # break a stream with an error after this many tokens
    jsonlines: bool = False  # stream one JSON object per line, as LMI does, instead of SSE
    seed: int = 7
    aws_credentials: tuple[str, str] = ("testing", "testing")
    region: str = "us-east-1"

    def __post_init__(self):
        self.requests: list[Recorded] = []
        self.cancelled = 0
        self.completed = 0
        self.connections = 0  # TCP connections accepted (keep-alive reuses them)
        self.end_delay = 0.0  # seconds between the last event and the end of the body (uvicorn writes it apart)
        self.errors: list[str] = []
        self._rng = random.Random(self.seed)
        self._ready = threading.Event()

    # lifecycle -------------------------------------------------------------------------------
    def __enter__(self):
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc):
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    @property
    def url(self) -> str:
        scheme = "https" if self.ssl_context else "http"
        host = "localhost" if self.ssl_context else "127.0.0.1"
        return f"{scheme}://{host}:{self.port}"

    def _run(self):
        self._loop = asyncio.new_event_loop()
        self._loop.run_until_complete(self._serve())

    async def _serve(self):
        self._stop = asyncio.Event()
        server = await asyncio.start_server(self._handle, "127.0.0.1", 0, ssl=self.ssl_context, backlog=2048)
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        async with server:
            await self._stop.wait()
        pending = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    # HTTP ------------------------------------------------------------------------------------
    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.connections += 1
        try:
            while True:
                request_line = await reader.readline()
                if not request_line:
                    return
                method, path, _ = request_line.decode().split(" ", 2)
                headers = {}
                while True:
                    line = await reader.readline()
                    if line in (b"\r\n", b"\n", b""):
                        break
                    name, _, value = line.decode().partition(":")
                    headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", 0)))
                keep_alive = await self._dispatch(method, path, headers, body, writer)
                if not keep_alive:
                    return
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
            return
        finally:
            try:
                writer.close()
            except Exception:
                pass

    async def _respond(self, writer, status: int, body: bytes, content_type="application/json", extra=None):
        head = [f"HTTP/1.1 {status} X", f"Content-Type: {content_type}", f"Content-Length: {len(body)}"]
        head += [f"{k}: {v}" for k, v in (extra or {}).items()]
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        await writer.drain()

    async def _dispatch(self, method, path, headers, raw, writer) -> bool:
        if method == "GET" and path.endswith("/v1/models"):
            await self._respond(writer, 200, json.dumps({"object": "list", "data": [{"id": self.served_model}]}).encode())
            return True
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = {"_raw": raw.decode(errors="replace")}
        self.requests.append(Recorded(path, headers, body))
        if self.stall:
            await asyncio.sleep(self.stall)
        problem = self._check_auth(method, path, headers, raw)
        if problem:
            status, message = problem
            await self._respond(writer, status, json.dumps({"error": {"message": message}}).encode())
            return True
        if self.fail_status:
            await self._respond(writer, self.fail_status, json.dumps({"message": f"failing with {self.fail_status}"}).encode(),
                                extra={"x-amzn-ErrorType": "ModelError:"} if self.kind == "sagemaker" else None)
            return True
        streaming = path.endswith("/invocations-response-stream") if self.kind == "sagemaker" else bool(body.get("stream"))
        if not streaming:
            await self._respond(writer, 200, json.dumps(self.completion(body)).encode())
            self.completed += 1
            return True
        return await self._stream(writer, body)  # keep-alive after a complete stream, as uvicorn (vLLM, SGLang) does

    def _check_auth(self, method, path, headers, raw):
        if self.kind == "openai":
            if not path.endswith("/v1/chat/completions"):
                return 404, f"no route {path}"
            if self.api_key and headers.get("authorization") != f"Bearer {self.api_key}":
                return 401, "bad api key"
            return None
        if not path.startswith("/endpoints/"):
            return 404, f"no route {path}"
        return self._check_sigv4(method, path, headers, raw)

    def _check_sigv4(self, method, path, headers, raw):
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials

        authorization = headers.get("authorization", "")
        if not authorization.startswith("AWS4-HMAC-SHA256 "):
            return 403, "MissingAuthenticationToken"
        fields = dict(part.strip().split("=", 1) for part in authorization[len("AWS4-HMAC-SHA256 "):].split(","))
        scope = fields["Credential"].split("/")
        if scope[0] != self.aws_credentials[0] or scope[2:4] != [self.region, "sagemaker"]:
            return 403, f"bad credential scope {fields['Credential']}"
        signed = fields["SignedHeaders"].split(";")
        request = AWSRequest(method=method, url=f"http://{headers['host']}{path}", data=raw,
                             headers={h: headers[h] for h in signed if h != "host"})
        request.context["timestamp"] = headers["x-amz-date"]
        auth = SigV4Auth(Credentials(*self.aws_credentials), "sagemaker", self.region)
        expected = auth.signature(auth.string_to_sign(request, auth.canonical_request(request)), request)
        if expected != fields["Signature"]:
            return 403, "SignatureDoesNotMatch"
        return None

    # replies ---------------------------------------------------------------------------------
    def _model(self, body):
        return body.get("model", self.served_model)

    def completion(self, body) -> dict:
        text = "".join(self.tokens)
        return {
            "id": "chatcmpl-fake", "object": "chat.completion", "created": int(time.time()), "model": self._model(body),
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 11, "completion_tokens": len(self.tokens), "total_tokens": 11 + len(self.tokens)},
        }

    def chunk(self, body, delta, finish=None, usage=None) -> bytes:
        data = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": int(time.time()),
                "model": self._model(body), "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
        if usage:
            data["usage"] = usage
        if self.jsonlines:
            return json.dumps(data, ensure_ascii=False).encode() + b"\n"
        return b"data: " + json.dumps(data, ensure_ascii=False).encode() + b"\n\n"

    def events(self, body):
        """The SSE events of a streamed reply, one per token, as (bytes, delay before it)."""
        yield self.chunk(body, {"role": "assistant", "content": ""}), 0
        for index, token in enumerate(self.tokens):
            if index == self.fail_after:
                yield _StreamFailure(), 0
                return
            yield self.chunk(body, {"content": token}), self.delay
        usage = {"prompt_tokens": 11, "completion_tokens": len(self.tokens), "total_tokens": 11 + len(self.tokens)}
        yield self.chunk(body, {}, finish="stop", usage=usage), 0
        if self.send_done and not self.jsonlines:
            yield b"data: [DONE]\n\n", 0

    async def _stream(self, writer, body) -> bool:
        if self.kind == "sagemaker":
            head = "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.amazon.eventstream\r\n" \
                   "X-Amzn-SageMaker-Content-Type: text/event-stream\r\nx-Amzn-Invoked-Production-Variant: AllTraffic\r\n"
        else:
            head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
        writer.write((head + "Transfer-Encoding: chunked\r\n\r\n").encode())
        try:
            carry = b""
            for data, delay in self.events(body):
                if delay:
                    await asyncio.sleep(delay)
                if isinstance(data, _StreamFailure):
                    if self.kind == "sagemaker":  # what SageMaker sends when the container breaks mid-stream
                        frame = encode_event_message(
                            {":message-type": "exception", ":exception-type": "ModelStreamError",
                             ":content-type": "application/json"},
                            json.dumps({"Message": "container exited", "ErrorCode": "StreamBroken"}).encode())
                        await self._write_chunk(writer, (payload_part(carry) if carry else b"") + frame)
                        carry = b""
                    else:  # vLLM's mid-stream error event
                        await self._write_chunk(writer, b'data: {"object": "error", "message": "engine died"}\n\n')
                    continue
                if self.kind == "sagemaker":
                    # Payload parts cut anywhere (mid-event, mid-character); each TCP write cuts frames too.
                    carry += data
                    parts = irregular_cuts(carry, self._rng)
                    carry = parts.pop() if parts and self._rng.random() < 0.5 else b""
                    frames = b"".join(payload_part(p) for p in parts)
                    for piece in irregular_cuts(frames, self._rng, 5, 60):
                        await self._write_chunk(writer, piece)
                else:
                    await self._write_chunk(writer, data)
            if carry:
                await self._write_chunk(writer, payload_part(carry))
            await writer.drain()
            if self.end_delay:
                await asyncio.sleep(self.end_delay)
            writer.write(b"0\r\n\r\n")
            await writer.drain()
            self.completed += 1
            return True
        except (ConnectionError, ssl.SSLError):
            self.cancelled += 1
            return False

    async def _write_chunk(self, writer, data: bytes):
        if writer.is_closing():
            raise ConnectionResetError
        writer.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        await writer.drain()

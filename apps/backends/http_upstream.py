"""OpenAI-compatible model servers over HTTP: HyperPod (HTTPS with the endpoint's API key, TLS
verified) and local engines (plain HTTP on loopback). The shared helper of HTTP-based serving
backends: they chat through `HttpChat`; the SageMaker runtime reuses the pooled sessions and
`relay_body`.

Everything is asynchronous (aiohttp, one pooled session per event loop and trust store), so one
web process holds hundreds of streams without a thread each. `stream()` returns the raw body bytes
as they arrive; framing is the caller's business (`apps.backends.sse`).
Closing the iterator (e.g. because our own client went away) closes the upstream connection,
which is how a model server learns to stop generating.
"""

import asyncio
import ipaddress
import ssl
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

import aiohttp
from django.conf import settings

from .upstream_errors import UpstreamError, UpstreamRejected, UpstreamTimeout, message_from_body

_sessions: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict]" = weakref.WeakKeyDictionary()


def _tls_context() -> ssl.SSLContext:
    """The system's trust store, plus CHAT_UPSTREAM_CA_BUNDLE (a private CA) when set."""
    context = ssl.create_default_context()
    if settings.CHAT_UPSTREAM_CA_BUNDLE:
        context.load_verify_locations(cafile=settings.CHAT_UPSTREAM_CA_BUNDLE)
    return context


def session(*, tls: bool) -> aiohttp.ClientSession:
    """The shared session of the running event loop (TLS sessions verify against the configured CA bundle).

    aiohttp rather than httpx: its C HTTP parser costs about a quarter of the CPU per streamed
    chunk, which is what bounds how many streams one process relays (bench/bench_gateway.py).
    """
    loop = asyncio.get_running_loop()
    per_loop = _sessions.setdefault(loop, {})
    key = "tls" if tls else "plain"
    client = per_loop.get(key)
    if client is None or client.closed:
        connector = aiohttp.TCPConnector(
            limit=settings.CHAT_UPSTREAM_MAX_CONNECTIONS, limit_per_host=0, ssl=_tls_context() if tls else False,
            keepalive_timeout=settings.CHAT_UPSTREAM_KEEPALIVE_SECONDS,
        )
        timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=settings.CHAT_UPSTREAM_CONNECT_TIMEOUT, sock_read=settings.CHAT_UPSTREAM_READ_TIMEOUT,
        )
        client = per_loop[key] = aiohttp.ClientSession(connector=connector, timeout=timeout, trust_env=False)
    return client


async def close_sessions() -> None:
    """Close the running loop's sessions (for code that runs its own short-lived loops, e.g. tests)."""
    for client in _sessions.pop(asyncio.get_running_loop(), {}).values():
        await client.close()


def chat_completions_url(base: str) -> str:
    """The chat completions URL of a server given either that URL or the server's base URL."""
    parts = urlsplit(base)
    path = parts.path.rstrip("/")
    if path.endswith("/chat/completions") or path.endswith("/invocations"):
        return base
    if path.endswith("/v1"):
        return f"{base.rstrip('/')}/chat/completions"
    return f"{base.rstrip('/')}/v1/chat/completions"


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(url: str, *, target: str) -> None:
    """HyperPod must be HTTPS; a local engine must be on loopback. Anything else is refused."""
    parts = urlsplit(url)
    if target == "hyperpod":
        if parts.scheme != "https" or not parts.hostname:
            raise UpstreamError("This HyperPod endpoint has no HTTPS invocation URL.")
    elif target == "local":
        if parts.scheme not in ("http", "https") or not _is_loopback(parts.hostname or ""):
            raise UpstreamError("A local endpoint must listen on the loopback interface.")
    else:
        raise UpstreamError(f"No HTTP upstream for target {target!r}.")


def _headers(api_key: str) -> dict[str, str]:
    headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    return headers


async def raise_for_status(response: aiohttp.ClientResponse) -> None:
    if response.status < 400:
        return
    message = message_from_body(await response.read()) or (response.reason or "")
    if response.status in (400, 413, 422):
        raise UpstreamRejected(f"The model server rejected the request: {message}")
    if response.status in (401, 403):
        raise UpstreamError(f"The model server refused ModelHub's credentials (HTTP {response.status}).")
    if response.status == 504:
        raise UpstreamTimeout(f"The model server timed out: {message}")
    raise UpstreamError(f"The model server answered HTTP {response.status}: {message}")


@asynccontextmanager
async def translated_errors(what: str = "The model server"):
    try:
        yield
    except TimeoutError as exc:  # aiohttp's read/connect timeouts are TimeoutErrors
        raise UpstreamTimeout(f"{what} did not answer in time.") from exc
    except aiohttp.ClientConnectorCertificateError as exc:
        raise UpstreamError(f"Could not reach {what.lower()}: its TLS certificate is not trusted.") from exc
    except aiohttp.ClientError as exc:
        raise UpstreamError(f"Could not reach {what.lower()}: {type(exc).__name__}.") from exc


async def relay_body(response: aiohttp.ClientResponse, what: str = "The model server") -> AsyncIterator[bytes]:
    """The body as it arrives, read errors translated. A stream abandoned half-way closes its
    connection (so the server stops generating); one read to the end goes back to the pool.

    One generator straight over aiohttp's reader: every layer of async iteration costs each
    relayed token a little."""
    finished = False
    try:
        async with translated_errors(what):
            while chunk := await response.content.readany():
                yield chunk
        finished = True
    finally:
        if finished:
            response.release()
        else:
            response.close()


async def complete(url: str, body: bytes, *, target: str, api_key: str = "") -> bytes:
    """POST a non-streaming chat request; the raw JSON reply."""
    check_url(url, target=target)
    async with translated_errors():
        async with session(tls=url.startswith("https:")).post(
            chat_completions_url(url), data=body, headers=_headers(api_key)
        ) as response:
            await raise_for_status(response)
            return await response.read()


async def stream(url: str, body: bytes, *, target: str, api_key: str = "") -> AsyncIterator[bytes]:
    """POST a streaming chat request; once the server has answered, its body bytes as they arrive."""
    check_url(url, target=target)
    async with translated_errors():
        response = await session(tls=url.startswith("https:")).post(
            chat_completions_url(url), data=body, headers=_headers(api_key)
        )
        try:
            await raise_for_status(response)
        except BaseException:
            response.close()
            raise
    return relay_body(response)


class HttpChat:
    """`stream` and `complete` (Capability.STREAMING_CHAT) for a serving backend whose endpoints are
    OpenAI-compatible servers at `EndpointRef.invocation_url`, sent `EndpointRef.api_key` as a bearer
    token when there is one. The backend's `name` picks the URL rule of `check_url`."""

    name: str

    async def stream(self, ref, body: bytes) -> AsyncIterator[bytes]:
        return await stream(ref.invocation_url, body, target=self.name, api_key=ref.api_key)

    async def complete(self, ref, body: bytes) -> bytes:
        return await complete(ref.invocation_url, body, target=self.name, api_key=ref.api_key)

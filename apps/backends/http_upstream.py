"""OpenAI-compatible model servers over HTTP: HyperPod (HTTPS with the endpoint's API key, TLS
verified) and local engines (plain HTTP on loopback).

Everything is asynchronous (httpx.AsyncClient, one pooled client per event loop and trust
store), so one web process holds hundreds of streams without a thread each. `stream()` yields
raw body bytes as they arrive; framing is the caller's business (`apps.backends.sse`).
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

import httpx
from django.conf import settings

from .upstream_errors import UpstreamError, UpstreamRejected, UpstreamTimeout, message_from_body

_clients: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict]" = weakref.WeakKeyDictionary()


def _tls_context() -> ssl.SSLContext:
    bundle = settings.CHAT_UPSTREAM_CA_BUNDLE
    return ssl.create_default_context(cafile=bundle or None)


def async_client(*, tls: bool) -> httpx.AsyncClient:
    """The shared client of the running event loop (TLS clients verify against the configured CA bundle)."""
    loop = asyncio.get_running_loop()
    per_loop = _clients.setdefault(loop, {})
    key = "tls" if tls else "plain"
    client = per_loop.get(key)
    if client is None:
        client = per_loop[key] = httpx.AsyncClient(
            verify=_tls_context() if tls else False,
            timeout=httpx.Timeout(
                connect=settings.CHAT_UPSTREAM_CONNECT_TIMEOUT,
                read=settings.CHAT_UPSTREAM_READ_TIMEOUT,
                write=settings.CHAT_UPSTREAM_CONNECT_TIMEOUT,
                pool=settings.CHAT_UPSTREAM_CONNECT_TIMEOUT,
            ),
            limits=httpx.Limits(max_connections=settings.CHAT_UPSTREAM_MAX_CONNECTIONS, max_keepalive_connections=64),
            trust_env=False,
            follow_redirects=False,
        )
    return client


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


async def raise_for_status(response: httpx.Response) -> None:
    if response.status_code < 400:
        return
    body = await response.aread()
    message = message_from_body(body) or response.reason_phrase
    if response.status_code in (400, 413, 422):
        raise UpstreamRejected(f"The model server rejected the request: {message}")
    if response.status_code in (401, 403):
        raise UpstreamError(f"The model server refused ModelHub's credentials (HTTP {response.status_code}).")
    if response.status_code == 504:
        raise UpstreamTimeout(f"The model server timed out: {message}")
    raise UpstreamError(f"The model server answered HTTP {response.status_code}: {message}")


@asynccontextmanager
async def translated_errors(what: str = "The model server"):
    try:
        yield
    except httpx.TimeoutException as exc:
        raise UpstreamTimeout(f"{what} did not answer in time.") from exc
    except httpx.HTTPError as exc:
        raise UpstreamError(f"Could not reach {what.lower()}: {type(exc).__name__}.") from exc


async def complete(url: str, body: bytes, *, target: str, api_key: str = "") -> bytes:
    """POST a non-streaming chat request; the raw JSON reply."""
    check_url(url, target=target)
    client = async_client(tls=url.startswith("https:"))
    async with translated_errors():
        response = await client.post(chat_completions_url(url), content=body, headers=_headers(api_key))
        await raise_for_status(response)
        return response.content


async def stream(url: str, body: bytes, *, target: str, api_key: str = "") -> AsyncIterator[bytes]:
    """POST a streaming chat request; yields the body bytes as they arrive."""
    check_url(url, target=target)
    client = async_client(tls=url.startswith("https:"))
    async with translated_errors():
        request = client.build_request("POST", chat_completions_url(url), content=body, headers=_headers(api_key))
        response = await client.send(request, stream=True)
        try:
            await raise_for_status(response)
            async for chunk in response.aiter_bytes():
                yield chunk
        finally:
            await response.aclose()

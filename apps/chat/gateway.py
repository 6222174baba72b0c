"""The OpenAI-compatible gateway at /v1: chat completions and models.

A plain ASGI app, mounted beside Django in `modelhub/asgi.py`: the gateway authenticates with
API tokens, not sessions, so it needs none of Django's middleware, and skipping Django's request
handling spares each request two OS threads (see `apps.core.asgi`). Database work happens only
when `access` has not seen the token and model lately, in one hop to a thread. The official
OpenAI clients work unchanged with `base_url=<ModelHub>/v1`.

Before anything else a request's Host must be one of ALLOWED_HOSTS (as Django checks for its pages),
and a chat request's token is checked before its body is read; the body is then bounded in size and
nesting depth before it is validated.
"""

import logging
import re
from contextlib import suppress

from django.conf import settings
from django.http.request import split_domain_port, validate_host

from apps.backends.upstream_errors import UpstreamError
from apps.core import limits
from apps.core.asgi import BodyTooLarge, ClientGone, header, read_body, send_event_stream, send_json

from . import access, relay
from .completions import check_request, parse_body, too_large
from .errors import GatewayError, from_upstream, invalid, model_not_found
from .streaming import relay_events

logger = logging.getLogger(__name__)

_MODEL_PATH = re.compile(r"/v1/models/(?P<name>[^/]+)/?")


async def application(scope, receive, send) -> None:
    """Route a /v1 request; every answer, errors included, is in OpenAI's shape."""
    path, method = scope["path"], scope["method"]
    try:
        _check_host(scope)
        if path.rstrip("/") == "/v1/chat/completions":
            _allow(method, "POST")
            await chat_completions(scope, receive, send)
        elif path.rstrip("/") == "/v1/models":
            _allow(method, "GET")
            await send_json(send, 200, {"object": "list", "data": await _models(scope)})
        elif match := _MODEL_PATH.fullmatch(path):
            _allow(method, "GET")
            await send_json(send, 200, _model_named(await _models(scope), match["name"]))
        else:
            raise GatewayError(404, f"Invalid URL ({method} {path})", code="unknown_url")
    except GatewayError as exc:
        await send_json(send, exc.status, exc.body(), exc.headers)
    except ClientGone:
        pass
    except Exception:
        logger.exception("The gateway failed on %s %s", method, path)
        failure = GatewayError(500, "The gateway failed; the error is logged.", type="api_error", code="internal_error")
        with suppress(RuntimeError):  # raised if the response had already started: the server closes it
            await send_json(send, failure.status, failure.body())


def _check_host(scope) -> None:
    """Django's rule for its own pages, applied to /v1 too: the Host header must be one of ALLOWED_HOSTS."""
    host = header(scope, b"host")
    if not host and scope.get("server"):
        host = f"{scope['server'][0]}:{scope['server'][1]}"
    allowed = settings.ALLOWED_HOSTS
    if settings.DEBUG and not allowed:
        allowed = [".localhost", "127.0.0.1", "[::1]"]
    domain, _ = split_domain_port(host)
    if not domain or not validate_host(domain, allowed):
        raise GatewayError(400, "Invalid Host header: this server does not answer for that name.",
                           code="invalid_host")


def _allow(method: str, allowed: str) -> None:
    if method != allowed:
        raise GatewayError(405, f"Use {allowed} for this URL.", code="method_not_allowed", headers={"Allow": allowed})


async def chat_completions(scope, receive, send) -> None:
    authorization = header(scope, b"authorization")
    await access.aauthenticate(authorization)
    try:
        raw = await read_body(scope, receive, settings.CHAT_MAX_REQUEST_BYTES)
    except BodyTooLarge:
        raise too_large() from None
    data = _bounded(raw)
    _, model = await access.aadmit(authorization, data.get("model"))
    completion = check_request(data)
    try:
        if not completion["stream"]:
            reply = await relay.complete(model.endpoint, completion, model.upstream)
            reply["model"] = model.name
            await send_json(send, 200, reply)
            return
        first, chunks = await relay.open_stream(model.endpoint, completion, model.upstream)
    except UpstreamError as exc:
        logger.warning("Upstream failed for %s: %s", model.name, exc)
        raise from_upstream(exc) from None
    await send_event_stream(send, receive, relay_events(first, chunks, model.name))


def _bounded(raw: bytes) -> dict:
    """The parsed body, refused (400) when nested deeper than any chat request needs."""
    try:
        data = parse_body(raw)
    except RecursionError:
        data = None
    if data is None or limits.too_deep(data):
        raise invalid(f"The request body is nested more than {limits.MAX_DEPTH} levels deep.")
    return data


async def _models(scope) -> list[dict]:
    return await access.amodels_for(header(scope, b"authorization"))


def _model_named(models: list[dict], name: str) -> dict:
    for item in models:
        if item["id"] == name:
            return item
    raise model_not_found(name)

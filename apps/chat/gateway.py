"""The OpenAI-compatible gateway: /v1/chat/completions and /v1/models.

Asynchronous views: the database work of a request (token, group, rate counter, endpoint) runs in
one `sync_to_async` hop, the upstream call is async, and a streaming reply is relayed event by
event. The official OpenAI clients work unchanged with `base_url=<ModelHub>/v1`.
"""

import json
import logging

from asgiref.sync import sync_to_async
from django.http import JsonResponse, StreamingHttpResponse
from django.views.decorators.csrf import csrf_exempt

from apps.backends.sse import DONE_EVENT, event
from apps.backends.upstream_errors import UpstreamError

from . import access, relay
from .completions import check_request, parse_body, too_large
from .errors import GatewayError, from_upstream

logger = logging.getLogger(__name__)


def _method_not_allowed(allowed: str) -> JsonResponse:
    response = GatewayError(405, f"Use {allowed} for this URL.", code="method_not_allowed").response()
    response["Allow"] = allowed
    return response


def read_body(request) -> bytes:
    from django.conf import settings

    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > settings.CHAT_MAX_REQUEST_BYTES:
        raise too_large()
    # request.read(), not request.body: the size limit is ours (CHAT_MAX_REQUEST_BYTES), not Django's form limit.
    return request.read(settings.CHAT_MAX_REQUEST_BYTES + 1)


def dumps(data: dict) -> str:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


def chunk_event(chunk: dict, model: str, stats: relay.Stats | None) -> bytes:
    chunk["model"] = model
    if stats is not None:
        stats.observe(chunk)
    return event(dumps(chunk))


def relabeller(model: str, stats: relay.Stats | None):
    """Upstream event bytes → our SSE event for the client's `model`; decoded only when needed."""
    model_json = json.dumps(model, ensure_ascii=False).encode()

    def relabel(data: bytes) -> bytes:
        if stats is None:  # the playground's stats read every chunk anyway
            edited = relay.with_model(data, model_json)
            if edited is not None:
                return b"data: " + edited + b"\n\n"
        return chunk_event(relay.parse_chunk(data), model, stats)

    return relabel


async def relay_events(first: dict | None, chunks: relay.ChunkStream, model: str, stats: relay.Stats | None = None,
                       *, done: bool = True):
    """SSE bytes for a stream: each chunk as the client's model, errors as an error event, `[DONE]` last.

    All events of one upstream read go out in one write.
    """
    relabel = relabeller(model, stats)
    try:
        if first is not None:
            yield chunk_event(first, model, stats)
        while batch := await chunks.next_batch(relabel):
            yield b"".join(batch)
    except UpstreamError as exc:
        logger.warning("Upstream failed mid-stream for %s: %s", model, exc)
        if stats is not None:
            stats.error = str(exc)
        yield event(dumps(from_upstream(exc).body()))
    finally:
        await chunks.aclose()
    if done:
        yield DONE_EVENT


def event_stream_response(events) -> StreamingHttpResponse:
    response = StreamingHttpResponse(events, content_type="text/event-stream; charset=utf-8")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # proxies (nginx) must not hold events back
    return response


@csrf_exempt
async def chat_completions(request):
    if request.method != "POST":
        return _method_not_allowed("POST")
    try:
        authorization = request.headers.get("Authorization", "")
        data = parse_body(read_body(request))
        _, endpoint = await access.aadmit(authorization, data.get("model"))
        completion = check_request(data)
        if not completion["stream"]:
            reply = await relay.complete(endpoint, completion)
            reply["model"] = endpoint.name
            return JsonResponse(reply)
        first, chunks = await relay.open_stream(endpoint, completion)
        return event_stream_response(relay_events(first, chunks, endpoint.name))
    except UpstreamError as exc:
        logger.warning("Upstream failed for %s: %s", request.path, exc)
        return from_upstream(exc).response()
    except GatewayError as exc:
        return exc.response()


async def _models_or_error(request):
    """The models the request's token may use, or the error response to send instead."""
    if request.method != "GET":
        return None, _method_not_allowed("GET")
    try:
        return await sync_to_async(access.models_for)(request.headers.get("Authorization", "")), None
    except GatewayError as exc:
        return None, exc.response()


@csrf_exempt
async def models(request):
    data, error = await _models_or_error(request)
    return error or JsonResponse({"object": "list", "data": data})


@csrf_exempt
async def model_detail(request, name: str):
    data, error = await _models_or_error(request)
    if error:
        return error
    for item in data:
        if item["id"] == name:
            return JsonResponse(item)
    return GatewayError(404, f"The model '{name}' does not exist or you do not have access to it.",
                        code="model_not_found", param="model").response()

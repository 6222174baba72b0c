"""Chat Completions requests: validation of what a client sends, and the body sent upstream.

Pure functions: the gateway and the playground's chat API validate with the same code. Errors
name the offending parameter, as OpenAI's do.
"""

import json
from numbers import Real

from django.conf import settings

from .errors import GatewayError, invalid

ROLES = {"system", "developer", "user", "assistant", "tool"}
MESSAGE_KEYS = {"role", "content", "name", "tool_calls", "tool_call_id", "reasoning_content"}
# Parameters passed to the model server as they are (after the checks below).
FORWARDED = {
    "temperature", "top_p", "max_tokens", "max_completion_tokens", "stop", "seed", "n", "presence_penalty",
    "frequency_penalty", "logit_bias", "logprobs", "top_logprobs", "response_format", "tools", "tool_choice",
    "parallel_tool_calls", "stream_options", "top_k", "min_p", "repetition_penalty",
}
# Accepted for compatibility with OpenAI clients but not forwarded.
IGNORED = {"user", "store", "metadata", "service_tier"}
SAMPLING = ("temperature", "top_p", "max_tokens", "stop", "seed")


def parse_body(raw: bytes) -> dict:
    if len(raw) > settings.CHAT_MAX_REQUEST_BYTES:
        raise too_large()
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise invalid("The request body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise invalid("The request body must be a JSON object.")
    return data


def too_large() -> GatewayError:
    limit = settings.CHAT_MAX_REQUEST_BYTES
    return GatewayError(413, f"The request is larger than the limit of {limit // 1024} KiB.", code="request_too_large")


def _number(params: dict, name: str, low: float, high: float) -> None:
    value = params.get(name)
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, Real) or not (low <= value <= high):
        raise invalid(f"'{name}' must be a number between {low:g} and {high:g}.", name)


def _integer(params: dict, name: str, low: int, high: int | None = None) -> None:
    value = params.get(name)
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise invalid(f"'{name}' must be an integer {bound}.", name)


def check_sampling(params: dict) -> None:
    """Sampling parameters: the checks the playground form and the gateway share."""
    _number(params, "temperature", 0, 2)
    _number(params, "top_p", 0, 1)
    _number(params, "presence_penalty", -2, 2)
    _number(params, "frequency_penalty", -2, 2)
    _integer(params, "max_tokens", 1)
    _integer(params, "max_completion_tokens", 1)
    _integer(params, "seed", -(2**63), 2**63 - 1)
    stop = params.get("stop")
    if stop is not None:
        if isinstance(stop, str):
            stop = [stop]
        if not isinstance(stop, list) or len(stop) > 4 or not all(isinstance(s, str) and s for s in stop):
            raise invalid("'stop' must be a string or a list of up to 4 non-empty strings.", "stop")


def _check_content(content, index: int, role: str) -> None:
    param = f"messages.[{index}].content"
    if content is None and role == "assistant":
        return
    if isinstance(content, str):
        return
    if not isinstance(content, list) or not content:
        raise invalid("Message content must be a string or a non-empty list of content parts.", param)
    for part in content:
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text" and isinstance(part.get("text"), str):
            continue
        if kind == "image_url" and role == "user":
            url = part.get("image_url", {}).get("url") if isinstance(part.get("image_url"), dict) else None
            if isinstance(url, str) and (url.startswith("data:image/") or url.startswith("https://")):
                continue
            raise invalid("An image part needs image_url.url: a data:image/… URL or an https URL.", param)
        raise invalid(f"Unsupported content part {kind!r} for a {role} message.", param)


def check_messages(messages) -> None:
    if not isinstance(messages, list) or not messages:
        raise invalid("'messages' must be a non-empty list.", "messages")
    if len(messages) > settings.CHAT_MAX_MESSAGES:
        raise invalid(f"At most {settings.CHAT_MAX_MESSAGES} messages per request.", "messages")
    for index, message in enumerate(messages):
        if not isinstance(message, dict):
            raise invalid("Each message must be an object.", f"messages.[{index}]")
        role = message.get("role")
        if role not in ROLES:
            raise invalid(f"Unknown role {role!r}; use one of {', '.join(sorted(ROLES))}.", f"messages.[{index}].role")
        unknown = set(message) - MESSAGE_KEYS
        if unknown:
            raise invalid(f"Unrecognized message field: {sorted(unknown)[0]}.", f"messages.[{index}]")
        _check_content(message.get("content"), index, role)


def check_request(data: dict) -> dict:
    """A validated Chat Completions request (without `model`): messages, stream flag and forwarded parameters."""
    unknown = set(data) - FORWARDED - IGNORED - {"model", "messages", "stream"}
    if unknown:
        name = sorted(unknown)[0]
        raise invalid(f"Unrecognized request argument supplied: {name}", name)
    check_messages(data.get("messages"))
    stream = data.get("stream", False)
    if stream is None:
        stream = False
    if not isinstance(stream, bool):
        raise invalid("'stream' must be a boolean.", "stream")
    check_sampling(data)
    if data.get("n") not in (None, 1):
        raise invalid("Only n=1 is supported.", "n")
    options = data.get("stream_options")
    if options is not None and (not stream or not isinstance(options, dict)):
        raise invalid("'stream_options' is only allowed with stream=true and must be an object.", "stream_options")
    request = {key: data[key] for key in FORWARDED if data.get(key) is not None}
    request["messages"] = data["messages"]
    request["stream"] = stream
    return request


def upstream_body(request: dict, served_model_name: str) -> bytes:
    """The JSON sent to the model server: the engine's own model name, never ours."""
    payload = dict(request)
    if served_model_name:
        payload["model"] = served_model_name
    return json.dumps(payload, separators=(",", ":")).encode()

"""Errors from a model server while answering a chat request (any target).

The gateway turns them into OpenAI error bodies: `UpstreamRejected` → 400 (the model server
found the request invalid), `UpstreamTimeout` → 504, anything else → 502.
"""

from .errors import BackendError


class UpstreamError(BackendError):
    """The model server failed or could not be reached."""


class UpstreamTimeout(UpstreamError):
    """The model server did not answer (or stopped sending) within the configured time."""


class UpstreamRejected(UpstreamError):
    """The model server rejected the request itself (HTTP 400/413/422): the caller must change it."""


def message_from_body(body: bytes, limit: int = 300) -> str:
    """A short human message out of an error body (OpenAI, FastAPI, AWS or plain text)."""
    import json

    text = body[:4000].decode("utf-8", errors="replace").strip()
    try:
        data = json.loads(text)
    except ValueError:
        return text[:limit]
    if isinstance(data, dict):
        for key in ("error", "detail", "message", "Message", "OriginalMessage"):
            value = data.get(key)
            if isinstance(value, dict):
                value = value.get("message") or value.get("Message")
            if value:
                return str(value)[:limit]
    return text[:limit]

"""SageMaker runtime: InvokeEndpoint and InvokeEndpointWithResponseStream, asynchronously.

boto3 blocks a thread per call (and per open stream), so chat traffic calls the runtime HTTP API
itself: requests are signed with botocore's SigV4Auth using the standard credential chain and
sent with aiohttp; the `application/vnd.amazon.eventstream` reply is decoded with
botocore's EventStreamBuffer. `invoke_endpoint_with_response_stream` yields the raw bytes of each
PayloadPart — parts need not align with the SSE events inside them (`apps.backends.sse` re-frames).

SAGEMAKER_RUNTIME_ENDPOINT_URL (else AWS_ENDPOINT_URL) points the calls somewhere else, e.g. a
fake runtime in tests.
"""

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import aclosing
from urllib.parse import quote

import botocore.session
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.eventstream import EventStreamBuffer
from django.conf import settings

from ..http_upstream import relay_body, session, translated_errors
from ..upstream_errors import UpstreamError, UpstreamRejected, UpstreamTimeout, message_from_body

SIGNING_NAME = "sagemaker"


_credentials = None


async def _frozen_credentials():
    """Credentials without blocking the loop: discovery and refreshes (IMDS, SSO, files) run in a thread."""
    global _credentials
    if _credentials is None:
        _credentials = await asyncio.to_thread(lambda: botocore.session.get_session().get_credentials())
    credentials = _credentials
    if credentials is None:
        raise UpstreamError("No AWS credentials are configured for calling SageMaker.")
    refresh_needed = getattr(credentials, "refresh_needed", None)
    if refresh_needed is not None and refresh_needed():
        return await asyncio.to_thread(credentials.get_frozen_credentials)
    return credentials.get_frozen_credentials()


def runtime_url(region: str) -> str:
    configured = settings.SAGEMAKER_RUNTIME_ENDPOINT_URL
    return (configured or f"https://runtime.sagemaker.{region}.amazonaws.com").rstrip("/")


async def _signed(endpoint_name: str, body: bytes, region: str, *, streaming: bool) -> tuple[str, dict[str, str]]:
    suffix = "invocations-response-stream" if streaming else "invocations"
    url = f"{runtime_url(region)}/endpoints/{quote(endpoint_name, safe='')}/{suffix}"
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if streaming:
        headers["X-Amzn-SageMaker-Accept"] = "text/event-stream"
    request = AWSRequest(method="POST", url=url, data=body, headers=headers)
    SigV4Auth(await _frozen_credentials(), SIGNING_NAME, region).add_auth(request)
    return url, dict(request.headers.items())


def _error(status: int, body: bytes, error_type: str) -> UpstreamError:
    message = message_from_body(body) or f"HTTP {status}"
    kind = error_type.split(":", 1)[0]
    if kind == "ModelError":
        # The container answered with an error: keep its status semantics.
        try:
            original = int(json.loads(body).get("OriginalStatusCode", 0))
        except (ValueError, AttributeError, TypeError):
            original = 0
        if original in (400, 413, 422):
            return UpstreamRejected(f"The model rejected the request: {message}")
        return UpstreamError(f"The model failed: {message}")
    if kind == "ModelNotReadyException" or status in (429, 503):
        return UpstreamError(f"SageMaker endpoint is busy or not ready: {message}")
    if status == 424:
        return UpstreamError(f"The model failed: {message}")
    if "timeout" in kind.lower() or status == 504:
        return UpstreamTimeout(f"SageMaker timed out: {message}")
    return UpstreamError(f"SageMaker answered HTTP {status} ({kind or 'error'}): {message}")


async def invoke_endpoint(endpoint_name: str, body: bytes, *, region: str | None = None) -> bytes:
    """InvokeEndpoint with a JSON body; the container's JSON reply."""
    region = region or settings.AWS_REGION
    url, headers = await _signed(endpoint_name, body, region, streaming=False)
    async with translated_errors("SageMaker"):
        async with session(tls=url.startswith("https:")).post(url, data=body, headers=headers) as response:
            content = await response.read()
            if response.status >= 400:
                raise _error(response.status, content, response.headers.get("x-amzn-errortype", ""))
            return content


async def invoke_endpoint_with_response_stream(
    endpoint_name: str, body: bytes, *, region: str | None = None
) -> AsyncIterator[bytes]:
    """InvokeEndpointWithResponseStream; yields each PayloadPart's bytes as it arrives."""
    region = region or settings.AWS_REGION
    url, headers = await _signed(endpoint_name, body, region, streaming=True)
    async with translated_errors("SageMaker"):
        response = await session(tls=url.startswith("https:")).post(url, data=body, headers=headers)
        if response.status >= 400:
            try:
                raise _error(response.status, await response.read(), response.headers.get("x-amzn-errortype", ""))
            finally:
                response.close()
    frames = EventStreamBuffer()
    async with aclosing(relay_body(response, "SageMaker")) as chunks:  # relay_body translates read errors
        async for chunk in chunks:
            frames.add_data(chunk)
            for message in frames:
                part = _payload(message)
                if part:
                    yield part


def _payload(message) -> bytes | None:
    headers = message.headers
    message_type = headers.get(":message-type")
    if message_type == "event":
        return message.payload if headers.get(":event-type") == "PayloadPart" else None
    if message_type == "exception":
        kind = headers.get(":exception-type", "StreamError")
        try:
            code = str(json.loads(message.payload).get("ErrorCode", ""))
        except (ValueError, AttributeError):
            code = ""
        detail = message_from_body(message.payload) or kind
        if code == "ModelInvocationTimeExceeded":
            raise UpstreamTimeout(f"The model did not finish in time ({code}): {detail}")
        raise UpstreamError(f"The model stream failed ({code or kind}): {detail}")
    if message_type == "error":
        raise UpstreamError(f"SageMaker stream error {headers.get(':error-code')}: {headers.get(':error-message')}")
    return None

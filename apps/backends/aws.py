"""The one place that builds boto3 clients and translates AWS errors into backend errors.

Clients use the standard credential chain and the configured region (AWS_REGION), with
botocore's adaptive retries. AWS_ENDPOINT_URL (honoured by boto3 itself) points them at a
moto server in tests.
"""

from functools import cache

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
)
from django.conf import settings

from . import aws_messages
from .errors import (
    BackendError, RemoteConflict, RemoteNotConfigured, RemoteNotFound, RemoteValidationError, TransientError,
)

_RETRY_CONFIG = Config(retries={"max_attempts": 5, "mode": "adaptive"}, connect_timeout=10, read_timeout=60)

_THROTTLING = {
    "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
    "TooManyRequestsException", "ProvisionedThroughputExceededException", "RequestLimitExceeded",
    "SlowDown", "ServiceUnavailable", "InternalFailure", "InternalServerError", "ServiceUnavailableException",
}
_CONFLICT = {"ResourceInUse", "ResourceInUseException", "ConflictException", "BucketAlreadyOwnedByYou"}
_NOT_FOUND = {"ResourceNotFound", "ResourceNotFoundException", "NoSuchKey", "NoSuchBucket", "NotFound", "404"}


@cache
def client(service: str, region: str | None = None):
    """A shared client per service and region (default AWS_REGION; boto3 clients are thread-safe)."""
    return boto3.session.Session().client(service, region_name=region or settings.AWS_REGION, config=_RETRY_CONFIG)


def presigning_client(service: str = "s3"):
    """A client for presigned URLs: Signature Version 4 (SigV2 links fail in regions opened since 2014
    and are being retired), in the configured region (where ModelHub's bucket is)."""
    config = _RETRY_CONFIG.merge(Config(signature_version="s3v4"))
    return boto3.session.Session().client(service, region_name=settings.AWS_REGION, config=config)


def is_not_found_message(message: str) -> bool:
    """SageMaker reports missing objects as ValidationException "Could not find ..."."""
    lowered = message.lower()
    return "could not find" in lowered or "does not exist" in lowered or "not found" in lowered


def translate(exc: Exception) -> BackendError:
    """The backend error for a boto3/botocore exception."""
    if isinstance(exc, (NoCredentialsError, PartialCredentialsError, NoRegionError)):
        # Configuration, not a passing fault: retrying cannot help.
        return RemoteNotConfigured(
            f"ModelHub has no usable AWS configuration ({exc}). Set AWS credentials (environment, profile or "
            "instance role) and AWS_REGION for the web server and workers."
        )
    if isinstance(exc, (EndpointConnectionError, ConnectionError)):
        return TransientError(f"Could not reach AWS: {exc}")
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        message = aws_messages.readable(error.get("Message") or str(exc))
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        if code in _THROTTLING or status >= 500:
            return TransientError(f"AWS is busy ({code}): {message}")
        if code in _CONFLICT or "already exist" in message.lower():
            return RemoteConflict(message)
        if code in _NOT_FOUND or is_not_found_message(message):
            return RemoteNotFound(message)
        return RemoteValidationError(f"{code}: {message}" if code else message)
    if isinstance(exc, BotoCoreError):
        return TransientError(str(exc))
    return BackendError(str(exc))


class aws_errors:
    """Context manager and decorator: re-raise AWS exceptions as backend errors."""

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc is not None and isinstance(exc, (ClientError, BotoCoreError)):
            raise translate(exc) from exc
        return False

    def __call__(self, func):
        from functools import wraps

        @wraps(func)
        def wrapper(*args, **kwargs):
            with self:
                return func(*args, **kwargs)

        return wrapper

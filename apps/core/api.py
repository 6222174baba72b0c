"""API conventions shared by every app: one error body, one pagination style.

Every 4xx/5xx answer of /api/ is `{"code": ..., "message": ..., "errors": {field: [messages]}}`;
`errors` appears only for validation failures.
"""

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.db import InterfaceError, OperationalError
from django.http import Http404, JsonResponse
from rest_framework import exceptions, pagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .parsers import RequestTooLarge
from .quotas import QuotaExceeded

logger = logging.getLogger(__name__)

_CODES = {
    exceptions.ValidationError: ("validation_error", "The request has invalid fields."),
    exceptions.NotAuthenticated: ("not_authenticated", None),
    exceptions.AuthenticationFailed: ("authentication_failed", None),
    exceptions.PermissionDenied: ("permission_denied", None),
    exceptions.NotFound: ("not_found", None),
    exceptions.MethodNotAllowed: ("method_not_allowed", None),
    exceptions.NotAcceptable: ("not_acceptable", None),
    exceptions.UnsupportedMediaType: ("unsupported_media_type", None),
    exceptions.ParseError: ("parse_error", None),
    exceptions.Throttled: ("rate_limited", None),
}


_CODES[RequestTooLarge] = ("request_too_large", None)


def error_body(code: str, message: str, errors: dict | None = None) -> dict:
    body = {"code": code, "message": message}
    if errors:
        body["errors"] = errors
    return body


def error_response(status: int, code: str, message: str, errors: dict | None = None) -> JsonResponse:
    return JsonResponse(error_body(code, message, errors), status=status)


def _field_errors(detail) -> dict:
    if isinstance(detail, dict):
        return {field: _messages(value) for field, value in detail.items()}
    return {"non_field_errors": _messages(detail)}


def _messages(value) -> list[str] | dict:
    if isinstance(value, dict):
        return _field_errors(value)
    if isinstance(value, list):
        flat = []
        for item in value:
            if isinstance(item, dict | list):
                return [_messages(v) for v in value]
            flat.append(str(item))
        return flat
    return [str(value)]


# The database went away (restart, failover, network): the request's transaction did not commit.
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)
UNAVAILABLE_MESSAGE = "The database is unavailable; nothing was saved. Try again in a few seconds."
RETRY_AFTER_SECONDS = "10"


def unavailable_response() -> JsonResponse:
    response = error_response(503, "unavailable", UNAVAILABLE_MESSAGE)
    response["Retry-After"] = RETRY_AFTER_SECONDS
    return response


def exception_handler(exc, context):
    if isinstance(exc, DATABASE_UNAVAILABLE):
        logger.warning("Database unavailable: %s", exc)
        return Response(error_body("unavailable", UNAVAILABLE_MESSAGE), status=503,
                        headers={"Retry-After": RETRY_AFTER_SECONDS})
    if isinstance(exc, QuotaExceeded):
        return Response(error_body("quota_exceeded", str(exc)), status=403)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, RequestDataTooBig):
        exc = RequestTooLarge()
    elif isinstance(exc, TooManyFieldsSent):
        exc = exceptions.ParseError("The request has too many fields.")
    response = drf_exception_handler(exc, context)
    if response is None:
        logger.exception("Unhandled API error", exc_info=exc)
        return Response(error_body("server_error", "Something went wrong on our side."), status=500)

    code, message = "error", None
    for cls in type(exc).__mro__:
        if cls in _CODES:
            code, message = _CODES[cls]
            break
    if isinstance(exc, exceptions.ValidationError):
        response.data = error_body(code, message, _field_errors(exc.detail))
    else:
        detail = getattr(exc, "detail", "")
        response.data = error_body(getattr(exc, "code_override", code), message or str(detail))
    return response


class Pagination(pagination.PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 200

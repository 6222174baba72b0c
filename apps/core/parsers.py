"""The API's JSON parser: bounded in size and depth, and an object at the top (see BoundedJSONParser)."""

import codecs

from django.conf import settings
from rest_framework import exceptions, parsers, status

from . import limits


class RequestTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "request_too_large"


class BoundedJSONParser(parsers.JSONParser):
    """JSON bodies for the API: at most API_MAX_JSON_BYTES, nested at most limits.MAX_DEPTH, and an object.

    Every view reads `request.data` as a mapping; an array, a string, a number or null at the top is a
    parse error (400), not an AttributeError (500) deep inside a view.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.API_MAX_JSON_BYTES
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise RequestTooLarge(f"The request body is larger than the limit of {limit // 1024 // 1024} MB.")
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            data = limits.loads(codecs.decode(raw, encoding) if raw else "")
        except limits.LimitExceeded as exc:
            raise exceptions.ParseError(exc.message) from None
        except (ValueError, UnicodeDecodeError) as exc:
            raise exceptions.ParseError(f"JSON parse error - {exc}") from None
        if not isinstance(data, dict):
            raise exceptions.ParseError("The request body must be a JSON object.")
        return data

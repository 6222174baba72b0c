import logging

from django.http import HttpResponse

from .api import DATABASE_UNAVAILABLE, RETRY_AFTER_SECONDS, UNAVAILABLE_MESSAGE, error_response, unavailable_response

logger = logging.getLogger(__name__)


class JsonApiErrorsMiddleware:
    """Answers errors raised outside DRF views under /api/ (unknown URLs, crashes) with the API's error body,
    and marks every /api/ answer `Cache-Control: no-store`."""

    prefix = "/api/"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.path.startswith(self.prefix) and not response.has_header("Cache-Control"):
            # API answers carry users' data and, once, new secrets and tokens: never kept by a cache.
            response["Cache-Control"] = "no-store"
        if (
            request.path.startswith(self.prefix)
            and response.status_code == 404
            and "json" not in response.get("Content-Type", "")
        ):
            return error_response(404, "not_found", f"No API resource at {request.path}.")
        return response

    def process_exception(self, request, exception):
        if isinstance(exception, DATABASE_UNAVAILABLE):  # nothing was committed: say so, and when to retry
            logger.warning("Database unavailable at %s: %s", request.path, exception)
            if request.path.startswith(self.prefix):
                return unavailable_response()
            return HttpResponse(UNAVAILABLE_MESSAGE, status=503, content_type="text/plain; charset=utf-8",
                                headers={"Retry-After": RETRY_AFTER_SECONDS})
        if not request.path.startswith(self.prefix):
            return None
        logger.exception("Unhandled error at %s", request.path)
        return error_response(500, "server_error", "Something went wrong on our side.")

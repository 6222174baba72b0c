"""Errors of the OpenAI-compatible surface, in OpenAI's shape:
`{"error": {"message", "type", "param", "code"}}` with the matching HTTP status.
"""

from apps.backends.upstream_errors import UpstreamError, UpstreamRejected, UpstreamTimeout


class GatewayError(Exception):
    def __init__(self, status: int, message: str, *, type: str = "invalid_request_error",
                 code: str | None = None, param: str | None = None, headers: dict | None = None):
        super().__init__(message)
        self.status, self.message, self.type, self.code, self.param = status, message, type, code, param
        self.headers = headers or {}

    def body(self) -> dict:
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}


def invalid(message: str, param: str | None = None) -> GatewayError:
    return GatewayError(400, message, param=param, code="invalid_value" if param else None)


def unauthenticated(message: str) -> GatewayError:
    return GatewayError(401, message, code="invalid_api_key")


def model_not_found(name: str) -> GatewayError:
    return GatewayError(404, f"The model '{name}' does not exist or you do not have access to it.",
                        code="model_not_found", param="model")


def not_in_service(name: str, status: str) -> GatewayError:
    # x-should-retry: the official clients would otherwise retry a 409 that will not go away soon.
    return GatewayError(409, f"The endpoint '{name}' is not in service (status: {status}).",
                        code="model_not_ready", param="model", headers={"x-should-retry": "false"})


def from_upstream(exc: UpstreamError) -> GatewayError:
    if isinstance(exc, UpstreamRejected):
        return GatewayError(400, str(exc), code="upstream_rejected")
    if isinstance(exc, UpstreamTimeout):
        return GatewayError(504, str(exc), type="api_error", code="upstream_timeout")
    return GatewayError(502, str(exc), type="api_error", code="upstream_error")

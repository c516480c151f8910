"""The gateway's error answers: ``{"error": {"type", "code", "message", ...}}`` with an HTTP status.

Types follow Stripe's documented ones: ``authentication_error`` (401),
``card_error`` (402), ``invalid_request_error`` (400, 404), ``idempotency_error``
(400, 409), ``rate_limit_error`` (429) and ``api_error`` (5xx).
"""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An error answer; raise it anywhere under an endpoint and the endpoint answers with :meth:`body`."""

    def __init__(self, status: int, type_: str, message: str, *, code: str | None = None,
                 param: str | None = None, headers: dict[str, str] | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.headers = headers or {}
        self.status = status
        self.type = type_
        self.message = message
        self.code = code
        self.param = param
        self.extra = extra

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"type": self.type}
        if self.code is not None:
            error["code"] = self.code
        if self.param is not None:
            error["param"] = self.param
        error["message"] = self.message
        error.update(self.extra)
        return {"error": error}


def invalid(param: str | None, message: str, code: str = "parameter_invalid") -> ApiError:
    """A 400 for a request parameter the gateway cannot accept; ``param`` names it."""
    return ApiError(400, "invalid_request_error", message, code=code, param=param)


def missing(kind: str, ident: str) -> ApiError:
    return ApiError(404, "invalid_request_error", f"No such {kind}: '{ident}'", code="resource_missing", param="id")


def unexpected_state(authorization: dict[str, Any], action: str) -> ApiError:
    """A 400 for an action the authorization's status forbids (code ``authorization_<status>``)."""
    status = authorization["status"]
    return ApiError(400, "invalid_request_error",
                    f"Authorization {authorization['id']} is {status}; it cannot be {action}.",
                    code=f"authorization_{status}")

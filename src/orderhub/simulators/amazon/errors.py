"""SP-API's error answers: ``{"errors": [{"code", "message", "details"}]}`` (the models' ``ErrorList``).

The bodies for throttling and for refused access tokens are the ones Amazon returns
(recorded in ``samples/error_bodies.json``); Login with Amazon answers in OAuth's
``{"error", "error_description"}`` shape instead.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

from orderhub.simulators.amazon.samples import load

CONTENT_TYPE = "application/json"


class SpApiError(Exception):
    """An error answer; raise it under an operation and the operation answers with :meth:`body`."""

    def __init__(self, status: int, code: str, message: str, details: str = "",
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.errors = [{"code": code, "message": message, "details": details}]
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {"errors": self.errors}


def fail(status: int, code: str, message: str, details: str = "") -> SpApiError:
    return SpApiError(status, code, message, details)


def invalid_input(message: str, details: str = "") -> SpApiError:
    """400 ``InvalidInput``, the code the Orders model's sandbox answers bad parameters with."""
    return SpApiError(400, "InvalidInput", message, details)


def not_found(message: str) -> SpApiError:
    return SpApiError(404, "NotFound", message)


def recorded(name: str) -> SpApiError:
    """One of the bodies Amazon is seen to send (``samples/error_bodies.json``), e.g. ``QuotaExceeded``."""
    sample = load("error_bodies.json")[name]
    error = sample["body"]["errors"][0]
    return SpApiError(sample["status"], error["code"], error["message"], error.get("details", ""))


def json_response(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(payload), status_code=status, headers=headers, media_type=CONTENT_TYPE)

"""The service's answers: ``{"data": ..., "errors": ...}``, errors as a list naming the field.

Prism's v2 (``/api/backoffice``) answers carry ``data``; clients read
``response.data``. The error entries (``errorcode``, ``errormsg``, ``field``) are
the simulator's choice: no public document showed Prism's exact error body.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.responses import Response

CONTENT_TYPE = "application/json"


@dataclass
class ErrorEntry:
    """One thing wrong: a machine code, a sentence for a person, and the field it is about."""

    errorcode: str
    errormsg: str
    field: str | None = None
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"errorcode": self.errorcode, "errormsg": self.errormsg, "field": self.field, **self.extra}


class PrismError(Exception):
    """An error answer; raise it under an endpoint and the endpoint answers with :meth:`body`."""

    def __init__(self, status: int, errors: list[ErrorEntry], data: Any = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__("; ".join(e.errormsg for e in errors))
        self.status = status
        self.errors = errors
        self.data = data
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {"data": self.data, "errors": [e.as_dict() for e in self.errors]}


def fail(status: int, code: str, message: str, field_name: str | None = None, **extra: Any) -> PrismError:
    """A one-error answer."""
    return PrismError(status, [ErrorEntry(code, message, field_name, extra)])


def unauthorized(code: str, message: str) -> PrismError:
    return fail(401, code, message + " Sign in again: GET /v1/rest/auth, answer the nonce, then GET /v1/rest/sit.")


def json_response(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(payload, default=str), status_code=status, headers=headers, media_type=CONTENT_TYPE)


def ok(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A success answer in the service's envelope."""
    return json_response({"data": data, "errors": None}, status, headers)

"""Walmart's error answers: ``{"errors": [GatewayError, ...]}``.

The entry's fields are the ``GatewayError`` schema of Walmart's published Orders/Feeds
OpenAPI (``code`` required; ``field``, ``description``, ``info``, ``severity`` (INFO, WARN,
ERROR), ``category`` (APPLICATION, SYSTEM, REQUEST, DATA), ``causes``,
``errorIdentifiers``); see ``samples/schemas.orders.json``. Codes are ``KIND.SERVICE``:
``UNAUTHORIZED.GMP_GATEWAY_API`` (field ``UNAUTHORIZED``, description ``Unauthorized``) is
the documented 401 (Walmart's Error401 model); ``REQUEST_THRESHOLD_VIOLATED.GMP_GATEWAY_API``
is the code sellers report for 429s. The other codes (``INVALID_REQUEST_HEADER``,
``INVALID_REQUEST_PARAM``, ``CONTENT_NOT_FOUND``, ...) follow the same pattern and are the
simulator's choice where no published sample showed them.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

GATEWAY = "GMP_GATEWAY_API"
ORDERS = "GMP_ORDER_API"
INVENTORY = "GMP_INVENTORY_API"
ITEMS = "GMP_ITEM_QUERY_API"  # the simulator's name for the item service (errors name their service)
FEEDS = "GMP_FEED_API"


class WalmartError(Exception):
    """An error answer; raise it under an endpoint and the endpoint answers with :meth:`body`."""

    def __init__(self, status: int, kind: str, service: str, field: str, description: str, info: str, *,
                 category: str = "DATA", severity: str = "ERROR", headers: dict[str, str] | None = None) -> None:
        super().__init__(info)
        self.status = status
        self.entry = {"code": f"{kind}.{service}", "field": field, "description": description, "info": info,
                      "severity": severity, "category": category, "causes": [], "errorIdentifiers": {}}
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {"errors": [self.entry]}


def unauthorized(info: str) -> WalmartError:
    return WalmartError(401, "UNAUTHORIZED", GATEWAY, "UNAUTHORIZED", "Unauthorized", info)


def bad_header(header: str, info: str) -> WalmartError:
    return WalmartError(400, "INVALID_REQUEST_HEADER", GATEWAY, header, "Invalid request header", info,
                        category="REQUEST")


def bad_param(service: str, field: str, info: str) -> WalmartError:
    return WalmartError(400, "INVALID_REQUEST_PARAM", service, field, "Invalid request parameter", info,
                        category="REQUEST")


def bad_content(service: str, field: str, info: str) -> WalmartError:
    return WalmartError(400, "INVALID_REQUEST_CONTENT", service, field, "Invalid request content", info)


def not_found(service: str, field: str, info: str) -> WalmartError:
    return WalmartError(404, "CONTENT_NOT_FOUND", service, field, "Content not found", info)


def throttled(info: str, headers: dict[str, str]) -> WalmartError:
    return WalmartError(429, "REQUEST_THRESHOLD_VIOLATED", GATEWAY, "REQUEST_THRESHOLD_VIOLATED",
                        "Request Threshold Violated", info, category="REQUEST", headers=headers)


def server_error(status: int, info: str) -> WalmartError:
    return WalmartError(status, "SYSTEM_ERROR", GATEWAY, "SYSTEM_ERROR", "System error", info, category="SYSTEM")


def json_response(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(payload), status_code=status, headers=headers, media_type="application/json")

"""The simulator as one ASGI app: Login with Amazon, the SP-API operations, the pre-signed document URLs
and the ``/_sim`` control API. Unknown paths and methods answer in SP-API's error shape (404/405)."""

from __future__ import annotations

import uuid
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from orderhub.simulators.amazon.auth import LwaError
from orderhub.simulators.amazon.control import ControlApi
from orderhub.simulators.amazon.errors import json_response
from orderhub.simulators.amazon.feeds_api import FeedsApi
from orderhub.simulators.amazon.listings_api import ListingsApi
from orderhub.simulators.amazon.orders_api import OrdersApi
from orderhub.simulators.amazon.simulator import Simulator
from orderhub.simulators.amazon.tokens_api import TokensApi

LWA_PATH = "/auth/o2/token"
MAX_FORM_BYTES = 16_384


def lwa_endpoint(sim: Simulator):  # type: ignore[no-untyped-def]
    async def token(request: Request) -> Response:
        """``POST /auth/o2/token``, form-encoded, as Login with Amazon answers it."""
        headers = {"x-amzn-RequestId": str(uuid.uuid4()), "Cache-Control": "no-store", "Pragma": "no-cache"}
        raw = await request.body()
        entry = {"operation": "lwaToken", "method": "POST", "path": LWA_PATH}
        try:
            if len(raw) > MAX_FORM_BYTES:
                raise LwaError(400, "invalid_request", "The request is too large.")
            if "application/x-www-form-urlencoded" not in request.headers.get("content-type", ""):
                raise LwaError(400, "invalid_request", "The request must be application/x-www-form-urlencoded.")
            rule = sim.faults.take("lwaToken")
            if rule is not None:
                entry["fault"] = rule.outcome
                raise LwaError(rule.status, "ServerError", "The authorization server had an internal error.")
            form = dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
            answer, status = sim.tokens.grant(form), 200
        except LwaError as exc:
            answer, status = exc.body(), exc.status
        sim.log_request(dict(entry, status=status))
        return json_response(answer, status, headers)

    return token


async def _unrouted(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    if status == 405:
        error = {"code": "MethodNotAllowed", "message": f"{request.method} is not allowed on {request.url.path}.",
                 "details": ""}
    else:
        error = {"code": "NotFound", "message": f"No resource at {request.method} {request.url.path}.", "details": ""}
    return json_response({"errors": [error]}, status, {"x-amzn-RequestId": str(uuid.uuid4())})


def create_app(simulator: Simulator) -> Starlette:
    routes = [Route(LWA_PATH, lwa_endpoint(simulator), methods=["POST"]),
              *OrdersApi(simulator).routes(), *ListingsApi(simulator).routes(), *FeedsApi(simulator).routes(),
              *TokensApi(simulator).routes(), *ControlApi(simulator).routes()]
    return Starlette(routes=routes, exception_handlers={HTTPException: _unrouted})

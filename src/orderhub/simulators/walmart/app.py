"""The simulator as one ASGI app: the Walmart Marketplace API and the ``/_sim`` control API.

Unknown URLs and methods answer in Walmart's error shape (404/405), never a bare page.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from orderhub.simulators.walmart.api import WalmartApi
from orderhub.simulators.walmart.control import ControlApi
from orderhub.simulators.walmart.errors import GATEWAY, WalmartError, json_response
from orderhub.simulators.walmart.simulator import Simulator


async def _unrouted(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    if status == 405:
        error = WalmartError(405, "METHOD_NOT_ALLOWED", GATEWAY, "method", "Method not allowed",
                             f"{request.method} is not allowed on {request.url.path}.", category="REQUEST")
    else:
        error = WalmartError(404, "CONTENT_NOT_FOUND", GATEWAY, "path", "Resource not found",
                             f"No resource at {request.method} {request.url.path}; the APIs live under /v3.",
                             category="REQUEST")
    headers = exc.headers if isinstance(exc, HTTPException) and exc.headers else None
    return json_response(error.body(), error.status, headers)


def create_app(simulator: Simulator) -> Starlette:
    routes = [*WalmartApi(simulator).routes(), *ControlApi(simulator).routes()]
    return Starlette(routes=routes, exception_handlers={HTTPException: _unrouted})

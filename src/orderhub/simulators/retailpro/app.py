"""The simulator as one ASGI app: the Retail Pro API and the ``/_sim`` control API.

Unknown URLs and methods answer in the service's error shape (404/405).
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from orderhub.simulators.retailpro.api import PrismApi
from orderhub.simulators.retailpro.control import ControlApi
from orderhub.simulators.retailpro.errors import fail, json_response
from orderhub.simulators.retailpro.simulator import Simulator


async def _unrouted(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    headers = exc.headers if isinstance(exc, HTTPException) else None
    message = f"No resource at {request.method} {request.url.path}."
    if status == 405:
        message = f"{request.method} is not allowed on {request.url.path}."
    code = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}.get(status, "INTERNAL_ERROR")
    return json_response(fail(status, code, message).body(), status, headers)


def create_app(simulator: Simulator) -> Starlette:
    routes = [*PrismApi(simulator).routes(), *ControlApi(simulator).routes()]
    return Starlette(routes=routes, exception_handlers={HTTPException: _unrouted})

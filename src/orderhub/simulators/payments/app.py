"""The simulator as one ASGI app: the ``/v1`` gateway API and the ``/_sim`` control API.

Unknown URLs and methods answer in the gateway's error shape (404/405
``invalid_request_error``), and every answer carries a ``Request-Id``.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response

from orderhub.simulators.payments.api import PaymentsApi
from orderhub.simulators.payments.control import ControlApi
from orderhub.simulators.payments.errors import ApiError
from orderhub.simulators.payments.gateway import Gateway
from orderhub.simulators.payments.responses import RequestIdMiddleware, json_response


async def _unrouted(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    headers = exc.headers if isinstance(exc, HTTPException) else None
    message = f"Unrecognized request URL ({request.method}: {request.url.path})."
    if status == 405:
        message = f"{request.method} is not allowed on {request.url.path}."
    return json_response(ApiError(status, "invalid_request_error", message).body(), status, headers)


def create_app(gateway: Gateway) -> Starlette:
    routes = [*PaymentsApi(gateway).routes(), *ControlApi(gateway).routes()]
    return Starlette(routes=routes, middleware=[Middleware(RequestIdMiddleware)],
                     exception_handlers={HTTPException: _unrouted})

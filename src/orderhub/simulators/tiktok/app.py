"""The simulator as one ASGI app: the TikTok Shop API, the auth host's token endpoints and ``/_sim``.

Unknown paths answer TikTok's 36009009 (HTTP 404) in its envelope; a wrong method 405 likewise.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from orderhub.simulators.tiktok import (
    api_after_sales,
    api_fulfillment,
    api_orders,
    api_products,
    api_returns,
    api_shop,
)
from orderhub.simulators.tiktok.api_tokens import token_routes
from orderhub.simulators.tiktok.control import ControlApi
from orderhub.simulators.tiktok.errors import UNKNOWN_PATH, TikTokError, error_response
from orderhub.simulators.tiktok.gateway import routes
from orderhub.simulators.tiktok.simulator import Simulator


async def _unrouted(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    if status == 405:
        return error_response(TikTokError((UNKNOWN_PATH[0], 405), f"{request.method} is not allowed on "
                                                                   f"{request.url.path}."))
    return error_response(TikTokError(UNKNOWN_PATH, f"Invalid path. No API at {request.url.path}; check the path "
                                                    "and its version."))


def create_app(sim: Simulator) -> Starlette:
    table = [*api_orders.TABLE, *api_fulfillment.TABLE, *api_after_sales.TABLE, *api_returns.TABLE,
             *api_products.TABLE, *api_shop.TABLE]
    return Starlette(routes=[*routes(sim, table), *token_routes(sim), *ControlApi(sim).routes()],
                     exception_handlers={HTTPException: _unrouted})

"""The auth host's token endpoints: ``GET /api/v2/token/get`` (auth code) and ``/api/v2/token/refresh``.

They are not signed: the app proves itself with ``app_key`` and ``app_secret`` in the query. The
simulator serves them on its one port (TikTok's auth host is another host with the same paths).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from orderhub.simulators.tiktok.accounts import Token
from orderhub.simulators.tiktok.errors import (
    AUTH_CODE_INVALID,
    BAD_FIELD,
    MESSAGES,
    PARAM_ERROR,
    TikTokError,
    envelope,
    error_response,
    fail,
    json_response,
)
from orderhub.simulators.tiktok.simulator import Simulator


def _token_data(token: Token) -> dict[str, object]:
    return {"access_token": token.access_token, "access_token_expire_in": token.access_expires,
            "refresh_token": token.refresh_token, "refresh_token_expire_in": token.refresh_expires,
            "open_id": token.seller.open_id, "seller_name": token.seller.name,
            "seller_base_region": token.seller.region, "user_type": 0,
            "granted_scopes": ["seller.order.info", "seller.fulfillment.basic", "seller.product.basic",
                               "seller.return_refund.basic"]}


def _endpoint(sim: Simulator, grant: str):  # type: ignore[no-untyped-def]
    async def endpoint(request: Request) -> Response:
        query = dict(request.query_params.multi_items())
        try:
            app_key = query.get("app_key", "")
            if sim.apps.get(app_key) is None or sim.apps[app_key] != query.get("app_secret"):
                raise fail(PARAM_ERROR, MESSAGES["bad_app_key"])
            if query.get("grant_type") != grant:
                raise fail(BAD_FIELD, f"invalid param error: grant_type must be {grant}.")
            if grant == "authorized_code":
                token = sim.accounts.exchange(app_key, query.get("auth_code", ""))
                problem = "auth_code is invalid or was already used; ask the seller to authorise the app again."
            else:
                token = sim.accounts.refresh(app_key, query.get("refresh_token", ""))
                problem = "refresh_token is invalid or expired; ask the seller to authorise the app again."
            if token is None:
                raise fail(AUTH_CODE_INVALID, problem)
            sim.log_request({"operation": f"token/{grant}", "method": "GET", "path": request.url.path,
                             "status": 200, "code": 0, "at": sim.clock.now()})
            return json_response(envelope(_token_data(token), message="success"))
        except TikTokError as exc:
            sim.log_request({"operation": f"token/{grant}", "method": "GET", "path": request.url.path,
                             "status": exc.status, "code": exc.code, "at": sim.clock.now()})
            return error_response(exc)

    return endpoint


def token_routes(sim: Simulator) -> list[Route]:
    return [Route("/api/v2/token/get", _endpoint(sim, "authorized_code"), methods=["GET"]),
            Route("/api/v2/token/refresh", _endpoint(sim, "refresh_token"), methods=["GET"])]

"""The path every API request takes, in TikTok's order: the body (bounded), ``app_key``,
``timestamp`` (within 5 minutes of the simulated clock), ``sign``, the ``x-tts-access-token``
header, ``shop_cipher`` (required by shop APIs, refused by the others), the rate limit, injected
faults, then the operation itself; every answer is TikTok's envelope.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from orderhub.simulators.tiktok.accounts import Shop, Token
from orderhub.simulators.tiktok.defaults import MAX_BODY_BYTES, TIMESTAMP_TOLERANCE_SECONDS
from orderhub.simulators.tiktok.errors import (
    BAD_FIELD,
    INTERNAL,
    INVALID_SIGN,
    MESSAGES,
    PARAM_ERROR,
    RATE_LIMITED,
    TOKEN_EXPIRED,
    TOKEN_INVALID,
    TikTokError,
    envelope,
    error_response,
    fail,
    json_response,
    request_id,
)
from orderhub.simulators.tiktok.signing import same, sign_request
from orderhub.simulators.tiktok.simulator import Simulator
from orderhub.simulators.tiktok.store import ShopData

Scope_ = Literal["shop", "seller", "open"]


@dataclass
class Call:
    """What a handler gets: the caller's shop (for shop APIs), query, JSON body and path parameters."""

    sim: Simulator
    query: dict[str, str]
    body: dict[str, Any]
    path: dict[str, str]
    app_key: str = ""
    token: Token | None = None
    shop: Shop | None = None
    data: ShopData | None = field(default=None)

    @property
    def shop_data(self) -> ShopData:
        assert self.data is not None
        return self.data


Handler = Callable[[Call], Any]


class DroppedAnswer(Response):
    """The headers go out, then the connection closes before the body is complete."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", b"4096")]})
        await send({"type": "http.response.body", "body": b'{"code":0,"data":', "more_body": True})
        raise ConnectionAbortedError("the simulator dropped the answer after doing the work (injected fault)")


async def _body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise fail((36009004, 413), f"invalid param error: the request body is over {MAX_BODY_BYTES} bytes.")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise fail((36009004, 413), f"invalid param error: the request body is over {MAX_BODY_BYTES} bytes.")
        chunks.append(chunk)
    return b"".join(chunks)


def authenticate(sim: Simulator, request: Request, raw: bytes, scope: Scope_) -> Call:
    query = dict(request.query_params.multi_items())
    app_key = query.get("app_key", "")
    secret = sim.apps.get(app_key)
    if secret is None:
        raise fail(PARAM_ERROR, MESSAGES["bad_app_key"])
    if not query.get("sign"):
        raise fail(PARAM_ERROR, MESSAGES["missing_sign"])
    stamp = query.get("timestamp", "")
    if not stamp.lstrip("-").isdigit() or int(stamp) < 0:
        raise fail(PARAM_ERROR, MESSAGES["bad_timestamp"])
    if abs(sim.clock.now() - int(stamp)) > TIMESTAMP_TOLERANCE_SECONDS:
        raise fail(PARAM_ERROR, MESSAGES["old_timestamp"])
    expected = sign_request(secret, request.url.path, request.query_params.multi_items(), raw,
                            request.headers.get("content-type"))
    if not same(expected, query["sign"]):
        raise fail(INVALID_SIGN, MESSAGES["bad_sign"])
    call = Call(sim, query, {}, dict(request.path_params), app_key=app_key)
    if scope == "open":
        return call
    token = sim.accounts.token(request.headers.get("x-tts-access-token", ""))
    if token is None or token.revoked or token.app_key != app_key:
        raise fail(TOKEN_INVALID, MESSAGES["bad_token"])
    if token.access_expires <= sim.clock.now():
        raise fail(TOKEN_EXPIRED, MESSAGES["expired_token"])
    call.token = token
    cipher = query.get("shop_cipher")
    if scope == "seller":
        if cipher:
            raise fail(PARAM_ERROR, MESSAGES["unexpected_cipher"])
        return call
    shop = sim.accounts.shop_by_cipher(token.seller, cipher or "")
    if shop is None:
        raise fail(PARAM_ERROR, MESSAGES["bad_cipher"])
    call.shop, call.data = shop, sim.store.shops[shop.id]
    return call


def _json_body(raw: bytes, method: str) -> dict[str, Any]:
    if not raw.strip():
        return {}
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise fail(BAD_FIELD, f"invalid param error: the request body is not valid JSON ({exc}).") from None
    if not isinstance(body, dict):
        raise fail(BAD_FIELD, "invalid param error: the request body must be a JSON object.")
    return body


def operation(sim: Simulator, operation_id: str, handler: Handler, scope: Scope_ = "shop"
              ) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        rid = request_id()
        entry: dict[str, Any] = {"operation": operation_id, "method": request.method, "path": request.url.path,
                                 "at": sim.clock.now()}
        try:
            raw = await _body(request)
            call = authenticate(sim, request, raw, scope)
            entry["shop_id"] = call.shop.id if call.shop else None
            caller = f"{call.app_key}:{call.shop.id if call.shop else call.token.seller.open_id if call.token else ''}"
            if not sim.rates.allow(operation_id, caller):
                raise fail(RATE_LIMITED, MESSAGES["rate_limited"])
            rule = sim.faults.take(operation_id)
            if rule is not None and rule.outcome != "lost":
                entry["fault"] = rule.outcome
                if rule.outcome == "timeout":
                    await asyncio.sleep(rule.seconds)
                raise fail((INTERNAL[0], 504 if rule.outcome == "timeout" else rule.status), MESSAGES["internal"])
            call.body = _json_body(raw, request.method)
            with sim.store.lock:
                data = handler(call)
            if rule is not None:  # the work is done; the answer is lost
                entry["fault"] = "lost"
                if rule.drop:
                    entry["status"] = "dropped"
                    return DroppedAnswer()
                raise fail((INTERNAL[0], rule.status), MESSAGES["internal"])
            entry |= {"status": 200, "code": 0}
            return json_response(envelope(data, rid=rid))
        except TikTokError as exc:
            entry |= {"status": exc.status, "code": exc.code}
            return error_response(exc, rid)
        finally:
            sim.log_request(entry)

    return endpoint


def routes(sim: Simulator, table: list[tuple[str, str, str, Handler, Scope_]]) -> list[Route]:
    """``(method, path, operation_id, handler, scope)`` rows as Starlette routes."""
    return [Route(path, operation(sim, op_id, handler, scope), methods=[method])
            for method, path, op_id, handler, scope in table]

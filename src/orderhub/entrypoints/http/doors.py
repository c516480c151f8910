"""The body guard of the API and the console: bounded bodies for every door but the webhooks
and the POS sync API.

The webhook receivers guard their own bodies (they refuse on their headers first, see
``webhooks.py``); every other request with a body is checked here before the app sees
it: its declared size, a credential where one is needed, room in the shared budget,
and a deadline. The body is then handed to the app from one buffer.
"""

from __future__ import annotations

from typing import Any

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from orderhub.config import Settings
from orderhub.entrypoints.http.bodies import (
    BodyBudget,
    ClientGone,
    Refused,
    declared_length,
    has_body,
    read_body,
    reserve,
)
from orderhub.entrypoints.http.console.web import SESSION_COOKIE

# The webhook receivers refuse on their own headers before reading, through the same budget.
SELF_GUARDED = frozenset({("POST", "/webhooks/shopify"), ("POST", "/webhooks/eventbridge"),
                          ("POST", "/api/pos/sales"), ("POST", "/api/pos/enrol")})  # api_pos.py reads its own
SELF_GUARDED_PREFIXES = ("/webhooks/tiktok/",)  # POST /webhooks/tiktok/{account}
_BEARER_MISSING = "missing or invalid bearer token; create one with `orderhub token create`"


def _limit(scope: Scope, headers: Headers, settings: Settings) -> int:
    """Per-request cap: small until the sender presents a credential (checked later by the app)."""
    path: str = scope["path"]
    if path.startswith("/api/"):
        if not headers.get("authorization", "").lower().startswith("bearer "):
            raise Refused(401, _BEARER_MISSING, {"www-authenticate": "Bearer"})
        return settings.max_request_bytes
    if SESSION_COOKIE in headers.get("cookie", ""):
        # The error log's payload editor posts a whole (indented) webhook body.
        return max(settings.max_request_bytes, settings.max_webhook_bytes * 4)
    return settings.max_request_bytes


class BodyGuard:
    """ASGI middleware: every body but the webhook receivers' is bounded in size, time and memory."""

    def __init__(self, app: ASGIApp, settings: Settings, budget: BodyBudget) -> None:
        self.app, self.settings, self.budget = app, settings, budget

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or (scope["method"], scope["path"]) in SELF_GUARDED or (
                scope["method"] == "POST" and scope["path"].startswith(SELF_GUARDED_PREFIXES)):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        if not has_body(headers):
            await self.app(scope, receive, send)
            return
        taken = 0
        try:
            declared = declared_length(headers)
            limit = _limit(scope, headers, self.settings)
            if declared is not None and declared > limit:
                raise Refused(413, f"body of {declared} bytes exceeds the limit of {limit} bytes")
            taken = reserve(self.budget, declared, limit)
            body = await read_body(receive, declared, limit, self.settings)
        except Refused as refused:
            self.budget.give(taken)
            await refused.response()(scope, receive, send)
            return
        except ClientGone:
            self.budget.give(taken)
            return
        data = bytes(body)
        del body  # one copy at a time
        try:
            await self.app(scope, _replay(data, receive), send)
        finally:
            self.budget.give(taken)


def _replay(body: bytes, receive: Receive) -> Receive:
    """The body in one message, then whatever the connection says next (a disconnect)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            message: dict[str, Any] = {"type": "http.request", "body": body, "more_body": False}
            return message
        return await receive()

    return replay

"""What every answer carries: a JSON body and a ``Request-Id`` header (``req_...``).

The request id is made before the app runs and kept in ``request.state`` so the
endpoints can log it and a replayed answer can name its original request.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from orderhub.simulators.payments.gateway import new_id


def json_response(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(payload), status_code=status, headers=headers, media_type="application/json")


def request_id(request: Request) -> str:
    return str(getattr(request.state, "request_id", "") or "")


class RequestIdMiddleware:
    """Gives every HTTP request an id and puts it on the answer as ``Request-Id``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = new_id("req_", 14)
        scope.setdefault("state", {})["request_id"] = rid

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).append("Request-Id", rid)
            await send(message)

        await self.app(scope, receive, send_with_id)

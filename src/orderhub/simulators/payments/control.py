"""The simulator's control API under ``/_sim``: rules, settings, and what the gateway stored and saw.

Not part of the gateway: it is how tests and the demo decide what happens.
No API key is needed. Errors answer in the gateway's own error shape.

- ``POST /_sim/rules`` add a rule (see :mod:`orderhub.simulators.payments.rules`); ``GET`` lists them with
  their uses; ``DELETE`` removes them all.
- ``GET /_sim/authorizations`` everything stored, oldest first.
- ``GET /_sim/requests`` every ``/v1`` request answered (method, path, status, idempotency key, replayed).
- ``GET``/``POST /_sim/config`` the settings: ``magic_amounts``, ``rate_limit`` (requests a second per API
  key) and ``burst``.
- ``POST /_sim/reset`` forget authorizations, rules, idempotency keys and the request log.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from orderhub.simulators.payments.errors import ApiError, invalid
from orderhub.simulators.payments.gateway import Gateway
from orderhub.simulators.payments.responses import json_response
from orderhub.simulators.payments.rules import parse_rule

Handler = Callable[[dict[str, Any]], Any]


def _guard(handler: Handler, status: int = 200) -> Callable[[Request], Awaitable[Response]]:
    """Parse the JSON body, run the handler, and turn its errors into error answers."""

    async def endpoint(request: Request) -> Response:
        raw = await request.body()
        try:
            try:
                body = orjson.loads(raw) if raw.strip() else {}
            except orjson.JSONDecodeError as exc:
                raise invalid(None, f"The request body is not valid JSON: {exc}") from None
            if not isinstance(body, dict):
                raise invalid(None, "The request body must be a JSON object.")
            return json_response(handler(body), status)
        except ApiError as exc:
            return json_response(exc.body(), exc.status)

    return endpoint


class ControlApi:
    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway

    def routes(self) -> list[Route]:
        return [
            Route("/_sim/rules", _guard(self.add_rule, 201), methods=["POST"]),
            Route("/_sim/rules", _guard(self.list_rules), methods=["GET"]),
            Route("/_sim/rules", _guard(self.clear_rules), methods=["DELETE"]),
            Route("/_sim/authorizations", _guard(self.authorizations), methods=["GET"]),
            Route("/_sim/requests", _guard(self.requests), methods=["GET"]),
            Route("/_sim/config", _guard(self.settings), methods=["GET"]),
            Route("/_sim/config", _guard(self.configure), methods=["POST"]),
            Route("/_sim/reset", _guard(self.reset), methods=["POST"]),
        ]

    def add_rule(self, body: dict[str, Any]) -> Any:
        rule = parse_rule(body)
        count = self.gateway.add_rule(rule)
        return {"rule": rule.describe(), "position": count}

    def list_rules(self, body: dict[str, Any]) -> Any:
        return {"rules": self.gateway.rules()}

    def clear_rules(self, body: dict[str, Any]) -> Any:
        self.gateway.clear_rules()
        return {"rules": []}

    def authorizations(self, body: dict[str, Any]) -> Any:
        return {"authorizations": self.gateway.authorizations()}

    def requests(self, body: dict[str, Any]) -> Any:
        return {"requests": self.gateway.requests()}

    def settings(self, body: dict[str, Any]) -> Any:
        return self.gateway.settings()

    def configure(self, body: dict[str, Any]) -> Any:
        return self.gateway.configure(body)

    def reset(self, body: dict[str, Any]) -> Any:
        self.gateway.reset()
        return {"reset": True}

"""One SP-API operation as an ASGI endpoint: what every request goes through, in Amazon's order.

Each answer carries ``x-amzn-RequestId``; answers other than 429 carry ``x-amzn-RateLimit-Limit``
(the models list it on 200/400/403/404 and leave it off 429). In turn: the body is read up to
its limit (413), the access token is checked (403 ``Unauthorized``), the seller's token bucket
for the operation is drawn from (429 ``QuotaExceeded``), failure rules fire, and the handler
runs. A handler returns ``(status, payload)`` or raises :class:`SpApiError`; an unexpected
exception is answered 500 ``InternalFailure`` in the same shape, never a bare error page.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.types import Receive, Scope, Send

from orderhub.simulators.amazon.auth import Token, seller_of, unlocked_elements
from orderhub.simulators.amazon.errors import SpApiError, invalid_input, recorded
from orderhub.simulators.amazon.faults import FailureRule
from orderhub.simulators.amazon.ratelimit import header_value

if TYPE_CHECKING:
    from orderhub.simulators.amazon.simulator import Simulator

log = logging.getLogger(__name__)


class ConnectionDropped(Exception):
    """Raised after half an answer was sent, so the server closes the connection (a lost answer)."""


@dataclass
class Context:
    request: Request
    raw: bytes
    seller_id: str
    token: Token
    elements: frozenset[str] = frozenset()
    headers: dict[str, str] = field(default_factory=dict)  # extra answer headers from the handler

    @property
    def query(self) -> QueryParams:
        return self.request.query_params

    @property
    def params(self) -> dict[str, Any]:
        return self.request.path_params

    @property
    def base_url(self) -> str:
        host, port = self.request.scope.get("server") or ("127.0.0.1", 80)
        return f"http://{host}:{port}"

    def json(self) -> Any:
        if not self.raw.strip():
            raise invalid_input("The request body is empty; this operation needs a JSON body.")
        content_type = self.request.headers.get("content-type", "application/json")
        if "json" not in content_type:
            raise SpApiError(415, "UnsupportedMediaType", f"The content type {content_type} is not supported; "
                                                          "send application/json.")
        try:
            return orjson.loads(self.raw)
        except orjson.JSONDecodeError as exc:
            raise invalid_input(f"The request body is not valid JSON: {exc}.") from None


Handler = Callable[[Context], tuple[int, Any]]


async def read_body(request: Request, limit: int) -> bytes:
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise SpApiError(413, "RequestEntityTooLarge", f"The request body is larger than {limit} bytes.")
        chunks.append(chunk)
    return b"".join(chunks)


def internal(status: int) -> SpApiError:
    if status == 503:
        return SpApiError(503, "ServiceUnavailable", "Service temporarily unavailable. Please try again.")
    return SpApiError(status, "InternalFailure", "We encountered an internal error. Please try again.")


class Operation:
    def __init__(self, sim: Simulator, name: str, handler: Handler, *, restricted: bool = False) -> None:
        self.sim = sim
        self.name = name
        self.handler = handler
        self.restricted = restricted  # a restricted data token may call it

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        headers = {"x-amzn-RequestId": str(uuid.uuid4())}
        plan = self.sim.limiter.plan(self.name)
        if plan is not None:
            headers["x-amzn-RateLimit-Limit"] = header_value(plan.rate)
        entry: dict[str, Any] = {"operation": self.name, "method": request.method, "path": request.url.path}
        rule: FailureRule | None = None
        self.sim.tick()
        try:
            raw = await read_body(request, self.sim.max_body_bytes)
            context = self._authorise(request, raw)
            entry["seller_id"] = context.seller_id
            if not self.sim.limiter.take(context.seller_id, self.name):
                headers.pop("x-amzn-RateLimit-Limit", None)
                raise recorded("QuotaExceeded")
            rule = self.sim.faults.take(self.name)
            if rule is not None:
                entry["fault"] = rule.outcome
            if rule is not None and rule.outcome == "error":
                raise internal(rule.status)
            if rule is not None and rule.outcome == "timeout" and not rule.process:
                await asyncio.sleep(rule.seconds)
                raise SpApiError(504, "GatewayTimeout", "The request timed out.")
            status, payload = self.handler(context)
            headers.update(context.headers)
            if rule is not None and rule.outcome == "timeout":
                await asyncio.sleep(rule.seconds)
            if rule is not None and rule.outcome == "lost":
                if rule.drop:
                    entry["status"] = "dropped"
                    self.sim.log_request(entry)
                    await self._drop(send, headers)
                raise internal(rule.status)
        except SpApiError as exc:
            status, payload = exc.status, exc.body()
            headers.update(exc.headers)
        except ConnectionDropped:
            raise
        except Exception:  # the simulator's own fault: still Amazon's error shape, and logged
            log.exception("Amazon simulator failed on %s %s", request.method, request.url.path)
            status, payload = 500, internal(500).body()
        entry["status"] = status
        self.sim.log_request(entry)
        body = b"" if payload is None else orjson.dumps(payload)
        response_headers = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        if payload is not None:
            response_headers.append((b"content-type", b"application/json"))
        response_headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": response_headers})
        await send({"type": "http.response.body", "body": body})

    def _authorise(self, request: Request, raw: bytes) -> Context:
        token = self.sim.tokens.resolve(request.headers.get("x-amz-access-token"))
        elements: frozenset[str] = frozenset()
        if token.restricted:
            elements = unlocked_elements(token, request.method, request.url.path)
            if not self.restricted or not elements:
                raise SpApiError(403, "Unauthorized", "Access to requested resource is denied.",
                                 "The restricted data token does not name this resource.")
        return Context(request, raw, seller_of(token), token, elements)

    @staticmethod
    async def _drop(send: Send, headers: dict[str, str]) -> None:
        start = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        start += [(b"content-type", b"application/json"), (b"content-length", b"4096")]
        await send({"type": "http.response.start", "status": 200, "headers": start})
        await send({"type": "http.response.body", "body": b'{"payload": {', "more_body": True})
        raise ConnectionDropped("answer dropped on purpose by a failure rule")

"""The path every service request takes: body bound, credentials, rate limit, injected fault, endpoint.

Order: the body is bounded (``max_body_bytes``, 413 beyond it); the Token API checks Basic
credentials, every other call ``WM_SEC.ACCESS_TOKEN`` and the required headers; the seller's
bucket for the operation is charged (429 with ``X-Current-Token-Count`` and
``X-Next-Replenishment-Time`` when empty; both headers ride on every answer); an injected
fault may fire; then the endpoint runs. Any :class:`WalmartError` becomes Walmart's error
body; an unexpected exception becomes a 500 in the same shape (never a bare traceback).
Every answer is written to the request log.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import structlog
from starlette.requests import Request
from starlette.responses import Response

from orderhub.simulators.walmart.auth import Account, require_headers
from orderhub.simulators.walmart.errors import WalmartError, bad_content, json_response, server_error, throttled
from orderhub.simulators.walmart.simulator import Simulator

log = structlog.get_logger(__name__)
Handler = Callable[[Request, Account | None, bytes], Awaitable[Any]]


class DroppedResponse(Response):
    """Starts an answer and cuts the connection halfway: the client sees a protocol error."""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", b"4096")]})
        await send({"type": "http.response.body", "body": b'{"order": {', "more_body": True})
        raise ConnectionAbortedError("the simulator dropped this answer on purpose (failure rule 'lost', drop)")


def json_body(raw: bytes, service: str) -> Any:
    if not raw.strip():
        raise bad_content(service, "body", "The request body is empty; send the JSON document the API expects.")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise bad_content(service, "body", f"The request body is not valid JSON: {exc}.") from None


def _headers(request: Request) -> dict[str, str]:
    return {k.lower(): v for k, v in request.headers.items()}


def endpoint(sim: Simulator, operation: str | Callable[[Request], str], handler: Handler, *,
             token_call: bool = False) -> Callable[[Request], Awaitable[Response]]:
    """Wrap ``handler`` (returning a JSON-able payload or a Response) in the pipeline."""

    async def run(request: Request) -> Response:
        op = operation(request) if callable(operation) else operation
        entry: dict[str, Any] = {"method": request.method, "path": request.url.path, "operation": op,
                                 "query": dict(request.query_params),
                                 "correlation_id": request.headers.get("WM_QOS.CORRELATION_ID")}
        limit_headers: dict[str, str] = {}
        try:
            declared = request.headers.get("content-length", "0")
            if declared.isdigit() and int(declared) > sim.max_body_bytes:
                raise _too_large(int(declared), sim.max_body_bytes)
            raw = await request.body()
            if len(raw) > sim.max_body_bytes:
                raise _too_large(len(raw), sim.max_body_bytes)
            account: Account | None = None
            if token_call:
                require_headers(_headers(request))
            else:
                account = sim.accounts.authenticate(_headers(request))
                entry["seller"] = account.client_id
                verdict = sim.throttle.take(account.client_id, op)
                if verdict is not None:
                    limit_headers = verdict.headers()
                    if not verdict.allowed:
                        raise throttled(f"Request threshold violated for {op}; wait until "
                                        f"X-Next-Replenishment-Time ({verdict.next_replenish_ms}) and retry.",
                                        limit_headers)
            rule = sim.faults.take(op, request.method, request.url.path)
            if rule is not None:
                entry["fault"] = rule.outcome
                if rule.outcome == "timeout":
                    await asyncio.sleep(rule.seconds)
                    raise server_error(504, f"The gateway timed out waiting for {op} (injected timeout).")
                if rule.outcome == "error":
                    raise server_error(rule.status, f"{op} failed (injected {rule.status}); nothing was done.")
            result = await handler(request, account, raw)
            if rule is not None and rule.outcome == "lost" and not rule.drop:
                raise server_error(rule.status, f"{op} was carried out but its answer was lost (injected "
                                                f"{rule.status}).")
            if rule is not None and rule.outcome == "lost":
                entry["status"] = "dropped"
                response = DroppedResponse()
            else:
                response = result if isinstance(result, Response) else json_response(result)
                response.headers.update(limit_headers)
        except WalmartError as exc:
            entry["errors"] = [exc.entry["code"]]
            response = json_response(exc.body(), exc.status, {**limit_headers, **exc.headers})
        except Exception as exc:  # a bug in the simulator must still answer in Walmart's shape
            log.exception("walmart_simulator_error", operation=op)
            err = server_error(500, f"The simulator failed on {op}: {exc!r}.")
            entry["errors"] = [err.entry["code"]]
            response = json_response(err.body(), 500)
        entry.setdefault("status", response.status_code)
        sim.log_request(entry)
        return response

    return run


def _too_large(size: int, limit: int) -> WalmartError:
    return WalmartError(413, "PAYLOAD_TOO_LARGE", "GMP_GATEWAY_API", "body", "Payload Too Large",
                        f"The request body is {size} bytes; at most {limit} bytes are accepted.", category="REQUEST")

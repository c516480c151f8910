"""The service's endpoints and the pipeline every one of them runs through.

Pipeline, in order: injected latency, injected failure (error or timeout), then the
endpoint, which checks ``Auth-Session`` itself (the sign-in endpoints cannot require one).
Every answer uses the ``{"data", "errors"}`` envelope and is written to the request log
(the password in ``/v1/rest/auth`` is never logged).

Endpoints:

- ``GET /v1/rest/auth`` → ``Auth-Nonce`` header; with ``usr``/``pwd`` and ``Auth-Nonce`` +
  ``Auth-Nonce-Response`` headers → ``Auth-Session`` header.
- ``GET /v1/rest/sit?ws=WORKSTATION`` seats the session at a workstation.
- ``GET /v1/rest/session`` describes the caller's session.
- ``POST /api/v1/Document/Ordertoinvoice`` (see :mod:`.invoices`).
- ``POST /api/v1/Transfer/Slip`` (see :mod:`.transfers`).
- ``GET /v1/rest/document`` sales documents (register receipts and invoices) with ``filter``, ``cols``,
  ``sort``, ``page_no`` and ``page_size`` (see :mod:`.documents`).
- ``GET /api/v1/Inventory?store=CODE`` a store's on-hand quantities by UPC (the simulator's
  own read path; Prism's real inventory resources were not confirmed from documentation).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import structlog
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from orderhub.simulators.retailpro import documents, invoices, transfers
from orderhub.simulators.retailpro.errors import PrismError, fail, json_response, ok
from orderhub.simulators.retailpro.faults import FailureRule
from orderhub.simulators.retailpro.simulator import Simulator

log = structlog.get_logger(__name__)
Endpoint = Callable[[Request], Awaitable[Response]]


async def json_body(request: Request) -> Any:
    raw = await request.body()
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise fail(400, "BODY_INVALID", f"The request body is not valid JSON: {exc}.") from None


def _query_for_log(request: Request) -> dict[str, str]:
    return {k: ("***" if k.lower() == "pwd" else v) for k, v in request.query_params.items()}


class PrismApi:
    def __init__(self, simulator: Simulator) -> None:
        self.sim = simulator

    def routes(self) -> list[Route]:
        return [
            Route("/v1/rest/auth", self._pipeline(self.auth), methods=["GET"]),
            Route("/v1/rest/sit", self._pipeline(self.sit), methods=["GET"]),
            Route("/v1/rest/session", self._pipeline(self.session), methods=["GET"]),
            Route(invoices.PATH, self._pipeline(self.invoice), methods=["POST"]),
            Route(transfers.PATH, self._pipeline(self.slip), methods=["POST"]),
            Route("/api/v1/Inventory", self._pipeline(self.inventory), methods=["GET"]),
            Route(documents.PATH, self._pipeline(self.documents), methods=["GET"]),
        ]

    # -- pipeline -----------------------------------------------------------------------------------

    def _pipeline(self, endpoint: Endpoint) -> Endpoint:
        async def run(request: Request) -> Response:
            entry: dict[str, Any] = {"method": request.method, "path": request.url.path,
                                     "query": _query_for_log(request), "fault": None}
            try:
                response = await self._run(request, endpoint, entry)
            except PrismError as exc:
                entry["errors"] = [e.errorcode for e in exc.errors]
                response = json_response(exc.body(), exc.status, exc.headers)
            except Exception:
                log.exception("retail pro simulator failed", path=request.url.path)
                entry["errors"] = ["INTERNAL_ERROR"]
                response = json_response(fail(500, "INTERNAL_ERROR", "An unexpected error occurred in the "
                                                                     "simulator.").body(), 500)
            self.sim.log_request(dict(entry, status=response.status_code))
            return response

        return run

    async def _run(self, request: Request, endpoint: Endpoint, entry: dict[str, Any]) -> Response:
        delay = self.sim.faults.latency.delay(request.url.path)
        if delay > 0:
            await asyncio.sleep(delay)
        rule: FailureRule | None = self.sim.faults.take(request.method, request.url.path)
        if rule is not None:
            entry["fault"] = rule.outcome
        if rule is not None and rule.outcome == "error":
            raise fail(rule.status, "SIMULATED_FAILURE", f"The server failed (simulated {rule.status}); nothing "
                                                         "was done. Retry later.")
        if rule is not None and not rule.process:
            await asyncio.sleep(rule.seconds)
            raise fail(504, "SIMULATED_TIMEOUT", f"No answer within {rule.seconds:g} seconds (simulated); nothing "
                                                 "was done.")
        response = await endpoint(request)
        if rule is not None:  # a timeout after the work was done: the answer comes late
            await asyncio.sleep(rule.seconds)
        return response

    def _session(self, request: Request) -> None:
        self.sim.sessions.authenticate(request.headers.get("auth-session"))

    # -- sign-in ------------------------------------------------------------------------------------

    async def auth(self, request: Request) -> Response:
        query = request.query_params
        if "usr" not in query and "pwd" not in query:
            return ok([], headers={"Auth-Nonce": str(self.sim.sessions.issue_nonce())})
        token = self.sim.sessions.sign_in(query.get("usr", ""), query.get("pwd", ""),
                                          request.headers.get("auth-nonce"),
                                          request.headers.get("auth-nonce-response"))
        return ok([{"user": query.get("usr", "")}], headers={"Auth-Session": token})

    async def sit(self, request: Request) -> Response:
        session = self.sim.sessions.seat(request.headers.get("auth-session"), request.query_params.get("ws", ""))
        return ok([{"user": session.user, "workstation": session.workstation}],
                  headers={"Auth-Session": session.token})

    async def session(self, request: Request) -> Response:
        session = self.sim.sessions.authenticate(request.headers.get("auth-session"), seated=False)
        return ok([session.describe()])

    # -- documents and stock ------------------------------------------------------------------------

    async def invoice(self, request: Request) -> Response:
        self._session(request)
        return ok([invoices.create_invoice(await json_body(request), self.sim.store)], 201)

    async def slip(self, request: Request) -> Response:
        self._session(request)
        return ok([transfers.create_slip(await json_body(request), self.sim.store)], 201)

    async def documents(self, request: Request) -> Response:
        """A v1 REST read: the page of documents as a bare JSON array (errors keep the envelope)."""
        self._session(request)
        return json_response(documents.query(self.sim.store.documents(), request.query_params))

    async def inventory(self, request: Request) -> Response:
        self._session(request)
        store = request.query_params.get("store", "")
        if not store:
            raise fail(400, "FIELD_REQUIRED", "Name the store: /api/v1/Inventory?store=CODE.", "store")
        return ok([{"Store": store, "UPC": upc, "Qty": qty} for upc, qty in self.sim.store.on_hand(store).items()])

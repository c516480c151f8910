"""Shared pieces of the Amazon simulator tests: a fresh simulator per test behind one loopback server,
an HTTP helper that signs in through Login with Amazon, and a receiver for EventBridge deliveries.

Tests meet the simulator over HTTP only (plus ``sim`` for reading what it recorded).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from orderhub.simulators.amazon.app import create_app
from orderhub.simulators.amazon.simulator import Simulator
from orderhub.testing.server import ServerThread

CLIENT_ID = "amzn1.application-oa2-client.test-app"
CLIENT_SECRET = "amzn1.oa2-cs.v1.test-secret-🔑"
SELLER_A = "A1TESTSELLERUS"
SELLER_B = "A2TESTSELLEREU"
REFRESH_A = "Atzr|refresh-a"
REFRESH_B = "Atzr|refresh-b"
US = "ATVPDKIKX0DER"
DE = "A1PA6795UKMFR9"
UK = "A1F83G8C2ARO7P"
SELLERS = [{"seller_id": SELLER_A, "refresh_token": REFRESH_A, "marketplace_ids": [US]},
           {"seller_id": SELLER_B, "refresh_token": REFRESH_B, "marketplace_ids": [DE, UK]}]
START = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
EPOCH = "2026-01-01T00:00:00Z"


class SwitchApp:
    """An ASGI app forwarding to whichever simulator a test plugs in, so one server serves every test."""

    def __init__(self) -> None:
        self.app: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await receive()
            await send({"type": "lifespan.startup.complete"})
            await receive()
            await send({"type": "lifespan.shutdown.complete"})
            return
        await self.app(scope, receive, send)


class Amazon:
    """The simulator over HTTP: LWA, SP-API calls with a seller's token, and the control API."""

    def __init__(self, sim: Simulator, http: httpx.Client, url: str) -> None:
        self.sim = sim
        self.http = http
        self.url = url
        self._tokens: dict[str, str] = {}

    def lwa(self, **form: str) -> httpx.Response:
        return self.http.post("/auth/o2/token", data=form)

    def token(self, refresh: str = REFRESH_A) -> str:
        if refresh not in self._tokens:
            response = self.lwa(grant_type="refresh_token", refresh_token=refresh, client_id=CLIENT_ID,
                                client_secret=CLIENT_SECRET)
            assert response.status_code == 200, response.text
            self._tokens[refresh] = response.json()["access_token"]
        return self._tokens[refresh]

    def call(self, method: str, path: str, *, token: str | None = None, refresh: str = REFRESH_A,
             params: Any = None, json: Any = None) -> httpx.Response:
        headers = {"x-amz-access-token": token if token is not None else self.token(refresh)}
        return self.http.request(method, path, params=params, json=json, headers=headers)

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.call("GET", path, **kw)

    def control(self, method: str, path: str, body: Any = None, expect: int | None = None) -> Any:
        response = self.http.request(method, f"/_sim{path}", json=body)
        if expect is not None:
            assert response.status_code == expect, response.text
        else:
            assert response.is_success, response.text
        return response.json()

    def orders(self, body: dict[str, Any]) -> list[str]:
        return list(self.control("POST", "/orders", body, expect=201)["order_ids"])

    def advance(self, seconds: float) -> None:
        self.control("POST", "/clock", {"advance": seconds})

    def list_orders(self, refresh: str = REFRESH_A, token: str | None = None, **params: Any) -> httpx.Response:
        return self.get("/orders/v0/orders", refresh=refresh, token=token, params={"MarketplaceIds": US, **params})


def serve() -> Iterator[tuple[SwitchApp, httpx.Client, str]]:
    switch = SwitchApp()
    with ServerThread(switch) as server, httpx.Client(base_url=server.url, timeout=15) as http:
        yield switch, http, server.url


def fresh(switch: SwitchApp, http: httpx.Client, url: str, **options: Any) -> Iterator[Amazon]:
    sim = Simulator(SELLERS, {CLIENT_ID: CLIENT_SECRET}, seed=7, start=START, frozen_clock=True,
                    retry_schedule=[0.05, 0.1, 0.2], **options).start()
    switch.app = create_app(sim)
    yield Amazon(sim, http, url)
    sim.stop()


class Receiver:
    """Records POSTs to any path; answers the planned statuses in turn, then 200."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.received: list[tuple[str, dict[str, str], Any]] = []
        self.plan: list[int] = []
        self.server = ServerThread(Starlette(routes=[Route("/{path:path}", self._handle, methods=["POST"])]))

    async def _handle(self, request: Request) -> Response:
        body = orjson.loads(await request.body())
        with self._lock:
            self.received.append(("/" + request.path_params["path"], dict(request.headers), body))
            status = self.plan.pop(0) if self.plan else 200
        return Response(status_code=status)

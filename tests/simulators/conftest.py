"""Fixtures for the Shopify simulator tests: the simulator and a webhook receiver, both on loopback.

The receiver checks every webhook's HMAC itself (with the secrets the test gave
the shops), records what arrived, and answers with the statuses (or delays) a
test plans for each path.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from orderhub.simulators.shopify.app import create_app
from orderhub.simulators.shopify.simulator import Simulator
from orderhub.testing.server import ServerThread
from tests.versions import NEWEST, TEST_DAY

SHOP_A = "alpha-store.myshopify.com"
SHOP_B = "beta-store.myshopify.com"
SECRETS = {SHOP_A: "alpha-secret-🦋", SHOP_B: "beta-secret"}
TOKENS = {SHOP_A: "shpat_alpha", SHOP_B: "shpat_beta"}
API_VERSION = NEWEST
FAST_RETRIES = [0.05, 0.1, 0.2]


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float  # time.monotonic() on arrival
    hmac_ok: bool

    @property
    def topic(self) -> str:
        return self.headers["x-shopify-topic"]

    @property
    def webhook_id(self) -> str:
        return self.headers["x-shopify-webhook-id"]

    def json(self) -> Any:
        return orjson.loads(self.body)


class Receiver:
    """Records webhook POSTs to any path; answers per plan (200 when a path has no plan left)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()
        self.server = ServerThread(Starlette(routes=[Route("/{path:path}", self._handle, methods=["POST"])]))

    def reset(self) -> None:
        with self._lock:
            self.received: list[Received] = []
            self.secrets = dict(SECRETS)  # what the receiver verifies signatures with, per shop
            self._plans: dict[str, list[int | float]] = {}
            self._always: dict[str, int] = {}

    @property
    def url(self) -> str:
        return self.server.url

    def plan(self, path: str, answers: list[int | float]) -> None:
        """Answer the next requests to ``path`` with these statuses; a float means "sleep that long, then 200"."""
        self._plans[path] = list(answers)

    def always(self, path: str, status: int) -> None:
        self._always[path] = status

    async def _handle(self, request: Request) -> Response:
        body = await request.body()
        headers = {k.lower(): v for k, v in request.headers.items()}
        secret = self.secrets.get(headers.get("x-shopify-shop-domain", ""), "")
        expected = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
        ok = hmac.compare_digest(expected, headers.get("x-shopify-hmac-sha256", ""))
        path = "/" + request.path_params["path"]
        with self._lock:
            self.received.append(Received(path, headers, body, time.monotonic(), ok))
            plan = self._plans.get(path)
            answer: int | float = plan.pop(0) if plan else self._always.get(path, 200)
        if isinstance(answer, float):
            await asyncio.sleep(answer)
            answer = 200
        return Response(status_code=answer)

    def on(self, path: str, topic: str | None = None) -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.path == path and (topic is None or r.topic == topic)]


class SimClient:
    """The simulator over HTTP: its control API and each shop's Admin GraphQL API."""

    def __init__(self, sim: Simulator, http: httpx.Client) -> None:
        self.sim = sim
        self.http = http

    def control(self, method: str, path: str, body: Any = None, expect: int | None = None) -> Any:
        response = self.http.request(method, f"/_sim{path}", json=body)
        if expect is not None:
            assert response.status_code == expect, response.text
        else:
            assert response.is_success, response.text
        return response.json()

    def graphql_response(self, query: str, variables: dict[str, Any] | None = None, *, shop: str | None = SHOP_A,
                         token: str | None = None, version: str = API_VERSION) -> httpx.Response:
        path = f"/admin/api/{version}/graphql.json"
        if shop is not None:
            path = f"/shops/{shop}{path}"
        token = token if token is not None else TOKENS.get(shop or SHOP_A, "")
        return self.http.post(path, json={"query": query, "variables": variables or {}},
                              headers={"X-Shopify-Access-Token": token})

    def graphql(self, query: str, variables: dict[str, Any] | None = None, *, shop: str = SHOP_A,
                version: str = API_VERSION) -> Any:
        response = self.graphql_response(query, variables, shop=shop, version=version)
        assert response.status_code == 200, response.text
        body = response.json()
        assert "errors" not in body, body["errors"]
        return body["data"]

    def subscribe(self, topic_enum: str, callback_url: str, shop: str = SHOP_A) -> str:
        data = self.graphql("""
            mutation($topic: WebhookSubscriptionTopic!, $url: URL!) {
              webhookSubscriptionCreate(topic: $topic, webhookSubscription: {callbackUrl: $url, format: JSON}) {
                webhookSubscription { id } userErrors { field message } } }""",
                            {"topic": topic_enum, "url": callback_url}, shop=shop)["webhookSubscriptionCreate"]
        assert data["userErrors"] == []
        return str(data["webhookSubscription"]["id"])

    def place(self, count: int, shop: str = SHOP_A, **extra: Any) -> list[int]:
        return list(self.control("POST", "/orders", {"shop": shop, "count": count, **extra}, expect=201)["order_ids"])

    def idle(self, timeout: float = 10.0) -> None:
        assert self.control("POST", "/wait_idle", {"timeout": timeout})["idle"], "webhook queue did not drain"

    def deliveries(self, **filters: str) -> list[dict[str, Any]]:
        return list(self.http.get("/_sim/deliveries", params=filters).json()["deliveries"])


class SwitchApp:
    """An ASGI app that forwards to whichever app a test plugs in, so one server serves every test."""

    def __init__(self) -> None:
        self.app: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":  # the plugged-in simulators are started and stopped by the fixture
            await receive()  # lifespan.startup
            await send({"type": "lifespan.startup.complete"})
            await receive()  # lifespan.shutdown
            await send({"type": "lifespan.shutdown.complete"})
            return
        await self.app(scope, receive, send)


@pytest.fixture(scope="session")
def _receiver_server() -> Iterator[Receiver]:
    r = Receiver()
    r.server.start()
    yield r
    r.server.stop()


@pytest.fixture
def receiver(_receiver_server: Receiver) -> Receiver:
    _receiver_server.reset()
    return _receiver_server


@pytest.fixture(scope="session")
def _sim_server() -> Iterator[tuple[SwitchApp, httpx.Client]]:
    switch = SwitchApp()
    with ServerThread(switch) as server, httpx.Client(base_url=server.url, timeout=15) as http:
        yield switch, http


@pytest.fixture
def sim_client(_sim_server: tuple[SwitchApp, httpx.Client]) -> Iterator[SimClient]:
    """A fresh simulator with two shops, behind the session's server."""
    switch, http = _sim_server
    shops = [{"domain": d, "api_secret": SECRETS[d], "access_token": TOKENS[d]} for d in (SHOP_A, SHOP_B)]
    sim = Simulator(shops, retry_schedule=FAST_RETRIES, seed=42, timeout=2.0)
    sim.store.clock.fixed_day = TEST_DAY  # the day the API-version rules are read on
    sim.start()
    switch.app = create_app(sim)
    yield SimClient(sim, http)
    sim.stop()

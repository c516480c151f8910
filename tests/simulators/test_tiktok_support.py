"""Shared fixtures for the TikTok Shop simulator tests (no tests here): one simulator server per module,
reset before each test, and a caller that signs requests the way TikTok documents, using the
tiktok-shop-api client's own signer (an independent implementation of the algorithm)."""

from __future__ import annotations

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
from tiktok_shop_api import Signer

from orderhub.simulators.tiktok.defaults import DEFAULT_APP_KEY, DEFAULT_APP_SECRET
from orderhub.simulators.tiktok.server import start_in_thread
from orderhub.simulators.tiktok.simulator import Simulator
from orderhub.testing.server import ServerThread

APP_KEY, APP_SECRET = DEFAULT_APP_KEY, DEFAULT_APP_SECRET
TOKEN = "sim-access-token-1"
CIPHER = "ROW_sim_cipher_studio_us"
SHOP_ID = "7494049642642441621"
OTHER_TOKEN, OTHER_CIPHER = "sim-access-token-2", "ROW_sim_cipher_bjork"


@dataclass
class Tiktok:
    sim: Simulator
    url: str
    http: httpx.Client

    def call(self, method: str, path: str, body: Any = None, *, query: dict[str, str] | None = None,
             token: str | None = TOKEN, cipher: str | None = CIPHER, app_key: str = APP_KEY,
             secret: str = APP_SECRET, timestamp: int | None = None, sign: str | None = None) -> httpx.Response:
        params = dict(query or {})
        if cipher:
            params["shop_cipher"] = cipher
        params["app_key"] = app_key
        params["timestamp"] = str(self.sim.clock.now() if timestamp is None else timestamp)
        raw = orjson.dumps(body) if body is not None else b""
        params["sign"] = sign or Signer.sign(path=path, query=list(params.items()), content_type="application/json",
                                             body=raw or None, app_secret=secret)
        headers = {"content-type": "application/json"} | ({"x-tts-access-token": token} if token else {})
        return self.http.request(method, path, params=params, content=raw or None, headers=headers)

    def ok(self, method: str, path: str, body: Any = None, **kw: Any) -> Any:
        response = self.call(method, path, body, **kw)
        assert response.status_code == 200, response.text
        envelope = response.json()
        assert envelope["code"] == 0, envelope
        return envelope["data"]

    def control(self, method: str, path: str, body: Any = None) -> Any:
        response = self.http.request(method, f"/_sim{path}", json=body)
        assert response.status_code == 200, response.text
        return response.json()["data"]

    def order(self, **spec: Any) -> dict[str, Any]:
        spec.setdefault("lines", [{"seller_sku": "MUG-CAFE-WHT", "quantity": 2}])
        return self.control("POST", "/orders", spec)["order"]


@pytest.fixture(scope="module")
def _server() -> Iterator[tuple[Simulator, str, httpx.Client]]:
    sim, url, stop = start_in_thread()
    with httpx.Client(base_url=url, timeout=10) as http:
        yield sim, url, http
    stop()


@pytest.fixture
def tt(_server: tuple[Simulator, str, httpx.Client]) -> Tiktok:
    sim, url, http = _server
    sim.reset()
    sim.rates.configure("*", 50)
    sim.rates.per_operation.clear()
    return Tiktok(sim, url, http)


class Receiver:
    """A webhook hook_receiver on loopback: records every POST and answers per plan (200 when none left)."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.plan: list[int] = []
        self._lock = threading.Lock()
        self.server = ServerThread(Starlette(routes=[Route("/hook", self._handle, methods=["POST"])]))

    async def _handle(self, request: Request) -> Response:
        body = await request.body()
        with self._lock:
            self.received.append(({k.lower(): v for k, v in request.headers.items()}, body))
            status = self.plan.pop(0) if self.plan else 200
        return Response(status_code=status)

    @property
    def url(self) -> str:
        return f"{self.server.url}/hook"

    def bodies(self) -> list[dict[str, Any]]:
        with self._lock:
            return [orjson.loads(body) for _, body in self.received]

    def wait_for(self, count: int, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(self.received) >= count, f"{len(self.received)} webhooks arrived, expected {count}"


@pytest.fixture(scope="module")
def _hook_receiver() -> Iterator[Receiver]:
    hook_receiver = Receiver()
    hook_receiver.server.start()
    yield hook_receiver
    hook_receiver.server.stop()


@pytest.fixture
def hook_receiver(_hook_receiver: Receiver) -> Receiver:
    _hook_receiver.received.clear()
    _hook_receiver.plan.clear()
    return _hook_receiver

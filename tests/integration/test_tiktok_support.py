"""Shared fixtures for the TikTok Shop adapter tests (no tests here): the simulator on loopback, reset for
each test, and a TikTok account in orderhub pointing at it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from orderhub.adapters.channels import account_values
from orderhub.adapters.store import accounts
from orderhub.adapters.tiktok.channel import client_for
from orderhub.adapters.tiktok.client import TikTokClient
from orderhub.bootstrap import Hub
from orderhub.simulators.tiktok.defaults import DEFAULT_APP_KEY, DEFAULT_APP_SECRET
from orderhub.simulators.tiktok.server import start_in_thread
from orderhub.simulators.tiktok.simulator import Simulator

TOKEN = "sim-access-token-1"
CIPHER = "ROW_sim_cipher_studio_us"
SHOP_ID = "7494049642642441621"
ACCOUNT = "zoe-studio"


@dataclass
class Sim:
    sim: Simulator
    url: str
    http: httpx.Client

    def control(self, method: str, path: str, body: Any = None) -> Any:
        response = self.http.request(method, f"/_sim{path}", json=body)
        assert response.status_code == 200, response.text
        return response.json()["data"]

    def order(self, **spec: Any) -> dict[str, Any]:
        spec.setdefault("lines", [{"seller_sku": "MUG-CAFE-WHT", "quantity": 2}])
        return self.control("POST", "/orders", spec)["order"]

    def event(self, order_id: str, event: str, **more: Any) -> dict[str, Any]:
        return self.control("POST", f"/orders/{order_id}/events", {"event": event, **more})

    def operations(self, kind: str) -> list[dict[str, Any]]:
        return self.control("GET", f"/operations?kind={kind}")["operations"]

    def requests(self, operation: str) -> list[dict[str, Any]]:
        return [r for r in self.control("GET", "/requests")["requests"] if r["operation"] == operation]

    def fail(self, **rule: Any) -> None:
        self.control("POST", "/failures", rule)


@pytest.fixture(scope="module")
def _sim_server() -> Iterator[tuple[Simulator, str, httpx.Client]]:
    sim, url, stop = start_in_thread()
    with httpx.Client(base_url=url, timeout=10) as http:
        yield sim, url, http
    stop()


@pytest.fixture
def tt(_sim_server: tuple[Simulator, str, httpx.Client], monkeypatch: pytest.MonkeyPatch) -> Sim:
    sim, url, http = _sim_server
    sim.reset()
    sim.rates.configure("*", 50)
    sim.rates.per_operation.clear()
    monkeypatch.setenv("ORDERHUB_OUTBOUND_ALLOWED_HOSTS", "127.0.0.1,localhost")
    return Sim(sim, url, http)


def add_account(hub: Hub, tt: Sim, name: str = ACCOUNT, **credentials: str) -> accounts.Account:
    settings, secrets = account_values("tiktok", {"app_key": DEFAULT_APP_KEY, "shop_cipher": CIPHER,
                                                  "endpoint": tt.url, "app_secret": DEFAULT_APP_SECRET,
                                                  "access_token": TOKEN} | credentials)
    with hub.db.write() as conn:
        return accounts.add(conn, "tiktok", name, settings, secrets)


@pytest.fixture
def account(hub: Hub, tt: Sim) -> accounts.Account:
    return add_account(hub, tt)


def fast_client(account: accounts.Account, hub: Hub, **options: Any) -> TikTokClient:
    """A client that backs off for hundredths of a second, not seconds."""
    return client_for(account, hub, **({"backoff_base": 0.01, "timeout": 5.0} | options))

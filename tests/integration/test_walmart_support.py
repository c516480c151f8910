"""The Walmart simulator on loopback and a Walmart account of the hub pointing at it, for the Walmart tests."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from orderhub.adapters.store import accounts
from orderhub.adapters.store.accounts import Account
from orderhub.adapters.walmart import client as walmart_client
from orderhub.bootstrap import Hub
from orderhub.simulators.walmart.defaults import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
from orderhub.simulators.walmart.server import start_in_thread


@dataclass
class Walmart:
    url: str
    account: Account
    hub: Hub

    def control(self, method: str, path: str, body: dict[str, Any] | None = None, **params: str) -> Any:
        response = httpx.request(method, f"{self.url}/_sim/{path}", json=body, params=params, timeout=10)
        assert response.status_code < 300, response.text
        return response.json()

    def orders(self, count: int = 1, kind: str | None = None) -> list[str]:
        return self.control("POST", "orders", {"count": count, **({"kind": kind} if kind else {})})["purchaseOrderIds"]

    def order(self, **spec: Any) -> str:
        return self.control("POST", "orders", {"order": spec})["purchaseOrderIds"][0]

    def operations(self, kind: str, purchase_order_id: str | None = None) -> list[dict[str, Any]]:
        params = {"kind": kind, **({"purchaseOrderId": purchase_order_id} if purchase_order_id else {})}
        return self.control("GET", "operations", **params)["operations"]

    def fail(self, **rule: Any) -> None:
        self.control("POST", "failures", rule)


@pytest.fixture(scope="module")
def walmart_url() -> Iterator[str]:
    _sim, url, stop = start_in_thread(seed=11)
    yield url
    stop()


@pytest.fixture
def walmart(hub: Hub, walmart_url: str) -> Walmart:
    """A fresh simulator scene (orders, stock, faults, limits reset) and the hub's account ``walmart-us``."""
    httpx.post(f"{walmart_url}/_sim/reset", timeout=10).raise_for_status()
    walmart_client.forget_tokens()
    with hub.db.write() as conn:
        account = accounts.add(conn, "walmart", "walmart-us", {"client_id": DEFAULT_CLIENT_ID, "endpoint": walmart_url},
                               {"client_secret": DEFAULT_CLIENT_SECRET})
        found = accounts.by_id(conn, account.id)
    assert found is not None
    return Walmart(walmart_url, found, hub)

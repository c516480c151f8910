"""Helpers for store and POS tests: a store with stock, an enrolled device, sales as a terminal sends them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx

from orderhub.adapters.store import inventory_store, pos_devices
from orderhub.bootstrap import Hub
from orderhub.clock import utcnow
from orderhub.domain.inventory import LedgerReason
from tests.stores_support import add_store


@dataclass
class Store:
    id: int
    code: str


def make_store(hub: Hub, code: str = "BOS01", stock: dict[str, int] | None = None, **values: Any) -> Store:
    """A store (tests/stores_support.py) with ``stock`` on hand."""
    fid = add_store(hub, code, f"Store {code} 🛍️", **values)
    with hub.db.write() as conn:
        for sku, qty in (stock or {}).items():
            inventory_store.set_on_hand(conn, sku, fid, qty, reason=LedgerReason.RECEIVED, actor="test")
    return Store(fid, code)


def enrol(hub: Hub, base_url: str, store: Store, name: str = "till-1") -> str:
    """A device credential, through the enrolment door as a terminal gets one."""
    with hub.db.write() as conn:
        code, _ = pos_devices.new_code(conn, store.id, actor="test")
    answer = httpx.post(f"{base_url}/api/pos/enrol", json={"code": code, "name": name, "version": "1.0"})
    assert answer.status_code == 201, answer.text
    return str(answer.json()["credential"])


def sale(lines: list[tuple[str, int]] | None = None, *, sequence: int = 1, at: datetime | None = None,
         price: str = "10.00", sale_id: str | None = None, **extra: Any) -> dict[str, Any]:
    """A sale as a terminal sends it: lines of (SKU, quantity), each at ``price``, paid in cash."""
    lines = lines or [("SKU-1", 1)]
    total = sum(int(q) for _, q in lines) * float(price)
    return {"id": sale_id or str(uuid.uuid4()), "sequence": sequence,
            "device_time": (at or utcnow() - timedelta(seconds=5)).isoformat(), "currency": "USD",
            "lines": [{"sku": sku, "quantity": q, "unit_price": price} for sku, q in lines],
            "tenders": [{"kind": "cash", "amount": f"{total:.2f}"}], **extra}


def sync(base_url: str, token: str, sales: list[dict[str, Any]], **device: Any) -> httpx.Response:
    return httpx.post(f"{base_url}/api/pos/sales", json={"device": device, "sales": sales},
                      headers={"authorization": f"Bearer {token}"}, timeout=30)

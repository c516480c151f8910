"""Helpers for order-management tests: a shop with two stocked warehouses, ingest, place, look."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import select

from orderhub.adapters.store import facilities, inventory_store, order_queries
from orderhub.adapters.store.schema import outbox
from orderhub.bootstrap import Hub
from orderhub.domain.inventory import LedgerReason, Position
from orderhub.services.workflow import Fault
from tests.support import BIG_ID, add_shop, drain, order_payload, put


def make_oms(hub: Hub) -> Any:
    shop = add_shop(hub)
    with hub.db.write() as conn:
        wh1 = facilities.add(conn, "WH-BER", "Berlin 🏭", "warehouse", latitude=52.52, longitude=13.40)
        wh2 = facilities.add(conn, "WH-MUC", "München", "warehouse", latitude=48.14, longitude=11.58)
        for sku, fid, qty in (("SKU-1", wh1, 5), ("SKU-2", wh1, 5)):
            inventory_store.set_on_hand(conn, sku, fid, qty, reason=LedgerReason.RECEIVED, actor="test")
    return type("Oms", (), {"shop": shop, "wh1": wh1, "wh2": wh2})


def ingest(hub: Hub, oms: Any, topic: str = "orders/create", **changes: Any) -> None:
    put(hub, topic, order_payload(**changes), shop_id=oms.shop.id)
    drain(hub)


def place(hub: Hub, fault: Fault | None = None, *, together: bool = True) -> None:
    """Place what is waiting; ``together=False``: every step in its own transaction (placement commits a
    batch's steps together), for a fault hook that changes an order in a transaction of its own between two."""
    engine = hub.placement(fault)
    engine.together = together
    for _ in range(20):
        if not engine.run_once()[0]:
            return
    raise AssertionError("placement did not settle")


def order(hub: Hub, shopify_id: int = BIG_ID) -> dict[str, Any]:
    with hub.db.read() as conn:
        oid = order_queries.find_order_id(conn, str(shopify_id))
        assert oid is not None
        found = order_queries.get_order(conn, oid)
    assert found is not None
    return found


def events(hub: Hub, prefix: str = "order.") -> list[tuple[str, dict[str, Any]]]:
    """The outbox's events whose type starts with ``prefix``, oldest first."""
    with hub.db.read() as conn:
        return [(r.event_type, orjson.loads(r.payload)) for r in conn.execute(
            select(outbox).where(outbox.c.event_type.startswith(prefix)).order_by(outbox.c.id))]


def position(hub: Hub, sku: str, facility_id: int) -> Position:
    with hub.db.read() as conn:
        return inventory_store.positions(conn, [sku])[(sku, facility_id)]

"""Orders entering the OMS: placement with compensation, events only after commit, approval, brokering."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from sqlalchemy import select

from orderhub.adapters.store import facilities, inventory_store, order_queries
from orderhub.adapters.store.schema import outbox, workflows
from orderhub.bootstrap import Hub
from orderhub.domain.inventory import LedgerReason, Position
from orderhub.services import routing_run
from orderhub.services.workflow import Fault
from tests.support import BIG_ID, add_shop, drain, order_payload, put

STEPS = ["validate", "reserve", "authorise_payment", "record", "finalise"]


@pytest.fixture
def oms(hub: Hub) -> Iterator[Any]:
    shop = add_shop(hub)
    with hub.db.write() as conn:
        wh1 = facilities.add(conn, "WH-BER", "Berlin 🏭", "warehouse", latitude=52.52, longitude=13.40)
        wh2 = facilities.add(conn, "WH-MUC", "München", "warehouse", latitude=48.14, longitude=11.58)
        for sku, fid, qty in (("SKU-1", wh1, 5), ("SKU-2", wh1, 5)):
            inventory_store.set_on_hand(conn, sku, fid, qty, reason=LedgerReason.RECEIVED, actor="test")
    yield type("Oms", (), {"shop": shop, "wh1": wh1, "wh2": wh2})


def ingest(hub: Hub, oms: Any, topic: str = "orders/create", **changes: Any) -> None:
    put(hub, topic, order_payload(**changes), shop_id=oms.shop.id)
    drain(hub)


def place(hub: Hub, fault: Fault | None = None) -> None:
    engine = hub.placement(fault)
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


def events(hub: Hub) -> list[tuple[str, dict[str, Any]]]:
    with hub.db.read() as conn:
        return [(r.event_type, orjson.loads(r.payload)) for r in conn.execute(select(outbox).order_by(outbox.c.id))]


def position(hub: Hub, sku: str, facility_id: int) -> Position:
    with hub.db.read() as conn:
        return inventory_store.positions(conn, [sku])[(sku, facility_id)]


def test_a_paid_order_is_placed_approved_and_brokered_with_its_stock_reserved(hub: Hub, oms: Any) -> None:
    ingest(hub, oms)
    assert order(hub)["status"] == "created" and events(hub) == []  # nothing said before placement ends
    place(hub)
    o = order(hub)
    assert (o["status"], o["payment_status"], o["fulfillment_status"]) == ("brokered", "paid", "unfulfilled")
    assert [(u["sku"], u["status"], u["facility"]) for u in o["units"]] == [
        ("SKU-1", "brokered", "WH-BER"), ("SKU-1", "brokered", "WH-BER"), ("SKU-2", "brokered", "WH-BER")]
    assert position(hub, "SKU-1", oms.wh1) == Position(5, 2, 0)
    assert position(hub, "SKU-2", oms.wh1) == Position(5, 1, 0)
    assert [e for e, _ in events(hub)] == ["order.created", "order.approved", "order.brokered", "order.placed"]
    kinds = [t["kind"] for t in o["timeline"]]
    assert kinds[-3:] == ["brokering", "approved", "placed"]
    brokering = next(t for t in o["timeline"] if t["kind"] == "brokering")
    assert brokering["actor"] == "placement" and brokering["detail"]["explanation"]


@pytest.mark.parametrize("step", STEPS)
def test_a_failure_at_any_step_compensates_and_leaks_no_event(hub: Hub, oms: Any, step: str) -> None:
    ingest(hub, oms)
    place(hub, fault=lambda name, flow: f"injected failure in {name}" if name == step else None)
    o = order(hub)
    assert o["status"] == "rejected"
    assert o["status_reason"] == f"injected failure in {step}"
    assert {u["status"] for u in o["units"]} == {"rejected"}
    assert position(hub, "SKU-1", oms.wh1) == Position(5, 0, 0)  # any reservation was released
    assert position(hub, "SKU-2", oms.wh1) == Position(5, 0, 0)
    assert [e for e, _ in events(hub) if e.startswith("order.")] == []
    assert o["timeline"][-1]["kind"] == "rejected"
    with hub.db.read() as conn:
        assert conn.execute(select(workflows.c.status)).scalar_one() == "compensated"


def test_an_unpaid_order_waits_for_its_payment_then_goes_through(hub: Hub, oms: Any) -> None:
    ingest(hub, oms, financial_status="pending")
    place(hub)
    o = order(hub)
    assert o["status"] == "created" and o["payment_status"] == "pending"
    assert position(hub, "SKU-1", oms.wh1).reserved == 2  # the stock stays held while it waits
    with hub.db.read() as conn:
        wf = conn.execute(select(workflows)).one()
    assert wf.status == "running" and "waiting for payment" in wf.error
    ingest(hub, oms, "orders/paid", financial_status="paid", updated_at="2026-11-23T11:00:00-05:00")
    place(hub)
    assert order(hub)["status"] == "brokered"
    assert [e for e, _ in events(hub)][-1] == "order.placed"


def test_an_order_beyond_stock_is_approved_and_parked_then_brokered_when_stock_arrives(hub: Hub, oms: Any) -> None:
    with hub.db.write() as conn:
        inventory_store.set_on_hand(conn, "SKU-1", oms.wh1, 1, reason=LedgerReason.CYCLE_COUNT, actor="test")
    ingest(hub, oms)
    place(hub)
    o = order(hub)
    assert o["status"] == "approved"
    parked = [u for u in o["units"] if u["status"] == "approved"]
    assert parked and all(u["queue"] == "backorder_parking" for u in parked)
    assert "order.brokered" not in [e for e, _ in events(hub)]
    with hub.db.write() as conn:
        inventory_store.set_on_hand(conn, "SKU-1", oms.wh2, 3, reason=LedgerReason.RECEIVED, actor="test")
    summary = routing_run.run(hub.db, actor="test")
    assert summary["units_brokered"] == len(parked)
    o = order(hub)
    assert o["status"] == "brokered"
    assert {u["facility"] for u in o["units"]} == {"WH-BER", "WH-MUC"}
    assert [e for e, _ in events(hub)][-1] == "order.brokered"


def test_a_cancellation_in_shopify_cancels_and_releases_the_reservations(hub: Hub, oms: Any) -> None:
    ingest(hub, oms)
    place(hub)
    ingest(hub, oms, "orders/cancelled", updated_at="2026-11-23T12:00:00-05:00",
           cancelled_at="2026-11-23T12:00:00-05:00", cancel_reason="customer")
    o = order(hub)
    assert o["status"] == "cancelled"
    assert {u["status"] for u in o["units"]} == {"cancelled"}
    assert position(hub, "SKU-1", oms.wh1) == Position(5, 0, 0)
    assert [e for e, _ in events(hub)][-1] == "order.cancelled"
    assert o["timeline"][-1]["actor"] == "shopify"

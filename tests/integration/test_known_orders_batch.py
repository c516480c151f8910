"""Later versions of known orders are stored a batch at a time; the result is what the record-by-record
path stores, in the order store and in the order management system."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from orderhub.adapters.store import facilities, inventory_store, known_orders
from orderhub.adapters.store.schema import orders, outbox, shops, workflows
from orderhub.bootstrap import Hub
from orderhub.domain.inventory import LedgerReason
from orderhub.services import fulfilment
from tests.integration.test_new_orders_batch import process, state, two_hubs  # noqa: F401
from tests.oms_support import place
from tests.support import BIG_ID, add_shop, order_payload, put

LATER = "2026-11-23T12:00:00-05:00"


def o(k: int, **changes: Any) -> dict[str, Any]:
    """Order ``k`` of the scenario (its line ids are its id + 1 and + 2, its shipping line + 3)."""
    return order_payload(BIG_ID + k * 1000, **changes)


def refund(k: int, refund_id: int) -> dict[str, Any]:
    return {"id": refund_id, "order_id": BIG_ID + k * 1000, "created_at": "2026-11-23T11:30:00-05:00",
            "note": "Rückgabe 📦", "refund_line_items": [{"id": refund_id + 1, "line_item_id": BIG_ID + k * 1000 + 2,
                                                         "quantity": 1, "subtotal": "10.00", "restock_type": "return"}],
            "transactions": [{"id": refund_id + 2, "kind": "refund", "status": "success", "amount": "10.00",
                              "currency": "EUR"}]}


def first_versions() -> list[tuple[str, dict[str, Any]]]:
    return [("orders/create", o(k, financial_status="pending" if k == 1 else "paid")) for k in range(1, 16)] + [
        ("refunds/create", refund(8, 8_800)),
        ("orders/edited", {"order_edit": {
            "id": 66, "order_id": BIG_ID + 10_000, "created_at": "2026-11-23T13:00:00-05:00",
            "line_items": {"additions": [], "removals": [{"id": BIG_ID + 10_001, "delta": 1}]}}}),
    ]


def later_versions() -> list[tuple[str, dict[str, Any]]]:
    line = o(0)["line_items"]
    return [
        ("orders/paid", o(1, updated_at=LATER, financial_status="paid")),  # wakes its waiting placement
        ("orders/updated", o(2, updated_at=LATER, tags="vip, gift 🎁", note="Bitte klingeln 🔔")),
        ("orders/fulfilled", o(3, updated_at=LATER, fulfillment_status="fulfilled",
                               line_items=[dict(li, id=BIG_ID + 3001 + i, fulfillable_quantity=0,
                                                fulfillment_status="fulfilled") for i, li in enumerate(line)])),
        ("orders/updated", o(4, updated_at=LATER, line_items=[dict(line[0], id=BIG_ID + 4001, quantity=3),
                                                              dict(line[1], id=BIG_ID + 4002)])),  # a unit more
        ("orders/updated", o(5, updated_at=LATER, line_items=[dict(line[0], id=BIG_ID + 5001)],  # a line less
                             total_discounts="0.00", discount_applications=[], discount_codes=[])),
        ("orders/updated", o(6, updated_at="2026-11-23T09:00:00-05:00")),  # older than what is stored
        ("orders/updated", o(7)),  # the same version again: a repeat, not kept
        ("orders/updated", o(8, updated_at=LATER, refunds=[refund(8, 8_800)])),  # its refund is kept already
        ("orders/updated", o(9, updated_at=LATER, refunds=[refund(9, 9_900)])),  # a refund to keep: per record
        ("orders/updated", o(10, updated_at=LATER)),  # an edit made after it applies again: per record
        ("orders/updated", o(11, updated_at=LATER, shipping_address=None, billing_address=None, shipping_lines=[],
                             customer={"id": BIG_ID + 99, "email": "neu@example.com", "first_name": "Ōta 🌸",
                                       "last_name": None})),
        ("orders/cancelled", o(12, updated_at=LATER, cancelled_at=LATER, cancel_reason="customer")),  # per record
        ("orders/updated", o(13, updated_at="2026-11-23T13:00:00-05:00", note="dritte Fassung")),
        ("orders/updated", o(13, updated_at=LATER, note="zweite Fassung")),  # older than the one before it
        ("orders/updated", o(13, updated_at="2026-11-23T14:00:00-05:00", note="vierte Fassung 🏁")),
        ("refunds/create", refund(14, 14_400)),  # before it shipped: kept, nothing returned
        ("orders/updated", o(14, updated_at=LATER, refunds=[refund(14, 14_400)],
                             line_items=[dict(line[0], id=BIG_ID + 14_001),
                                         dict(line[1], id=BIG_ID + 14_002, current_quantity=0)])),
        ("refunds/create", refund(15, 15_500)),  # of a shipped line: a return, per record
    ]


def ship(hub: Hub, shopify_id: int) -> None:
    ctx = fulfilment.Ctx("packer", "test")
    with hub.db.write() as conn:
        oid = conn.execute(select(orders.c.id).where(orders.c.shopify_id == str(shopify_id))).scalar_one()
        for step in (fulfilment.pick, fulfilment.pack):
            step(conn, oid, ctx)
        fulfilment.ship(conn, oid, ctx, tracking_number="1Z999", carrier="DHL")


def stocked(hub: Hub) -> int:
    shop = add_shop(hub)
    with hub.db.write() as conn:
        wh = facilities.add(conn, "WH-BER", "Berlin 🏭", "warehouse", latitude=52.52, longitude=13.40)
        for sku in ("SKU-1", "SKU-2"):
            inventory_store.set_on_hand(conn, sku, wh, 100, reason=LedgerReason.RECEIVED, actor="test")
    return shop.id


def watch(monkeypatch: pytest.MonkeyPatch, name: str, of: Any) -> list[list[int]]:
    """The orders (their numbers in the scenario) each call of ``known_orders.<name>`` wrote."""
    seen: list[list[int]] = []
    write = getattr(known_orders, name)

    def watched(conn: Any, items: Any) -> None:
        write(conn, items)
        if items:
            seen.append(sorted((int(of(item)) - BIG_ID) // 1000 for item in items))

    monkeypatch.setattr(known_orders, name, watched)
    return seen


def comparable(found: dict[str, Any]) -> dict[str, Any]:
    """The state without what depends on the order rows were written in (ids of units and workflows on the
    timeline) and on the clock (when orders were approved and shipped): the new orders of the first batch
    are written in another order by the two paths."""
    orders = {}
    for key, order in found["orders"].items():
        timeline = [t | {"detail": {k: v for k, v in t["detail"].items() if k not in ("workflow", "units")}}
                    for t in order["timeline"]]
        shipments = [{k: v for k, v in shipment.items() if k != "shipped_at"} for shipment in order["shipments"]]
        orders[key] = {k: v for k, v in order.items() if k != "approved_at"} | {"timeline": timeline,
                                                                              "shipments": shipments}
    return found | {"orders": orders}


def oms_state(hub: Hub) -> dict[str, Any]:
    with hub.db.read() as conn:
        flows = sorted((r.status, r.step) for r in conn.execute(select(workflows.c.status, workflows.c.step)))
        events = sorted((r.event_type, r.shopify_id or "") for r in conn.execute(
            select(outbox.c.event_type, orders.c.shopify_id).outerjoin(orders, orders.c.id == outbox.c.order_id)))
    return {"workflows": flows, "events": events}


def hub_shop(hub: Hub) -> int:
    with hub.db.read() as conn:
        return int(conn.execute(select(shops.c.id)).scalar_one())


def test_batch_path_for_known_orders_stores_what_the_record_path_stores(
        two_hubs: tuple[Hub, Hub], monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    batch, single = two_hubs
    for hub, bulk in ((batch, True), (single, False)):
        shop_id = stocked(hub)
        for topic, payload in first_versions():
            put(hub, topic, payload, shop_id=shop_id)
        process(hub, bulk=bulk)
        place(hub)
        ship(hub, BIG_ID + 15_000)
    stored = watch(monkeypatch, "update_all", lambda v: v.order.shopify_id)
    refunds_kept = watch(monkeypatch, "keep_refunds", lambda kept: kept[1].order_id)
    for hub, bulk in ((batch, True), (single, False)):
        for topic, payload in later_versions():
            put(hub, topic, payload, shop_id=hub_shop(hub))
        process(hub, bulk=bulk)
        place(hub)
    # 6 noted only, 7 a repeat; 9, 10, 12 per record; the versions of 13 in turn (the second one noted only);
    # 14 after its refund; 15's refund returns what shipped, per record
    assert stored == [[1, 2, 3, 4, 5, 8, 11, 13], [14], [13]]
    assert refunds_kept == [[14]]
    got, want = state(batch), state(single)
    assert comparable(got) == comparable(want)
    assert oms_state(batch) == oms_state(single)
    orders = got["orders"]
    assert orders[str(BIG_ID + 1000)]["payment_status"] == "paid"
    assert orders[str(BIG_ID + 2000)]["note"] == "Bitte klingeln 🔔"
    assert [u["status"] for u in orders[str(BIG_ID + 4000)]["units"]].count("cancelled") == 0
    assert len(orders[str(BIG_ID + 4000)]["units"]) == 4
    five = orders[str(BIG_ID + 5000)]
    assert [i["current_quantity"] for i in five["items"]] == [2, 0] and five["discounts"] == []
    assert sum(u["status"] == "cancelled" for u in five["units"]) == 1
    eleven = orders[str(BIG_ID + 11000)]
    assert eleven["addresses"] == {} and eleven["shipping_lines"] == []
    assert eleven["customer"]["first_name"] == "Ōta 🌸"
    assert [t["kind"] for t in orders[str(BIG_ID + 6000)]["timeline"]].count("ignored_stale") == 1
    assert len(orders[str(BIG_ID + 9000)]["refunds"]) == 1
    assert orders[str(BIG_ID + 10000)]["items"][0]["current_quantity"] == 1  # the edit applied again
    assert orders[str(BIG_ID + 12000)]["status"] == "cancelled"
    assert orders[str(BIG_ID + 13000)]["note"] == "vierte Fassung 🏁"
    fourteen = orders[str(BIG_ID + 14000)]
    assert len(fourteen["refunds"]) == 1 and fourteen["returns"] == []
    assert sorted(u["status"] for u in fourteen["units"]).count("cancelled") == 1  # its refunded unit
    assert len(orders[str(BIG_ID + 15000)]["returns"]) == 1
    assert [t["kind"] for t in orders[str(BIG_ID + 13000)]["timeline"] if t["kind"] in ("updated", "ignored_stale")
            ] == ["updated", "ignored_stale", "updated"]
    outcomes = [(status, outcome) for topic, status, outcome in got["inbox"] if topic == "orders/updated"]
    assert sorted(outcomes) == [("done", "applied")] * 10 + [("done", "stale")] * 2  # 7 was never kept


def test_a_failing_batch_write_applies_each_record_on_its_own(hub: Hub, monkeypatch: pytest.MonkeyPatch) -> None:
    """If the batch write fails (a bug, a value the database refuses), nothing of it stays and every record
    is applied on its own: nothing lost, nothing doubled."""
    shop_id = stocked(hub)
    for k in (1, 2, 3):
        put(hub, "orders/create", o(k), shop_id=shop_id)
    process(hub, bulk=True)

    def failing(conn: Any, versions: Any) -> None:
        raise RuntimeError("the batch write failed")

    monkeypatch.setattr(known_orders, "update_all", failing)
    for k in (1, 2, 3):
        put(hub, "orders/updated", o(k, updated_at=LATER, note=f"zweite Fassung {k} ✍️"), shop_id=shop_id)
    process(hub, bulk=True)
    got = state(hub)
    assert {oid: x["note"] for oid, x in got["orders"].items()} == {
        str(BIG_ID + k * 1000): f"zweite Fassung {k} ✍️" for k in (1, 2, 3)}
    assert sorted(got["inbox"]) == [("orders/create", "done", "applied")] * 3 + [
        ("orders/updated", "done", "applied")] * 3
    for x in got["orders"].values():
        assert [t["kind"] for t in x["timeline"]].count("updated") == 1

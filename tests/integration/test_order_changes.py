"""Orders that change in Shopify after they entered the OMS, and lines that need no shipping."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select

from orderhub.adapters.store import inventory_store
from orderhub.adapters.store.schema import order_units
from orderhub.bootstrap import Hub
from orderhub.domain.inventory import LedgerReason, Position
from orderhub.services import fulfilment
from orderhub.services.jobs.oms_jobs import approve_orders, broker_orders
from tests.oms_support import events, ingest, order, place, position
from tests.support import BIG_ID, drain, order_payload, put

SKU_1_LINE = str(BIG_ID + 1)  # SKU-1, quantity 2
NEW_LINE = BIG_ID + 5
GIFT_CARD = {"id": BIG_ID + 9, "sku": None, "title": "Gift card 🎁", "quantity": 1, "price": "25.00",
             "requires_shipping": False, "gift_card": True}
LATER = "2026-11-23T12:00:00-05:00"
LATER_STILL = "2026-11-23T13:00:00-05:00"


def lines(**quantities: int) -> list[dict[str, Any]]:
    """The order's two lines with these current quantities (first=..., second=...)."""
    first, second = order_payload()["line_items"]
    return [dict(first, current_quantity=quantities.get("first", 2)),
            dict(second, current_quantity=quantities.get("second", 1))]


def placed(hub: Hub, oms: Any, **changes: Any) -> int:
    ingest(hub, oms, **changes)
    place(hub)
    return int(order(hub)["id"])


def units_of(hub: Hub, sku: str | None) -> list[dict[str, Any]]:
    return [u for u in order(hub)["units"] if u["sku"] == sku]


def entries(hub: Hub, kind: str) -> list[dict[str, Any]]:
    return [t for t in order(hub)["timeline"] if t["kind"] == kind]


def edit(hub: Hub, oms: Any, edit_id: int, *, additions: Sequence[tuple[int, int]] = (),
         removals: Sequence[tuple[int, int]] = ()) -> None:
    put(hub, "orders/edited", {"order_edit": {
        "id": edit_id, "order_id": BIG_ID, "created_at": "2026-11-23T16:30:00Z",
        "line_items": {"additions": [{"id": line, "delta": n} for line, n in additions],
                       "removals": [{"id": line, "delta": n} for line, n in removals]}}}, shop_id=oms.shop.id)
    drain(hub)


def stock(hub: Hub, sku: str, facility_id: int, on_hand: int) -> None:
    with hub.db.write() as conn:
        inventory_store.set_on_hand(conn, sku, facility_id, on_hand, reason=LedgerReason.RECEIVED, actor="test")


# -- quantities raised and lines added in Shopify ---------------------------------------------------------

def test_a_quantity_raised_in_shopify_adds_units_that_the_next_run_brokers(hub: Hub, oms: Any) -> None:
    placed(hub, oms)
    ingest(hub, oms, "orders/updated", updated_at=LATER, line_items=lines(first=4))
    o = order(hub)
    assert o["status"] == "approved"
    assert sorted((u["status"], u["queue"]) for u in units_of(hub, "SKU-1")) == [
        ("approved", "brokering"), ("approved", "brokering"), ("brokered", None), ("brokered", None)]
    assert position(hub, "SKU-1", oms.wh1).reserved == 2  # the new units wait for the run
    [added] = entries(hub, "units_added")
    assert added["actor"] == "shopify"
    assert (added["detail"]["line"], added["detail"]["added"]) == (SKU_1_LINE, 2)
    assert f"2 unit(s) added to line {SKU_1_LINE} (SKU SKU-1)" in added["detail"]["reason"]
    with hub.db.read() as conn:  # seq continues after the line's units
        assert sorted(r.seq for r in conn.execute(select(order_units.c.seq).where(order_units.c.sku == "SKU-1"))) \
            == [1, 2, 3, 4]

    assert broker_orders(hub, None, {})["units_brokered"] == 2
    assert order(hub)["status"] == "brokered"
    assert {u["status"] for u in order(hub)["units"]} == {"brokered"}
    assert position(hub, "SKU-1", oms.wh1) == Position(5, 4, 0)
    assert [e for e, _ in events(hub)][-1] == "order.brokered"

    ingest(hub, oms, "orders/updated", updated_at=LATER_STILL, line_items=lines(first=4), note="same lines")
    assert len(order(hub)["units"]) == 5  # followed once, not again


def test_units_of_a_created_order_stay_created_for_placement(hub: Hub, oms: Any) -> None:
    placed(hub, oms, financial_status="pending")  # placed, waiting for its payment
    ingest(hub, oms, "orders/updated", updated_at=LATER, financial_status="pending", line_items=lines(second=2))
    assert [u["status"] for u in units_of(hub, "SKU-2")] == ["created", "created"]
    ingest(hub, oms, "orders/paid", updated_at=LATER_STILL, financial_status="paid", line_items=lines(second=2))
    place(hub)
    o = order(hub)
    assert o["status"] == "approved"  # the reserved units are brokered, the new one waits for the run
    assert broker_orders(hub, None, {})["units_brokered"] == 1
    assert order(hub)["status"] == "brokered"
    assert position(hub, "SKU-2", oms.wh1).reserved == 2


def test_an_edit_adding_quantity_adds_units(hub: Hub, oms: Any) -> None:
    placed(hub, oms)
    edit(hub, oms, 71, additions=[(BIG_ID + 2, 1)])
    assert sorted(u["status"] for u in units_of(hub, "SKU-2")) == ["approved", "brokered"]
    assert entries(hub, "units_added")[0]["detail"]["added"] == 1
    broker_orders(hub, None, {})
    assert order(hub)["status"] == "brokered"


def test_a_line_swapped_by_an_edit_is_brokered_and_the_old_ones_cancelled(hub: Hub, oms: Any) -> None:
    stock(hub, "SKU-3", oms.wh2, 2)
    placed(hub, oms)
    # Shopify sends orders/edited, then orders/updated with the new line: both old lines go.
    edit(hub, oms, 72, additions=[(NEW_LINE, 1)], removals=[(BIG_ID + 1, 2), (BIG_ID + 2, 1)])
    assert order(hub)["status"] == "brokered"  # not cancelled on the way: the new line is not stored yet
    new = {"id": NEW_LINE, "sku": "SKU-3", "title": "Hoodie", "quantity": 1, "price": "30.00"}
    ingest(hub, oms, "orders/updated", updated_at="2026-11-23T16:30:05Z", line_items=[new])
    o = order(hub)
    assert o["status"] == "approved"
    assert sorted((u["sku"], u["status"]) for u in o["units"]) == [
        ("SKU-1", "cancelled"), ("SKU-1", "cancelled"), ("SKU-2", "cancelled"), ("SKU-3", "approved")]
    assert position(hub, "SKU-1", oms.wh1) == Position(5, 0, 0)
    broker_orders(hub, None, {})
    o = order(hub)
    assert o["status"] == "brokered"
    assert [(u["facility"]) for u in units_of(hub, "SKU-3")] == ["WH-MUC"]


def test_a_new_line_with_an_unknown_sku_is_parked_by_brokering(hub: Hub, oms: Any) -> None:
    placed(hub, oms)
    unknown = {"id": NEW_LINE, "sku": "NOT-SOLD-HERE", "title": "?", "quantity": 1, "price": "1.00"}
    ingest(hub, oms, "orders/updated", updated_at=LATER, line_items=[*lines(), unknown])
    assert broker_orders(hub, None, {})["units_parked"] == 1
    [parked] = units_of(hub, "NOT-SOLD-HERE")
    assert (parked["status"], parked["queue"]) == ("approved", "backorder_parking")
    assert order(hub)["status"] == "approved"


def test_a_new_line_with_an_unknown_sku_keeps_a_created_order_from_approval(hub: Hub, oms: Any) -> None:
    ingest(hub, oms)
    with hub.db.write() as conn:  # placed but held: approval waits
        fulfilment.hold(conn, int(order(hub)["id"]), fulfilment.Ctx("test"))
    place(hub)
    unknown = {"id": NEW_LINE, "sku": "NOT-SOLD-HERE", "title": "?", "quantity": 1, "price": "1.00"}
    ingest(hub, oms, "orders/updated", updated_at=LATER, line_items=[*lines(), unknown])
    with hub.db.write() as conn:
        fulfilment.release(conn, int(order(hub)["id"]), fulfilment.Ctx("test"))
    assert approve_orders(hub, None, {})["approved"] == 0
    assert "unknown SKU(s): NOT-SOLD-HERE" in order(hub)["status_reason"]


def test_units_cancelled_in_orderhub_are_not_made_again(hub: Hub, oms: Any) -> None:
    oid = placed(hub, oms)
    with hub.db.write() as conn:
        fulfilment.cancel(conn, oid, fulfilment.Ctx("ops", "customer called"), item_id=units_of(hub, "SKU-1")[0]
                          ["item_id"], quantity=1)
    ingest(hub, oms, "orders/updated", updated_at=LATER, note="Shopify still lists 2")
    assert sorted(u["status"] for u in units_of(hub, "SKU-1")) == ["brokered", "cancelled"]
    ingest(hub, oms, "orders/updated", updated_at=LATER_STILL, line_items=lines(first=1))  # Shopify catches up
    assert sorted(u["status"] for u in units_of(hub, "SKU-1")) == ["brokered", "cancelled"]
    ingest(hub, oms, "orders/updated", updated_at="2026-11-23T14:00:00-05:00", line_items=lines(first=2))
    assert sorted(u["status"] for u in units_of(hub, "SKU-1")) == ["approved", "brokered", "cancelled"]


def test_units_added_to_a_shipped_order_are_reported_not_made(hub: Hub, oms: Any) -> None:
    oid = placed(hub, oms)
    with hub.db.write() as conn:
        fulfilment.pick(conn, oid, fulfilment.Ctx("wh"))
        fulfilment.pack(conn, oid, fulfilment.Ctx("wh"))
        fulfilment.ship(conn, oid, fulfilment.Ctx("wh"))
    ingest(hub, oms, "orders/updated", updated_at=LATER, line_items=lines(first=3))
    assert order(hub)["status"] == "shipped" and len(order(hub)["units"]) == 3
    [entry] = entries(hub, "units_not_added")
    assert "after the order was shipped" in entry["detail"]["reason"] and entry["detail"]["missing"] == 1


# -- lines that need no shipping ----------------------------------------------------------------------------

def test_a_gift_card_completes_at_approval_and_the_order_follows_its_physical_line(hub: Hub, oms: Any) -> None:
    gift = dict(GIFT_CARD, sku="GIFT-25")  # a SKU orderhub does not know: no matter, it holds no stock
    oid = placed(hub, oms, line_items=[lines()[0], gift])
    o = order(hub)
    assert (o["status"], o["fulfillment_status"]) == ("brokered", "partially_fulfilled")
    [card] = units_of(hub, "GIFT-25")
    assert (card["status"], card["facility"], card["queue"]) == ("completed", None, None)
    assert entries(hub, "completed")[0]["detail"]["units"] == [card["id"]]
    brokering = entries(hub, "brokering")[0]["detail"]
    assert brokering["reserved"] == 2 and "GIFT-25" not in " ".join(brokering["explanation"])
    with hub.db.read() as conn:
        assert inventory_store.positions(conn, ["GIFT-25"]) == {}  # never reserved anywhere
    with hub.db.write() as conn:
        fulfilment.pick(conn, oid, fulfilment.Ctx("wh"))
        fulfilment.pack(conn, oid, fulfilment.Ctx("wh"))
        fulfilment.ship(conn, oid, fulfilment.Ctx("wh"))
    o = order(hub)
    assert (o["status"], o["fulfillment_status"]) == ("shipped", "fulfilled")


def test_a_cancellation_in_shopify_leaves_the_delivered_gift_card(hub: Hub, oms: Any) -> None:
    placed(hub, oms, line_items=[lines()[0], GIFT_CARD])
    ingest(hub, oms, "orders/cancelled", updated_at=LATER, cancelled_at=LATER, cancel_reason="customer",
           line_items=[lines()[0], GIFT_CARD])
    o = order(hub)
    assert o["status"] == "completed"  # what is left was delivered by the channel
    assert sorted(u["status"] for u in o["units"]) == ["cancelled", "cancelled", "completed"]
    assert position(hub, "SKU-1", oms.wh1) == Position(5, 0, 0)


def test_a_gift_card_only_order_is_approved_then_completed_never_queued(hub: Hub, oms: Any) -> None:
    ingest(hub, oms, line_items=[dict(GIFT_CARD, quantity=2)], shipping_address=None)
    with hub.db.write() as conn:  # held while placed, so the approve job approves it and says so
        fulfilment.hold(conn, int(order(hub)["id"]), fulfilment.Ctx("test"))
    place(hub)
    assert {u["status"] for u in order(hub)["units"]} == {"created"}
    with hub.db.write() as conn:
        fulfilment.release(conn, int(order(hub)["id"]), fulfilment.Ctx("test"))
    assert approve_orders(hub, None, {}) == {"checked": 1, "approved": 1}
    o = order(hub)
    assert (o["status"], o["fulfillment_status"]) == ("completed", "fulfilled")
    assert [(u["status"], u["queue"]) for u in o["units"]] == [("completed", None)] * 2
    assert [t["kind"] for t in o["timeline"]][-2:] == ["approved", "completed"]
    assert [e for e, _ in events(hub)][-2:] == ["order.approved", "order.completed"]
    assert broker_orders(hub, None, {})["orders"] == 0
    assert entries(hub, "brokering") == []


def test_a_gift_card_without_sku_passes_approval(hub: Hub, oms: Any) -> None:
    placed(hub, oms, line_items=[lines()[0], GIFT_CARD])
    o = order(hub)
    assert o["status"] == "brokered" and o["status_reason"] is None
    assert entries(hub, "not_approved") == []
    assert [u["status"] for u in units_of(hub, None)] == ["completed"]


def test_a_gift_card_line_added_to_a_brokered_order_completes_at_once(hub: Hub, oms: Any) -> None:
    placed(hub, oms)
    ingest(hub, oms, "orders/updated", updated_at=LATER, line_items=[*lines(), GIFT_CARD])
    o = order(hub)
    assert o["status"] == "brokered"
    assert [u["status"] for u in units_of(hub, None)] == ["completed"]
    assert broker_orders(hub, None, {})["orders"] == 0

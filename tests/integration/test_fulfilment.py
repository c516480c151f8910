"""After placement: hold, pick, pack, ship (partially), return, cancel items, facility rejections."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from orderhub.bootstrap import Hub
from orderhub.domain.inventory import Position
from orderhub.domain.lifecycle import IllegalTransition
from orderhub.services import fulfilment, routing_run
from orderhub.services.fulfilment import Ctx
from tests.oms_support import events, ingest, order, place, position

OPERATOR = Ctx("operator 👩‍🔧", "test")


@pytest.fixture
def placed(hub: Hub, oms: Any) -> int:
    ingest(hub, oms)
    place(hub)
    return int(order(hub)["id"])


def act(hub: Hub, fn: Any, *args: Any, **kw: Any) -> Any:
    with hub.db.write() as conn:
        return fn(conn, *args, **kw)


def test_pick_pack_ship_takes_the_stock_and_records_the_tracking(hub: Hub, oms: Any, placed: int) -> None:
    act(hub, fulfilment.pick, placed, OPERATOR)
    status, shipments = act(hub, fulfilment.pack, placed, OPERATOR)
    assert status == "packed" and len(shipments) == 1
    act(hub, fulfilment.ship, placed, OPERATOR, tracking_number="1Z999 📦", carrier="DHL")
    o = order(hub)
    assert (o["status"], o["fulfillment_status"]) == ("shipped", "fulfilled")
    assert o["shipments"][0]["tracking_number"] == "1Z999 📦"
    assert position(hub, "SKU-1", oms.wh1) == Position(3, 0, 0)
    assert [e for e, _ in events(hub)][-1] == "order.shipped"
    assert o["timeline"][-1]["actor"] == "operator 👩‍🔧"


def test_a_partial_shipment_leaves_the_order_partly_fulfilled(hub: Hub, oms: Any, placed: int) -> None:
    units = [u["id"] for u in order(hub)["units"]]
    act(hub, fulfilment.pick, placed, OPERATOR, units[:1])
    act(hub, fulfilment.pack, placed, OPERATOR, units[:1])
    act(hub, fulfilment.ship, placed, OPERATOR)
    o = order(hub)
    assert (o["status"], o["fulfillment_status"]) == ("brokered", "partially_fulfilled")
    assert "order.partially_shipped" in [e for e, _ in events(hub)]


def test_illegal_moves_are_refused_with_the_order_and_unit_named(hub: Hub, oms: Any, placed: int) -> None:
    with pytest.raises(IllegalTransition, match="no packed shipment"):
        act(hub, fulfilment.ship, placed, OPERATOR)
    unit = order(hub)["units"][0]["id"]
    with pytest.raises(IllegalTransition, match=rf"unit {unit} \(SKU SKU-1\): cannot go from brokered to packed"):
        act(hub, fulfilment.pack, placed, OPERATOR, [unit])
    assert order(hub)["status"] == "brokered"  # nothing changed


def test_a_held_order_cannot_be_picked_until_released(hub: Hub, oms: Any, placed: int) -> None:
    act(hub, fulfilment.hold, placed, Ctx("fraud-check", "address looks odd"))
    assert order(hub)["status"] == "held"
    with pytest.raises(IllegalTransition, match="release the hold first"):
        act(hub, fulfilment.pick, placed, OPERATOR)
    assert act(hub, fulfilment.release, placed, OPERATOR) == "brokered"
    act(hub, fulfilment.pick, placed, OPERATOR)
    assert order(hub)["status"] == "picked"


def test_cancelling_some_units_of_a_line_releases_just_those(hub: Hub, oms: Any, placed: int) -> None:
    line = next(i["id"] for i in order(hub)["items"] if i["sku"] == "SKU-1")
    act(hub, fulfilment.cancel, placed, OPERATOR, item_id=line, quantity=1)
    o = order(hub)
    assert sorted(u["status"] for u in o["units"]) == ["brokered", "brokered", "cancelled"]
    assert o["status"] == "brokered"
    assert position(hub, "SKU-1", oms.wh1) == Position(5, 1, 0)
    with pytest.raises(ValueError, match="can cancel 1 to 1 units, not 5"):
        act(hub, fulfilment.cancel, placed, OPERATOR, item_id=line, quantity=5)


def _ship_all(hub: Hub, order_id: int) -> None:
    act(hub, fulfilment.pick, order_id, OPERATOR)
    act(hub, fulfilment.pack, order_id, OPERATOR)
    act(hub, fulfilment.ship, order_id, OPERATOR)


def test_a_return_restocks_or_records_damage_with_a_refund(hub: Hub, oms: Any, placed: int) -> None:
    _ship_all(hub, placed)
    units = [u for u in order(hub)["units"] if u["sku"] == "SKU-1"]
    status, _ = act(hub, fulfilment.return_units, placed, OPERATOR, unit_ids=[units[0]["id"]])
    assert status == "shipped"
    assert position(hub, "SKU-1", oms.wh1) == Position(4, 0, 0)  # 5 - 2 shipped + 1 restocked
    act(hub, fulfilment.return_units, placed, OPERATOR, unit_ids=[units[1]["id"]], damaged=True,
        refund=Decimal("4.99"))
    assert position(hub, "SKU-1", oms.wh1) == Position(4, 0, 0)  # damaged: not restocked
    o = order(hub)
    assert o["fulfillment_status"] == "partially_returned"
    assert [(r["disposition"], r["refund_amount"]) for r in o["returns"]] == [("restock", "10.00"),
                                                                               ("damaged", "4.99")]
    assert "order.partially_returned" in [e for e, _ in events(hub)]


def test_a_facility_rejecting_an_item_zeroes_its_stock_and_it_is_brokered_elsewhere(hub: Hub, oms: Any,
                                                                                  placed: int) -> None:
    from orderhub.adapters.store import inventory_store
    from orderhub.domain.inventory import LedgerReason

    with hub.db.write() as conn:
        inventory_store.set_on_hand(conn, "SKU-2", oms.wh2, 4, reason=LedgerReason.RECEIVED, actor="test")
    unit = next(u["id"] for u in order(hub)["units"] if u["sku"] == "SKU-2")
    act(hub, fulfilment.reject_item, placed, [unit], Ctx("WH-BER staff", "shelf empty"), not_in_stock=True)
    o = order(hub)
    rejected = next(u for u in o["units"] if u["id"] == unit)
    assert (rejected["status"], rejected["queue"], rejected["rejected_facilities"]) == (
        "approved", "rejected_parking", [oms.wh1])
    assert o["status"] == "approved"
    assert position(hub, "SKU-2", oms.wh1) == Position(0, 0, 0)
    routing_run.run(hub.db, actor="scheduler")
    o = order(hub)
    assert next(u["facility"] for u in o["units"] if u["id"] == unit) == "WH-MUC"
    assert o["status"] == "brokered"
    assert position(hub, "SKU-2", oms.wh2) == Position(4, 1, 0)

"""Refunds recorded in Shopify become returns in the OMS: restocked, or a damaged variance."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from orderhub.bootstrap import Hub
from orderhub.domain.inventory import Position
from orderhub.services import fulfilment
from tests.oms_support import events, ingest, order, place, position
from tests.support import BIG_ID, drain, put

SKU_1_LINE = BIG_ID + 1  # quantity 2
SKU_2_LINE = BIG_ID + 2  # quantity 1


def refund(refund_id: int, lines: list[tuple[int, int, str]]) -> dict[str, Any]:
    return {"id": refund_id, "order_id": BIG_ID, "created_at": "2026-11-24T10:00:00Z", "note": "Rücksendung 📦",
            "refund_line_items": [{"line_item_id": line, "quantity": qty, "subtotal": "10.00", "restock_type": kind}
                                  for line, qty, kind in lines],
            "transactions": [{"kind": "refund", "status": "success", "amount": "10.00", "currency": "EUR"}]}


def shipped_order(hub: Hub, oms: Any) -> int:
    ingest(hub, oms)
    place(hub)
    oid = int(order(hub)["id"])
    ctx = fulfilment.Ctx("packer", "test")
    with hub.db.write() as conn:
        fulfilment.pick(conn, oid, ctx)
        fulfilment.pack(conn, oid, ctx)
        fulfilment.ship(conn, oid, ctx, tracking_number="1Z", carrier="DHL")
    return oid


def test_a_refund_with_restock_returns_the_units_to_where_they_shipped_from(hub: Hub, oms: Any) -> None:
    shipped_order(hub, oms)
    assert position(hub, "SKU-1", oms.wh1) == Position(3, 0, 0)
    put(hub, "refunds/create", refund(77, [(SKU_1_LINE, 1, "return")]), shop_id=oms.shop.id)
    drain(hub)
    o = order(hub)
    [ret] = o["returns"]
    assert (ret["disposition"], ret["facility_id"], Decimal(ret["refund_amount"])) == ("restock", oms.wh1, 10)
    assert position(hub, "SKU-1", oms.wh1) == Position(4, 0, 0)
    assert sorted(u["status"] for u in o["units"] if u["sku"] == "SKU-1") == ["returned", "shipped"]
    assert o["timeline"][-1]["detail"]["reason"] == "refund 77 in Shopify"
    assert "order.partially_returned" in [e for e, _ in events(hub)]


def test_a_refund_without_restock_is_a_damaged_variance_and_counts_once(hub: Hub, oms: Any) -> None:
    shipped_order(hub, oms)
    payload = refund(78, [(SKU_2_LINE, 1, "no_restock")])
    put(hub, "refunds/create", payload, shop_id=oms.shop.id)
    put(hub, "refunds/create", payload, shop_id=oms.shop.id, webhook_id="redelivered")  # Shopify retried
    drain(hub)
    o = order(hub)
    assert [r["disposition"] for r in o["returns"]] == ["damaged"]
    assert position(hub, "SKU-2", oms.wh1) == Position(4, 0, 0)  # not restocked


def test_a_refund_of_lines_not_shipped_makes_no_return(hub: Hub, oms: Any) -> None:
    ingest(hub, oms)
    place(hub)
    put(hub, "refunds/create", refund(79, [(SKU_1_LINE, 1, "cancel")]), shop_id=oms.shop.id)
    drain(hub)
    assert order(hub)["returns"] == []  # the line's lower quantity, in the order's update, cancels the unit

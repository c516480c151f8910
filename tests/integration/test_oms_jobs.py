"""The brokering and fulfilment jobs, run through the job manager."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update

from orderhub.adapters.store import inventory_store, routing_store
from orderhub.adapters.store.schema import order_units
from orderhub.bootstrap import Hub
from orderhub.domain.inventory import LedgerReason
from orderhub.services import fulfilment
from orderhub.services.brokering import DEFAULT_RUN
from orderhub.services.fulfilment import Ctx
from orderhub.services.jobs.runner import run_job
from tests.oms_support import ingest, order, place
from tests.support import BIG_ID

PACKER = Ctx("packer", "test")


def waiting_in(hub: Hub, queue: str, shopify_id: int) -> None:
    """Put an order's units back into a queue, unbrokered, as brokering would have left them."""
    with hub.db.write() as conn:
        oid = order(hub, shopify_id)["id"]
        conn.execute(update(order_units).where(order_units.c.order_id == oid).values(
            status="approved", facility_id=None, queue=queue))


def statuses(hub: Hub, shopify_id: int) -> set[str]:
    return {u["status"] for u in order(hub, shopify_id)["units"]}


def test_new_brokering_takes_the_queue_it_is_given_and_unfillable_only_when_asked(hub: Hub, oms: Any) -> None:
    every_queue = dict(DEFAULT_RUN, name="every queue")
    every_queue["routings"] = [dict(DEFAULT_RUN["routings"][0], filters={})]  # the job chooses the queues
    with hub.db.write() as conn:
        routing_store.save_run(conn, every_queue)
        # The placements below reserve too, and the test moves their units back unreleased: stock for all.
        inventory_store.set_on_hand(conn, "SKU-1", oms.wh1, 50, reason=LedgerReason.RECEIVED, actor="test")
    for k, queue in enumerate(("backorder_parking", "preorder_parking", "unfillable")):
        ingest(hub, oms, order_id=BIG_ID + k * 1000, line_items=[
            {"id": BIG_ID + k * 1000 + 1, "sku": "SKU-1", "title": "T-shirt", "quantity": 1, "price": "10.00"}])
        place(hub)
        waiting_in(hub, queue, BIG_ID + k * 1000)  # no reservation was made for them in this test
    _run, stats = run_job(hub, "broker-orders", None, {"queue": "backorder_parking"})
    assert (stats["orders"], stats["units_brokered"]) == (1, 1)
    assert [statuses(hub, BIG_ID + k * 1000) for k in range(3)] == [{"brokered"}, {"approved"}, {"approved"}]
    _run, stats = run_job(hub, "broker-orders", None, {})
    assert stats["queues"] == ["brokering", "preorder_parking", "backorder_parking", "rejected_parking"]
    assert statuses(hub, BIG_ID + 1000) == {"brokered"} and statuses(hub, BIG_ID + 2000) == {"approved"}
    _run, stats = run_job(hub, "broker-orders", None, {"include_unfillable": "true"})
    assert statuses(hub, BIG_ID + 2000) == {"brokered"}


def test_rejected_orders_brokering_places_rejected_items_elsewhere(hub: Hub, oms: Any) -> None:
    ingest(hub, oms)
    place(hub)
    oid = order(hub)["id"]
    unit = next(u for u in order(hub)["units"] if u["sku"] == "SKU-2")
    with hub.db.write() as conn:
        inventory_store.set_on_hand(conn, "SKU-2", oms.wh2, 3, reason=LedgerReason.RECEIVED, actor="test")
        fulfilment.reject_item(conn, oid, [unit["id"]], PACKER, not_in_stock=False)
    _run, stats = run_job(hub, "broker-rejected-orders", None, {})
    assert stats["units_brokered"] == 1
    moved = next(u for u in order(hub)["units"] if u["id"] == unit["id"])
    assert (moved["status"], moved["facility"]) == ("brokered", "WH-MUC")


def test_shipping_ships_packed_orders_with_a_label_or_a_carrier_that_needs_none(hub: Hub, oms: Any) -> None:
    ids = []
    for k, (tracking, carrier) in enumerate((("00340434161234567890", "DHL"), (None, "DHL"), (None, "Pickup"))):
        ingest(hub, oms, order_id=BIG_ID + k * 1000, line_items=[
            {"id": BIG_ID + k * 1000 + 1, "sku": "SKU-1", "title": "T-shirt", "quantity": 1, "price": "10.00"}])
        place(hub)
        oid = order(hub, BIG_ID + k * 1000)["id"]
        ids.append(oid)
        with hub.db.write() as conn:
            fulfilment.pick(conn, oid, PACKER)
            fulfilment.pack(conn, oid, PACKER, tracking_number=tracking, carrier=carrier)
    _run, stats = run_job(hub, "ship-packed", None, {"carriers_without_tracking": "pickup, courier"})
    assert (stats["read"], stats["processed"], stats["skipped"]) == (3, 2, 1)
    shipped = [order(hub, BIG_ID + k * 1000) for k in range(3)]
    assert [o["status"] for o in shipped] == ["shipped", "packed", "shipped"]
    assert shipped[0]["shipments"][0]["tracking_number"] == "00340434161234567890"
    assert shipped[0]["timeline"][-1]["actor"] == "job:ship-packed"

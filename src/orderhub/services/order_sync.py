"""What orderhub does when Shopify's version of an order changes.

A new order enters the order management system (placement); a cancellation in
Shopify cancels what is not yet shipped; a payment that arrives wakes a placement
that was waiting for it, or approves an order that was placed unpaid.
"""

from __future__ import annotations

from sqlalchemy import Connection, select

from orderhub.adapters.store import units as unit_store
from orderhub.adapters.store.schema import order_items, orders, workflows
from orderhub.domain.approval import PAID
from orderhub.domain.model import Freshness
from orderhub.services import approval, fulfilment, placement, workflow

ACTOR = "shopify"


def after_ingest(conn: Connection, shop_id: int, shopify_id: str, fresh: Freshness) -> None:
    row = conn.execute(select(orders.c.id, orders.c.status, orders.c.source_status, orders.c.payment_status,
                              orders.c.cancel_reason)
                       .where(orders.c.shop_id == shop_id, orders.c.shopify_id == shopify_id)).one()
    if fresh is Freshness.NEW:
        if row.source_status == "cancelled":  # arrived already cancelled: record it, place nothing
            unit_store.explode(conn, [row.id])
            units = unit_store.of_orders(conn, [row.id])[row.id]
            unit_store.save(conn, [{"id": u.id, "status": "cancelled", "facility_id": None, "queue": None,
                                    "reason": "cancelled in Shopify"} for u in units])
            conn.execute(orders.update().where(orders.c.id == row.id).values(status="cancelled"))
        else:
            after_ingest_new(conn, [row.id])
        return
    trim_units(conn, row.id)
    if row.source_status == "cancelled" and row.status in ("created", "approved", "brokered", "picked", "packed",
                                                           "held"):
        if any(u.status in fulfilment.CANCELLABLE for u in unit_store.of_orders(conn, [row.id])[row.id]):
            fulfilment.cancel(conn, row.id, fulfilment.Ctx(ACTOR, f"cancelled in Shopify ({row.cancel_reason})"
                                                           if row.cancel_reason else "cancelled in Shopify"))
        return
    if row.payment_status in PAID and row.status == "created":
        workflow.wake(conn, placement.KIND, [row.id])
        placed = conn.execute(select(workflows.c.status).where(
            workflows.c.kind == placement.KIND, workflows.c.order_id == row.id)).scalar()
        if placed == "completed" and approval.approve(conn, [row.id], actor=ACTOR):
            approval.announce_approved(conn, [row.id])


def after_ingest_new(conn: Connection, order_ids: list[int]) -> None:
    """Orders stored for the first time (and not cancelled already) enter the OMS."""
    placement.accept(conn, order_ids)


def trim_units(conn: Connection, order_id: int) -> None:
    """Lines whose quantity went down in Shopify (an edit, a removed line): cancel the units beyond it,
    least advanced first, releasing their stock. Units already shipped stay; they are a return now."""
    units = unit_store.of_orders(conn, [order_id])[order_id]
    if not units:
        return
    quantities = {r.id: r.current_quantity for r in conn.execute(
        select(order_items.c.id, order_items.c.current_quantity).where(order_items.c.order_id == order_id))}
    for item_id, quantity in sorted(quantities.items()):
        live = [u for u in units if u.item_id == item_id and u.status not in ("cancelled", "rejected")]
        cancellable = [u for u in live if u.status in fulfilment.CANCELLABLE]
        excess = min(len(live) - quantity, len(cancellable))
        if excess > 0:
            fulfilment.cancel(conn, order_id, fulfilment.Ctx(ACTOR, "quantity reduced in Shopify"),
                              item_id=item_id, quantity=excess)



def after_edit(conn: Connection, shop_id: int, order_shopify_id: str) -> None:
    """An ``orders/edited`` was applied to a stored order: follow its quantities."""
    row = conn.execute(select(orders.c.id).where(orders.c.shop_id == shop_id,
                                                 orders.c.shopify_id == order_shopify_id)).first()
    if row is not None:
        trim_units(conn, row.id)

"""The demo's fulfilment at a facility: which order to walk, and its pick, pack and ship, as a person at the
facility would do them (shared by the Shopify order the demo ships and the TikTok Shop one)."""

from __future__ import annotations

from rich.console import Console
from sqlalchemy import select

from orderhub.adapters.store.schema import facilities, order_units, orders
from orderhub.bootstrap import Hub
from orderhub.services import fulfilment

ACTOR = "demo"


def brokered_whole(hub: Hub, order_id: int | None = None) -> tuple[int, str, str] | None:
    """An online order brokered whole (every unit reserved at a facility): id, name, facility codes. The
    first such order, or ``order_id`` when it is one."""
    with hub.db.read() as conn:
        # An online order: one sold at a store's POS was invoiced there, not by orderhub.
        stmt = (select(orders.c.id, orders.c.name).where(orders.c.status == "brokered", orders.c.channel != "pos")
                .order_by(orders.c.id).limit(1))
        if order_id is not None:
            stmt = stmt.where(orders.c.id == order_id)
        row = conn.execute(stmt).first()
        codes = [] if row is None else sorted({r.code for r in conn.execute(
            select(facilities.c.code).join(order_units, order_units.c.facility_id == facilities.c.id)
            .where(order_units.c.order_id == row.id))})
    return None if row is None else (int(row.id), str(row.name), ", ".join(codes))


def walk(hub: Hub, console: Console, order_id: int, carrier: str) -> str:
    """Pick, pack and ship one order, each step its own transaction as at a real facility; the order's
    status after the last shipment."""
    ctx = fulfilment.Ctx(ACTOR)
    with hub.db.write() as conn:
        fulfilment.pick(conn, order_id, ctx)
    with hub.db.write() as conn:
        status, shipment_ids = fulfilment.pack(conn, order_id, ctx)
    console.print(f"    picked, packed into shipment {', '.join(map(str, shipment_ids))}")
    for shipment_id in shipment_ids:
        tracking = tracking_number(order_id, shipment_id)
        with hub.db.write() as conn:
            status = fulfilment.ship(conn, order_id, ctx, shipment_id=shipment_id, tracking_number=tracking,
                                     carrier=carrier)
        console.print(f"    shipment {shipment_id} shipped with {carrier}, tracking {tracking}; the order is {status}")
    return status


def tracking_number(order_id: int, shipment_id: int) -> str:
    return f"DEMO{order_id:06d}{shipment_id:06d}"

"""What happens to an order after it is placed: hold, cancel, pick, pack, ship, return, and
a facility rejecting an item.

Each operation checks the state machine for every unit it touches, changes inventory
through the ledger, recomputes the order's statuses from its units, and writes the
timeline and the outbox in the same transaction. Illegal moves raise
:class:`~orderhub.domain.lifecycle.IllegalTransition` naming the order and unit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy import Connection, insert, select, update

from orderhub.adapters.store import inventory_store, timeline
from orderhub.adapters.store import units as unit_store
from orderhub.adapters.store.inventory_store import Movement
from orderhub.adapters.store.schema import order_items, order_units, orders, returns, shipments
from orderhub.clock import utcnow
from orderhub.domain import lifecycle, money
from orderhub.domain.brokering import ships
from orderhub.domain.inventory import LedgerReason
from orderhub.services import channel_notices
from orderhub.services.approval import announce


class NotFound(LookupError):
    pass


@dataclass(frozen=True)
class Ctx:
    """Who does an operation, and why (lands on the timeline)."""

    actor: str
    reason: str | None = None


def _order(conn: Connection, order_id: int) -> Any:
    stmt = select(orders).where(orders.c.id == order_id)
    if conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    row = conn.execute(stmt).first()
    if row is None:
        raise NotFound(f"no order {order_id}; list them with `orderhub orders list`")
    return row


def order_for_update(conn: Connection, order_id: int) -> Any:
    """The order's row, locked for the rest of the transaction on PostgreSQL (NotFound when there is none)."""
    return _order(conn, order_id)


def _label(order: Any) -> str:
    return f"order {order.name or order.shopify_id} (id {order.id})"


def _unit_label(order: Any, unit: Any) -> str:
    return f"{_label(order)} unit {unit.id} (SKU {unit.sku or '-'})"


def transition(conn: Connection, order: Any, units: Sequence[Any], target: str, ctx: Ctx, *, kind: str,
               detail: dict[str, Any] | None = None, **fields: Any) -> str:
    """Move units to ``target`` (checked), recompute the order, write timeline and events.

    Reservations are released for units that leave a reserving status other than by
    shipping, which the caller handles with the right ledger reason.
    """
    if order.status == "held" and target in ("picked", "packed", "shipped"):
        raise lifecycle.IllegalTransition(_label(order), "held", target, "release the hold first")
    for u in units:
        lifecycle.check_unit(_unit_label(order, u), u.status, target)
    releases = [Movement(u.sku or "", u.facility_id, 1, order_id=order.id, unit_id=u.id) for u in units
                if u.facility_id is not None and u.status in lifecycle.RESERVING | {"created"}
                and target in ("cancelled", "approved", "rejected")]
    if releases:
        inventory_store.move(conn, releases, reason=LedgerReason.RELEASED, actor=ctx.actor, reserved_sign=-1,
                             note=ctx.reason)
    keep_facility = target not in ("cancelled", "approved", "rejected")
    unit_store.save(conn, [{"id": u.id, "status": target, "facility_id": u.facility_id if keep_facility else None,
                            "queue": fields.get("queue") if target == "approved" else None,
                            "reason": ctx.reason} for u in units])
    extra = {k: v for k, v in fields.items() if k in ("shipment_id", "return_id")}
    if extra:
        conn.execute(update(order_units).where(order_units.c.id.in_([u.id for u in units])).values(**extra))
    status = refresh(conn, order, ctx)
    timeline.add(conn, [timeline.Entry(order.id, kind, {"units": [u.id for u in units], "reason": ctx.reason}
                                       | (detail or {}), ctx.actor)])
    channel_notices.after_transition(conn, order, units, target, ctx.reason, detail or {})
    return status


EVENT_OF_STATUS = {"brokered": "order.brokered", "shipped": "order.shipped", "completed": "order.completed",
                   "cancelled": "order.cancelled", "returned": "order.returned", "approved": "order.approved"}


def refresh(conn: Connection, order: Any, ctx: Ctx) -> str:
    """Recompute an order's status and fulfilment status from its units; emit an event if it changed."""
    statuses = [u.status for u in unit_store.of_orders(conn, [order.id])[order.id]]
    fulfilment = lifecycle.fulfillment_status_from_units(statuses)
    derived = lifecycle.order_status_from_units(statuses).value
    # Not yet approved, or held: the order keeps its status unless nothing is left of it.
    status = order.status if order.status in ("created", "held") and derived != "cancelled" else derived
    if status != order.status:
        lifecycle.check_order(_label(order), order.status, status)
    conn.execute(update(orders).where(orders.c.id == order.id).values(
        status=status, fulfillment_status=fulfilment, updated_at=utcnow(),
        lifecycle_version=orders.c.lifecycle_version + 1))
    if status != order.status or fulfilment != order.fulfillment_status:
        event = EVENT_OF_STATUS.get(status) if status != order.status else None
        if fulfilment in ("partially_fulfilled", "partially_returned") and fulfilment != order.fulfillment_status:
            event = "order.partially_shipped" if fulfilment == "partially_fulfilled" else "order.partially_returned"
        if event:
            announce(conn, order.id, event)
    return status


def _units(conn: Connection, order: Any, unit_ids: Sequence[int] | None, statuses: Sequence[str]) -> list[Any]:
    units = unit_store.of_orders(conn, [order.id])[order.id]
    if unit_ids is not None:
        wanted = set(unit_ids)
        chosen = [u for u in units if u.id in wanted]
        missing = wanted - {u.id for u in chosen}
        if missing:
            raise NotFound(f"{_label(order)} has no unit(s) {', '.join(map(str, sorted(missing)))}")
        return chosen
    return [u for u in units if u.status in statuses]


# -- hold ------------------------------------------------------------------------------------------------

def hold(conn: Connection, order_id: int, ctx: Ctx) -> str:
    order = _order(conn, order_id)
    if order.status not in lifecycle.HOLDABLE:
        raise lifecycle.IllegalTransition(_label(order), order.status, "held",
                                          "only created, approved or brokered orders can be held")
    conn.execute(update(orders).where(orders.c.id == order_id).values(
        status="held", held_from=order.status, status_reason=ctx.reason, updated_at=utcnow(),
        lifecycle_version=orders.c.lifecycle_version + 1))
    timeline.add(conn, [timeline.Entry(order_id, "held", {"reason": ctx.reason}, ctx.actor)])
    announce(conn, order_id, "order.held")
    return "held"


def release(conn: Connection, order_id: int, ctx: Ctx) -> str:
    order = _order(conn, order_id)
    if order.status != "held":
        raise lifecycle.IllegalTransition(_label(order), order.status, order.held_from or "created",
                                          "only held orders can be released")
    back = order.held_from or "created"
    conn.execute(update(orders).where(orders.c.id == order_id).values(
        status=back, held_from=None, status_reason=None, updated_at=utcnow(),
        lifecycle_version=orders.c.lifecycle_version + 1))
    timeline.add(conn, [timeline.Entry(order_id, "released", {"to": back, "reason": ctx.reason}, ctx.actor)])
    announce(conn, order_id, "order.released")
    return back


# -- cancel ------------------------------------------------------------------------------------------------

CANCELLABLE = ("created", "approved", "brokered", "picked", "packed")


def cancel(conn: Connection, order_id: int, ctx: Ctx, *, item_id: int | None = None,
           quantity: int | None = None) -> str:
    """Cancel the whole order, or ``quantity`` units (default all) of one line; reservations are released."""
    order = _order(conn, order_id)
    units = [u for u in unit_store.of_orders(conn, [order_id])[order_id] if u.status in CANCELLABLE]
    if item_id is not None:
        units = [u for u in units if u.item_id == item_id]
        if not units:
            raise NotFound(f"{_label(order)} has no cancellable units on line {item_id}")
        # Cancel the least advanced units first: what is still in a queue before what is packed.
        units.sort(key=lambda u: (CANCELLABLE.index(u.status), u.id))
        if quantity is not None:
            if not 0 < quantity <= len(units):
                raise ValueError(f"{_label(order)} line {item_id}: can cancel 1 to {len(units)} units, "
                                 f"not {quantity}")
            units = units[:quantity]
    elif not units:
        raise lifecycle.IllegalTransition(_label(order), order.status, "cancelled",
                                          "nothing left to cancel (everything shipped or already cancelled)")
    return transition(conn, order, units, "cancelled", ctx, kind="cancelled",
                      detail={"item_id": item_id} if item_id else None)


# -- facility work --------------------------------------------------------------------------------------------

def pick(conn: Connection, order_id: int, ctx: Ctx, unit_ids: Sequence[int] | None = None) -> str:
    order = _order(conn, order_id)
    units = _units(conn, order, unit_ids, ("brokered",))
    if not units:
        raise lifecycle.IllegalTransition(_label(order), order.status, "picked", "no brokered units to pick")
    return transition(conn, order, units, "picked", ctx, kind="picked")


def pack(conn: Connection, order_id: int, ctx: Ctx, unit_ids: Sequence[int] | None = None, *,
         tracking_number: str | None = None, carrier: str | None = None) -> tuple[str, list[int]]:
    """Pack picked units into one shipment per facility; returns the order status and the shipment ids.
    A tracking number (a label printed at packing) lets the shipping job ship it later."""
    order = _order(conn, order_id)
    units = _units(conn, order, unit_ids, ("picked",))
    if not units:
        raise lifecycle.IllegalTransition(_label(order), order.status, "packed", "no picked units to pack")
    by_facility: dict[int, list[Any]] = {}
    for u in units:
        lifecycle.check_unit(_unit_label(order, u), u.status, "packed")
        by_facility.setdefault(u.facility_id, []).append(u)
    shipment_ids = []
    status = order.status
    for facility_id, group in sorted(by_facility.items()):
        sid = int(conn.execute(insert(shipments).values(order_id=order_id, facility_id=facility_id,
                                                        status="packed", created_at=utcnow(),
                                                        tracking_number=tracking_number, carrier=carrier)
                               .returning(shipments.c.id)).scalar_one())
        shipment_ids.append(sid)
        status = transition(conn, _order(conn, order_id), group, "packed", ctx, kind="packed",
                            detail={"shipment_id": sid}, shipment_id=sid)
    return status, shipment_ids


def ship(conn: Connection, order_id: int, ctx: Ctx, *, shipment_id: int | None = None,
         tracking_number: str | None = None, carrier: str | None = None) -> str:
    """Ship a packed shipment (or every packed one): stock leaves the facility's on hand and reservation."""
    order = _order(conn, order_id)
    stmt = select(shipments).where(shipments.c.order_id == order_id, shipments.c.status == "packed")
    if shipment_id is not None:
        stmt = stmt.where(shipments.c.id == shipment_id)
    found = conn.execute(stmt).all()
    if not found:
        raise lifecycle.IllegalTransition(_label(order), order.status, "shipped",
                                          "no packed shipment" + (f" {shipment_id}" if shipment_id else ""))
    status = order.status
    for s in found:
        units = [u for u in unit_store.of_orders(conn, [order_id])[order_id] if u.shipment_id == s.id
                 and u.status == "packed"]
        inventory_store.move(conn, [Movement(u.sku or "", u.facility_id, 1, order_id=order_id, unit_id=u.id)
                                    for u in units], reason=LedgerReason.SHIPPED, actor=ctx.actor,
                             on_hand_sign=-1, reserved_sign=-1)
        tracking, by = tracking_number or s.tracking_number, carrier or s.carrier  # or the label from packing
        conn.execute(update(shipments).where(shipments.c.id == s.id).values(
            status="shipped", tracking_number=tracking, carrier=by, shipped_at=utcnow()))
        status = transition(conn, _order(conn, order_id), units, "shipped", ctx, kind="shipped",
                            detail={"shipment_id": s.id, "tracking_number": tracking, "carrier": by})
    return status


def reject_item(conn: Connection, order_id: int, unit_ids: Sequence[int], ctx: Ctx, *, not_in_stock: bool) -> str:
    """A facility rejects units it was allocated. Not in stock: its on hand for the SKU becomes 0;
    damaged: its ATP goes down by the units (on hand lowered, a damaged variance). The units go to
    rejected-item parking and are brokered again without that facility."""
    order = _order(conn, order_id)
    units = _units(conn, order, unit_ids, ())
    for u in units:
        if u.status not in ("brokered", "picked") or u.facility_id is None:
            raise lifecycle.IllegalTransition(_unit_label(order, u), u.status, "approved",
                                              "only brokered or picked units can be rejected by a facility")
    facility_of = {u.id: u.facility_id for u in units}
    status = transition(conn, order, units, "approved", ctx, kind="item_rejected", queue="rejected_parking",
                        detail={"facilities": sorted(set(facility_of.values())),
                                "not_in_stock": not_in_stock})
    for u in units:
        rejected = sorted(set(orjson.loads(u.rejected_facilities)) | {facility_of[u.id]})
        conn.execute(update(order_units).where(order_units.c.id == u.id).values(
            rejected_facilities=orjson.dumps(rejected).decode()))
    for sku, facility_id in sorted({(u.sku or "", facility_of[u.id]) for u in units}):
        if not_in_stock:
            inventory_store.set_on_hand(conn, sku, facility_id, 0, reason=LedgerReason.REJECTED, actor=ctx.actor,
                                        note=ctx.reason or "rejected: not in stock")
        else:
            count = sum(1 for u in units if (u.sku or "", facility_of[u.id]) == (sku, facility_id))
            inventory_store.move(conn, [Movement(sku, facility_id, count, order_id=order_id)],
                                 reason=LedgerReason.DAMAGED, actor=ctx.actor, on_hand_sign=-1,
                                 note=ctx.reason or "rejected: damaged")
    return status


# -- returns ---------------------------------------------------------------------------------------------

def return_units(conn: Connection, order_id: int, ctx: Ctx, *, unit_ids: Sequence[int] | None = None,
                 item_id: int | None = None, quantity: int | None = None, restock_facility_id: int | None = None,
                 damaged: bool = False, refund: Decimal | None = None) -> tuple[str, int]:
    """Return shipped units: restocked at a facility, or a damaged variance (no restock); a refund record."""
    order = _order(conn, order_id)
    units = _units(conn, order, unit_ids, ("shipped", "completed"))
    if item_id is not None:
        units = [u for u in units if u.item_id == item_id]
    units = [u for u in units if u.status in ("shipped", "completed")] if unit_ids is None else units
    # A gift card or digital good was delivered by the channel: there is nothing to take back into stock.
    delivered = [u for u in units if not ships(u.ship_group)]
    if delivered and (unit_ids is not None or item_id is not None):
        raise lifecycle.IllegalTransition(_unit_label(order, delivered[0]), delivered[0].status, "returned",
                                          "it needed no shipping (gift card, digital good): refund it in Shopify")
    units = [u for u in units if ships(u.ship_group)]
    if quantity is not None:
        units = units[:quantity]
    if not units:
        raise lifecycle.IllegalTransition(_label(order), order.status, "returned", "no shipped units to return")
    if not damaged and restock_facility_id is None:
        restock_facility_id = units[0].facility_id  # back where it came from
    amount = refund if refund is not None else sum((Decimal(u.price) for u in units), Decimal("0"))
    if amount < 0:
        raise ValueError(f"{_label(order)}: a refund cannot be negative ({amount})")
    rid = int(conn.execute(insert(returns).values(
        order_id=order_id, reason=ctx.reason, disposition="damaged" if damaged else "restock",
        facility_id=None if damaged else restock_facility_id, refund_amount=amount, currency=order.currency,
        actor=ctx.actor, created_at=utcnow()).returning(returns.c.id)).scalar_one())
    if not damaged:
        inventory_store.move(conn, [Movement(u.sku or "", restock_facility_id, 1, order_id=order_id, unit_id=u.id)
                                    for u in units], reason=LedgerReason.RETURNED, actor=ctx.actor, on_hand_sign=1)
    status = transition(conn, order, units, "returned", ctx, kind="returned", return_id=rid,
                        detail={"return_id": rid, "refund": money.show(amount, order.currency), "disposition":
                                "damaged" if damaged else "restock"})
    return status, rid


def line_of(conn: Connection, order_id: int, ref: str) -> int:
    """An order line by orderhub id or Shopify line id."""
    rows = conn.execute(select(order_items.c.id).where(order_items.c.order_id == order_id,
                                                        (order_items.c.shopify_id == ref)
                                                        | (order_items.c.id == (int(ref) if ref.isdigit()
                                                                                and len(ref) < 16 else -1)))).all()
    if not rows:
        raise NotFound(f"order {order_id} has no line {ref}")
    return int(rows[0].id)

"""What orderhub does when Shopify's version of an order changes.

A new order enters the order management system (placement); a line's quantity that
changes in Shopify adds or cancels units; a cancellation in Shopify cancels what is not
yet shipped; a payment that arrives wakes a placement that was waiting for it, or
approves an order that was placed unpaid.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import Connection, bindparam, select

from orderhub.adapters.store import timeline
from orderhub.adapters.store import units as unit_store
from orderhub.adapters.store.order_store import channel_payment_status
from orderhub.adapters.store.schema import (
    order_edits,
    order_events,
    order_items,
    order_units,
    orders,
    returns,
    workflows,
)
from orderhub.domain import money
from orderhub.domain.approval import PAID
from orderhub.domain.model import Freshness, Order, Refund
from orderhub.services import approval, counter, fulfilment, placement, workflow

ACTOR = "shopify"
REDUCED_IN_SHOPIFY = "quantity reduced in Shopify"
# Units added in Shopify to an order in one of these are not made: it is not reopened for them.
_NOT_REOPENED = ("shipped", "completed", "returned")


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
    follow_quantities(conn, row.id)
    if row.source_status == "cancelled" and row.status in ("created", "approved", "brokered", "picked", "packed",
                                                           "held"):
        if any(u.status in fulfilment.CANCELLABLE for u in unit_store.of_orders(conn, [row.id])[row.id]):
            fulfilment.cancel(conn, row.id, fulfilment.Ctx(ACTOR, f"cancelled in Shopify ({row.cancel_reason})"
                                                           if row.cancel_reason else "cancelled in Shopify"))
        return
    if row.payment_status in PAID and row.status == "created":
        _paid(conn, [row.id])


def after_ingest_new(conn: Connection, order_ids: list[int]) -> None:
    """Orders stored for the first time (and not cancelled already) enter the OMS; those the channel ships from
    its own stock are recorded (customer, revenue) and never reserved or brokered from our facilities; those
    taken at a store's counter are completed there, their units leaving the store's stock now."""
    found = conn.execute(select(orders.c.id, orders.c.fulfilled_by, orders.c.origin_facility_id).where(
        orders.c.id.in_(order_ids), orders.c.fulfilled_by.in_(("channel", "store")))).all()
    by_channel = sorted(r.id for r in found if r.fulfilled_by == "channel")
    if by_channel:
        conn.execute(orders.update().where(orders.c.id.in_(by_channel)).values(status="by_channel"))
    at_counter = sorted(r.id for r in found if r.fulfilled_by == "store" and r.origin_facility_id is not None)
    if at_counter:
        counter.hand_over(conn, at_counter)
    # A counter sale at a location no facility stands for: orderhub cannot take it off a store's stock, so it
    # is placed like any order (and says why on its timeline).
    unmapped = sorted(r.id for r in found if r.fulfilled_by == "store" and r.origin_facility_id is None)
    timeline.add(conn, [timeline.Entry(i, "counter_sale_unmapped", {
        "reason": "sold at a POS location that is no facility in orderhub (a facility's code is the location's "
                  "name or id): placed like an online order"}, ACTOR) for i in unmapped])
    placement.accept(conn, [i for i in order_ids if i not in set(by_channel) | set(at_counter)])


# Built once (building a statement costs more than running it); the ids expand at execution.
_PLACED = select(workflows.c.order_id).where(workflows.c.kind == placement.KIND, workflows.c.status == "completed",
                                             workflows.c.order_id.in_(bindparam("ids", expanding=True)))
_QUANTITIES = select(order_items.c.order_id, order_items.c.id, order_items.c.current_quantity).where(
    order_items.c.order_id.in_(bindparam("ids", expanding=True)))


def after_ingest_known(conn: Connection, stored: Sequence[tuple[Any, Order]]) -> None:
    """:func:`after_ingest` for newer versions of many known orders at once, none of them cancelled:
    ``(the order's row as it was locked before the update, the version stored)`` each."""
    if not stored:
        return
    follow_quantities_many(conn, {row.id: row.status for row, _ in stored})
    _paid(conn, [row.id for row, order in stored
                 if row.status == "created" and channel_payment_status(order.financial_status) in PAID])


def _paid(conn: Connection, order_ids: list[int]) -> None:
    """Created orders whose payment has arrived: a placement waiting for it goes on now, and one already placed
    (unpaid) gets its approval."""
    if not order_ids:
        return
    workflow.wake(conn, placement.KIND, order_ids)
    placed = sorted(conn.execute(_PLACED, {"ids": order_ids}).scalars())
    if placed and (approved := approval.approve(conn, placed, actor=ACTOR)):
        approval.announce_approved(conn, sorted(approved))


def follow_quantities_many(conn: Connection, statuses: dict[int, str]) -> None:
    """:func:`follow_quantities` for these orders (id: status): their units and lines read once, and each
    order whose units no longer match its lines' quantities followed on its own."""
    units = unit_store.of_orders(conn, statuses)
    live = [oid for oid in sorted(statuses) if units[oid] and statuses[oid] not in ("cancelled", "rejected")]
    if not live:
        return
    quantities: dict[int, list[tuple[int, int]]] = defaultdict(list)  # order id: (line id, quantity) each
    for r in conn.execute(_QUANTITIES, {"ids": live}):
        quantities[r.order_id].append((r.id, r.current_quantity))
    for oid in live:
        counted: dict[int, int] = defaultdict(int)
        for u in units[oid]:
            if _counted_by_shopify(u):
                counted[u.item_id] += 1
        if any(counted[item] != quantity for item, quantity in quantities[oid]):
            follow_quantities(conn, oid)


def follow_quantities(conn: Connection, order_id: int) -> None:
    """Keep each line's units in step with its quantity in Shopify, both ways: a new line or a
    higher quantity adds units, a lower one (or a removed line) cancels them.

    Shopify counts every unit orderhub made for a line until Shopify itself takes it away, so a
    unit cancelled in orderhub alone (by a person, or the auto-cancel job) still counts and is
    not made again. Units are added before any are cancelled, so an item swapped for another
    does not leave the order with no live unit (cancelled, for good) on the way.
    """
    units = unit_store.of_orders(conn, [order_id])[order_id]
    status, source_status = conn.execute(select(orders.c.status, orders.c.source_status)
                                         .where(orders.c.id == order_id)).one()
    if not units or status in ("cancelled", "rejected"):
        return  # not in the order management system, or done with for good
    lines = conn.execute(select(order_items.c.id, order_items.c.shopify_id, order_items.c.sku,
                                order_items.c.current_quantity)
                         .where(order_items.c.order_id == order_id).order_by(order_items.c.id)).all()
    counted = {line.id: [u for u in units if u.item_id == line.id and _counted_by_shopify(u)] for line in lines}
    missing = {line.id: line.current_quantity - len(counted[line.id]) for line in lines
               if line.current_quantity > len(counted[line.id])}
    if missing and source_status != "cancelled":
        _add_units(conn, order_id, [line for line in lines if line.id in missing], missing)
    for line in lines:
        if len(counted[line.id]) > line.current_quantity:
            _follow_reduction(conn, order_id, line.id, counted[line.id], len(counted[line.id]) - line.current_quantity)


def _counted_by_shopify(unit: Any) -> bool:
    """Whether the unit is still part of its line's quantity in Shopify (see ``follow_quantities``)."""
    if unit.status == "rejected":
        return False
    return not (unit.status == "cancelled" and (unit.reason or "").startswith(REDUCED_IN_SHOPIFY))


def _add_units(conn: Connection, order_id: int, lines: Sequence[Any], missing: dict[int, int]) -> None:
    """Make the units Shopify added. On an order not approved yet they stay created (placement and
    approval take them); on an approved one they are approved into the brokering queue for the next
    routing run, like the rest of it (or completed, when they need no shipping)."""
    order = conn.execute(select(orders).where(orders.c.id == order_id)).one()
    if order.status in _NOT_REOPENED:
        timeline.add(conn, [timeline.Entry(order_id, "units_not_added", {
            "reason": f"{missing[line.id]} unit(s) added to line {line.shopify_id} (SKU {line.sku or '-'}) in "
                      f"Shopify after the order was {order.status}; orderhub does not reopen it: fulfil them "
                      "with a new order", "line": line.shopify_id, "item_id": line.id, "missing": missing[line.id]},
            ACTOR) for line in lines])
        return
    added = unit_store.add_to_lines(conn, order_id, missing)
    changes = [approval.approved_unit(u) for u in added] if _was_approved(order) else []
    unit_store.save(conn, changes)
    status_of = {u.id: u.status for u in added} | {c["id"]: c["status"] for c in changes}
    entries = []
    for line in lines:
        ids = [u.id for u in added if u.item_id == line.id]
        entries.append(timeline.Entry(order_id, "units_added", {
            "reason": f"{len(ids)} unit(s) added to line {line.shopify_id} (SKU {line.sku or '-'}): "
                      "quantity raised in Shopify", "line": line.shopify_id, "item_id": line.id,
            "added": len(ids), "units": ids, "statuses": sorted({status_of[i] for i in ids})}, ACTOR))
    timeline.add(conn, entries + approval.delivered_entries(order_id, changes, ACTOR))
    if changes:
        fulfilment.refresh(conn, order, fulfilment.Ctx(ACTOR, "quantity raised in Shopify"))


def _was_approved(order: Any) -> bool:
    """Whether the order is approved (a held one: whether it was before it was held)."""
    return (order.held_from if order.status == "held" else order.status) not in (None, "created")


def _follow_reduction(conn: Connection, order_id: int, item_id: int, counted: Sequence[Any], removed: int) -> None:
    """Shopify took ``removed`` units off a line. Those cancelled in orderhub already go first (Shopify
    caught up: nothing to undo, but they no longer count); then the live ones, least advanced first,
    releasing their stock. Units already shipped stay; they are a return now."""
    caught_up = [u for u in counted if u.status == "cancelled"][:removed]
    unit_store.save(conn, [{"id": u.id, "status": "cancelled", "facility_id": None, "queue": None,
                            "reason": f"{REDUCED_IN_SHOPIFY} (cancelled in orderhub before: {u.reason or '-'})"}
                           for u in caught_up])
    cancellable = [u for u in counted if u.status in fulfilment.CANCELLABLE]
    excess = min(removed - len(caught_up), len(cancellable))
    if excess > 0:
        fulfilment.cancel(conn, order_id, fulfilment.Ctx(ACTOR, REDUCED_IN_SHOPIFY), item_id=item_id,
                          quantity=excess)


def after_edit(conn: Connection, shop_id: int, order_shopify_id: str) -> None:
    """An ``orders/edited`` was applied to a stored order: follow its quantities.

    An edit that adds lines orderhub has not stored yet is followed when the ``orders/updated``
    Shopify sends with it arrives with those lines: following its removals alone first could
    cancel every unit of an order whose item was swapped, and a cancelled order stays cancelled.
    """
    row = conn.execute(select(orders.c.id).where(orders.c.shop_id == shop_id,
                                                 orders.c.shopify_id == order_shopify_id)).first()
    if row is not None and not _adds_unstored_lines(conn, shop_id, order_shopify_id, row.id):
        follow_quantities(conn, row.id)


def _adds_unstored_lines(conn: Connection, shop_id: int, order_shopify_id: str, order_id: int) -> bool:
    """Whether the edit applied last to the order adds quantity to a line the order does not have yet."""
    changes = conn.execute(select(order_edits.c.changes).where(
        order_edits.c.shop_id == shop_id, order_edits.c.order_shopify_id == order_shopify_id,
        order_edits.c.applied_at.is_not(None)).order_by(order_edits.c.applied_at.desc(), order_edits.c.id.desc())
        .limit(1)).scalar()
    added = {line for line, delta in orjson.loads(changes or "{}").items() if delta > 0}
    stored = {r.shopify_id for r in conn.execute(select(order_items.c.shopify_id).where(
        order_items.c.order_id == order_id, order_items.c.shopify_id.in_(sorted(added))))} if added else set()
    return bool(added - stored)


# Shopify's restock types for a refunded line that was shipped: the goods come back to stock,
# or the customer keeps them / they are written off (a damaged variance, nothing restocked).
_RESTOCKED = frozenset({"return", "legacy_restock"})


def after_refund(conn: Connection, shop_id: int, refund: Refund) -> list[int]:
    """A refund recorded in Shopify: its shipped lines become returns in the OMS (restocked where the
    unit shipped from, or a damaged variance). Unshipped lines refunded or cancelled follow from the
    order's quantities instead (``follow_quantities``). The refund orderhub made for a return it recorded
    returns nothing again: it goes on the order's timeline beside that return. Returns the ids of the
    returns made."""
    row = conn.execute(select(orders.c.id, orders.c.currency).where(orders.c.shop_id == shop_id,
                                                                    orders.c.shopify_id == refund.order_id)).first()
    if row is None or not refund.lines:
        return []  # the order arrives later; its units are then made for what is left of it
    if _refund_of_recorded_return(conn, shop_id, row, refund):
        return []
    items = {r.shopify_id: r.id for r in conn.execute(
        select(order_items.c.shopify_id, order_items.c.id).where(order_items.c.order_id == row.id))}
    made = []
    for line in refund.lines:
        item_id = items.get(line.line_item_id)
        shipped = [u for u in unit_store.of_orders(conn, [row.id])[row.id]
                   if u.item_id == item_id and u.status in ("shipped", "completed")]
        quantity = min(line.quantity, len(shipped))
        if item_id is None or quantity <= 0:
            continue
        damaged = (line.restock_type or "no_restock") not in _RESTOCKED
        ctx = fulfilment.Ctx(ACTOR, f"refund {refund.shopify_id} in Shopify"
                             + (" (not restocked)" if damaged else ""))
        _status, return_id = fulfilment.return_units(conn, row.id, ctx, item_id=item_id, quantity=quantity,
                                                     damaged=damaged, refund=line.subtotal)
        made.append(return_id)
    return made


def refunds_moving_units(conn: Connection, refunds: Sequence[tuple[int, Refund]]) -> set[tuple[int, str]]:
    """Which of these refunds of stored orders, ``(order id, refund)`` each, :func:`after_refund` may act on
    (``(order id, refund id)``): those refunding a line with units shipped, or made for a return orderhub
    recorded. The others leave the OMS as it is."""
    with_lines = [(oid, r) for oid, r in refunds if r.lines]
    if not with_lines:
        return set()
    shipped = {(r.order_id, r.shopify_id) for r in conn.execute(
        select(order_units.c.order_id, order_items.c.shopify_id).join(order_items, order_items.c.id ==
                                                                       order_units.c.item_id)
        .where(order_units.c.order_id.in_(sorted({oid for oid, _ in with_lines})),
               order_units.c.status.in_(("shipped", "completed"))))}
    return {(oid, r.shopify_id) for oid, r in with_lines
            if r.return_ref or any((oid, line.line_item_id) in shipped for line in r.lines)}


RETURN_REFUNDED = "return_refunded"  # the timeline kind of a channel's refund of a return orderhub recorded


def _refund_of_recorded_return(conn: Connection, shop_id: int, order: Any, refund: Refund) -> bool:
    """Whether ``refund`` is the one orderhub made for a return of this order it recorded (its ``return_ref``);
    if so, the refund goes on the timeline beside that return, once."""
    rid = int(refund.return_ref.removeprefix("return-")) if refund.return_ref else None
    found = None if rid is None else conn.execute(select(returns.c.id, returns.c.actor).where(
        returns.c.id == rid, returns.c.order_id == order.id)).first()
    if found is None or found.actor == ACTOR:
        return False
    linked = [orjson.loads(d) for d in conn.execute(select(order_events.c.detail).where(
        order_events.c.shop_id == shop_id, order_events.c.order_shopify_id == refund.order_id,
        order_events.c.kind == RETURN_REFUNDED)).scalars()]
    if any(d.get("return_id") == rid for d in linked):
        return False  # refunded once already: a second refund with its mark is a refund of its own
    timeline.add(conn, [timeline.Entry(order.id, RETURN_REFUNDED, {
        "return_id": rid, "refund_id": refund.shopify_id,
        "amount": money.show(refund.amount, refund.currency or order.currency),
        "reason": f"refund {refund.shopify_id} in Shopify is orderhub's refund of return {rid}: "
                  "nothing returned again"}, ACTOR)])
    return True

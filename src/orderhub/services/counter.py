"""Goods handed over at a store's counter, and what that does to the online orders promised from the store.

A store sale always stands: its units are completed at the store and its stock goes down at once, in the
transaction that records the sale - whatever the stock was believed to be. When that leaves the store with
fewer units on hand than online orders reserved there (a sale made offline and synced late), the reserved
units that are not picked yet are brokered again, to other facilities or into parking with the reason, so
nothing stays promised against stock that is gone; the shortfall is recorded as a store variance.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, insert, select

from orderhub.adapters.store import inventory_store, timeline
from orderhub.adapters.store import units as unit_store
from orderhub.adapters.store.inventory_store import Change, Movement
from orderhub.adapters.store.schema import facilities, order_units, orders, store_variances
from orderhub.clock import utcnow
from orderhub.domain.inventory import LedgerReason
from orderhub.services import brokering, fulfilment

ACTOR = "store"


@dataclass(frozen=True)
class Shortfall:
    """One store oversell: units promised online at ``facility_id`` that its stock no longer covers."""

    facility_id: int
    sku: str
    short: int
    on_hand_after: int
    reserved_before: int
    rebrokered: int
    parked: int
    still_short: int  # picked units the stock does not cover: only a count at the store can tell


def hand_over(conn: Connection, order_ids: Sequence[int]) -> list[Shortfall]:
    """Orders taken at a store's counter (``fulfilled_by`` store, ``origin_facility_id`` the store): their units
    are completed there and leave its stock now; returns the oversells this revealed (already resolved)."""
    rows = conn.execute(select(orders.c.id, orders.c.name, orders.c.shopify_id, orders.c.origin_facility_id)
                        .where(orders.c.id.in_(list(order_ids)))).all()
    unit_store.explode(conn, [r.id for r in rows])
    units = unit_store.of_orders(conn, [r.id for r in rows])
    movements: list[Movement] = []
    changes: list[dict[str, Any]] = []
    for r in rows:
        if r.origin_facility_id is None:
            raise ValueError(f"order {r.name or r.shopify_id}: taken at a counter, but at no store")
        for u in units[r.id]:
            changes.append({"id": u.id, "status": "completed", "facility_id": r.origin_facility_id, "queue": None,
                            "reason": "taken at the counter"})
            if u.sku:
                movements.append(Movement(u.sku, r.origin_facility_id, 1, order_id=r.id, unit_id=u.id))
    unit_store.save(conn, changes)
    conn.execute(orders.update().where(orders.c.id.in_([r.id for r in rows]))
                 .values(status="completed", fulfillment_status="fulfilled", updated_at=utcnow()))
    moved = inventory_store.move(conn, movements, reason=LedgerReason.SOLD, actor=ACTOR, on_hand_sign=-1,
                                 note="sold at the counter") if movements else []
    last_sale = {(m.sku, m.facility_id): m.order_id for m in movements}  # the sale that took the last unit
    return resolve_oversells(conn, moved, last_sale)


def resolve_oversells(conn: Connection, moved: Sequence[Change],
                      sold_by: dict[tuple[str, int], int | None]) -> list[Shortfall]:
    """For each (SKU, facility) a counter sale left with fewer units on hand than reserved: broker again the
    reserved units not picked yet (the most recently brokered first) and record the shortfall, against the
    order of the sale (``sold_by``) that took the stock below what was promised."""
    found = []
    for change in moved:
        short = change.after.reserved - max(change.after.on_hand, 0)
        if short > 0:
            found.append(_resolve(conn, change, short, sold_by.get((change.sku, change.facility_id))))
    return found


def _resolve(conn: Connection, change: Change, short: int, order_id: int | None) -> Shortfall:
    u = order_units.c
    victims = conn.execute(select(order_units).where(u.facility_id == change.facility_id, u.sku == change.sku,
                                                     u.status == "brokered")
                           .order_by(u.updated_at.desc(), u.id.desc()).limit(short)).all()
    code = conn.execute(select(facilities.c.code).where(facilities.c.id == change.facility_id)).scalar_one()
    reason = (f"store oversell at {code}: a counter sale synced late left {max(change.after.on_hand, 0)} of "
              f"{change.sku} for {change.after.reserved} reserved; brokered again")
    by_order: dict[int, list[Any]] = defaultdict(list)
    for unit in victims:
        by_order[unit.order_id].append(unit)
    for oid in sorted(by_order):
        fulfilment.transition(conn, fulfilment.order_for_update(conn, oid), by_order[oid], "approved",
                              fulfilment.Ctx(ACTOR, reason), kind="store_oversell", queue="brokering",
                              detail={"facility": code, "sku": change.sku})
    rebrokered = parked = 0
    if by_order:
        result, candidates = brokering.decide(conn, sorted(by_order), statuses=("approved",))
        outcomes = brokering.apply(conn, result, candidates, actor=ACTOR, waiting_status="approved",
                                   brokered_status="brokered")
        moved_ids = {unit.id for units in by_order.values() for unit in units}
        for oid, out in outcomes.items():
            rebrokered += sum(1 for uid, _sku, _f in out.reserved if uid in moved_ids)
            parked += sum(1 for uid, _q in out.parked if uid in moved_ids)
            fulfilment.refresh(conn, fulfilment.order_for_update(conn, oid), fulfilment.Ctx(ACTOR, reason))
    still = short - len(victims)
    note = reason + (f"; {still} more reserved unit(s) are picked already: count {change.sku} at {code}"
                     if still > 0 else "")
    conn.execute(insert(store_variances).values(
        facility_id=change.facility_id, sku=change.sku, kind="oversell", short=short,
        on_hand_after=change.after.on_hand, reserved_before=change.after.reserved, rebrokered=rebrokered,
        parked=parked, order_id=order_id, note=note, created_at=utcnow()))
    if order_id is not None:
        timeline.add(conn, [timeline.Entry(order_id, "store_oversell", {
            "facility": code, "sku": change.sku, "short": short, "rebrokered": rebrokered, "parked": parked,
            "orders": sorted(by_order)}, ACTOR)])
    return Shortfall(change.facility_id, change.sku, short, change.after.on_hand, change.after.reserved,
                     rebrokered, parked, max(still, 0))

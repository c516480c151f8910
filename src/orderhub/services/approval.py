"""Approving orders: run the approval rules and move units on; summaries for events."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, select, update

from orderhub.adapters.store import bulk, outbox, timeline
from orderhub.adapters.store import units as unit_store
from orderhub.adapters.store.schema import inventory, order_addresses, order_items, orders, shops, variants
from orderhub.adapters.store.types import sqlite_time
from orderhub.clock import utcnow
from orderhub.domain import lifecycle, money
from orderhub.domain.approval import DELIVERED_BY_CHANNEL, ApprovalFacts, UnitFacts, evaluate, unit_on_approval
from orderhub.domain.brokering import ships


def _known_skus(conn: Connection, skus: set[str]) -> set[str]:
    if not skus:
        return set()
    wanted = sorted(skus)
    known = {r.sku for r in conn.execute(select(variants.c.sku).where(variants.c.sku.in_(wanted),
                                                                      variants.c.deleted_at.is_(None)))}
    return known | {r.sku for r in conn.execute(select(inventory.c.sku).where(inventory.c.sku.in_(wanted)))}


@dataclass
class Approval:
    """What approving a batch of orders decided and wrote."""

    approved: set[int] = field(default_factory=set)
    units: list[dict[str, Any]] = field(default_factory=list)  # the unit changes written (units.save's dicts)
    orders: dict[int, dict[str, Any]] = field(default_factory=dict)  # order id -> the columns written


def approve(conn: Connection, order_ids: Sequence[int], *, actor: str) -> set[int]:
    """Approve every created order whose rules pass; the others keep status created with the reasons."""
    found = {r.id: r for r in conn.execute(select(orders).where(orders.c.id.in_(order_ids)))}
    units = unit_store.of_orders(conn, order_ids)
    addresses = {r.order_id: r._asdict() for r in conn.execute(
        select(order_addresses).where(order_addresses.c.order_id.in_(order_ids), order_addresses.c.kind == "shipping"))}
    return approve_rows(conn, order_ids, found, units, addresses, actor=actor).approved


def approve_rows(conn: Connection, order_ids: Sequence[int], found: Mapping[int, Any],
                 units: Mapping[int, Sequence[Any]], addresses: Mapping[int, Mapping[str, Any]], *, actor: str,
                 handed: bool = False) -> Approval:
    """:func:`approve` on rows the caller holds: the orders by id, their units by order, their shipping
    addresses by order. ``handed``: the rows were read before this transaction, so every write is
    conditional on the order (its ``lifecycle_version``) and its units being as read, else
    ``unit_store.Changed`` is raised and the caller's transaction must roll back."""
    shipping = {r.order_id for r in conn.execute(
        select(order_items.c.order_id).where(order_items.c.order_id.in_(order_ids),
                                             order_items.c.requires_shipping.is_(True)).distinct())}
    known = _known_skus(conn, {u.sku for us in units.values() for u in us if u.sku})
    done = Approval()
    entries, order_rows, waiting = [], [], []
    may_approve: set[str] = set()  # order statuses checked to allow approval (the check names the first order)
    derived: dict[tuple[str, ...], tuple[str, str]] = {}  # unit statuses -> the order's status and fulfilment
    for oid in order_ids:
        order = found.get(oid)
        if order is None or order.status not in ("created", "held"):
            continue
        live = [u for u in units[oid] if u.status == "created"]
        failures = evaluate(ApprovalFacts(status=order.status, payment_status=order.payment_status,
                                          # collected in store: no address to ship to is needed
                                          needs_shipping=oid in shipping and order.pickup_facility_id is None,
                                          shipping_address=addresses.get(oid),
                                          units=[UnitFacts(u.sku, ships(u.ship_group)) for u in live],
                                          known_skus=known))
        if failures:
            waiting.append({"oid": oid, "why": "not approved: " + "; ".join(str(f) for f in failures),
                            "seen_version": order.lifecycle_version})
            entries.append(timeline.Entry(oid, "not_approved", {"failed": [str(f) for f in failures]}, actor))
            continue
        if order.status not in may_approve:
            lifecycle.check_order(f"order {order.name}", order.status, "approved")
            may_approve.add(order.status)
        changes = [approved_unit(u) for u in live]
        done.units += changes
        after = tuple([c["status"] for c in changes] + [u.status for u in units[oid] if u.status != "created"])
        statuses = derived.get(after)
        if statuses is None:  # orders of a batch mostly share their units' statuses: derive each mix once
            statuses = derived[after] = (lifecycle.order_status_from_units(after).value,
                                         lifecycle.fulfillment_status_from_units(after))
        order_rows.append((oid, *statuses, order.lifecycle_version))
        entries.append(timeline.Entry(oid, "approved", {"status": statuses[0]}, actor))
        entries += delivered_entries(oid, changes, actor)
        done.approved.add(oid)
    now = utcnow()
    unit_store.save(conn, done.units, seen={u.id: u for us in units.values() for u in us} if handed else None)
    if _approve_orders(conn, order_rows, now, fenced=handed) != len(order_rows) and handed:
        raise unit_store.Changed("orders changed since they were read")
    if waiting and conn.execute(_WAITING_FENCED if handed else _WAITING, waiting).rowcount != len(waiting) and handed:
        raise unit_store.Changed("orders changed since they were read")
    for oid, status, fulfilment, seen_version in order_rows:
        done.orders[oid] = {"status": status, "fulfillment_status": fulfilment, "approved_at": now,
                            "status_reason": None, "lifecycle_version": seen_version + 1, "updated_at": now}
    for r in waiting:
        done.orders[r["oid"]] = {"status_reason": r["why"]}
    timeline.add(conn, entries, keys={oid: (o.shop_id, o.shopify_id) for oid, o in found.items()})
    return done


def _approve_orders(conn: Connection, rows: Sequence[tuple[int, str, str, int]], now: datetime, *,
                    fenced: bool) -> int:
    """Mark orders approved: rows of (id, status, fulfilment status, lifecycle version as read), one statement
    a batch (``bulk.source``); ``fenced``: only where the version is still as read. Returns the rows changed."""
    if not rows:
        return 0
    sqlite = conn.dialect.name == "sqlite"
    at = sqlite_time(now) if sqlite else now
    written = 0
    for chunk in bulk.chunks(conn, rows, len(_APPROVED_TYPES)):
        approved, params = bulk.source(conn, _APPROVED_TYPES, chunk, "approved")
        written += conn.exec_driver_sql(_approved_sql(approved, "?" if sqlite else "%s", fenced),
                                        (at, at, *params)).rowcount
    return written


# id, status, fulfilment status, the lifecycle version the order was read with
_APPROVED_TYPES = ("BIGINT", "VARCHAR(16)", "VARCHAR(24)", "INTEGER")


@functools.lru_cache(maxsize=64)
def _approved_sql(approved: str, mark: str, fenced: bool) -> str:
    """``UPDATE orders ... FROM`` the approved orders; approved_at and updated_at are the first parameters.
    Fenced: only where the order is as the caller read it (no other transaction changed it since)."""
    return (f"UPDATE orders SET status = approved.column2, fulfillment_status = approved.column3, "
            f"approved_at = {mark}, status_reason = NULL, updated_at = {mark}, "
            "lifecycle_version = orders.lifecycle_version + 1 "
            f"FROM {approved} WHERE orders.id = approved.column1"
            + (" AND orders.lifecycle_version = approved.column4" if fenced else ""))


_AS_SEEN = (orders.c.id == bindparam("oid")) & (orders.c.lifecycle_version == bindparam("seen_version"))
_WAITING = update(orders).where(orders.c.id == bindparam("oid")).values(status_reason=bindparam("why"))
_WAITING_FENCED = update(orders).where(_AS_SEEN).values(status_reason=bindparam("why"))


def approved_unit(unit: Any) -> dict[str, Any]:
    """The change that moves one created unit on as its order is approved (see ``unit_on_approval``)."""
    status, queue, reason, keeps_reason = _on_approval(ships(unit.ship_group), unit.facility_id is not None,
                                                       unit.queue)
    return {"id": unit.id, "status": status, "facility_id": unit.facility_id, "queue": queue,
            "reason": unit.reason if keeps_reason else reason}


@functools.lru_cache(maxsize=256)
def _on_approval(ships: bool, has_facility: bool, queue: str | None) -> tuple[str, str | None, str | None, bool]:
    """``unit_on_approval`` as written (a pure function of few values: worked out once each), and whether the
    unit keeps its reason: one brokering parked keeps the reason it waits (its pickup store has no stock)."""
    move = unit_on_approval(ships=ships, has_facility=has_facility, queue=queue)
    parked = move.status.value == "approved" and queue not in (None, "brokering")
    return move.status.value, move.queue, move.reason, parked and not move.reason


def delivered_entries(order_id: int, changes: Sequence[dict[str, Any]], actor: str) -> list[timeline.Entry]:
    """The timeline entry for units an approval completed because they need no shipping (if any)."""
    delivered = [c["id"] for c in changes if c["status"] == "completed"]
    return [timeline.Entry(order_id, "completed", {"units": delivered, "reason": DELIVERED_BY_CHANNEL}, actor)
            ] if delivered else []


def unapprove(conn: Connection, order_ids: Sequence[int]) -> None:
    """Compensation of an approval made while placing: back to created (reservations are released later)."""
    if not order_ids:
        return
    units = unit_store.of_orders(conn, order_ids)
    # Completed units that need no shipping were completed by this approval: they go back too.
    unit_store.save(conn, [{"id": u.id, "status": "created", "facility_id": u.facility_id, "queue": None,
                            "reason": None} for us in units.values() for u in us
                           if u.status in ("approved", "brokered")
                           or (u.status == "completed" and not ships(u.ship_group))])
    conn.execute(update(orders).where(orders.c.id.in_(order_ids)).values(
        status="created", fulfillment_status="unfulfilled", approved_at=None,
        lifecycle_version=orders.c.lifecycle_version + 1))


def summary(o: Any, units: Sequence[Any]) -> dict[str, Any]:
    """What events say about an order (a row of orders with its shop's ``domain``, and its units):
    enough to act on, with the id to fetch the rest."""
    return {
        "id": o.id, "shop": o.domain, "shopify_id": o.shopify_id, "name": o.name, "status": o.status,
        "payment_status": o.payment_status, "fulfillment_status": o.fulfillment_status,
        "currency": o.currency, "total_price": money.show(o.total_price, o.currency), "channel": o.channel,
        "units": [{"id": u.id, "sku": u.sku, "status": u.status, "facility_id": u.facility_id,
                   "queue": u.queue} for u in units],
    }


def summaries(conn: Connection, order_ids: Sequence[int]) -> list[dict[str, Any]]:
    """:func:`summary` of each of these orders, by id."""
    units = unit_store.of_orders(conn, order_ids)
    return [summary(o, units[o.id]) for o in conn.execute(
        select(orders, shops.c.domain).join(shops, shops.c.id == orders.c.shop_id)
        .where(orders.c.id.in_(order_ids)).order_by(orders.c.id))]


def announce(conn: Connection, order_id: int, *event_types: str) -> None:
    """Write these events about one order to the outbox, each carrying its current summary."""
    summary = summaries(conn, [order_id])[0]
    outbox.add_many(conn, [outbox.Event(kind, summary, f"order:{order_id}", order_id) for kind in event_types])


def announce_approved(conn: Connection, order_ids: Sequence[int]) -> None:
    """``order.approved`` for these orders, then ``order.brokered`` when every unit already has a facility,
    or ``order.completed`` when every unit needed no shipping."""
    then = {"brokered": ["order.brokered"], "completed": ["order.completed"]}
    for summary in summaries(conn, order_ids):
        kinds = ["order.approved", *then.get(summary["status"], [])]
        outbox.add_many(conn, [outbox.Event(kind, summary, f"order:{summary['id']}", summary["id"])
                               for kind in kinds])

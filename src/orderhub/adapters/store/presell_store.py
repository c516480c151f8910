"""Pre-selling in the store: the catalogue of SKUs sold ahead of stock, the units waiting for stock with
their promises, the facts a SKU is judged by, and the promise changes customers are told of.

Read and written by :mod:`orderhub.services.presell`; the rules are :mod:`orderhub.domain.presell`.
Moves of units between queues are conditional (still approved, without a facility, still waiting), so a
routing run that brokers a unit meanwhile always wins.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import orjson
from sqlalchemy import Connection, bindparam, delete, insert, select, update

from orderhub.adapters.store.safety_stock import effective_safety_stock
from orderhub.adapters.store.schema import (
    customers,
    facilities,
    inventory,
    inventory_ledger,
    job_state,
    order_items,
    order_units,
    orders,
    presell_catalogue,
    products,
    promise_changes,
    variants,
)
from orderhub.domain.inventory import LedgerReason, Position
from orderhub.domain.planning import product_tags
from orderhub.domain.presell import Presell

# Queues a unit waits in for stock (approved, no facility yet); the parking ones are the presell kinds'.
WAITING_QUEUES: tuple[str, ...] = ("brokering", "backorder_parking", "preorder_parking", "unfillable")
PARKING_QUEUES: tuple[str, ...] = tuple(k.queue for k in Presell)
_ENDED_ORDERS = ("cancelled", "rejected")
_ENDED_UNITS = ("cancelled", "rejected")

cat, u = presell_catalogue, order_units


# -- the catalogue ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CatalogueEntry:
    sku: str
    kind: Presell
    since: datetime
    next_expected: date | None


def catalogue(conn: Connection, skus: Iterable[str] | None = None) -> dict[str, CatalogueEntry]:
    """The catalogue (of these SKUs), by SKU."""
    stmt = select(cat).order_by(cat.c.sku)
    if skus is not None:
        stmt = stmt.where(cat.c.sku.in_(sorted(set(skus))))
    return {r.sku: CatalogueEntry(r.sku, Presell(r.kind), r.since, r.next_expected) for r in conn.execute(stmt)}


def add(conn: Connection, sku: str, kind: Presell, next_expected: date | None, *, now: datetime) -> None:
    conn.execute(insert(cat).values(sku=sku, kind=kind.value, since=now, next_expected=next_expected,
                                    updated_at=now))


def change(conn: Connection, sku: str, kind: Presell, next_expected: date | None, *, now: datetime,
           kind_changed: bool) -> None:
    """A new next expected date, or a new kind (which restarts ``since``)."""
    values: dict[str, Any] = {"kind": kind.value, "next_expected": next_expected, "updated_at": now}
    if kind_changed:
        values["since"] = now
    conn.execute(update(cat).where(cat.c.sku == sku).values(**values))


def remove(conn: Connection, skus: Sequence[str]) -> None:
    if skus:
        conn.execute(delete(cat).where(cat.c.sku.in_(sorted(skus))))


# -- what a SKU is judged by ------------------------------------------------------------------------------

def active_facility_ids(conn: Connection) -> frozenset[int]:
    return frozenset(r.id for r in conn.execute(select(facilities.c.id).where(facilities.c.active.is_(True))))


def positions_by_sku(conn: Connection, skus: Iterable[str]) -> dict[str, list[tuple[int, Position]]]:
    """Each SKU's (facility id, position) at active facilities."""
    wanted = sorted(set(skus))
    out: dict[str, list[tuple[int, Position]]] = {sku: [] for sku in wanted}
    if not wanted:
        return out
    for r in conn.execute(select(inventory.c.sku, inventory.c.facility_id, inventory.c.on_hand, inventory.c.reserved,
                                 effective_safety_stock().label("safety_stock"))
                          .join(facilities, facilities.c.id == inventory.c.facility_id)
                          .where(inventory.c.sku.in_(wanted), facilities.c.active.is_(True))):
        out[r.sku].append((r.facility_id, Position(r.on_hand, r.reserved, r.safety_stock)))
    return out


def atp(conn: Connection, skus: Iterable[str]) -> dict[str, int]:
    """ATP per SKU summed over active facilities (what brokering can allocate from)."""
    return {sku: sum(p.atp for _fid, p in rows) for sku, rows in positions_by_sku(conn, skus).items()}


def ever_stocked(conn: Connection, skus: Iterable[str]) -> set[str]:
    """The SKUs that were received at some facility once (a ``received`` ledger entry)."""
    wanted = sorted(set(skus))
    if not wanted:
        return set()
    return {r.sku for r in conn.execute(
        select(inventory_ledger.c.sku).where(inventory_ledger.c.sku.in_(wanted),
                                             inventory_ledger.c.reason == LedgerReason.RECEIVED.value).distinct())}


@dataclass(frozen=True)
class ProductFacts:
    category: str | None
    tags: frozenset[str]  # lower case


# The job that tags products pre-order/backorder in Shopify remembers, per product, the tags it added
# (job_state key ``product:<id>``, ``added``): those come back with the product and are not the merchant's.
PRODUCT_TAGGING_JOB = "sync-presell-variants"


def _tags_orderhub_added(conn: Connection, shop_id: int, product_id: str) -> frozenset[str]:
    value = conn.execute(select(job_state.c.value).where(
        job_state.c.job == PRODUCT_TAGGING_JOB, job_state.c.shop_id == shop_id,
        job_state.c.key == f"product:{product_id}")).scalar()
    state = orjson.loads(value) if value else {}
    return product_tags(", ".join(state.get("added", []) + state.get("adding", [])))


def product_facts(conn: Connection, skus: Iterable[str]) -> dict[str, ProductFacts]:
    """The category and the merchant's tags of each SKU's live product (a SKU sold in several shops: the
    tags of all; tags orderhub itself put on the product in Shopify do not count)."""
    wanted = sorted(set(skus))
    if not wanted:
        return {}
    categories: dict[str, str | None] = {}
    tags: dict[str, frozenset[str]] = {}
    for r in conn.execute(select(variants.c.sku, products.c.product_type, products.c.tags, products.c.shop_id,
                                 products.c.shopify_id)
                          .join(products, (products.c.shop_id == variants.c.shop_id)
                                & (products.c.shopify_id == variants.c.product_shopify_id))
                          .where(variants.c.sku.in_(wanted), variants.c.deleted_at.is_(None),
                                 products.c.deleted_at.is_(None)).order_by(variants.c.id)):
        categories.setdefault(r.sku, r.product_type)  # the first variant's, as thresholds take it
        own = product_tags(r.tags) - _tags_orderhub_added(conn, r.shop_id, r.shopify_id)
        tags[r.sku] = tags.get(r.sku, frozenset()) | own
    return {sku: ProductFacts(categories[sku], tags[sku]) for sku in categories}


# -- waiting units ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class WaitingUnit:
    """An approved unit without a facility, waiting in a queue, with its order's date (first come, first served)."""

    id: int
    order_id: int
    sku: str
    queue: str
    placed_at: datetime
    promise_date: date | None
    promised_at: datetime | None


def _waiting() -> Any:
    return (select(u.c.id, u.c.order_id, u.c.sku, u.c.queue, u.c.promise_date, u.c.promised_at,
                   orders.c.source_created_at)
            .join(orders, orders.c.id == u.c.order_id)
            .where(u.c.status == "approved", u.c.facility_id.is_(None), u.c.queue.in_(WAITING_QUEUES),
                   u.c.sku.is_not(None), orders.c.status.not_in(_ENDED_ORDERS)))


def waiting_units(conn: Connection, skus: Iterable[str]) -> dict[str, list[WaitingUnit]]:
    """Waiting units of these SKUs, each SKU's in placement order (order date, then unit id)."""
    wanted = sorted(set(skus))
    out: dict[str, list[WaitingUnit]] = {sku: [] for sku in wanted}
    if not wanted:
        return out
    for r in conn.execute(_waiting().where(u.c.sku.in_(wanted)).order_by(orders.c.source_created_at, u.c.id)):
        out[r.sku].append(WaitingUnit(r.id, r.order_id, r.sku, r.queue, r.source_created_at, r.promise_date,
                                      r.promised_at))
    return out


def waiting_skus(conn: Connection, *, promised_only: bool = False, due_by: date | None = None) -> set[str]:
    """SKUs with waiting units (only those already promised; only those promised by ``due_by`` and parked)."""
    stmt = select(u.c.sku).join(orders, orders.c.id == u.c.order_id).where(
        u.c.status == "approved", u.c.facility_id.is_(None), u.c.queue.in_(WAITING_QUEUES), u.c.sku.is_not(None),
        orders.c.status.not_in(_ENDED_ORDERS))
    if promised_only:
        stmt = stmt.where(u.c.promised_at.is_not(None))
    if due_by is not None:
        stmt = stmt.where(u.c.promise_date <= due_by, u.c.queue != "brokering")
    return {r.sku for r in conn.execute(stmt.distinct())}


def move_units(conn: Connection, unit_ids: Sequence[int], queue: str, *, reason: str, now: datetime) -> list[int]:
    """Move units that still wait (approved, no facility, in a waiting queue) to ``queue``; returns those moved."""
    if not unit_ids:
        return []
    moved = conn.execute(update(u).where(u.c.id.in_(sorted(unit_ids)), u.c.status == "approved",
                                         u.c.facility_id.is_(None), u.c.queue.in_(WAITING_QUEUES))
                         .values(queue=queue, reason=reason, updated_at=now).returning(u.c.id))
    return sorted(r.id for r in moved)


_PROMISE = (update(u).where(u.c.id == bindparam("unit_id"))
            .values(promise_date=bindparam("promise"), promised_at=bindparam("first_at"), updated_at=bindparam("now")))


def set_promises(conn: Connection, promises: Mapping[int, tuple[date | None, datetime]], *, now: datetime) -> None:
    """Store each unit's promise with the time it was first promised: unit id -> (promise, first promised at)."""
    if promises:
        conn.execute(_PROMISE, [{"unit_id": uid, "promise": promise, "first_at": first, "now": now}
                                for uid, (promise, first) in promises.items()])


def order_promises(conn: Connection, order_ids: Iterable[int]) -> dict[int, tuple[datetime | None, date | None]]:
    """Per order: (its promise date now, the one its units make it): the latest promise of its units sold ahead
    (promised once, or parked as a pre-order/backorder), none while one of them has none."""
    ids = sorted(set(order_ids))
    if not ids:
        return {}
    current = {r.id: r.promise_date for r in conn.execute(select(orders.c.id, orders.c.promise_date)
                                                          .where(orders.c.id.in_(ids)))}
    dates: dict[int, list[date | None]] = {oid: [] for oid in ids}
    for r in conn.execute(select(u.c.order_id, u.c.promise_date).where(
            u.c.order_id.in_(ids), u.c.status.not_in(_ENDED_UNITS),
            u.c.promised_at.is_not(None) | (u.c.facility_id.is_(None) & u.c.queue.in_(PARKING_QUEUES)))):
        dates[r.order_id].append(r.promise_date)
    out: dict[int, tuple[datetime | None, date | None]] = {}
    for oid in ids:
        known = dates[oid]
        made = None if not known or any(d is None for d in known) else max(d for d in known if d is not None)
        out[oid] = (current.get(oid), made)
    return out


def set_order_promise(conn: Connection, order_id: int, promise: datetime | None, *, now: datetime) -> None:
    conn.execute(update(orders).where(orders.c.id == order_id).values(promise_date=promise, updated_at=now))


# -- promise changes ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ChangeRow:
    unit_id: int
    order_id: int
    sku: str
    before: date | None
    after: date | None


def record_changes(conn: Connection, changes: Sequence[ChangeRow], *, actor: str, now: datetime) -> None:
    if changes:
        conn.execute(insert(promise_changes), [
            {"unit_id": c.unit_id, "order_id": c.order_id, "sku": c.sku, "promise_before": c.before,
             "promise_after": c.after, "actor": actor, "at": now, "notified_at": None} for c in changes])


def pending_order_ids(conn: Connection, *, after_id: int = 0, limit: int = 100) -> list[int]:
    """Orders with promise changes no customer was told of yet, by id."""
    return [r.order_id for r in conn.execute(
        select(promise_changes.c.order_id).where(promise_changes.c.notified_at.is_(None),
                                                 promise_changes.c.order_id > after_id)
        .group_by(promise_changes.c.order_id).order_by(promise_changes.c.order_id).limit(limit))]


@dataclass(frozen=True)
class PendingChange:
    id: int
    unit_id: int
    before: date | None
    after: date | None


def pending_changes(conn: Connection, order_id: int) -> list[PendingChange]:
    """One order's changes not told yet, oldest first."""
    return [PendingChange(r.id, r.unit_id, r.promise_before, r.promise_after) for r in conn.execute(
        select(promise_changes).where(promise_changes.c.order_id == order_id, promise_changes.c.notified_at.is_(None))
        .order_by(promise_changes.c.id))]


def mark_notified(conn: Connection, change_ids: Sequence[int], *, now: datetime) -> int:
    if not change_ids:
        return 0
    done = conn.execute(update(promise_changes).where(promise_changes.c.id.in_(sorted(change_ids)),
                                                      promise_changes.c.notified_at.is_(None))
                        .values(notified_at=now).returning(promise_changes.c.id))
    return len(done.all())


@dataclass(frozen=True)
class OrderContact:
    """Who to tell about an order, and what it holds."""

    id: int
    name: str
    email: str | None
    first_name: str | None
    last_name: str | None
    units: dict[int, Any]  # unit id -> row with status, sku, title, promise_date


def order_contact(conn: Connection, order_id: int) -> OrderContact | None:
    row = conn.execute(select(orders.c.id, orders.c.name, orders.c.shopify_id, orders.c.email,
                              customers.c.email.label("customer_email"), customers.c.first_name,
                              customers.c.last_name)
                       .outerjoin(customers, customers.c.id == orders.c.customer_id)
                       .where(orders.c.id == order_id)).first()
    if row is None:
        return None
    units = {r.id: r for r in conn.execute(
        select(u.c.id, u.c.status, u.c.sku, u.c.promise_date, order_items.c.title, order_items.c.variant_title)
        .join(order_items, order_items.c.id == u.c.item_id).where(u.c.order_id == order_id).order_by(u.c.id))}
    email = (row.email or row.customer_email or "").strip() or None
    return OrderContact(row.id, row.name or row.shopify_id, email, row.first_name, row.last_name, units)

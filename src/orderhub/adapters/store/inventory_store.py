"""Inventory per SKU and facility, changed only through conditional updates and the ledger.

Reservations never take ATP below zero, whatever number of processes reserve at
once: each (SKU, facility) is changed by a conditional ``UPDATE ... WHERE on_hand -
reserved - safety_stock >= n``, so the database decides, not a value read earlier. A
batch of many orders' reservations is one statement for all its SKUs (``UPDATE ...
FROM`` the wanted quantities); only where stock runs out is the row locked and read to
grant what still fits, first come first served.
Every change appends ledger rows with the values before and after, and writes one
``inventory.changed`` event per (SKU, facility) to the outbox in the same transaction,
so channels learn of every change in ATP - reservations included - once it commits.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, bindparam, select, text

from orderhub.adapters.store import bulk, channel_stock, outbox
from orderhub.adapters.store.db import upsert
from orderhub.adapters.store.safety_stock import effective_safety_stock, online_buffers
from orderhub.adapters.store.schema import facilities, inventory, inventory_ledger
from orderhub.adapters.store.types import UTCDateTime, sqlite_time
from orderhub.clock import utcnow
from orderhub.domain.inventory import LedgerReason, Position, grant_in_order


class Movement(NamedTuple):
    """A quantity of one SKU at one facility, on behalf of an order unit (or nothing). A named tuple: a
    batch of placements makes one per unit."""

    sku: str
    facility_id: int
    quantity: int
    order_id: int | None = None
    unit_id: int | None = None


@dataclass(frozen=True)
class Change:
    """What one (SKU, facility) looked like before and after a statement."""

    sku: str
    facility_id: int
    before: Position
    after: Position


# A store's online safety stock is the floor of every SKU's safety stock there (``:buffer``).
_RESERVE_ALL = text(
    "UPDATE inventory SET reserved = reserved + :n, updated_at = :now "
    "WHERE sku = :sku AND facility_id = :facility "
    "AND on_hand - reserved - (CASE WHEN safety_stock > :buffer THEN safety_stock ELSE :buffer END) >= :n "
    "RETURNING on_hand, reserved, safety_stock").bindparams(bindparam("now", type_=UTCDateTime()))
_CHANGE = text(
    "UPDATE inventory SET on_hand = on_hand + :on_hand, reserved = reserved + :reserved, updated_at = :now "
    "WHERE sku = :sku AND facility_id = :facility AND reserved + :reserved >= 0 "
    "RETURNING on_hand, reserved, safety_stock").bindparams(bindparam("now", type_=UTCDateTime()))


def _position(on_hand: int, reserved: int, safety_stock: int, buffer: int) -> Position:
    return Position(on_hand, reserved, max(safety_stock, buffer))


def _locked(conn: Connection, sku: str, facility_id: int, buffer: int = 0) -> Position | None:
    stmt = select(inventory.c.on_hand, inventory.c.reserved, inventory.c.safety_stock).where(
        inventory.c.sku == sku, inventory.c.facility_id == facility_id)
    if conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    row = conn.execute(stmt).first()
    return None if row is None else _position(row.on_hand, row.reserved, row.safety_stock, buffer)


def _groups(movements: Sequence[Movement]) -> list[tuple[tuple[str, int], list[int]]]:
    """Request indexes by (SKU, facility), in a global order so concurrent batches never deadlock."""
    groups: dict[tuple[str, int], list[int]] = defaultdict(list)
    for i, m in enumerate(movements):
        if m.quantity <= 0:
            raise ValueError(f"{m.sku} at facility {m.facility_id}: quantity must be positive, got {m.quantity}")
        groups[(m.sku, m.facility_id)].append(i)
    return sorted(groups.items())


# The wanted quantities as a table (bulk.source): sku, facility_id, n, the facility's online safety stock.
_WANTED_TYPES = ("VARCHAR(255)", "INTEGER", "INTEGER", "INTEGER")


def _reserve_whole(conn: Connection, wanted: list[tuple[str, int, int, int]], now: datetime
                   ) -> dict[tuple[str, int], Any]:
    """Reserve each (SKU, facility, quantity, buffer) in full where it all fits, in one statement per chunk of
    groups (one statement text per chunk size: nothing to compile a batch); returns the rows changed by (SKU,
    facility). On PostgreSQL the rows are locked first in the global (SKU, facility) order, as the per-group
    statements took them, so concurrent batches never deadlock."""
    changed: dict[tuple[str, int], Any] = {}
    if not wanted:
        return changed
    postgres = conn.dialect.name == "postgresql"
    at = now if postgres else sqlite_time(now)
    for chunk in bulk.chunks(conn, wanted, len(_WANTED_TYPES)):
        source, params = bulk.source(conn, _WANTED_TYPES, chunk, "wanted")
        if postgres:
            conn.exec_driver_sql(_lock_sql(source), tuple(params))
        for row in conn.exec_driver_sql(_reserve_whole_sql(source, postgres), (at, *params)):
            changed[(row.sku, row.facility_id)] = row
    return changed


@functools.lru_cache(maxsize=64)
def _lock_sql(source: str) -> str:
    return ("SELECT 1 FROM inventory WHERE (sku, facility_id) IN (SELECT wanted.column1, wanted.column2 "
            f"FROM {source}) ORDER BY sku, facility_id FOR UPDATE")


@functools.lru_cache(maxsize=64)
def _reserve_whole_sql(source: str, postgres: bool) -> str:
    """``UPDATE inventory ... FROM`` the wanted quantities, where all of each fits; the time is the first
    parameter."""
    mark, floor = ("%s", "GREATEST") if postgres else ("?", "max")
    return (f"UPDATE inventory SET reserved = inventory.reserved + wanted.column3, updated_at = {mark} "
            f"FROM {source} WHERE inventory.sku = wanted.column1 AND inventory.facility_id = wanted.column2 "
            f"AND inventory.on_hand - inventory.reserved - {floor}(inventory.safety_stock, wanted.column4) "
            ">= wanted.column3 RETURNING inventory.sku, inventory.facility_id, inventory.on_hand, "
            "inventory.reserved, inventory.safety_stock")


def reserve(conn: Connection, requests: Sequence[Movement], *, actor: str) -> list[int]:
    """Reserve each request whole or not at all; returns the quantity granted per request."""
    granted = [0] * len(requests)
    now = utcnow()
    ledger: list[tuple[Any, ...]] = []
    reason = LedgerReason.RESERVED.value
    changes: list[Change] = []
    groups = _groups(requests)
    buffers = online_buffers(conn, {facility_id for (_sku, facility_id), _ in groups})
    whole = _reserve_whole(conn, [(sku, facility_id, sum(requests[i].quantity for i in indexes), buffers[facility_id])
                                  for (sku, facility_id), indexes in groups], now)
    for (sku, facility_id), indexes in groups:
        quantities = [requests[i].quantity for i in indexes]
        buffer = buffers[facility_id]
        row = whole.get((sku, facility_id))
        if row is not None:
            grants = quantities
            after = _position(row.on_hand, row.reserved, row.safety_stock, buffer)
        else:  # not enough for everyone: lock, and grant in arrival order what fits
            current = _locked(conn, sku, facility_id, buffer)
            if current is None:
                continue
            grants = grant_in_order(current.atp, quantities)
            if not sum(grants):
                continue
            row = conn.execute(_RESERVE_ALL, {"n": sum(grants), "sku": sku, "facility": facility_id,
                                              "now": now, "buffer": buffer}).one()
            after = _position(row.on_hand, row.reserved, row.safety_stock, buffer)
        reserved = after.reserved - sum(grants)
        changes.append(Change(sku, facility_id, Position(after.on_hand, reserved, after.safety_stock), after))
        for i, qty in zip(indexes, grants, strict=True):
            granted[i] = qty
            if qty:
                m = requests[i]
                ledger.append((m.sku, m.facility_id, reason, after.on_hand, after.on_hand, reserved,
                               reserved + qty, m.order_id, m.unit_id, actor, None, now))
                reserved += qty
    _append(conn, ledger)
    _announce(conn, changes, LedgerReason.RESERVED)
    return granted


def move(conn: Connection, movements: Sequence[Movement], *, reason: LedgerReason, actor: str,
         on_hand_sign: int = 0, reserved_sign: int = 0, note: str | None = None) -> list[Change]:
    """Apply ``sign * quantity`` to on hand and/or reserved for each movement, with ledger rows.

    Releases (reserved -1), shipments (on hand -1, reserved -1), restocks (on hand +1).
    A release of more than is reserved is refused with an error naming the SKU.
    """
    changes = []
    now = utcnow()
    ledger: list[tuple[Any, ...]] = []
    groups = _groups(movements)
    buffers = online_buffers(conn, {facility_id for (_sku, facility_id), _ in groups})
    for (sku, facility_id), indexes in groups:
        items = [movements[i] for i in indexes]
        total = sum(m.quantity for m in items)
        change = {"on_hand": on_hand_sign * total, "reserved": reserved_sign * total, "sku": sku,
                  "facility": facility_id, "now": now}
        row = conn.execute(_CHANGE, change).first()
        if row is None and _locked(conn, sku, facility_id) is None:  # no row yet: the first of this SKU here
            _ensure_row(conn, sku, facility_id)
            row = conn.execute(_CHANGE, change).first()
        if row is None:
            raise ValueError(f"{sku} at facility {facility_id}: cannot release {total}, fewer are reserved")
        after = _position(row.on_hand, row.reserved, row.safety_stock, buffers[facility_id])
        on_hand, reserved = after.on_hand - on_hand_sign * total, after.reserved - reserved_sign * total
        changes.append(Change(sku, facility_id, Position(on_hand, reserved, after.safety_stock), after))
        for m in items:
            nxt_on_hand, nxt_reserved = on_hand + on_hand_sign * m.quantity, reserved + reserved_sign * m.quantity
            ledger.append(_ledger_row(m, reason, actor, on_hand, nxt_on_hand, reserved, nxt_reserved, note, now))
            on_hand, reserved = nxt_on_hand, nxt_reserved
    _append(conn, ledger)
    _announce(conn, changes, reason)
    return changes


def set_on_hand(conn: Connection, sku: str, facility_id: int, on_hand: int, *, reason: LedgerReason, actor: str,
                note: str | None = None, safety_stock: int | None = None) -> Change:
    """Set on hand (a cycle count, a sync, a facility saying it has none), and optionally safety stock."""
    if on_hand < 0:
        raise ValueError(f"{sku} at facility {facility_id}: on hand cannot be negative ({on_hand})")
    if safety_stock is not None and safety_stock < 0:
        raise ValueError(f"{sku} at facility {facility_id}: safety stock cannot be negative ({safety_stock})")
    _ensure_row(conn, sku, facility_id)
    buffer = online_buffers(conn, [facility_id])[facility_id]
    before = _locked(conn, sku, facility_id, buffer)
    assert before is not None
    now = utcnow()
    values: dict[str, Any] = {"on_hand": on_hand, "updated_at": now}
    if safety_stock is not None:
        values["safety_stock"] = safety_stock
    conn.execute(inventory.update().where(inventory.c.sku == sku, inventory.c.facility_id == facility_id)
                 .values(**values))
    after = Position(on_hand, before.reserved, before.safety_stock if safety_stock is None
                     else max(safety_stock, buffer))
    _append(conn, [_ledger_row(Movement(sku, facility_id, 0), reason, actor, before.on_hand, on_hand,
                               before.reserved, before.reserved, note, now)])
    change = Change(sku, facility_id, before, after)
    _announce(conn, [change], reason)
    return change


def ensure_rows(conn: Connection, facility_id: int, skus: Sequence[str]) -> None:
    """Make the (SKU, facility) rows that do not exist yet, in SKU order (concurrent callers never deadlock)."""
    for sku in sorted(set(skus)):
        _ensure_row(conn, sku, facility_id)


def lock_rows(conn: Connection, facility_id: int, skus: Sequence[str]) -> None:
    """Lock these SKUs' rows at the facility for the transaction, in SKU order (PostgreSQL; SQLite's write
    transaction holds the whole database already)."""
    wanted = sorted(set(skus))
    if not wanted or conn.dialect.name != "postgresql":
        return
    for start in range(0, len(wanted), 500):
        conn.execute(select(inventory.c.id).where(inventory.c.facility_id == facility_id,
                                                  inventory.c.sku.in_(wanted[start:start + 500]))
                     .order_by(inventory.c.sku).with_for_update()).all()


def _ensure_row(conn: Connection, sku: str, facility_id: int) -> None:
    upsert(conn, inventory, {"sku": sku, "facility_id": facility_id, "on_hand": 0, "reserved": 0,
                             "safety_stock": 0, "updated_at": utcnow()}, keys=("sku", "facility_id"))


# A ledger row's values, as _ledger_row and reserve make them: tuples, not dicts (a batch writes thousands).
_LEDGER_COLUMNS = ("sku", "facility_id", "reason", "on_hand_before", "on_hand_after", "reserved_before",
                   "reserved_after", "order_id", "unit_id", "actor", "note", "at")


def _ledger_row(m: Movement, reason: LedgerReason, actor: str, on_hand_before: int, on_hand_after: int,
                reserved_before: int, reserved_after: int, note: str | None, at: datetime) -> tuple[Any, ...]:
    """One ledger row; ``at``: the time of the change, one for every row of a statement's movements."""
    return (m.sku, m.facility_id, reason.value, on_hand_before, on_hand_after, reserved_before, reserved_after,
            m.order_id, m.unit_id, actor, note, at)


def _append(conn: Connection, rows: list[tuple[Any, ...]]) -> None:
    bulk.insert_tuples(conn, inventory_ledger, _LEDGER_COLUMNS, rows)


def _announce(conn: Connection, changes: Sequence[Change], reason: LedgerReason) -> None:
    """One ``inventory.changed`` per (SKU, facility), delivered in order per SKU."""
    if not changes:
        return
    ids = sorted({c.facility_id for c in changes})
    codes = {r.id: r.code for r in conn.execute(select(facilities.c.id, facilities.c.code)
                                                .where(facilities.c.id.in_(ids)))}
    outbox.add_many(conn, [outbox.Event("inventory.changed", changed_payload(
        c, codes.get(c.facility_id, str(c.facility_id)), reason), f"sku:{c.sku}") for c in changes])
    # What each channel listing these SKUs should show now, in the same transaction as the movement.
    channel_stock.refresh(conn, [c.sku for c in changes])


def changed_payload(c: Change, facility_code: str, reason: LedgerReason) -> dict[str, Any]:
    """The body of an ``inventory.changed`` event: the position after the change, and ATP before it."""
    return {"sku": c.sku, "facility": facility_code, "reason": reason.value, "on_hand": c.after.on_hand,
            "reserved": c.after.reserved, "safety_stock": c.after.safety_stock, "atp": c.after.atp,
            "atp_before": c.before.atp}


def positions(conn: Connection, skus: Iterable[str]) -> dict[tuple[str, int], Position]:
    """Every facility's position for these SKUs."""
    wanted = sorted(set(skus))
    if not wanted:
        return {}
    rows = conn.execute(select(inventory.c.sku, inventory.c.facility_id, inventory.c.on_hand, inventory.c.reserved,
                               effective_safety_stock().label("safety_stock"))
                        .join(facilities, facilities.c.id == inventory.c.facility_id)
                        .where(inventory.c.sku.in_(wanted)))
    return {(r.sku, r.facility_id): Position(r.on_hand, r.reserved, r.safety_stock) for r in rows}

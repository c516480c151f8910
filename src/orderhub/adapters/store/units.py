"""Order units: one row per unit of an order line, the grain of brokering and fulfilment."""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select

from orderhub.adapters.store import bulk
from orderhub.adapters.store.schema import order_items, order_units
from orderhub.adapters.store.types import sqlite_time
from orderhub.clock import utcnow
from orderhub.domain.brokering import NO_SHIPPING

# An order with more units than this is refused rather than exploded (a typo of 100000 for 10).
MAX_UNITS_PER_ORDER = 10_000


def explode(conn: Connection, order_ids: Sequence[int]) -> dict[int, int]:
    """Create the units of these orders' lines (those not created yet); returns units per order.

    For an order already in the order management system, ``add_to_lines`` adds units to its lines."""
    if not order_ids:
        return {}
    rows: list[tuple[Any, ...]] = []
    counts: dict[int, int] = defaultdict(int)
    now = utcnow()
    made = select(order_units.c.id).where(order_units.c.item_id == order_items.c.id).exists()
    for item in conn.execute(select(order_items.c.id, order_items.c.order_id, order_items.c.sku,
                                    order_items.c.current_quantity, order_items.c.price,
                                    order_items.c.requires_shipping)
                             .where(order_items.c.order_id.in_(order_ids), ~made).order_by(order_items.c.id)):
        counts[item.order_id] += item.current_quantity
        if counts[item.order_id] > MAX_UNITS_PER_ORDER:
            raise ValueError(f"order {item.order_id} has more than {MAX_UNITS_PER_ORDER} units; "
                             "check the quantities of its lines")
        rows += _unit_rows(item, range(1, item.current_quantity + 1), now)
    bulk.insert_tuples(conn, order_units, _NEW_COLUMNS, rows)
    return dict(counts)


def add_to_lines(conn: Connection, order_id: int, wanted: Mapping[int, int]) -> list[Any]:
    """Create ``wanted[item id]`` more units on these lines of one order, each line's seq continuing
    after its last unit; returns the new units."""
    wanted = {item_id: n for item_id, n in wanted.items() if n > 0}
    if not wanted:
        return []
    existing = conn.execute(select(func.count()).where(order_units.c.order_id == order_id)).scalar_one()
    if existing + sum(wanted.values()) > MAX_UNITS_PER_ORDER:
        raise ValueError(f"order {order_id} would have more than {MAX_UNITS_PER_ORDER} units; "
                         "check the quantities of its lines")
    last_seq = dict(conn.execute(select(order_units.c.item_id, func.max(order_units.c.seq))
                                 .where(order_units.c.order_id == order_id).group_by(order_units.c.item_id)).all())
    now = utcnow()
    rows: list[tuple[Any, ...]] = []
    for item in conn.execute(select(order_items.c.id, order_items.c.order_id, order_items.c.sku,
                                    order_items.c.price, order_items.c.requires_shipping)
                             .where(order_items.c.order_id == order_id, order_items.c.id.in_(sorted(wanted)))
                             .order_by(order_items.c.id)):
        first = last_seq.get(item.id, 0) + 1
        rows += _unit_rows(item, range(first, first + wanted[item.id]), now)
    if not rows:
        return []
    bulk.insert_tuples(conn, order_units, _NEW_COLUMNS, rows)
    return [u for u in of_orders(conn, [order_id])[order_id] if u.seq > last_seq.get(u.item_id, 0)
            and u.item_id in wanted]


# A new unit's values, as _unit_rows makes them (the other columns take their defaults).
_NEW_COLUMNS = ("order_id", "item_id", "seq", "sku", "status", "queue", "ship_group", "price", "updated_at")


def _unit_rows(item: Any, seqs: range, now: datetime) -> list[tuple[Any, ...]]:
    ship_group = "default" if item.requires_shipping else NO_SHIPPING
    return [(item.order_id, item.id, seq, item.sku, "created", None, ship_group, item.price, now) for seq in seqs]


def of_orders(conn: Connection, order_ids: Iterable[int]) -> dict[int, list[Any]]:
    ids = sorted(set(order_ids))
    out: dict[int, list[Any]] = {oid: [] for oid in ids}
    if ids:
        for r in conn.execute(select(order_units).where(order_units.c.order_id.in_(ids)).order_by(order_units.c.id)):
            out[r.order_id].append(r)
    return out


class Changed(Exception):
    """Units were changed by another transaction since they were read (a cancellation, say)."""


def save(conn: Connection, changes: Sequence[dict[str, Any]], *, seen: Mapping[int, Any] | None = None) -> None:
    """Write unit changes: dicts with id, status, facility_id, queue, reason (all given); one statement
    for a batch (``bulk.source``).

    ``seen`` (unit id -> the unit as the caller read it, earlier than this transaction) makes each write
    conditional on the unit still having the status and facility it was seen with; when any has not,
    :class:`Changed` is raised and the caller's transaction must roll back (the others were written)."""
    if not changes:
        return
    sqlite = conn.dialect.name == "sqlite"
    now = utcnow()
    fenced = seen is not None
    types = _FENCED_TYPES if fenced else _TYPES
    written = 0
    for chunk in bulk.chunks(conn, changes, len(types)):
        rows = []
        for c in chunk:
            row: tuple[Any, ...] = (c["id"], c["status"], c["facility_id"], c["queue"], c["reason"])
            if seen is not None:
                unit = seen[c["id"]]
                row += (unit.status, unit.facility_id)
            rows.append(row)
        changed, params = bulk.source(conn, types, rows, "changed")
        # updated_at's parameter comes first in the text; the statement starts with UPDATE so that the
        # driver counts the rows it changed.
        written += conn.exec_driver_sql(_save_sql(changed, sqlite, fenced),
                                        (sqlite_time(now) if sqlite else now, *params)).rowcount
    if fenced and written != len(changes):
        raise Changed(f"{len(changes) - written} of {len(changes)} units changed since they were read")


# id, status, facility_id, queue, reason; fenced: the status and facility the unit was seen with.
_TYPES = ("BIGINT", "VARCHAR(16)", "INTEGER", "VARCHAR(24)", "TEXT")
_FENCED_TYPES = (*_TYPES, "VARCHAR(16)", "INTEGER")


@functools.lru_cache(maxsize=64)
def _save_sql(changed: str, sqlite: bool, fenced: bool) -> str:
    mark = "?" if sqlite else "%s"
    same_facility = "IS" if sqlite else "IS NOT DISTINCT FROM"
    return ("UPDATE order_units SET status = changed.column2, facility_id = changed.column3, "
            f"queue = changed.column4, reason = changed.column5, updated_at = {mark} "
            f"FROM {changed} WHERE order_units.id = changed.column1"
            + (" AND order_units.status = changed.column6 "
               f"AND order_units.facility_id {same_facility} changed.column7" if fenced else ""))

"""Order units: one row per unit of an order line, the grain of brokering and fulfilment."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update

from orderhub.adapters.store.schema import order_items, order_units
from orderhub.clock import utcnow

# An order with more units than this is refused rather than exploded (a typo of 100000 for 10).
MAX_UNITS_PER_ORDER = 10_000


def explode(conn: Connection, order_ids: Sequence[int]) -> dict[int, int]:
    """Create the units of these orders' lines (those not created yet); returns units per order."""
    if not order_ids:
        return {}
    have = {r.item_id for r in conn.execute(
        select(order_units.c.item_id).where(order_units.c.order_id.in_(order_ids)).distinct())}
    rows: list[dict[str, Any]] = []
    counts: dict[int, int] = defaultdict(int)
    now = utcnow()
    for item in conn.execute(select(order_items.c.id, order_items.c.order_id, order_items.c.sku,
                                    order_items.c.current_quantity, order_items.c.price,
                                    order_items.c.requires_shipping)
                             .where(order_items.c.order_id.in_(order_ids)).order_by(order_items.c.id)):
        if item.id in have:
            continue
        counts[item.order_id] += item.current_quantity
        if counts[item.order_id] > MAX_UNITS_PER_ORDER:
            raise ValueError(f"order {item.order_id} has more than {MAX_UNITS_PER_ORDER} units; "
                             "check the quantities of its lines")
        rows += [{"order_id": item.order_id, "item_id": item.id, "seq": seq, "sku": item.sku, "status": "created",
                  "queue": None, "ship_group": "default" if item.requires_shipping else "no_shipping",
                  "price": item.price, "updated_at": now}
                 for seq in range(1, item.current_quantity + 1)]
    if rows:
        conn.execute(insert(order_units), rows)
    return dict(counts)


def of_orders(conn: Connection, order_ids: Iterable[int]) -> dict[int, list[Any]]:
    ids = sorted(set(order_ids))
    out: dict[int, list[Any]] = {oid: [] for oid in ids}
    if ids:
        for r in conn.execute(select(order_units).where(order_units.c.order_id.in_(ids)).order_by(order_units.c.id)):
            out[r.order_id].append(r)
    return out


_UPDATE = (update(order_units).where(order_units.c.id == bindparam("unit_id"))
           .values(status=bindparam("new_status"), facility_id=bindparam("new_facility"),
                   queue=bindparam("new_queue"), reason=bindparam("new_reason"), updated_at=bindparam("now")))


def save(conn: Connection, changes: Sequence[dict[str, Any]]) -> None:
    """Write unit changes: dicts with id, status, facility_id, queue, reason (all given)."""
    if changes:
        now = utcnow()
        conn.execute(_UPDATE, [{"unit_id": c["id"], "new_status": c["status"], "new_facility": c["facility_id"],
                                "new_queue": c["queue"], "new_reason": c["reason"], "now": now} for c in changes])

"""Safety stock as reservations and channels count it: a SKU's own at a facility, or the facility's online
safety stock (a store keeping a buffer of every SKU back from online selling) when that is higher."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, case, select

from orderhub.adapters.store.schema import facilities, inventory


def effective_safety_stock() -> Any:
    """A SKU's safety stock at a facility as reservations and channels count it: its own, or the facility's
    online safety stock when that is higher (select from inventory joined with facilities)."""
    return case((inventory.c.safety_stock > facilities.c.online_safety_stock, inventory.c.safety_stock),
                else_=facilities.c.online_safety_stock)


def online_buffers(conn: Connection, facility_ids: Iterable[int]) -> dict[int, int]:
    """The online safety stock of these facilities (0 for those that keep none)."""
    ids = sorted(set(facility_ids))
    found = {r.id: int(r.online_safety_stock) for r in conn.execute(
        select(facilities.c.id, facilities.c.online_safety_stock).where(facilities.c.id.in_(ids)))} if ids else {}
    return {i: found.get(i, 0) for i in ids}

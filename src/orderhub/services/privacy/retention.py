"""Retention of personal data: the orders completed (shipped or delivered, closed, cancelled, returned, rejected)
more than ORDERHUB_PERSONAL_DATA_DAYS ago lose their customer's personal data, order by order, as an erasure does it
(their addresses, e-mail and note, the raw records they were made from, what was sent about them, the files on
SFTP that carry them), while the order and its invoice stay, pseudonymised: the name in what is kept is the
pseudonym of the customer's profile (given one the first time it is needed), or ``[redacted]`` for an order that
names nobody. The customer's identity and profile are not touched: they may still buy.

An order counts as completed when its last change (``orders.updated_at``) is older than the cutoff and its status
is a final one, so an order that changed since is never purged early; each is purged once
(``orders.personal_data_erased_at``).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, or_, select, update

from orderhub.adapters.store import privacy_rows as rows
from orderhub.adapters.store.schema import customer_profiles, customers, orders
from orderhub.clock import utcnow
from orderhub.services.privacy.erase import new_pseudonym
from orderhub.services.privacy.locate import Scope, locate
from orderhub.services.privacy.redact import redact
from orderhub.services.privacy.scrub import REDACTED

# Shipped counts: few channels tell orderhub of a delivery, and an order unchanged for the whole retention period
# after it shipped is done with.
FINAL = ("shipped", "completed", "cancelled", "returned", "rejected", "by_channel")
SOURCE_FINAL = ("closed", "cancelled")


def due(conn: Connection, cutoff: datetime, limit: int, after: tuple[datetime, int] | None = None) -> list[Any]:
    """Orders whose personal data is due to go: completed, unchanged since before ``cutoff``, not purged yet;
    oldest first (after ``after``: the (updated_at, id) of the last one of a previous batch)."""
    o = orders.c
    stmt = (select(o.id, o.updated_at).where(o.personal_data_erased_at.is_(None), o.updated_at < cutoff,
                                             or_(o.status.in_(FINAL), o.source_status.in_(SOURCE_FINAL)))
            .order_by(o.updated_at, o.id).limit(limit))
    if after is not None:
        stmt = stmt.where(or_(o.updated_at > after[0], (o.updated_at == after[0]) & (o.id > after[1])))
    return conn.execute(stmt).all()


def pseudonyms(conn: Connection, order_ids: list[int]) -> dict[int, str]:
    """Each order's name in what is kept: its customer's profile's pseudonym (made now when it has none)."""
    found = conn.execute(select(orders.c.id, customers.c.profile_id, customer_profiles.c.pseudonym)
                         .join(customers, customers.c.id == orders.c.customer_id)
                         .join(customer_profiles, customer_profiles.c.id == customers.c.profile_id)
                         .where(orders.c.id.in_(order_ids))).all()
    made: dict[int, str] = {}
    out: dict[int, str] = {}
    for r in found:
        name = r.pseudonym or made.get(r.profile_id)
        if name is None:
            name = made[r.profile_id] = new_pseudonym()
            conn.execute(update(customer_profiles).where(customer_profiles.c.id == r.profile_id,
                                                         customer_profiles.c.pseudonym.is_(None))
                         .values(pseudonym=name))
        out[r.id] = name
    return out


def purge(conn: Connection, order_ids: list[int], now: datetime | None = None) -> dict[str, int]:
    """Erase the personal data of these orders (in the caller's transaction); rows changed per table."""
    now = now or utcnow()
    names = pseudonyms(conn, order_ids)
    groups: dict[str, list[int]] = defaultdict(list)
    for order_id in order_ids:
        groups[names.get(order_id, REDACTED)].append(order_id)
    changed: dict[str, int] = defaultdict(int)
    for name, ids in groups.items():
        for part in rows.chunks(ids, 100):
            located = locate(conn, Scope(order_ids=tuple(part), search=False), name_replacement=name)
            for table, n in redact(conn, located, now).items():
                changed[table] += n
    return dict(changed)

"""Who read whose data: every read of a person's data in the console, the API and the CLI is kept as a row of
``customer_access_log`` (the actor, the door it came through, what was read), so the retailer can answer a
person who asks who saw their data, and notice reads nobody should have made."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, insert, select

from orderhub.adapters.store.schema import customer_access_log, customers
from orderhub.clock import utcnow

VIA = ("console", "api", "cli")
MAX_ACTOR, MAX_WHAT, MAX_DETAIL = 100, 64, 255
c = customer_access_log.c


def record(conn: Connection, profile_ids: Iterable[int | None], actor: str, via: str, what: str,
           detail: str | None = None) -> int:
    """One row per profile read (a profile named twice is read once); returns how many were written."""
    if via not in VIA:
        raise ValueError(f"unknown way in {via!r}: one of {', '.join(VIA)}")
    ids = sorted({int(p) for p in profile_ids if p is not None})
    if not ids:
        return 0
    now = utcnow()
    conn.execute(insert(customer_access_log), [
        {"profile_id": p, "actor": actor[:MAX_ACTOR], "via": via, "what": what[:MAX_WHAT],
         "detail": detail[:MAX_DETAIL] if detail else None, "at": now} for p in ids])
    return len(ids)


def record_for_identity(conn: Connection, identity_id: int | None, actor: str, via: str, what: str,
                        detail: str | None = None) -> int | None:
    """Record a read of what an identity (an order's customer) shows, against its profile; the profile's id, or
    None when the identity has none (not linked yet) or there is no identity."""
    if identity_id is None:
        return None
    profile_id = conn.execute(select(customers.c.profile_id).where(customers.c.id == identity_id)).scalar()
    if profile_id is not None:
        record(conn, [profile_id], actor, via, what, detail)
    return None if profile_id is None else int(profile_id)


def of_profiles(conn: Connection, profile_ids: Iterable[int], *, limit: int = 100) -> list[Any]:
    """The newest reads of these profiles, newest first."""
    ids = sorted(set(profile_ids))
    if not ids:
        return []
    return conn.execute(select(customer_access_log).where(c.profile_id.in_(ids))
                        .order_by(c.at.desc(), c.id.desc()).limit(limit)).all()

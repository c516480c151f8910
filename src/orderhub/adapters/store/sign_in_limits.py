"""Sign-in throttle counters (rows only; the policy is in :mod:`orderhub.services.console.throttle`).

Every change is one conditional statement, so it holds across processes: on PostgreSQL a
concurrent UPDATE waits for the row lock and re-checks its WHERE against the committed row; on
SQLite writers are serialised (BEGIN IMMEDIATE).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from orderhub.adapters.store.schema import console_sign_in_limits as limits

_c = limits.c


@dataclass(frozen=True)
class Slot:
    """The outcome of a reservation: ``taken`` or not, the count after it and when its window opened."""

    taken: bool
    count: int
    window_start: datetime


def _insert_first(conn: Connection, key: str, now: datetime) -> bool:
    make = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    stmt = (make(limits).values(key=key, window_start=now, count=1).on_conflict_do_nothing(index_elements=["key"])
            .returning(_c.key))  # rowcount of a skipped insert is not reliable across drivers
    return conn.execute(stmt).first() is not None


def _increment(conn: Connection, key: str, limit: int | None) -> Slot | None:
    stmt = update(limits).where(_c.key == key)
    if limit is not None:
        stmt = stmt.where(_c.count < limit)
    row = conn.execute(stmt.values(count=_c.count + 1).returning(_c.count, _c.window_start)).first()
    return None if row is None else Slot(True, int(row.count), row.window_start)


def reserve(conn: Connection, key: str, limit: int | None, now: datetime, window: timedelta) -> Slot:
    """Take one of ``limit`` slots of ``key`` in its window (None: no limit, only count)."""
    conn.execute(update(limits).where(_c.key == key, _c.window_start <= now - window)
                 .values(window_start=now, count=0, last_check_at=None))
    slot = _increment(conn, key, limit)
    if slot is not None:
        return slot
    if _insert_first(conn, key, now):
        return Slot(True, 1, now)
    slot = _increment(conn, key, limit)  # another attempt inserted the row meanwhile
    if slot is not None:
        return slot
    row = conn.execute(select(_c.count, _c.window_start).where(_c.key == key)).one()
    return Slot(False, int(row.count), row.window_start)


def count(conn: Connection, key: str, now: datetime, window: timedelta) -> int:
    """The reservations of ``key`` in its current window (0 when it has none)."""
    row = conn.execute(select(_c.count, _c.window_start).where(_c.key == key)).first()
    return 0 if row is None or row.window_start <= now - window else int(row.count)


def release(conn: Connection, key: str) -> None:
    """Give a reservation back (the attempt succeeded, or its check was never made)."""
    conn.execute(update(limits).where(_c.key == key, _c.count > 0).values(count=_c.count - 1))


def clear(conn: Connection, key: str) -> None:
    conn.execute(delete(limits).where(_c.key == key))


def take_turn(conn: Connection, key: str, now: datetime, interval: timedelta) -> bool:
    """Let one check through ``key`` per ``interval`` (the row must exist: :func:`reserve` first)."""
    stmt = (update(limits).where(_c.key == key)
            .where((_c.last_check_at.is_(None)) | (_c.last_check_at <= now - interval))
            .values(last_check_at=now))
    return bool(conn.execute(stmt).rowcount)


def forget_before(conn: Connection, before: datetime) -> int:
    """Drop counters whose window closed before ``before``."""
    return conn.execute(delete(limits).where(_c.window_start < before)).rowcount or 0

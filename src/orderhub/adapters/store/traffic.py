"""Per-minute counts of traffic (``traffic_minutes``): added to in the transaction of the work they
count, read by the console's dashboard, purged by retention."""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, select, text

from orderhub.adapters.store.schema import traffic_minutes
from orderhub.adapters.store.types import UTCDateTime, sqlite_time

RECEIVED, PROCESSED, DELIVERED = "received", "processed", "delivered"
SHARDS = 16
_SHARD = os.getpid() % SHARDS  # this process's row of each minute (see the schema's note)
_ADD = ("INSERT INTO traffic_minutes (minute, series, name, shard, count) VALUES ({}, {}, {}, {}, {}) "
        "ON CONFLICT (minute, series, name, shard) DO UPDATE SET count = traffic_minutes.count + excluded.count")
SQLITE_ADD, PG_ADD = _ADD.format(*"?????"), _ADD.format(*["%s"] * 5)  # for writers on the DB-API
_NAMED_ADD = text(_ADD.format(":minute", ":series", ":name", ":shard", ":count")).bindparams(
    bindparam("minute", type_=UTCDateTime()))


def minute_of(at: datetime) -> datetime:
    return at.astimezone(timezone.utc).replace(second=0, microsecond=0)


def rows_to_add(series: str, counts: Mapping[str, int], at: datetime, sqlite: bool) -> list[tuple[Any, ...]]:
    """Parameters for :data:`SQLITE_ADD` / :data:`PG_ADD` (for writers on the DB-API, like the inbox's)."""
    minute: Any = minute_of(at)
    if sqlite:
        minute = sqlite_time(minute)
    return [(minute, series, name[:100], _SHARD, n) for name, n in counts.items() if n]


def add(conn: Connection, series: str, counts: Mapping[str, int], at: datetime) -> None:
    """Add ``counts`` (name -> how many) to ``series`` at ``at``'s minute."""
    rows = rows_to_add(series, counts, at, sqlite=False)
    if rows:
        keys = ("minute", "series", "name", "shard", "count")
        conn.execute(_NAMED_ADD, [dict(zip(keys, r, strict=True)) for r in rows])


def since(conn: Connection, start: datetime) -> list[Any]:
    """``(minute, series, name, count)`` from ``start``'s minute on, shards summed, in minute order."""
    t = traffic_minutes.c
    return list(conn.execute(
        select(t.minute, t.series, t.name, func.sum(t.count).label("count"))
        .where(t.minute >= minute_of(start)).group_by(t.minute, t.series, t.name).order_by(t.minute)))


def purge_before(conn: Connection, cutoff: datetime) -> int:
    return conn.execute(delete(traffic_minutes).where(traffic_minutes.c.minute < cutoff)).rowcount or 0

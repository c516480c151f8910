"""A token bucket shared by every process through one database row per destination.

Each take is a short transaction under the row's lock, so the configured rate
holds in total however many workers run, on however many machines.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import Connection, select, update

from orderhub.adapters.store.db import Database, upsert
from orderhub.adapters.store.schema import rate_buckets
from orderhub.clock import utcnow


class SharedRateLimiter:
    def __init__(self, db: Database) -> None:
        self.db = db

    def _row(self, conn: Connection, name: str, burst: float) -> Any:
        stmt = select(rate_buckets).where(rate_buckets.c.name == name)
        if self.db.is_postgres:
            stmt = stmt.with_for_update()
        row = conn.execute(stmt).first()
        if row is None:
            upsert(conn, rate_buckets, dict(name=name, tokens=burst, updated_at=utcnow()), keys=("name",))
            row = conn.execute(stmt).first()
        return row

    def take(self, name: str, want: int, *, rate: float, burst: float) -> tuple[int, float]:
        """Take up to ``want`` tokens. Returns (granted, seconds to wait before asking again)."""
        with self.db.write() as conn:
            return self.take_in(conn, name, want, rate=rate, burst=burst)

    def take_in(self, conn: Connection, name: str, want: int, *, rate: float, burst: float) -> tuple[int, float]:
        """:meth:`take` in the caller's write transaction (on PostgreSQL the bucket stays locked until it ends)."""
        if rate <= 0:
            raise ValueError(f"rate for {name!r} must be positive")
        row = self._row(conn, name, burst)
        now = utcnow()
        if row.paused_until is not None and row.paused_until > now:
            return 0, (row.paused_until - now).total_seconds()
        elapsed = max(0.0, (now - row.updated_at).total_seconds())
        tokens = min(burst, row.tokens + elapsed * rate)
        granted = max(0, min(want, int(tokens)))
        tokens -= granted
        conn.execute(update(rate_buckets).where(rate_buckets.c.name == name).values(
            tokens=tokens, updated_at=now))
        wait = 0.0 if granted else (1.0 - tokens) / rate
        return granted, wait

    def give_back(self, name: str, count: int, *, burst: float) -> None:
        """Return tokens taken but not used (fewer records were due than granted)."""
        if count > 0:
            with self.db.write() as conn:
                self.give_back_in(conn, name, count, burst=burst)

    def give_back_in(self, conn: Connection, name: str, count: int, *, burst: float) -> None:
        """:meth:`give_back` in the caller's write transaction."""
        if count > 0:
            row = self._row(conn, name, burst)
            conn.execute(update(rate_buckets).where(rate_buckets.c.name == name).values(
                tokens=min(burst, row.tokens + count)))

    def pause(self, name: str, seconds: float, *, burst: float) -> None:
        """Honour a destination's Retry-After: nobody sends to it before then."""
        with self.db.write() as conn:
            row = self._row(conn, name, burst)
            until = utcnow() + timedelta(seconds=seconds)
            if row.paused_until is None or row.paused_until < until:
                conn.execute(update(rate_buckets).where(rate_buckets.c.name == name).values(
                    paused_until=until, tokens=0.0, updated_at=until))

    def reset(self, name: str) -> None:
        with self.db.write() as conn:
            conn.execute(rate_buckets.delete().where(rate_buckets.c.name == name))



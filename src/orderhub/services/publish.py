"""Fan-out: committed outbox events become one delivery per matching subscription.

Only committed rows are visible to this step, so an event written in a transaction
that rolled back never reaches a subscriber. One transaction takes a batch of rows
not yet fanned out (in id order; PostgreSQL workers skip each other's rows with
FOR UPDATE SKIP LOCKED, SQLite's write lock serialises them), inserts the
deliveries (ON CONFLICT DO NOTHING on (subscription, outbox row), so a repeat is
harmless) and marks the rows fanned out. A subscription receives only events
created after it was.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select, update

from orderhub.adapters.store import subscriptions as subscription_store
from orderhub.adapters.store.db import Database, upsert_many
from orderhub.adapters.store.schema import outbox, subscription_deliveries
from orderhub.clock import utcnow
from orderhub.services.notify_metrics import DELIVERIES_CREATED, EVENTS_FANNED_OUT

IDLE_WAIT_SECONDS = 0.25


def fan_out(conn: Connection, *, batch_size: int = 500) -> int:
    """Fan out up to ``batch_size`` committed outbox rows in this transaction; returns how many."""
    stmt = (select(outbox.c.id, outbox.c.event_type, outbox.c.ordering_key, outbox.c.created_at)
            .where(outbox.c.fanned_out_at.is_(None)).order_by(outbox.c.id).limit(batch_size))
    if conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    events = list(conn.execute(stmt))
    if not events:
        return 0
    subs = subscription_store.all_subscriptions(conn, enabled_only=True)
    now = utcnow()
    rows: list[dict[str, Any]] = []
    for e in events:
        for sub in subs:
            if sub.created_at <= e.created_at and sub.matches(e.event_type):
                rows.append({"subscription_id": sub.id, "outbox_id": e.id, "ordering_key": e.ordering_key,
                             "status": "pending", "attempts": 0, "available_at": now, "history": "[]",
                             "created_at": now})
    upsert_many(conn, subscription_deliveries, rows, keys=("subscription_id", "outbox_id"), update=())
    conn.execute(update(outbox).where(outbox.c.id.in_([e.id for e in events])).values(fanned_out_at=now))
    EVENTS_FANNED_OUT.inc(len(events))
    DELIVERIES_CREATED.inc(len(rows))
    return len(events)


class Publisher:
    """The worker step around :func:`fan_out`."""

    def __init__(self, db: Database, *, batch_size: int = 500) -> None:
        self.db = db
        self.batch_size = batch_size

    def run_once(self) -> tuple[int, float]:
        """One batch. Returns (events fanned out, seconds to wait before the next call)."""
        with self.db.read() as conn:  # cheap, and takes no write lock while idle
            waiting = conn.execute(select(outbox.c.id).where(outbox.c.fanned_out_at.is_(None)).limit(1)).first()
        if waiting is None:
            return 0, IDLE_WAIT_SECONDS
        with self.db.write() as conn:
            n = fan_out(conn, batch_size=self.batch_size)
        return n, 0.0 if n else IDLE_WAIT_SECONDS

"""The inbox: every inbound message is committed here before it is acknowledged.

Writes go through a group-commit writer: concurrent webhooks wait on one shared
transaction, so one fsync acknowledges many of them. Claims hand out batches
inside the worker's transaction, so a worker that dies loses nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any, NamedTuple

import structlog
from sqlalchemy import Connection, bindparam, func, select, update

from orderhub.adapters.store import traffic
from orderhub.adapters.store.db import Database
from orderhub.adapters.store.schema import inbox
from orderhub.adapters.store.types import sqlite_time
from orderhub.clock import utcnow

log = structlog.get_logger(__name__)


class InboxEntry(NamedTuple):  # a tuple: made once per webhook on the door's path, where a dataclass costs more
    shop_id: int
    source: str
    topic: str
    identity: str | None  # None: the worker derives it (services/identify.py)
    payload: str | bytes  # bytes: UTF-8 the door has checked, stored as they came on SQLite
    status: str = "pending"  # or "unsupported" for topics orderhub does not handle
    webhook_id: str | None = None
    event_id: str | None = None
    api_version: str | None = None
    triggered_at: datetime | None = None


_COLUMNS = ("shop_id", "source", "topic", "identity", "webhook_id", "event_id", "api_version",
            "triggered_at", "received_at", "payload", "status", "attempts", "available_at")
_SQLITE_INSERT = (f"INSERT INTO inbox ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' for _ in _COLUMNS)}) "
                  "ON CONFLICT DO NOTHING")
_PG_INSERT = (f"INSERT INTO inbox ({', '.join(_COLUMNS)}) VALUES ({', '.join('%s' for _ in _COLUMNS)}) "
              "ON CONFLICT DO NOTHING")


def insert_entries(db: Database, entries: Sequence[InboxEntry]) -> list[bool]:
    """Insert in one transaction; True for each entry stored, False for a duplicate.

    Uses the DB-API directly: this is the hot path of every webhook.
    """
    now = utcnow()
    raw = db.engine.raw_connection()
    try:
        cur = raw.cursor()
        sqlite = db.dialect == "sqlite"
        if sqlite:
            cur.execute("BEGIN IMMEDIATE")
            sql = _SQLITE_INSERT
            stamp: Any = sqlite_time(now)
        else:
            sql = _PG_INSERT
            stamp = now
        rows = [(e.shop_id, e.source, e.topic, e.identity, e.webhook_id, e.event_id, e.api_version,
                 sqlite_time(e.triggered_at) if sqlite and e.triggered_at is not None else e.triggered_at,
                 stamp, e.payload if sqlite or isinstance(e.payload, str) else e.payload.decode(), e.status, 0,
                 stamp) for e in entries]
        try:
            # One call for the batch; only a batch with a duplicate in it (its count of new rows falls short)
            # is done again row by row, to say which were new.
            cur.executemany(sql, rows)
            if cur.rowcount == len(rows):
                stored = [True] * len(rows)
            else:
                if sqlite:
                    cur.execute("ROLLBACK")
                    cur.execute("BEGIN IMMEDIATE")
                else:
                    raw.rollback()
                stored = []
                for row in rows:
                    cur.execute(sql, row)
                    stored.append(cur.rowcount == 1)
            received: dict[str, int] = {}
            for e, new in zip(entries, stored, strict=True):
                if new:
                    received[e.topic] = received.get(e.topic, 0) + 1
            # the dashboard's per-minute counts: one statement per topic per batch, in its transaction
            if received:
                cur.executemany(traffic.SQLITE_ADD if sqlite else traffic.PG_ADD,
                                traffic.rows_to_add(traffic.RECEIVED, received, now, sqlite))
            if sqlite:
                cur.execute("COMMIT")
            else:
                raw.commit()
        except BaseException:
            if sqlite:
                cur.execute("ROLLBACK")
            else:
                raw.rollback()
            raise
        finally:
            cur.close()
        return stored
    finally:
        raw.close()


class InboxWriter:
    """Group commit for the webhook receivers.

    Requests wait in the event loop while one batch is being committed by the
    writer thread; when it is done, everything that arrived meanwhile goes in the
    next batch. Under load one fsync acknowledges dozens of webhooks, and the
    event loop and the writer hand over once per batch, not once per request.
    One writer serves one event loop (the server's).
    """

    def __init__(self, db: Database, batch_max: int = 256) -> None:
        self.db = db
        self.batch_max = batch_max
        self._executor: ThreadPoolExecutor | None = None
        self._pending: list[tuple[InboxEntry, asyncio.Future[bool]]] = []
        self._in_flight = False

    def start(self) -> None:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="inbox-writer")

    def stop(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None

    async def put(self, entry: InboxEntry) -> bool:
        """Resolves once the entry is committed: True if new, False if already stored."""
        self.start()
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[bool] = loop.create_future()
        self._pending.append((entry, fut))
        if not self._in_flight:
            self._in_flight = True
            loop.call_soon(self._flush, loop)  # after the requests already readable have joined
        return await fut

    def _flush(self, loop: asyncio.AbstractEventLoop) -> None:
        batch, self._pending = self._pending[:self.batch_max], self._pending[self.batch_max:]
        assert self._executor is not None
        task = loop.run_in_executor(self._executor, insert_entries, self.db, [entry for entry, _ in batch])
        task.add_done_callback(lambda done: self._committed(loop, batch, done))

    def _committed(self, loop: asyncio.AbstractEventLoop, batch: list[tuple[InboxEntry, asyncio.Future[bool]]],
                   done: asyncio.Future[list[bool]]) -> None:
        exc = done.exception()
        if exc is not None:  # database down: every waiting request answers 503
            log.error("inbox_write_failed", error=str(exc), batch=len(batch))
        results: list[Any] = [exc] * len(batch) if exc is not None else done.result()
        for (_, fut), result in zip(batch, results):
            _resolve(fut, result)
        if self._pending:
            self._flush(loop)
        else:
            self._in_flight = False


def _resolve(fut: asyncio.Future[bool], result: Any) -> None:
    if fut.done():
        return
    if isinstance(result, BaseException):
        fut.set_exception(result)
    else:
        fut.set_result(result)


def claim(conn: Connection, *, limit: int) -> list[Any]:
    """Take up to ``limit`` due records for the current transaction.

    On PostgreSQL the rows stay locked (``FOR UPDATE SKIP LOCKED``) until the
    transaction that processes them commits, so concurrent workers take disjoint
    batches and a worker that dies simply releases its rows. On SQLite the write
    transaction (BEGIN IMMEDIATE) already excludes other writers.
    """
    if limit <= 0:
        return []
    stmt = _CLAIM_PG if conn.dialect.name == "postgresql" else _CLAIM
    return list(conn.execute(stmt, {"now": utcnow(), "limit": limit}))


# Built once: each batch runs them (building a statement costs more than running it).
_CLAIM = (select(inbox).where(inbox.c.status == "pending", inbox.c.available_at <= bindparam("now"))
          .order_by(inbox.c.id).limit(bindparam("limit")))
_CLAIM_PG = _CLAIM.with_for_update(skip_locked=True)
_FINISH_MANY = update(inbox).where(inbox.c.id.in_(bindparam("ids", expanding=True))).values(
    status=bindparam("status"), outcome=bindparam("outcome"), last_error=None, processed_at=bindparam("at"),
    attempts=inbox.c.attempts + 1)


def claim_ids(conn: Connection, ids: Sequence[int]) -> list[Any]:
    """Take these records for the current transaction, those still pending and not held by another worker
    (a door that just stored them applies them at once; whatever it cannot take, a worker takes later)."""
    if not ids:
        return []
    stmt = select(inbox).where(inbox.c.id.in_(sorted(set(ids))), inbox.c.status == "pending").order_by(inbox.c.id)
    if conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    return list(conn.execute(stmt))


def claim_unread(conn: Connection, shop_id: int, *, limit: int) -> list[Any]:
    """Take up to ``limit`` of this shop's pending records that have no identity yet (webhooks the door stored
    unread), as :func:`claim` takes records: locked on PostgreSQL, skipped when another worker holds them."""
    stmt = (select(inbox).where(inbox.c.status == "pending", inbox.c.shop_id == shop_id, inbox.c.identity.is_(None))
            .order_by(inbox.c.id).limit(limit))
    if conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    return list(conn.execute(stmt))


def has_due(conn: Connection) -> bool:
    return conn.execute(select(inbox.c.id).where(
        inbox.c.status == "pending", inbox.c.available_at <= utcnow()).limit(1)).first() is not None


def finish(conn: Connection, record_id: int, *, status: str, outcome: str | None = None,
           error: str | None = None) -> None:
    conn.execute(
        update(inbox).where(inbox.c.id == record_id).values(
            status=status, outcome=outcome, last_error=error, processed_at=utcnow(),
            attempts=inbox.c.attempts + 1)
    )


def finish_many(conn: Connection, record_ids: Sequence[int], *, status: str, outcome: str) -> None:
    if record_ids:
        conn.execute(_FINISH_MANY, {"ids": list(record_ids), "status": status, "outcome": outcome, "at": utcnow()})


def retry_later(conn: Connection, record_id: int, *, delay_seconds: float, error: str) -> None:
    conn.execute(
        update(inbox).where(inbox.c.id == record_id).values(
            status="pending", available_at=utcnow() + timedelta(seconds=delay_seconds),
            last_error=error, attempts=inbox.c.attempts + 1)
    )


def depth(conn: Connection) -> tuple[int, datetime | None]:
    """How many records wait, and when the oldest of them arrived."""
    row = conn.execute(
        select(func.count(), func.min(inbox.c.received_at)).where(inbox.c.status.in_(("pending", "processing")))
    ).one()
    return int(row[0]), row[1]

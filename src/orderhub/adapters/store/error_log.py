"""The error log: what could not be processed, kept whole, for a person to act on."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection, Select, func, insert, or_, select, update

from orderhub.adapters.store.schema import error_log, shops
from orderhub.clock import utcnow


@dataclass(frozen=True)
class Failure:
    record_type: str  # inbox | delivery | subscription (an outbound webhook delivery)
    record_id: int
    shop_id: int | None
    topic: str
    source: str
    kind: str  # validation | destination_rejected | retries_exhausted | processing_error
    error: str
    payload: str
    field: str | None = None
    attempts: tuple[dict[str, Any], ...] = ()
    job_run_id: int | None = None  # the job run that found it (a reopened entry takes the latest)


def record(conn: Connection, failure: Failure) -> int:
    """Open (or reopen, after a retry that failed again) the record's error entry."""
    by_run = {} if failure.job_run_id is None else {"job_run_id": failure.job_run_id}
    now = utcnow()
    attempts = list(failure.attempts) or [{"at": now.isoformat(), "kind": failure.kind, "error": failure.error}]
    existing = conn.execute(select(error_log.c.id, error_log.c.attempts).where(
        error_log.c.record_type == failure.record_type, error_log.c.record_id == failure.record_id)).first()
    if existing is not None:
        history = orjson.loads(existing.attempts) + attempts
        conn.execute(update(error_log).where(error_log.c.id == existing.id).values(
            status="open", kind=failure.kind, error=failure.error, field=failure.field,
            attempts=orjson.dumps(history).decode(), updated_at=now, resolved_at=None, **by_run))
        return int(existing.id)
    return int(conn.execute(insert(error_log).values(
        record_type=failure.record_type, record_id=failure.record_id, shop_id=failure.shop_id,
        topic=failure.topic, source=failure.source, kind=failure.kind, status="open", error=failure.error,
        field=failure.field, payload=failure.payload, attempts=orjson.dumps(attempts).decode(),
        created_at=now, updated_at=now, **by_run).returning(error_log.c.id)).scalar_one())


def resolve(conn: Connection, record_type: str, record_id: int) -> None:
    """A retried record went through: its entry is kept, marked resolved."""
    conn.execute(update(error_log).where(
        error_log.c.record_type == record_type, error_log.c.record_id == record_id,
        error_log.c.status == "retrying").values(status="resolved", resolved_at=utcnow(), updated_at=utcnow()))


def resolve_open(conn: Connection, record_type: str, record_ids: Iterable[int]) -> None:
    """These records went through on their own (no retry was asked): their open entries are resolved."""
    ids = sorted(set(record_ids))
    now = utcnow()
    for start in range(0, len(ids), 500):
        conn.execute(update(error_log).where(
            error_log.c.record_type == record_type, error_log.c.record_id.in_(ids[start:start + 500]),
            error_log.c.status.in_(("open", "retrying"))).values(status="resolved", resolved_at=now,
                                                                  updated_at=now))


@dataclass(frozen=True)
class ErrorFilter:
    shop: str | None = None
    topic: str | None = None
    kind: str | None = None
    status: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    search: str | None = None
    ids: tuple[int, ...] = ()

    def apply(self, stmt: Select[Any]) -> Select[Any]:
        if self.shop:
            stmt = stmt.where(error_log.c.shop_id == select(shops.c.id).where(
                shops.c.domain == self.shop.lower()).scalar_subquery())
        if self.topic:
            stmt = stmt.where(error_log.c.topic == self.topic)
        if self.kind:
            stmt = stmt.where(error_log.c.kind == self.kind)
        if self.status:
            stmt = stmt.where(error_log.c.status == self.status)
        if self.since:
            stmt = stmt.where(error_log.c.created_at >= self.since)
        if self.until:
            stmt = stmt.where(error_log.c.created_at < self.until)
        if self.search:
            like = f"%{self.search}%"
            stmt = stmt.where(or_(error_log.c.error.like(like), error_log.c.payload.like(like)))
        if self.ids:
            stmt = stmt.where(error_log.c.id.in_(self.ids))
        return stmt


def _base() -> Select[Any]:
    return select(error_log, shops.c.domain.label("shop")).outerjoin(shops, shops.c.id == error_log.c.shop_id)


def list_entries(conn: Connection, flt: ErrorFilter, *, limit: int = 100, offset: int = 0) -> list[Any]:
    stmt = flt.apply(_base()).order_by(error_log.c.id.desc()).limit(limit).offset(offset)
    return list(conn.execute(stmt))


def count(conn: Connection, flt: ErrorFilter) -> int:
    return int(conn.execute(flt.apply(select(func.count()).select_from(error_log))).scalar_one())


def get(conn: Connection, entry_id: int) -> Any:
    return conn.execute(_base().where(error_log.c.id == entry_id)).first()


def mark_retrying(conn: Connection, entry_id: int, payload: str | None) -> None:
    values: dict[str, Any] = {"status": "retrying", "updated_at": utcnow()}
    if payload is not None:
        values["payload"] = payload
    conn.execute(update(error_log).where(error_log.c.id == entry_id).values(**values))


def dismiss(conn: Connection, entry_ids: Sequence[int], *, by: str, reason: str) -> int:
    return int(conn.execute(update(error_log).where(
        error_log.c.id.in_(list(entry_ids)), error_log.c.status.in_(("open", "retrying"))).values(
        status="dismissed", dismissed_by=by, dismissed_reason=reason, updated_at=utcnow())).rowcount)


def size_by_kind(conn: Connection) -> dict[tuple[str, str], int]:
    rows = conn.execute(select(error_log.c.kind, error_log.c.status, func.count()).group_by(
        error_log.c.kind, error_log.c.status))
    return {(r[0], r[1]): int(r[2]) for r in rows}

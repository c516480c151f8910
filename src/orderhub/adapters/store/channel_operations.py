"""The queue of operations owed to channels (schema/channel_operations.py): written once per shipment or
cancellation, in the transaction that made it; sent until the channel takes it, or parked for a person."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import orjson
from sqlalchemy import Connection, select, update

from orderhub.adapters.store.db import upsert
from orderhub.adapters.store.schema import channel_operations as ops
from orderhub.adapters.store.schema import shops
from orderhub.clock import utcnow

RECORD_TYPE = "channel_op"  # in the error log (its record_type holds 16 characters)


@dataclass(frozen=True)
class Operation:
    id: int
    account_id: int
    order_id: int | None  # None: an operation about a person (consent, erase), named by customer_id
    kind: str
    reference: str
    payload: dict[str, Any]
    attempts: int


def enqueue(conn: Connection, account_id: int, order_id: int | None, kind: str, reference: str,
            payload: dict[str, Any], *, customer_id: int | None = None) -> None:
    """Owe the channel this operation; the same (account, kind, reference) again is the same operation."""
    now = utcnow()
    upsert(conn, ops, {"account_id": account_id, "order_id": order_id, "customer_id": customer_id, "kind": kind,
                       "reference": reference[:100],
                       "payload": orjson.dumps(payload).decode(), "status": "pending", "attempts": 0,
                       "available_at": now, "created_at": now},
           keys=("account_id", "kind", "reference"))


def due_accounts(conn: Connection) -> list[int]:
    """The active accounts with an operation that may be sent now."""
    return [int(a) for a in conn.execute(
        select(ops.c.account_id).distinct().join(shops, shops.c.id == ops.c.account_id)
        .where(ops.c.status == "pending", ops.c.available_at <= utcnow(), shops.c.status == "active")
        .order_by(ops.c.account_id)).scalars()]


def claim(conn: Connection, *, limit: int, lease_seconds: float = 120.0,
          account_ids: Iterable[int] | None = None) -> list[Operation]:
    """Take pending operations that may be tried now, of active accounts, oldest first, for ``lease_seconds``
    (in a write transaction: two senders never take the same one; one that dies gives it back by the lease)."""
    stmt = (select(ops).join(shops, shops.c.id == ops.c.account_id)
            .where(ops.c.status == "pending", ops.c.available_at <= utcnow(), shops.c.status == "active")
            .order_by(ops.c.id).limit(limit))
    if account_ids is not None:
        stmt = stmt.where(ops.c.account_id.in_(sorted(set(account_ids))))
    if conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update(of=ops, skip_locked=True)
    rows = conn.execute(stmt).all()
    if rows:
        conn.execute(update(ops).where(ops.c.id.in_([r.id for r in rows]))
                     .values(available_at=utcnow() + timedelta(seconds=lease_seconds)))
    return [Operation(r.id, r.account_id, r.order_id, r.kind, r.reference, orjson.loads(r.payload), r.attempts)
            for r in rows]


def done(conn: Connection, op_ids: Sequence[int]) -> None:
    """The channel took these operations."""
    conn.execute(update(ops).where(ops.c.id.in_(op_ids)).values(status="done", done_at=utcnow(), last_error=None))


def later(conn: Connection, op_id: int, error: str, delay_seconds: float) -> None:
    conn.execute(update(ops).where(ops.c.id == op_id).values(
        attempts=ops.c.attempts + 1, last_error=error[:2000], available_at=utcnow() + timedelta(seconds=delay_seconds)))


def parked(conn: Connection, op_id: int, error: str) -> None:
    """The channel refused it for good: it waits in the error log (see services/channel_ops.py)."""
    conn.execute(update(ops).where(ops.c.id == op_id).values(status="failed", attempts=ops.c.attempts + 1,
                                                            last_error=error[:2000]))


def requeue(conn: Connection, op_id: int) -> bool:
    """A person retries it from the error log. False when it is not parked."""
    return bool(conn.execute(update(ops).where(ops.c.id == op_id, ops.c.status == "failed").values(
        status="pending", available_at=utcnow(), attempts=0)).rowcount)


def of_order(conn: Connection, order_id: int) -> list[dict[str, Any]]:
    return [dict(r._mapping) for r in conn.execute(
        select(ops.c.id, ops.c.kind, ops.c.reference, ops.c.status, ops.c.attempts, ops.c.last_error,
               ops.c.created_at, ops.c.done_at).where(ops.c.order_id == order_id).order_by(ops.c.id))]

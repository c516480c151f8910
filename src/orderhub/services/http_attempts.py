"""One outbound HTTP attempt, as every sender in orderhub handles it.

Shared by the destination :class:`~orderhub.services.deliver.Deliverer` and the
subscription :class:`~orderhub.services.notify.Notifier`: the lease-based claim of
queue rows (the HTTP call happens outside any transaction), sending and timing one
attempt, classifying its answer, Retry-After parsing and the JSON attempt history.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from enum import StrEnum
from typing import Any

import httpx
import orjson
from sqlalchemy import Connection, Table, select, update
from sqlalchemy.sql.elements import ColumnElement

from orderhub.adapters.outbound import BlockedAddress, OutboundPolicy
from orderhub.clock import utcnow

# 4xx answers that mean "not now" rather than "never": retried like a 5xx.
RETRYABLE_4XX = frozenset({408, 409, 425})


class Outcome(StrEnum):
    OK = "ok"  # 2xx: done
    THROTTLED = "throttled"  # 429: pause the receiver, try again after Retry-After
    REJECTED = "rejected"  # any other 4xx: resending the same request will not help
    ERROR = "error"  # 408, 409, 425, 3xx, 5xx, timeout, connection error: back off and retry


def classify(status: int | None) -> Outcome:
    if status is None:
        return Outcome.ERROR
    if 200 <= status < 300:
        return Outcome.OK
    if status == 429:
        return Outcome.THROTTLED
    if 400 <= status < 500 and status not in RETRYABLE_4XX:
        return Outcome.REJECTED
    return Outcome.ERROR


@dataclass(frozen=True)
class Attempt:
    at: datetime
    status: int | None  # None: no answer (timeout, connection error)
    error: str | None  # None on 2xx
    duration_ms: int
    retry_after: str | None = None

    @property
    def outcome(self) -> Outcome:
        return classify(self.status)

    def record(self) -> dict[str, Any]:
        """The attempt as kept in a row's history and in the error log."""
        return {"at": self.at.isoformat(), "status": self.status, "error": self.error,
                "duration_ms": self.duration_ms}


def post(client: httpx.Client, url: str, body: bytes, headers: Mapping[str, str], timeout: float,
         policy: OutboundPolicy | None = None) -> Attempt:
    """POST once; never raises for HTTP or network failures, they are in the Attempt. With ``policy``, an
    address it refuses is not contacted at all (an attempt that failed, saying why)."""
    at = utcnow()
    if policy is not None:
        try:
            policy.check(url)
        except BlockedAddress as exc:
            return Attempt(at=at, status=None, error=f"not sent: {exc}"[:500], duration_ms=0)
    started = time.perf_counter()
    status: int | None = None
    retry_after: str | None = None
    try:
        response = client.post(url, content=body, headers=dict(headers), timeout=timeout)
        status = response.status_code
        retry_after = response.headers.get("retry-after")
        error = None if 200 <= status < 300 else f"HTTP {status}: {response.text[:500]}"
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}"[:500]
    return Attempt(at=at, status=status, error=error, duration_ms=round((time.perf_counter() - started) * 1000),
                   retry_after=retry_after)


def retry_after_seconds(value: str | None, default: float) -> float:
    """Retry-After is either seconds or an HTTP date."""
    if not value:
        return default
    value = value.strip()
    if value.replace(".", "", 1).isdigit():
        return float(value)
    try:
        return max(0.0, (parsedate_to_datetime(value) - utcnow()).total_seconds())
    except (TypeError, ValueError):
        return default


def with_attempt(history: str, *entries: dict[str, Any]) -> list[dict[str, Any]]:
    """A row's history (JSON text) with entries appended."""
    return [*orjson.loads(history), *entries]


def history_json(history: str, *entries: dict[str, Any]) -> str:
    return orjson.dumps(with_attempt(history, *entries)).decode()


Due = Callable[[datetime], ColumnElement[bool]]


def claim(conn: Connection, table: Table, due: Due, *, worker: str, limit: int, lease_seconds: float,
          order_by: Sequence[str] = ("id",)) -> list[Any]:
    """Lease up to ``limit`` due rows of a queue table to ``worker`` and count an attempt.

    The table has ``id, status, attempts, locked_by, locked_until``; claimed rows are
    ``sending`` until ``locked_until``, after which another worker may take them (at
    least once). PostgreSQL workers skip each other's rows (FOR UPDATE SKIP LOCKED);
    SQLite's write lock serialises claims. Rows come back in ``order_by`` order.
    """
    now = utcnow()
    ids = (select(table.c.id).where(due(now)).order_by(*(table.c[name] for name in order_by)).limit(limit))
    if conn.dialect.name == "postgresql":
        ids = ids.with_for_update(skip_locked=True, of=table)
    rows = list(conn.execute(
        update(table).where(table.c.id.in_(ids.scalar_subquery()))
        .values(status="sending", locked_by=worker, locked_until=now + timedelta(seconds=lease_seconds),
                attempts=table.c.attempts + 1)
        .returning(*table.c)))
    rows.sort(key=lambda row: tuple(getattr(row, name) for name in order_by))
    return rows


def release(conn: Connection, table: Table, ids: list[int]) -> None:
    """Hand claimed rows back untouched (their attempt not counted), e.g. when a 429 paused the receiver."""
    if ids:
        conn.execute(update(table).where(table.c.id.in_(ids), table.c.status == "sending").values(
            status="pending", locked_by=None, locked_until=None, attempts=table.c.attempts - 1))

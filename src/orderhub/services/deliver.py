"""Sends outbox deliveries to HTTP destinations at each destination's rate.

Deliveries are claimed under a lease (the HTTP call happens outside any
transaction), sent signed, and marked with the result. 429 pauses the whole
destination for Retry-After seconds across every worker; 5xx, timeouts and
connection errors back off exponentially with jitter; a 4xx or running out of
attempts moves the delivery to the error log.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta
from typing import Any

import httpx
import orjson
import structlog
from sqlalchemy import Connection, and_, or_, select, update

from orderhub.adapters.outbound import OutboundPolicy
from orderhub.adapters.store import destinations as dest_store
from orderhub.adapters.store import error_log, traffic
from orderhub.adapters.store.db import Database
from orderhub.adapters.store.ratelimit import SharedRateLimiter
from orderhub.adapters.store.schema import deliveries, inbox
from orderhub.clock import utcnow
from orderhub.metrics import DELIVERIES_SENT, DESTINATION_RETRIED, ERRORS_LOGGED
from orderhub.services import http_attempts
from orderhub.services.http_attempts import Outcome, retry_after_seconds
from orderhub.services.process import backoff

__all__ = ["Deliverer", "claim", "retry_after_seconds", "signature"]

log = structlog.get_logger(__name__)
SIGNATURE_HEADER = "X-Orderhub-Signature"


def signature(secret: str, body: bytes) -> str:
    """Hex HMAC-SHA256 of the body with the destination's secret, prefixed ``sha256=``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _due(destination_id: int, now: datetime) -> Any:
    """Pending and due, or claimed by a worker whose lease has run out."""
    return and_(deliveries.c.destination_id == destination_id,
                or_(and_(deliveries.c.status == "pending", deliveries.c.available_at <= now),
                    and_(deliveries.c.status == "sending", deliveries.c.locked_until < now)))


def claim(conn: Connection, destination_id: int, *, worker: str, limit: int, lease_seconds: float) -> list[Any]:
    return http_attempts.claim(conn, deliveries, lambda now: _due(destination_id, now), worker=worker,
                               limit=limit, lease_seconds=lease_seconds)


class Deliverer:
    def __init__(self, db: Database, *, worker: str, limiter: SharedRateLimiter | None = None,
                 batch_size: int = 50, client: httpx.Client | None = None,
                 policy: OutboundPolicy | None = None) -> None:
        self.db = db
        self.policy = policy or OutboundPolicy.from_env()  # where events may go (checked before every send)
        self.worker = worker
        self.limiter = limiter or SharedRateLimiter(db)
        self.batch_size = batch_size
        self.client = client or httpx.Client(http2=False)

    def run_once(self) -> tuple[int, float]:
        """One pass over every enabled HTTP destination. Returns (sent, seconds to wait)."""
        with self.db.read() as conn:
            dests = dest_store.http_destinations(conn)
        sent = 0
        waits = [1.0]
        for dest in dests:
            n, wait = self._run_destination(dest)
            sent += n
            waits.append(wait)
        return sent, 0.0 if sent else min(waits)

    def _run_destination(self, dest: dest_store.Destination) -> tuple[int, float]:
        with self.db.read() as conn:
            has_work = conn.execute(select(deliveries.c.id).where(_due(dest.id, utcnow())).limit(1)).first()
        if has_work is None:
            return 0, 0.5
        granted, wait = self.limiter.take(dest.bucket, self.batch_size, rate=dest.rate_per_second, burst=dest.burst)
        if granted == 0:
            return 0, min(wait, 1.0)
        with self.db.write() as conn:
            rows = claim(conn, dest.id, worker=self.worker, limit=granted,
                         lease_seconds=dest.timeout_seconds * 3 + 30)
        self.limiter.give_back(dest.bucket, granted - len(rows), burst=dest.burst)
        for i, row in enumerate(rows):
            if not self._send(dest, row):
                # Paused by 429: hand the rest back untouched for when the pause ends.
                self._release(rows[i + 1:])
                return i + 1, 0.0
        return len(rows), 0.0

    def _release(self, rows: list[Any]) -> None:
        if rows:
            with self.db.write() as conn:
                http_attempts.release(conn, deliveries, [r.id for r in rows])

    def _send(self, dest: dest_store.Destination, row: Any) -> bool:
        """Send one delivery; False when the destination asked everyone to pause."""
        body = row.payload.encode()
        headers = {
            "Content-Type": "application/json",
            "X-Orderhub-Event-Id": row.event_id,
            "X-Orderhub-Event-Type": row.topic,
            "X-Orderhub-Delivery-Attempt": str(row.attempts),
            SIGNATURE_HEADER: signature(dest.secret or "", body),
        }
        result = http_attempts.post(self.client, dest.url or "", body, headers, dest.timeout_seconds, self.policy)
        attempt = result.record()
        outcome = result.outcome
        if outcome is Outcome.OK:
            self._finish(row, attempt, status="done", destination=dest.name)
            DELIVERIES_SENT.labels(dest.name, "ok").inc()
            return True
        if outcome is Outcome.THROTTLED:
            pause = retry_after_seconds(result.retry_after, dest.backoff_base_seconds)
            self.limiter.pause(dest.bucket, pause, burst=dest.burst)
            self._later(dest, row, attempt, delay=pause, count_attempt=False)
            DELIVERIES_SENT.labels(dest.name, "throttled").inc()
            return False
        if outcome is Outcome.REJECTED:
            self._to_error_log(dest, row, attempt, "destination_rejected")
            DELIVERIES_SENT.labels(dest.name, "rejected").inc()
            return True
        DELIVERIES_SENT.labels(dest.name, "error").inc()
        if row.attempts >= dest.max_attempts:
            self._to_error_log(dest, row, attempt, "retries_exhausted")
        else:
            self._later(dest, row, attempt,
                        delay=backoff(row.attempts, dest.backoff_base_seconds, dest.backoff_max_seconds))
        return True

    def _history(self, row: Any, attempt: dict[str, Any]) -> str:
        return http_attempts.history_json(row.history, attempt)

    def _finish(self, row: Any, attempt: dict[str, Any], *, status: str, destination: str) -> None:
        now = utcnow()
        with self.db.write() as conn:
            conn.execute(update(deliveries).where(deliveries.c.id == row.id).values(
                status=status, last_status=attempt["status"], last_error=attempt["error"],
                history=self._history(row, attempt), delivered_at=now if status == "done" else None,
                locked_by=None, locked_until=None))
            if status == "done":
                traffic.add(conn, traffic.DELIVERED, {destination: 1}, now)
                if row.history != "[]":
                    error_log.resolve(conn, "delivery", row.id)

    def _later(self, dest: dest_store.Destination, row: Any, attempt: dict[str, Any], *, delay: float,
               count_attempt: bool = True) -> None:
        with self.db.write() as conn:
            conn.execute(update(deliveries).where(deliveries.c.id == row.id).values(
                status="pending", available_at=utcnow() + timedelta(seconds=delay), last_status=attempt["status"],
                last_error=attempt["error"], history=self._history(row, attempt), locked_by=None,
                locked_until=None, attempts=deliveries.c.attempts if count_attempt else deliveries.c.attempts - 1))
        DESTINATION_RETRIED.labels(dest.name).inc()

    def _to_error_log(self, dest: dest_store.Destination, row: Any, attempt: dict[str, Any], kind: str) -> None:
        history = http_attempts.with_attempt(row.history, attempt)
        with self.db.write() as conn:
            conn.execute(update(deliveries).where(deliveries.c.id == row.id).values(
                status="failed", last_status=attempt["status"], last_error=attempt["error"],
                history=orjson.dumps(history).decode(), locked_by=None, locked_until=None))
            shop_id = conn.execute(select(inbox.c.shop_id).where(inbox.c.id == row.inbox_id)).scalar()
            error_log.record(conn, error_log.Failure(
                record_type="delivery", record_id=row.id, shop_id=shop_id, topic=row.topic,
                source=f"destination:{dest.name}", kind=kind,
                error=f"delivery of {row.topic} event {row.event_id} to {dest.name}: {attempt['error']}",
                payload=row.payload, attempts=tuple(history)))
        ERRORS_LOGGED.labels(kind).inc()
        log.info("delivery_to_error_log", delivery_id=row.id, destination=dest.name, kind=kind)

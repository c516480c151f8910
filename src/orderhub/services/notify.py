"""Sends subscription deliveries to subscribers as Standard Webhooks, in order per ordering key.

Order: per subscription, only the oldest delivery of an ordering key (one order, one
SKU) that is not yet delivered or dismissed may be sent; the next one waits for it.
A failed delivery (in the error log) therefore holds the later events of its key
until a person retries or dismisses it. Different keys do not wait for each other.
A delivery also waits while an older outbox event of its key is not yet fanned out
(another fan-out worker may still hold it). Same-key events are assumed to be
written by transactions that serialise on the entity they change (the order row),
so their outbox ids follow their commit order.

At least once: a delivery is claimed under a lease (the HTTP call happens outside
any transaction); if the worker dies mid-send another takes it after the lease,
with the same ``webhook-id`` (``msg_<outbox id>``) so the receiver can deduplicate.

Answers: 2xx delivered. 429 pauses the subscription's shared rate bucket for
Retry-After (seconds or an HTTP date) and puts the delivery back *without* using up
an attempt (the subscriber is up and asked us to wait; every 429 is still in the
history). 408, 409, 425, other non-2xx answers, timeouts and connection errors back
off exponentially with jitter; after ``max_attempts`` the delivery fails into the
error log (``retries_exhausted``). Any other 4xx fails at once
(``destination_rejected``).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
import orjson
import structlog
from sqlalchemy import ColumnElement, and_, exists, or_, select, update

from orderhub import __version__
from orderhub.adapters import standard_webhooks
from orderhub.adapters.outbound import OutboundPolicy
from orderhub.adapters.store import error_log
from orderhub.adapters.store import subscriptions as subscription_store
from orderhub.adapters.store.db import Database
from orderhub.adapters.store.ratelimit import SharedRateLimiter
from orderhub.adapters.store.schema import outbox, subscription_deliveries
from orderhub.adapters.store.subscriptions import RECORD_TYPE, RETRIED, Subscription
from orderhub.clock import utcnow
from orderhub.metrics import ERRORS_LOGGED
from orderhub.services import http_attempts
from orderhub.services.http_attempts import Outcome
from orderhub.services.notify_metrics import SEND_SECONDS, WEBHOOKS_RETRIED, WEBHOOKS_SENT
from orderhub.services.process import backoff
from orderhub.services.publish import Publisher

if TYPE_CHECKING:
    from orderhub.bootstrap import Hub

log = structlog.get_logger(__name__)

d = subscription_deliveries
BLOCKING = ("pending", "sending", "failed")  # a delivery in one of these holds the later ones of its key
IDLE_WAIT_SECONDS = 0.25
USER_AGENT = f"orderhub/{__version__} (Standard Webhooks)"
Step = Callable[[], tuple[int, float]]


def message_id(outbox_id: int) -> str:
    """The ``webhook-id``: one per event, the same on every retry and for every subscriber."""
    return f"msg_{outbox_id}"


def body(event_type: str, created_at: datetime, payload: str) -> bytes:
    """``{"type", "timestamp", "data"}``; the payload is embedded as stored, byte for byte."""
    return (b'{"type":' + orjson.dumps(event_type) + b',"timestamp":' + orjson.dumps(created_at.isoformat())
            + b',"data":' + payload.encode() + b"}")


def due(now: datetime) -> ColumnElement[bool]:
    """Sendable now: pending and due (or leased by a worker whose lease ran out), the oldest
    undelivered delivery of its (subscription, ordering key), with no older event of the key
    still waiting for fan-out."""
    earlier = d.alias("earlier")
    older_undelivered = exists().where(
        earlier.c.subscription_id == d.c.subscription_id, earlier.c.ordering_key == d.c.ordering_key,
        earlier.c.outbox_id < d.c.outbox_id, earlier.c.status.in_(BLOCKING))
    older_unfanned = exists().where(
        outbox.c.fanned_out_at.is_(None), outbox.c.ordering_key == d.c.ordering_key, outbox.c.id < d.c.outbox_id)
    return and_(or_(and_(d.c.status == "pending", d.c.available_at <= now),
                    and_(d.c.status == "sending", d.c.locked_until < now)),
                ~older_undelivered, ~older_unfanned)


def _display_url(url: str) -> str:
    """The URL without credentials or query string, for error texts and logs."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    return f"{parts.scheme}://{host}{f':{parts.port}' if parts.port else ''}{parts.path}"


def _current_round(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The attempts since a person last retried the delivery (the error log already has the earlier ones)."""
    for i in range(len(history) - 1, -1, -1):
        if history[i].get("event") == RETRIED:
            return history[i + 1:]
    return history


class Notifier:
    """The worker step that sends due deliveries, each subscription at its own shared rate.

    Subscriptions are worked on concurrently (up to ``concurrency`` at once) so a slow
    subscriber does not hold up the others; a subscription's claimed deliveries (at most
    one per ordering key) are sent one after another.
    """

    def __init__(self, db: Database, *, worker: str, limiter: SharedRateLimiter | None = None,
                 batch_size: int = 10, concurrency: int = 8, backoff_base: float = 1.0,
                 backoff_max: float = 300.0, client: httpx.Client | None = None,
                 policy: OutboundPolicy | None = None) -> None:
        self.db = db
        self.policy = policy or OutboundPolicy.from_env()  # where events may go (checked before every send)
        self.worker = worker
        self.limiter = limiter or SharedRateLimiter(db)
        self.batch_size = batch_size
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.client = client or httpx.Client(http2=False, follow_redirects=False)
        self.pool = ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="notify")

    def close(self) -> None:
        self.pool.shutdown(wait=True)
        self.client.close()

    def run_once(self) -> tuple[int, float]:
        """One pass over the subscriptions with due deliveries. Returns (sent, seconds to wait)."""
        with self.db.read() as conn:
            ids = set(conn.execute(select(d.c.subscription_id).where(due(utcnow())).distinct()).scalars())
            subs = [s for s in subscription_store.all_subscriptions(conn, enabled_only=True) if s.id in ids]
        if not subs:
            return 0, IDLE_WAIT_SECONDS
        results = [self._run_subscription(subs[0])] if len(subs) == 1 else list(
            self.pool.map(self._run_subscription, subs))
        sent = sum(n for n, _ in results)
        return sent, 0.0 if sent else min(min(w for _, w in results), 1.0)

    def _run_subscription(self, sub: Subscription) -> tuple[int, float]:
        granted, wait = self.limiter.take(sub.bucket, self.batch_size, rate=sub.rate_per_second, burst=sub.burst)
        if granted == 0:
            return 0, wait
        with self.db.write() as conn:
            rows = http_attempts.claim(
                conn, d, lambda now: and_(d.c.subscription_id == sub.id, due(now)), worker=self.worker,
                limit=granted, lease_seconds=sub.timeout_seconds * granted + 30, order_by=("outbox_id", "id"))
            events = {e.id: e for e in conn.execute(select(outbox).where(
                outbox.c.id.in_([r.outbox_id for r in rows])))} if rows else {}
        self.limiter.give_back(sub.bucket, granted - len(rows), burst=sub.burst)
        for i, row in enumerate(rows):
            if not self._send(sub, row, events[row.outbox_id]):
                # Paused by 429: hand the rest back untouched for when the pause ends.
                with self.db.write() as conn:
                    http_attempts.release(conn, d, [r.id for r in rows[i + 1:]])
                return i + 1, 0.0
        return len(rows), IDLE_WAIT_SECONDS

    def _send(self, sub: Subscription, row: Any, event: Any) -> bool:
        """Send one delivery; False when the subscriber asked us to pause."""
        content = body(event.event_type, event.created_at, event.payload)
        headers = {"content-type": "application/json", "user-agent": USER_AGENT,
                   **standard_webhooks.headers(sub.secret, message_id(event.id), content)}
        result = http_attempts.post(self.client, sub.url, content, headers, sub.timeout_seconds, self.policy)
        SEND_SECONDS.observe(result.duration_ms / 1000)
        attempt = result.record()
        label = str(sub.id)
        WEBHOOKS_SENT.labels(label, result.outcome.value).inc()
        if result.outcome is Outcome.OK:
            self._update(row, attempt, status="delivered", delivered_at=utcnow())
            return True
        if result.outcome is Outcome.THROTTLED:
            pause = http_attempts.retry_after_seconds(result.retry_after, max(self.backoff_base, 1.0))
            self.limiter.pause(sub.bucket, pause, burst=sub.burst)
            self._update(row, attempt, status="pending", available_at=utcnow() + timedelta(seconds=pause),
                         attempts=d.c.attempts - 1)
            WEBHOOKS_RETRIED.labels(label).inc()
            return False
        if result.outcome is Outcome.REJECTED:
            self._fail(sub, row, event, attempt, "destination_rejected")
        elif row.attempts >= sub.max_attempts:
            self._fail(sub, row, event, attempt, "retries_exhausted")
        else:
            delay = backoff(row.attempts, self.backoff_base, self.backoff_max)
            self._update(row, attempt, status="pending", available_at=utcnow() + timedelta(seconds=delay))
            WEBHOOKS_RETRIED.labels(label).inc()
        return True

    def _update(self, row: Any, attempt: dict[str, Any], **values: Any) -> bool:
        """Record the attempt, if this worker still holds the delivery (its lease may have been
        taken over, or a person may have dismissed it meanwhile: then their word stands)."""
        with self.db.write() as conn:
            return self._update_in(conn, row, attempt, **values)

    def _update_in(self, conn: Any, row: Any, attempt: dict[str, Any], **values: Any) -> bool:
        n = conn.execute(update(d).where(d.c.id == row.id, d.c.status == "sending", d.c.locked_by == self.worker)
                         .values(last_status=attempt["status"], last_error=attempt["error"],
                                 history=http_attempts.history_json(row.history, attempt), locked_by=None,
                                 locked_until=None, **values)).rowcount
        if not n:
            log.info("subscription_delivery_lease_lost", delivery_id=row.id, worker=self.worker)
            return False
        if values.get("status") == "delivered" and row.history != "[]":
            error_log.resolve(conn, RECORD_TYPE, row.id)
        return True

    def _fail(self, sub: Subscription, row: Any, event: Any, attempt: dict[str, Any], kind: str) -> None:
        rejected = kind == "destination_rejected"
        what = (f"subscription {sub.id} ({_display_url(sub.url)}) {'rejected' if rejected else 'did not accept'} "
                f"{event.event_type} event {event.id} (webhook-id {message_id(event.id)})"
                + ("" if rejected else f" in {row.attempts} attempts") + f": {attempt['error']}")
        error = (f"{what}. Later events with ordering key {row.ordering_key} to this subscription are held until "
                 "this delivery is retried (`orderhub errors retry`, once the subscriber is fixed) or dismissed "
                 "(`orderhub errors dismiss`).")
        history = http_attempts.with_attempt(row.history, attempt)
        with self.db.write() as conn:
            if not self._update_in(conn, row, attempt, status="failed"):
                return
            error_log.record(conn, error_log.Failure(
                record_type=RECORD_TYPE, record_id=row.id, shop_id=None, topic=event.event_type,
                source=f"subscription:{sub.id}", kind=kind, error=error, payload=event.payload,
                attempts=tuple(_current_round(history))))
        ERRORS_LOGGED.labels(kind).inc()
        log.info("subscription_delivery_to_error_log", delivery_id=row.id, subscription_id=sub.id, kind=kind)


def worker_steps(hub: Hub) -> list[tuple[str, Step]]:
    """The fan-out and delivery loops, for ``orderhub worker`` / ``serve``."""
    s = hub.settings
    publisher = Publisher(hub.db)
    notifier = Notifier(hub.db, worker=f"{hub.node}:notify", limiter=hub.limiter,
                        backoff_base=s.backoff_base_seconds, backoff_max=s.backoff_max_seconds)
    return [("outbox-fan-out", publisher.run_once), ("subscription-notifier", notifier.run_once)]


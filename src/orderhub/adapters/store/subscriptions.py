"""Outbound webhook subscriptions (ERP, CRM, fulfilment systems) and their delivery log.

A subscription is a URL and comma-separated fnmatch patterns on event types
(``order.*``, ``inventory.changed``, ``*``). Its ``whsec_`` signing secret is
handed out once, at creation, and never shown again.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from fnmatch import fnmatchcase
from typing import Any
from urllib.parse import urlsplit

import orjson
from sqlalchemy import Connection, Select, insert, select, update

from orderhub.adapters.standard_webhooks import MASKED_SECRET, generate_secret
from orderhub.adapters.store import secrets as secret_box
from orderhub.adapters.store.schema import outbox, subscription_deliveries, subscriptions
from orderhub.clock import utcnow

RECORD_TYPE = "subscription"  # error-log entries of failed deliveries: record_id is the delivery id
RETRIED = "retried"  # the history entry a person's retry leaves between rounds of attempts
DEFAULTS: dict[str, Any] = dict(rate_per_second=10.0, max_attempts=8, timeout_seconds=10.0)
DELIVERY_STATUSES = ("pending", "sending", "delivered", "failed", "dismissed")
_PATTERN = re.compile(r"[A-Za-z0-9_.*?\-]+")


@dataclass(frozen=True)
class Subscription:
    id: int
    url: str
    patterns: tuple[str, ...]
    secret: str = field(repr=False)
    description: str | None
    rate_per_second: float
    max_attempts: int
    timeout_seconds: float
    enabled: bool
    created_at: datetime

    @property
    def bucket(self) -> str:
        """The shared rate-limiter bucket: its rate holds across every worker process."""
        return f"subscription:{self.id}"

    @property
    def burst(self) -> float:
        return max(1.0, self.rate_per_second)

    def matches(self, event_type: str) -> bool:
        return any(fnmatchcase(event_type, p) for p in self.patterns)

    def public(self) -> dict[str, Any]:
        """For lists and the API: the secret masked."""
        return {"id": self.id, "url": self.url, "events": ",".join(self.patterns), "secret": MASKED_SECRET,
                "description": self.description, "rate_per_second": self.rate_per_second,
                "max_attempts": self.max_attempts, "timeout_seconds": self.timeout_seconds,
                "enabled": self.enabled, "created_at": self.created_at.isoformat()}


def validate_url(url: str) -> str:
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{url!r} is not a subscriber URL: use http:// or https:// and a host")
    if len(url) > 1000:
        raise ValueError("the subscriber URL is longer than 1000 characters")
    return url


def parse_patterns(events: str | list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """``order.*,inventory.changed`` (or a list) as validated patterns, without repeats."""
    items = events.split(",") if isinstance(events, str) else list(events)
    patterns: list[str] = []
    for raw in items:
        p = raw.strip()
        if not p:
            continue
        if not _PATTERN.fullmatch(p):
            raise ValueError(f"event pattern {p!r}: use event types and * or ? (e.g. order.*, inventory.changed, *)")
        if p not in patterns:
            patterns.append(p)
    if not patterns:
        raise ValueError("give at least one event pattern, e.g. --events 'order.*,inventory.changed'")
    if len(",".join(patterns)) > 2000:
        raise ValueError("too many event patterns")
    return tuple(patterns)


def _subscription(conn: Connection, row: Any) -> Subscription:
    secret = secret_box.decrypt(conn, "subscriptions.secret", row.secret, f"subscription {row.id}")
    assert secret is not None
    return Subscription(id=row.id, url=row.url, patterns=tuple(p for p in row.events.split(",") if p),
                        secret=secret, description=row.description, rate_per_second=row.rate_per_second,
                        max_attempts=row.max_attempts, timeout_seconds=row.timeout_seconds,
                        enabled=bool(row.enabled), created_at=row.created_at)


def add(conn: Connection, url: str, events: str | list[str] | tuple[str, ...], *,
        rate_per_second: float | None = None, max_attempts: int | None = None,
        timeout_seconds: float | None = None, description: str | None = None) -> Subscription:
    """Create a subscription with a new secret. The returned object is the only time the secret is seen."""
    settings = DEFAULTS | {k: v for k, v in dict(rate_per_second=rate_per_second, max_attempts=max_attempts,
                                                   timeout_seconds=timeout_seconds).items() if v is not None}
    if settings["rate_per_second"] <= 0:
        raise ValueError("the rate must be more than 0 events per second")
    if settings["max_attempts"] < 1:
        raise ValueError("max attempts must be at least 1")
    if not 0 < settings["timeout_seconds"] <= 300:
        raise ValueError("the timeout must be between 0 and 300 seconds")
    if description is not None and len(description) > 255:
        raise ValueError("the description is longer than 255 characters")
    new_id = conn.execute(insert(subscriptions).values(
        url=validate_url(url), events=",".join(parse_patterns(events)),
        secret=secret_box.encrypt(conn, "subscriptions.secret", generate_secret()),
        description=description, enabled=True, created_at=utcnow(), **settings
    ).returning(subscriptions.c.id)).scalar_one()
    found = get(conn, int(new_id))
    assert found is not None
    return found


def get(conn: Connection, subscription_id: int) -> Subscription | None:
    row = conn.execute(select(subscriptions).where(subscriptions.c.id == subscription_id)).first()
    return None if row is None else _subscription(conn, row)


def all_subscriptions(conn: Connection, *, enabled_only: bool = False) -> list[Subscription]:
    stmt = select(subscriptions).order_by(subscriptions.c.id)
    if enabled_only:
        stmt = stmt.where(subscriptions.c.enabled.is_(True))
    return [_subscription(conn, r) for r in conn.execute(stmt)]


def set_enabled(conn: Connection, subscription_id: int, enabled: bool) -> Subscription:
    """Disabled: no new events are fanned out to it and its pending deliveries wait until enabled."""
    n = conn.execute(update(subscriptions).where(subscriptions.c.id == subscription_id).values(
        enabled=enabled)).rowcount
    if not n:
        raise LookupError(f"no subscription {subscription_id}; see `orderhub subscription list`")
    found = get(conn, subscription_id)
    assert found is not None
    return found


@dataclass(frozen=True)
class DeliveryFilter:
    subscription_id: int | None = None
    status: str | None = None
    order_id: int | None = None

    def apply(self, stmt: Select[Any]) -> Select[Any]:
        d = subscription_deliveries
        if self.subscription_id is not None:
            stmt = stmt.where(d.c.subscription_id == self.subscription_id)
        if self.status:
            if self.status not in DELIVERY_STATUSES:
                raise ValueError(f"unknown delivery status {self.status!r}; use one of {', '.join(DELIVERY_STATUSES)}")
            stmt = stmt.where(d.c.status == self.status)
        if self.order_id is not None:
            stmt = stmt.where(outbox.c.order_id == self.order_id)
        return stmt


def deliveries(conn: Connection, flt: DeliveryFilter, *, limit: int = 50, offset: int = 0) -> list[dict[str, Any]]:
    """The delivery log, newest first: the outbox event, status, attempts and the last answer."""
    d = subscription_deliveries
    stmt = (select(d.c.id, d.c.subscription_id, d.c.outbox_id, outbox.c.event_type, outbox.c.order_id,
                   d.c.ordering_key, d.c.status, d.c.attempts, d.c.last_status, d.c.last_error, d.c.available_at,
                   d.c.created_at, d.c.delivered_at)
            .join(outbox, outbox.c.id == d.c.outbox_id))
    stmt = flt.apply(stmt).order_by(d.c.id.desc()).limit(limit).offset(offset)
    return [{k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in r._asdict().items()}
            for r in conn.execute(stmt)]


def delivery_history(conn: Connection, delivery_id: int) -> str | None:
    """Every attempt of one delivery, as JSON text."""
    return conn.execute(select(subscription_deliveries.c.history).where(
        subscription_deliveries.c.id == delivery_id)).scalar()


def requeue(conn: Connection, delivery_id: int, *, error_log_id: int) -> bool:
    """A person's retry of a failed delivery: pending again, with a fresh set of attempts.

    The history keeps every earlier attempt, followed by a ``retried`` entry. False when
    the delivery is not waiting (already delivered, or in flight)."""
    row = conn.execute(select(subscription_deliveries.c.history).where(
        subscription_deliveries.c.id == delivery_id)).first()
    if row is None:
        return False
    now = utcnow()
    history = [*orjson.loads(row.history), {"at": now.isoformat(), "event": RETRIED, "error_log_id": error_log_id}]
    return bool(conn.execute(update(subscription_deliveries).where(
        subscription_deliveries.c.id == delivery_id, subscription_deliveries.c.status.in_(("failed", "pending"))
    ).values(status="pending", available_at=now, attempts=0, locked_by=None, locked_until=None,
             history=orjson.dumps(history).decode())).rowcount)


def dismiss_deliveries(conn: Connection, delivery_ids: Sequence[int]) -> int:
    """Dismissed deliveries are never sent, and no longer hold the later events of their key."""
    if not delivery_ids:
        return 0
    return int(conn.execute(update(subscription_deliveries).where(
        subscription_deliveries.c.id.in_(list(delivery_ids)),
        subscription_deliveries.c.status.in_(("pending", "sending", "failed"))
    ).values(status="dismissed", locked_by=None, locked_until=None)).rowcount)

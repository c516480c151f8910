"""Webhook delivery as Shopify does it: signed POSTs from background senders, with retries.

Each delivery is one webhook (one topic, one subscription) with its own
``X-Shopify-Webhook-Id``, kept for every retry of it. Anything but a 2xx
answer within the timeout is a failed attempt, retried after the delays of
the retry schedule. When one webhook has failed ``remove_after_failures``
consecutive attempts, its subscription is removed, as Shopify removes
subscriptions whose endpoint keeps failing.
Optional ``duplicate_rate`` sends a delivered webhook again under the same id
and ``jitter`` delays first attempts at random, so webhooks can arrive twice
and out of order, both of which Shopify allows itself.
"""

from __future__ import annotations

import base64
import hashlib
import heapq
import hmac
import itertools
import random
import threading
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

import httpx

from orderhub.simulators.shopify.store import Store

# Shopify retries a failed webhook 8 times over about 4 hours.
DEFAULT_RETRY_SCHEDULE = (10.0, 60.0, 300.0, 600.0, 1200.0, 2400.0, 3600.0, 6240.0)
DEFAULT_REMOVE_AFTER_FAILURES = 8
DEFAULT_TIMEOUT = 5.0


def sign(secret: str, body: bytes) -> str:
    """X-Shopify-Hmac-Sha256: base64 of HMAC-SHA256 of the raw body, keyed with the app's API secret."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def utc_stamp() -> str:
    """Now in UTC to the microsecond, as X-Shopify-Triggered-At and the delivery log show times."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class DeliveryConfig:
    """Settings the control API can change while the simulator runs."""

    retry_schedule: list[float] = field(default_factory=lambda: list(DEFAULT_RETRY_SCHEDULE))
    timeout: float = DEFAULT_TIMEOUT
    remove_after_failures: int = DEFAULT_REMOVE_AFTER_FAILURES
    duplicate_rate: float = 0.0
    jitter: float = 0.0


@dataclass
class Delivery:
    """One webhook to one subscription; ``attempt`` counts the tries made so far."""

    shop: str
    subscription_id: int
    callback_url: str
    topic: str
    body: bytes
    headers: dict[str, str]
    webhook_id: str
    event_id: str
    needs_subscription: bool = True  # False for app/uninstalled, sent as the subscriptions go
    attempt: int = 0
    duplicate: bool = False
    delay: float | None = None  # what the schedule waited before this attempt


class WebhookSender:
    """A due-time queue of deliveries and a few worker threads that send them."""

    def __init__(self, store: Store, config: DeliveryConfig, *, workers: int = 4, seed: int | None = None) -> None:
        self.store = store
        self.config = config
        self._rng = random.Random(seed)
        self._queue: list[tuple[float, int, Delivery]] = []
        self._order = itertools.count()
        self._in_flight = 0
        self._stopping = False
        self._cond = threading.Condition()
        self._client: httpx.Client | None = None  # one connection pool, shared by the workers
        self._threads = [threading.Thread(target=self._work, name=f"shopify-sim-webhooks-{i}", daemon=True)
                         for i in range(workers)]

    def start(self) -> None:
        self._client = httpx.Client(follow_redirects=False)
        for thread in self._threads:
            thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        for thread in self._threads:
            thread.join(timeout)
        if self._client is not None:
            self._client.close()

    def submit(self, deliveries: list[Delivery]) -> None:
        with self._cond:
            for delivery in deliveries:
                self._push(delivery, self._rng.uniform(0, self.config.jitter))

    def _push(self, delivery: Delivery, after: float) -> None:
        heapq.heappush(self._queue, (time.monotonic() + after, next(self._order), delivery))
        self._cond.notify_all()

    def pending(self) -> int:
        with self._cond:
            return len(self._queue) + self._in_flight

    def wait_idle(self, timeout: float) -> bool:
        """Until nothing is queued or being sent (True), or ``timeout`` seconds pass (False)."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._queue and not self._in_flight, timeout)

    def _next(self) -> Delivery | None:
        with self._cond:
            while not self._stopping:
                if self._queue:
                    wait = self._queue[0][0] - time.monotonic()
                    if wait <= 0:
                        self._in_flight += 1
                        return heapq.heappop(self._queue)[2]
                    self._cond.wait(wait)
                else:
                    self._cond.wait()
            return None

    def _work(self) -> None:
        assert self._client is not None
        while (delivery := self._next()) is not None:
            try:
                self._attempt(self._client, delivery)
            finally:
                with self._cond:
                    self._in_flight -= 1
                    self._cond.notify_all()

    def _attempt(self, client: httpx.Client, delivery: Delivery) -> None:
        if delivery.needs_subscription and not self.store.subscription_exists(delivery.shop,
                                                                              delivery.subscription_id):
            self._log(delivery, None, "subscription no longer exists", "dropped", utc_stamp())
            return
        delivery.attempt += 1
        started = utc_stamp()
        status: int | None = None
        try:
            response = client.post(delivery.callback_url, content=delivery.body, headers=delivery.headers,
                                   timeout=self.config.timeout)
            status = response.status_code
            error = None if 200 <= status < 300 else f"HTTP {status}"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        ok = error is None
        removed = self.store.note_attempt(delivery.shop, delivery.subscription_id, ok, delivery.attempt,
                                          self.config.remove_after_failures)
        schedule = self.config.retry_schedule
        with self._cond:
            if ok:
                outcome = "delivered"
                if not delivery.duplicate and self._rng.random() < self.config.duplicate_rate:
                    self._push(replace(delivery, attempt=0, duplicate=True, delay=None),
                               self._rng.uniform(0, self.config.jitter))
            elif removed:
                outcome = "subscription_removed"
            elif delivery.attempt <= len(schedule):
                outcome = "retry_scheduled"
                delay = schedule[delivery.attempt - 1]
                self._push(replace(delivery, delay=delay), delay)
            else:
                outcome = "failed"
        self._log(delivery, status, error, outcome, started)

    def _log(self, delivery: Delivery, status: int | None, error: str | None, outcome: str, started: str) -> None:
        self.store.log_delivery({
            "webhook_id": delivery.webhook_id, "event_id": delivery.event_id, "shop": delivery.shop,
            "topic": delivery.topic, "subscription_id": delivery.subscription_id,
            "callback_url": delivery.callback_url, "attempt": delivery.attempt, "duplicate": delivery.duplicate,
            "delay": delivery.delay, "status": status, "error": error, "outcome": outcome,
            "started_at": started, "finished_at": utc_stamp()})

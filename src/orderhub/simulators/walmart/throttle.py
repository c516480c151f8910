"""Walmart's per-seller, per-API rate limits: token buckets that refill gradually.

Walmart's throttling pages: exceeding a limit answers ``429 Too Many Requests``; every
answer carries ``X-Current-Token-Count`` (requests still allowed in the window) and
``X-Next-Replenishment-Time`` (when the next allowance arrives). "The limits are replenished
gradually ... if 20 calls are available every hour, 1 call will be available every 3
minutes", so a bucket of ``limit`` tokens gains one token every ``period / limit`` seconds.
Time is the simulated clock, so a test advances it to refill a bucket.

:data:`LIMITS` names its source per operation; see ``samples/README.md``.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

from orderhub.simulators.walmart.clock import Clock

HOUR = 3600.0
MINUTE = 60.0


@dataclass(frozen=True)
class Limit:
    limit: int
    period: float  # seconds
    source: str


_THROTTLING_PAGE = "developer.walmart.com/us-marketplace/docs/throttling (ASYNC API throttling limits)"
_UNCONFIRMED = ("simulator default: the per-API SYNC table of the throttling page was not in the material "
                "consulted; adjust with POST /_sim/throttle")

# Keyed by the operationId of Walmart's published OpenAPI.
LIMITS: dict[str, Limit] = {
    "updateBulkInventory": Limit(10, HOUR, _THROTTLING_PAGE + ": Inventory, POST Bulk Inventory Update, 10 per hour"),
    "updateBulkInventoryMultiNode": Limit(50, HOUR, _THROTTLING_PAGE + ": MP_INVENTORY, 50 calls per hour"),
    "getAllReleasedOrders": Limit(5000, MINUTE, _UNCONFIRMED),
    "getAllOrders": Limit(5000, MINUTE, _UNCONFIRMED),
    "getAnOrder": Limit(5000, MINUTE, _UNCONFIRMED),
    "acknowledgeOrders": Limit(5000, MINUTE, _UNCONFIRMED),
    "shippingUpdates": Limit(5000, MINUTE, _UNCONFIRMED),
    "cancelOrderLines": Limit(5000, MINUTE, _UNCONFIRMED),
    "refundOrderLines": Limit(5000, MINUTE, _UNCONFIRMED),
    "getInventory": Limit(5000, MINUTE, _UNCONFIRMED),
    "getAllItems": Limit(5000, MINUTE, _UNCONFIRMED),
    "updateInventoryForAnItem": Limit(5000, MINUTE, _UNCONFIRMED),
    "getFeedItemStatus": Limit(5000, MINUTE, _UNCONFIRMED),
    "getAllFeedStatuses": Limit(5000, MINUTE, _UNCONFIRMED),
}


@dataclass
class Verdict:
    allowed: bool
    remaining: int
    next_replenish_ms: int

    def headers(self) -> dict[str, str]:
        return {"X-Current-Token-Count": str(self.remaining), "X-Next-Replenishment-Time": str(self.next_replenish_ms)}


class _Bucket:
    def __init__(self, limit: Limit, now: float) -> None:
        self.limit = limit
        self.tokens = float(limit.limit)
        self.at = now

    @property
    def interval(self) -> float:
        return self.limit.period / max(1, self.limit.limit)

    def refill(self, now: float) -> None:
        gained = math.floor((now - self.at) / self.interval) if now > self.at else 0
        if gained > 0:
            self.tokens = min(float(self.limit.limit), self.tokens + gained)
            self.at = now if self.tokens >= self.limit.limit else self.at + gained * self.interval
        if self.tokens >= self.limit.limit:
            self.at = now

    def next_ms(self, now: float) -> int:
        return int((self.at + self.interval) * 1000) if self.tokens < self.limit.limit else int(now * 1000)


class Throttle:
    """One bucket per (seller, operation); ``limits`` may be changed while running."""

    def __init__(self, clock: Clock, limits: dict[str, Limit] | None = None) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self.limits = dict(LIMITS if limits is None else limits)
        self._buckets: dict[tuple[str, str], _Bucket] = {}
        self.enabled = True

    def take(self, seller: str, operation: str) -> Verdict | None:
        """Take one request from the bucket; ``None`` when the operation is not throttled."""
        limit = self.limits.get(operation)
        if limit is None or not self.enabled:
            return None
        with self._lock:
            now = self._clock.now()
            bucket = self._buckets.get((seller, operation))
            if bucket is None or bucket.limit != limit:
                bucket = self._buckets[(seller, operation)] = _Bucket(limit, now)
            bucket.refill(now)
            if bucket.tokens < 1:
                return Verdict(False, 0, bucket.next_ms(now))
            bucket.tokens -= 1
            return Verdict(True, int(bucket.tokens), bucket.next_ms(now))

    def configure(self, operation: str, limit: int, period: float) -> Limit:
        new = Limit(limit, period, "set through POST /_sim/throttle")
        with self._lock:
            self.limits[operation] = new
            self._buckets = {k: b for k, b in self._buckets.items() if k[1] != operation}
        return new

    def describe(self) -> dict[str, dict[str, object]]:
        with self._lock:
            return {op: {"limit": lim.limit, "period": lim.period, "source": lim.source}
                    for op, lim in sorted(self.limits.items())}

    def reset(self) -> None:
        with self._lock:
            self.limits = dict(LIMITS)
            self._buckets.clear()
            self.enabled = True

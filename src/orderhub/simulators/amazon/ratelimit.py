"""SP-API's usage plans: a token bucket per selling partner and operation, on the simulated clock.

Rates and bursts are the models' "Usage Plan" tables (``samples/usage_plans.json``). Each
request takes a token; the bucket refills at ``rate`` per second up to ``burst``. A request
that finds it empty is answered 429 ``QuotaExceeded``. Tests can change a plan, or switch
limiting off, through ``POST /_sim/config``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from orderhub.simulators.amazon.clock import Clock
from orderhub.simulators.amazon.samples import load


@dataclass
class Plan:
    rate: float
    burst: int


def published_plans() -> dict[str, Plan]:
    return {op: Plan(float(p["rate"]), int(p["burst"])) for op, p in load("usage_plans.json").items()}


def header_value(rate: float) -> str:
    """``x-amzn-RateLimit-Limit`` as Amazon writes it: the rate, e.g. ``0.0167`` or ``2.0``."""
    return repr(float(rate))


class RateLimiter:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.enabled = True
        self.plans = published_plans()
        self._lock = threading.Lock()
        self._buckets: dict[tuple[str, str], tuple[float, float]] = {}  # (seller, op) -> (tokens, at)

    def plan(self, operation: str) -> Plan | None:
        return self.plans.get(operation)

    def take(self, key: str, operation: str) -> bool:
        """Take a token for ``operation`` on behalf of ``key`` (a seller or application); False when throttled."""
        plan = self.plans.get(operation)
        if plan is None or not self.enabled:
            return True
        now = self.clock.seconds()
        with self._lock:
            tokens, at = self._buckets.get((key, operation), (float(plan.burst), now))
            tokens = min(float(plan.burst), tokens + max(0.0, now - at) * plan.rate)
            if tokens < 1.0:
                self._buckets[(key, operation)] = (tokens, now)
                return False
            self._buckets[(key, operation)] = (tokens - 1.0, now)
            return True

    def configure(self, operation: str, rate: float | None, burst: int | None) -> None:
        with self._lock:
            current = self.plans[operation]
            self.plans[operation] = Plan(rate if rate is not None else current.rate,
                                         burst if burst is not None else current.burst)
            for key in [k for k in self._buckets if k[1] == operation]:
                del self._buckets[key]

    def reset(self) -> None:
        with self._lock:
            self.plans = published_plans()
            self._buckets.clear()
            self.enabled = True

    def describe(self) -> dict[str, Any]:
        return {"enabled": self.enabled,
                "plans": {op: {"rate": p.rate, "burst": p.burst} for op, p in sorted(self.plans.items())}}

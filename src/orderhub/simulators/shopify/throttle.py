"""Shopify's leaky bucket for GraphQL query cost, one per shop.

A query's requested cost is taken from the bucket before it runs; what it did
not use (requested minus actual cost) is given back afterwards. The bucket
refills continuously at ``restore_rate`` points a second up to ``maximum``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

DEFAULT_MAXIMUM = 1000.0
DEFAULT_RESTORE_RATE = 50.0


class CostBucket:
    def __init__(self, maximum: float = DEFAULT_MAXIMUM, restore_rate: float = DEFAULT_RESTORE_RATE,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.maximum = float(maximum)
        self.restore_rate = float(restore_rate)
        self._clock = clock
        self._available = self.maximum
        self._at = clock()
        self._lock = threading.Lock()

    def _refill(self) -> None:
        now = self._clock()
        self._available = min(self.maximum, self._available + (now - self._at) * self.restore_rate)
        self._at = now

    def take(self, cost: float) -> bool:
        """Take ``cost`` points if that many are available now; False (and nothing taken) otherwise."""
        with self._lock:
            self._refill()
            if cost > self._available:
                return False
            self._available -= cost
            return True

    def give_back(self, points: float) -> None:
        with self._lock:
            self._refill()
            self._available = min(self.maximum, self._available + max(0.0, points))

    def configure(self, maximum: float | None = None, restore_rate: float | None = None,
                  available: float | None = None) -> None:
        """Change the bucket's size, rate or fill level (for tests and the demo)."""
        with self._lock:
            self._refill()
            if maximum is not None:
                self.maximum = float(maximum)
            if restore_rate is not None:
                self.restore_rate = float(restore_rate)
            if available is not None:
                self._available = float(available)
            self._available = min(self._available, self.maximum)

    def status(self) -> dict[str, Any]:
        """``throttleStatus`` as Shopify reports it in ``extensions.cost``."""
        with self._lock:
            self._refill()
            return {"maximumAvailable": self.maximum, "currentlyAvailable": int(self._available),
                    "restoreRate": self.restore_rate}

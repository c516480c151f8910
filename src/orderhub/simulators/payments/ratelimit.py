"""A token bucket per API key: ``rate`` requests a second on average, bursts of up to ``burst``."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable


class TokenBuckets:
    def __init__(self, rate: float = 100.0, burst: float | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)
        self.configure(rate, burst)

    def configure(self, rate: float, burst: float | None = None) -> None:
        """Change the rate and burst; every bucket starts full again."""
        if rate <= 0 or (burst is not None and burst < 1):
            raise ValueError(f"a rate limit needs rate > 0 and burst >= 1, not rate={rate} burst={burst}")
        with self._lock:
            self.rate = float(rate)
            self.burst = float(burst) if burst is not None else max(1.0, self.rate)
            self._buckets.clear()

    def take(self, key: str) -> int | None:
        """None when ``key`` may make a request now; otherwise whole seconds to wait (``Retry-After``)."""
        with self._lock:
            now = self._clock()
            tokens, at = self._buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - at) * self.rate)
            if tokens >= 1:
                self._buckets[key] = (tokens - 1, now)
                return None
            self._buckets[key] = (tokens, now)
            return max(1, math.ceil((1 - tokens) / self.rate))

    def clear(self) -> None:
        with self._lock:
            self._buckets.clear()

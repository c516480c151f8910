"""Per-operation request rates, counted per app and shop over the last second (real time: a rate is
requests per second of the caller's time). A request over the limit gets TikTok's 36009002 with
HTTP 429; TikTok documents no rate-limit headers, so none are sent beyond ``x-tt-logid``.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

from orderhub.simulators.tiktok.defaults import DEFAULT_QPS


class RateLimits:
    def __init__(self, default_qps: float = DEFAULT_QPS, clock: Callable[[], float] = time.monotonic) -> None:
        self.default_qps = default_qps
        self.per_operation: dict[str, float] = {}
        self._clock = clock
        self._seen: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def qps(self, operation: str) -> float:
        return self.per_operation.get(operation, self.default_qps)

    def allow(self, operation: str, caller: str) -> bool:
        limit = self.qps(operation)
        if limit <= 0:
            return True  # 0 turns the limit off
        now = self._clock()
        with self._lock:
            window = self._seen.setdefault((operation, caller), deque())
            while window and window[0] <= now - 1.0:
                window.popleft()
            if len(window) >= limit:
                return False
            window.append(now)
            return True

    def configure(self, operation: str | None, qps: float) -> None:
        with self._lock:
            if operation in (None, "*"):
                self.default_qps = qps
            else:
                self.per_operation[operation] = qps
            self._seen.clear()

    def describe(self) -> dict[str, object]:
        return {"default_qps": self.default_qps, "per_operation": dict(self.per_operation)}

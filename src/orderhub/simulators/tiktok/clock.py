"""Simulated time: the wall clock plus an offset that tests move forward (``POST /_sim/clock``).

TikTok speaks Unix seconds everywhere (timestamps, ``create_time``, token expiry), so ``now`` is an int.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class SimClock:
    def __init__(self, wall: Callable[[], float] = time.time, start: float | None = None) -> None:
        self._wall = wall
        self._lock = threading.Lock()
        self._offset = 0.0 if start is None else start - wall()
        self._listeners: list[Callable[[], None]] = []

    def time(self) -> float:
        with self._lock:
            return self._wall() + self._offset

    def now(self) -> int:
        return int(self.time())

    def advance(self, seconds: float) -> int:
        if seconds < 0:
            raise ValueError("the simulated clock only moves forward")
        with self._lock:
            self._offset += seconds
        for listener in list(self._listeners):
            listener()
        return self.now()

    def set(self, moment: float) -> int:
        """Jump to ``moment`` (Unix seconds), forward or back: for replaying TikTok's published samples."""
        with self._lock:
            self._offset = moment - self._wall()
        for listener in list(self._listeners):
            listener()
        return self.now()

    def reset(self) -> None:
        """Back to the wall clock."""
        with self._lock:
            self._offset = 0.0

    def on_change(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    def after(self, previous: int | None) -> int:
        """Now, or one second after ``previous`` when now is not later, so each update time is distinct."""
        now = self.now()
        return now if previous is None or now > previous else previous + 1

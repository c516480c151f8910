"""The simulated clock: wall-clock UTC plus an offset tests move with ``POST /_sim/clock``.

Walmart speaks epoch milliseconds (``orderDate``, ``statusDate``, ``shipDateTime``,
``feedSubmissionDate``); :meth:`Clock.stamp` hands out strictly increasing milliseconds so
two changes never share a last-modified time and a poller sees each change once.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime


class Clock:
    def __init__(self, start: datetime | None = None) -> None:
        self._lock = threading.Lock()
        self._offset = 0.0 if start is None else start.timestamp() - time.time()
        self._last_stamp = 0

    def now(self) -> float:
        """Seconds since the epoch, simulated."""
        return time.time() + self._offset

    def now_ms(self) -> int:
        return int(self.now() * 1000)

    def now_dt(self) -> datetime:
        return datetime.fromtimestamp(self.now(), UTC)

    def stamp(self) -> int:
        """Now in epoch ms, but always later than the previous stamp (a version for a change)."""
        with self._lock:
            self._last_stamp = max(self.now_ms(), self._last_stamp + 1)
            return self._last_stamp

    def advance(self, seconds: float) -> float:
        if seconds < 0:
            raise ValueError("the simulated clock only moves forward")
        with self._lock:
            self._offset += seconds
        return self.now()


def iso_ms(epoch_ms: int) -> str:
    """Epoch ms as ISO 8601 UTC with milliseconds ("2026-12-07T10:15:02.123Z")."""
    return datetime.fromtimestamp(epoch_ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def parse_date_param(text: str) -> int | None:
    """A date query parameter as Walmart documents them ('2020-03-16' or '2020-03-16T10:30:15Z', any ISO 8601
    with offset or fraction) to epoch ms; ``None`` when it is not a date."""
    value = text.strip()
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace(" ", "+"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp() * 1000)

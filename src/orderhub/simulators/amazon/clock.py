"""The simulated clock: real time plus whatever the tests moved it by, or frozen.

Token expiry, the visibility delay of getOrders, feed processing and the rate limiters'
buckets all read this clock, so a test moves them all with ``POST /_sim/clock``.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta


def iso(moment: datetime) -> str:
    """ISO 8601 in UTC with ``Z``, to the second, as the Orders API writes dates."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_ms(moment: datetime) -> str:
    """ISO 8601 in UTC with milliseconds, as the Feeds API and notifications write times."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_iso(text: str) -> datetime | None:
    """An ISO 8601 date-time (``Z`` or an offset; a date alone means midnight UTC); None if it is not one."""
    if not isinstance(text, str) or len(text) < 10:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class Clock:
    def __init__(self, start: datetime | None = None, *, frozen: bool = False) -> None:
        self._lock = threading.Lock()
        self._base = (start or datetime.now(UTC)).astimezone(UTC)
        self._real = time.monotonic()
        self._frozen = frozen

    def now(self) -> datetime:
        with self._lock:
            if self._frozen:
                return self._base
            return self._base + timedelta(seconds=time.monotonic() - self._real)

    def seconds(self) -> float:
        """Now as seconds since the epoch, for the rate limiters."""
        return self.now().timestamp()

    def advance(self, seconds: float) -> datetime:
        with self._lock:
            self._base += timedelta(seconds=seconds)
        return self.now()

    def set(self, moment: datetime, *, frozen: bool | None = None) -> datetime:
        with self._lock:
            self._base = moment.astimezone(UTC)
            self._real = time.monotonic()
            if frozen is not None:
                self._frozen = frozen
        return self.now()

    def freeze(self, frozen: bool) -> None:
        now = self.now()
        self.set(now, frozen=frozen)

    @property
    def frozen(self) -> bool:
        return self._frozen

"""A process-wide cap on concurrent Argon2 verifications.

Each check takes tens of MiB of memory for a fraction of a second; without a cap a burst of
sign-ins (even within the throttle, from many addresses) multiplies that until the process runs
out of memory. Excess attempts wait briefly for a turn, then are told to come back.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

DEFAULT_PARALLEL = 2
WAIT_SECONDS = 5.0

T = TypeVar("T")
_lock = threading.Lock()
_gates: dict[int, threading.BoundedSemaphore] = {}


class Busy(Exception):
    """No turn came within the wait."""


def _gate(size: int) -> threading.BoundedSemaphore:
    size = max(1, size)
    with _lock:
        gate = _gates.get(size)
        if gate is None:
            gate = _gates[size] = threading.BoundedSemaphore(size)
        return gate


@contextmanager
def turn(size: int = DEFAULT_PARALLEL, wait: float | None = None) -> Iterator[None]:
    """Hold one of ``size`` process-wide turns (raise :class:`Busy` after ``wait`` seconds)."""
    gate = _gate(size)
    if not gate.acquire(timeout=WAIT_SECONDS if wait is None else wait):
        raise Busy(f"more than {size} password checks at once")
    try:
        yield
    finally:
        gate.release()


def run(check: Callable[[], T], size: int = DEFAULT_PARALLEL, wait: float | None = None) -> T:
    with turn(size, wait):
        return check()

"""Progress of long work (an import, a feed, a transform, a reconciliation, a migration), reported once
and shown wherever someone watches: a bar or periodic lines at a terminal, the run's row for the console.

Work reports through a :class:`Progress`: ``total(n, unit)`` when it knows how much there is (or
``total(None, unit)`` when it does not), then ``advance(k)`` as it goes. Each report goes to the
progress's sinks; a sink decides how often it shows anything, so work may report every record.
Work that nobody watches gets :data:`NOWHERE`, which does nothing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Protocol


@dataclass(frozen=True)
class State:
    """Where a piece of work is: ``done`` of ``total`` (None: not known) ``unit``, since ``started``
    (seconds of ``time.monotonic``), as of ``at``."""

    label: str
    done: int = 0
    total: int | None = None
    unit: str = "items"
    started: float = 0.0
    at: float = 0.0
    finished: bool = False

    @property
    def elapsed(self) -> float:
        return max(0.0, self.at - self.started)

    @property
    def rate(self) -> float | None:
        """Units a second so far; None until a measurable moment has passed."""
        return self.done / self.elapsed if self.elapsed >= 0.05 and self.done else None

    @property
    def seconds_left(self) -> float | None:
        """At the rate so far; None without a total or a rate."""
        rate = self.rate
        if self.total is None or not rate:
            return None
        return max(0, self.total - self.done) / rate


class Sink(Protocol):
    """Where progress is shown. Called on every report (from the working thread): keep it cheap."""

    def update(self, state: State) -> None: ...

    def close(self, state: State) -> None: ...


class Progress:
    """What work reports its progress to. Safe to call from several threads."""

    def __init__(self, label: str, sinks: Sequence[Sink] = (), *, clock: Callable[[], float] = time.monotonic
                 ) -> None:
        self._sinks = tuple(sinks)
        self._clock = clock
        now = clock()
        self._state = State(label, started=now, at=now)
        self._reported = False
        self._lock = threading.Lock()

    @property
    def state(self) -> State:
        return self._state

    def total(self, n: int | None, unit: str = "items") -> None:
        """How much there is to do (None: not known), in ``unit`` (plural: orders, rows, files)."""
        self._report(lambda s: replace(s, total=None if n is None else max(0, int(n)), unit=unit))

    def advance(self, k: int = 1) -> None:
        """``k`` more units done."""
        if k:
            self._report(lambda s: replace(s, done=s.done + int(k)))

    def close(self) -> None:
        """The work ended (done or not): sinks show their last word, if it ever reported."""
        if not self._reported:
            return
        with self._lock:
            self._state = replace(self._state, at=self._clock(), finished=True)
            state = self._state
        for sink in self._sinks:
            sink.close(state)

    def _report(self, change: Callable[[State], State]) -> None:
        if not self._sinks:
            return
        with self._lock:
            self._state = replace(change(self._state), at=self._clock())
            self._reported = True
            state = self._state
        for sink in self._sinks:
            sink.update(state)


NOWHERE = Progress("")  # no sinks: reports cost a method call


# -- wording, shared by the terminal and the console ------------------------------------------------

def amount(n: float) -> str:
    return f"{n:,.0f}"


def duration(seconds: float) -> str:
    """``16 s``, ``4 min 10 s``, ``2 h 5 min``."""
    s = int(round(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min" + (f" {s % 60} s" if s % 60 else "")
    return f"{s // 3600} h" + (f" {s % 3600 // 60} min" if s % 3600 // 60 else "")


def line(state: State) -> str:
    """``import-orders: 1,200 of 5,000 orders (240/s, about 16 s left)``; at the end, how long it took."""
    rate = state.rate
    if state.finished:
        tail = f"in {duration(state.elapsed)}" + (f", {amount(rate)}/s" if rate else "")
        return f"{state.label}: {amount(state.done)} {state.unit} {tail}"
    of = f" of {amount(state.total)}" if state.total is not None else ""
    notes = [f"{amount(rate)}/s"] if rate else []
    left = state.seconds_left
    if left is not None:
        notes.append(f"about {duration(left)} left")
    return f"{state.label}: {amount(state.done)}{of} {state.unit}" + (f" ({', '.join(notes)})" if notes else "")


class PlainLines:
    """A line every ``every`` seconds (and a last one at the end), for logs and pipes, not terminals."""

    def __init__(self, write: Callable[[str], None], *, every: float = 5.0) -> None:
        self._write = write
        self._every = every
        self._last: float | None = None
        self._lock = threading.Lock()

    def update(self, state: State) -> None:
        with self._lock:
            if self._last is None:
                self._last = state.started  # the first line comes ``every`` seconds in: quick work prints one
            if state.at - self._last < self._every:
                return
            self._last = state.at
        self._write(line(state))

    def close(self, state: State) -> None:
        if state.done or state.total:
            self._write(line(state))


class Latest:
    """Keeps the newest state, for a reader on another thread (the job manager's heartbeat writes it to
    the run's row about once a second, so the working thread never waits for the database)."""

    def __init__(self) -> None:
        self._state: State | None = None
        self._taken: State | None = None
        self._lock = threading.Lock()

    def update(self, state: State) -> None:
        with self._lock:
            self._state = state

    def close(self, state: State) -> None:
        self.update(state)

    def take(self) -> State | None:
        """The newest state if it changed since the last take, else None."""
        with self._lock:
            if self._state is None or self._state == self._taken:
                return None
            self._taken = self._state
            return self._state

"""What the channels showed and when, for bench/channels.py: the simulators read every few tenths of a
second, and each sale's lag worked out from it (commit → every other channel shows its value or a later one).
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field

import channel_sims

KINDS = channel_sims.KINDS


@dataclass
class Committed:
    sku: str
    origin: str
    value: int  # what every channel should show after this sale
    at: float  # time.time() when it committed
    late: float  # seconds behind its scheduled time when it began


@dataclass
class Watch:
    """Every change of what each channel showed per SKU, with the time it was first seen."""

    seen: dict[str, dict[str, list[tuple[float, int]]]] = field(default_factory=dict)
    reads: int = 0

    def record(self, snapshot: dict[str, dict[str, int]], at: float, skus: set[str]) -> None:
        self.reads += 1
        for kind, values in snapshot.items():
            per_sku = self.seen.setdefault(kind, {})
            for sku, value in values.items():
                if sku not in skus:
                    continue
                history = per_sku.setdefault(sku, [])
                if not history or history[-1][1] != value:
                    history.append((at, value))

    def current(self, kind: str, sku: str) -> int | None:
        history = self.seen.get(kind, {}).get(sku)
        return history[-1][1] if history else None

    def first_at_or_below(self, kind: str, sku: str, value: int) -> float | None:
        """When the channel first showed ``value`` or less (stock only falls in this run: a later sale)."""
        for at, shown in self.seen.get(kind, {}).get(sku, ()):
            if shown <= value:
                return at
        return None


def watch(sims: channel_sims.Simulators, warehouse: str, skus: set[str], poll: float, stop: threading.Event,
          into: Watch) -> None:
    while True:
        into.record(channel_sims.shown(sims, warehouse), time.time(), skus)
        if stop.wait(poll):
            into.record(channel_sims.shown(sims, warehouse), time.time(), skus)
            return


def lags(done: list[Committed], seen: Watch, ended: float,
         kinds: tuple[str, ...] = KINDS) -> tuple[list[float], int]:
    """Per sale, seconds from commit until every other channel (of ``kinds``) showed its value; a sale not
    shown everywhere by ``ended`` counts its lag so far. Returns the lags and how many are such lower bounds."""
    out, open_ = [], 0
    for c in done:
        others = [k for k in kinds if k != c.origin]
        if not others:
            continue
        worst, missing = 0.0, False
        for kind in others:
            at = seen.first_at_or_below(kind, c.sku, c.value)
            if at is None:
                missing, at = True, ended
            worst = max(worst, at - c.at)
        out.append(max(0.0, worst))
        open_ += missing
    return out, open_


def percentile(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))]  # nearest rank

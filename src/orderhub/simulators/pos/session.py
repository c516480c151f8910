"""One shift at the till: sales at a steady rate for a while (or a number of them), offline for the first
``offline_for`` seconds (sales kept on disk, nothing sent), syncing every ``sync_every`` seconds once
online, a last sync at the end, then (``resend``) the whole history sent again on purpose.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from orderhub.simulators.pos.sales import SaleMaker
from orderhub.simulators.pos.terminal import Terminal


@dataclass(frozen=True)
class Plan:
    rate: float  # sales per second
    duration: float | None = None  # seconds of selling
    sales: int | None = None  # or a number of sales
    offline_for: float = 0.0  # seconds at the start without syncing
    sync_every: float = 1.0  # seconds between syncs while online
    resend: int = 0  # times the whole history is sent again at the end
    drain_attempts: int = 5  # last syncs tried when the queue is not empty


@dataclass
class Shift:
    sold: int = 0  # sales made (returns included)
    returns: int = 0  # of which bring goods back
    units_sold: int = 0
    units_returned: int = 0
    seconds: float = 0.0
    revoked: str | None = None


def run(terminal: Terminal, maker: SaleMaker, plan: Plan, *, clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep, log: Callable[[str], None] = lambda _m: None) -> Shift:
    """Play the shift; DeviceRevoked propagates (the caller says so and stops)."""
    shift = Shift()
    began = clock()
    online_at = began + plan.offline_for
    if plan.offline_for:
        log(f"offline for {plan.offline_for:g} s: sales stay on the till")
    last_sync = began
    went_online = plan.offline_for == 0
    while True:
        now = clock()
        if plan.sales is not None and shift.sold >= plan.sales:
            break
        if plan.sales is None and now - began >= (plan.duration or 0):
            break
        due = began + shift.sold / plan.rate if plan.rate > 0 else now
        if due > now:
            sleep(min(due - now, 0.5))
            continue
        kept = terminal.state.add(maker.sale(terminal.state))
        shift.sold += 1
        for line in kept.body["lines"]:
            q = int(line["quantity"])
            shift.units_sold += max(q, 0)
            shift.units_returned += max(-q, 0)
        shift.returns += any(int(line["quantity"]) < 0 for line in kept.body["lines"])
        now = clock()
        if now >= online_at:
            if not went_online:
                went_online = True
                log(f"back online with {terminal.state.length()} sales queued")
            if now - last_sync >= plan.sync_every:
                terminal.sync()
                last_sync = clock()
    while clock() < online_at:  # the shift ended offline: the till comes back once the spell is over
        sleep(min(online_at - clock(), 0.5))
    for attempt in range(plan.drain_attempts):
        if terminal.sync():
            break
        sleep(min(5.0, 0.5 * 2 ** attempt))
    for _ in range(plan.resend):
        terminal.resend_history()
    shift.seconds = clock() - began
    return shift


def summary(terminal: Terminal, shift: Shift) -> dict[str, Any]:
    """The shift in figures: what was sold, sent, acknowledged, answered, and what is still queued."""
    stats = terminal.stats
    return {
        "device": terminal.name, "store": terminal.store, "sold": shift.sold, "returns": shift.returns,
        "units_sold": shift.units_sold, "units_returned": shift.units_returned,
        "sent": stats.sent, "resent": stats.resent, "requests": stats.requests,
        "acknowledged": stats.acknowledged, "recorded": stats.answered("recorded"),
        "duplicates_answered": stats.answered("duplicate"), "errors": stats.answered("error_logged"),
        "queued_answers": stats.answered("queued"), "network_failures": stats.network_failures,
        "injected": {"refused": terminal.flaky.refused, "answers_lost": terminal.flaky.lost},
        "retried": stats.retried, "refused_batches": stats.refused_batches, "last_refusal": stats.last_refusal,
        "queue_left": terminal.state.length(), "seconds": round(shift.seconds, 2), "revoked": shift.revoked,
    }

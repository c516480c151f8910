"""The pipeline at a glance, for the console's dashboard: webhooks received per minute by topic,
what waits in the inbox and for how long, the processing and delivery rates against each
destination's limit, the error log by kind, and the last run of every job."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from orderhub.adapters.store import error_log, inbox, job_store, pos_devices, shops, traffic
from orderhub.adapters.store.db import Database
from orderhub.adapters.store.schema import destinations
from orderhub.bootstrap import Hub
from orderhub.clock import utcnow
from orderhub.domain.jobs import CATEGORIES
from orderhub.services import pos_alerts
from orderhub.services.console import integrations
from orderhub.services.jobs import registry


@dataclass(frozen=True)
class JobLine:
    name: str
    category: str
    scope: int
    shop: str | None  # the domain of the shop it ran for; None: the hub
    status: str | None  # of its newest run; None: never ran
    started_at: datetime | None
    finished_at: datetime | None
    processed: int
    failed: int
    error: str | None
    run_id: int | None


RATE_WINDOW = timedelta(minutes=5)  # the rates shown are averages over the last five whole minutes


@dataclass(frozen=True)
class Rate:
    """A destination's recent rate against its limit (per minute)."""

    destination: Any
    per_minute: float
    limit_per_minute: float

    @property
    def share(self) -> float:
        return self.per_minute / self.limit_per_minute if self.limit_per_minute else 0.0


@dataclass(frozen=True)
class Snapshot:
    at: datetime
    inbox_depth: int
    inbox_oldest: datetime | None
    errors: dict[str, dict[str, int]]  # kind -> status -> entries
    rates: list[Rate]
    received_per_minute: dict[str, float]  # topic -> webhooks a minute, recently
    jobs: list[JobLine]
    integrations: list[integrations.Health]
    silent_devices: tuple[pos_devices.Device, ...] = ()  # stores' POS devices that stopped syncing

    @property
    def open_errors(self) -> int:
        return sum(by.get("open", 0) + by.get("retrying", 0) for by in self.errors.values())


def _recent(rows: list[Any], series: str, now: datetime) -> dict[str, float]:
    """Per name, the average a minute over the last RATE_WINDOW of whole minutes."""
    start = traffic.minute_of(now) - RATE_WINDOW
    end = traffic.minute_of(now)
    totals: dict[str, int] = {}
    for r in rows:
        if r.series == series and start <= r.minute < end:
            totals[r.name] = totals.get(r.name, 0) + int(r.count)
    minutes = RATE_WINDOW.total_seconds() / 60
    return {name: n / minutes for name, n in sorted(totals.items())}


def snapshot(hub: Hub) -> Snapshot:
    db, now = hub.db, utcnow()
    with db.read() as conn:
        depth, oldest = inbox.depth(conn)
        sizes = error_log.size_by_kind(conn)
        targets = list(conn.execute(select(destinations).order_by(destinations.c.name)))
        runs = job_store.last_runs(conn)
        domains = {s.id: s.domain for s in shops.all_shops(conn)}
        recent = traffic.since(conn, now - RATE_WINDOW - timedelta(minutes=1))
        health = integrations.lines(conn, hub.settings, runs)
        silent = tuple(pos_devices.silent(conn, pos_alerts.silent_after(hub.settings)))
    processed = sum(_recent(recent, traffic.PROCESSED, now).values())
    delivered = _recent(recent, traffic.DELIVERED, now)
    # The store destination is the processor's own intake limit; the others are HTTP destinations.
    rates = [Rate(d, processed if d.kind == "store" else delivered.get(d.name, 0.0), d.rate_per_second * 60)
             for d in targets]
    errors: dict[str, dict[str, int]] = {}
    for (kind, status), n in sorted(sizes.items()):
        errors.setdefault(kind, {})[status] = n
    order = {c.code: i for i, c in enumerate(CATEGORIES)}
    jobs = []
    for job in sorted(registry.all_jobs(), key=lambda j: (order.get(j.definition.category, 99), j.definition.name)):
        mine = sorted((scope, run) for (name, scope), run in runs.items() if name == job.definition.name)
        for scope, run in mine or [(0, None)]:
            jobs.append(JobLine(job.definition.name, job.definition.category, scope,
                                domains.get(scope, f"shop {scope} (removed)") if scope else None,
                                run.status if run else None, run.started_at if run else None,
                                run.finished_at if run else None, run.processed_count if run else 0,
                                run.failed_count if run else 0, run.error if run else None,
                                run.id if run else None))
    return Snapshot(now, depth, oldest, errors, rates, _recent(recent, traffic.RECEIVED, now), jobs, health, silent)


def series(db: Database, hours: float, now: datetime | None = None) -> dict[str, Any]:
    """Per-minute counts over the last ``hours`` for the dashboard's chart: the minutes (epoch
    seconds) and, per series, per name, one count per minute (0 where nothing happened)."""
    now = now or utcnow()
    end = traffic.minute_of(now)
    start = end - timedelta(hours=hours) + timedelta(minutes=1)
    with db.read() as conn:
        rows = traffic.since(conn, start)
    count = int((end - start).total_seconds() // 60) + 1
    out: dict[str, dict[str, list[int]]] = {traffic.RECEIVED: {}, traffic.PROCESSED: {}, traffic.DELIVERED: {}}
    for r in rows:
        slot = int((r.minute - start).total_seconds() // 60)
        if 0 <= slot < count and r.series in out:
            out[r.series].setdefault(r.name, [0] * count)[slot] += int(r.count)
    minutes = [int((start + timedelta(minutes=i)).timestamp()) for i in range(count)]
    return {"minutes": minutes, **{k: dict(sorted(v.items())) for k, v in out.items()}}

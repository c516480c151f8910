"""The pipeline at a glance, for the console's dashboard: what waits in the inbox and for how
long, the error log by kind, each destination's limit, and the last run of every job."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from orderhub.adapters.store import error_log, inbox, job_store
from orderhub.adapters.store.db import Database
from orderhub.adapters.store.schema import destinations
from orderhub.clock import utcnow
from orderhub.domain.jobs import CATEGORIES
from orderhub.services.jobs import registry


@dataclass(frozen=True)
class JobLine:
    name: str
    category: str
    scope: int
    status: str | None  # of its newest run; None: never ran
    started_at: datetime | None
    finished_at: datetime | None
    processed: int
    failed: int
    error: str | None
    run_id: int | None


@dataclass(frozen=True)
class Snapshot:
    at: datetime
    inbox_depth: int
    inbox_oldest: datetime | None
    errors: dict[str, dict[str, int]]  # kind -> status -> entries
    destinations: list[Any]
    jobs: list[JobLine]

    @property
    def open_errors(self) -> int:
        return sum(by.get("open", 0) + by.get("retrying", 0) for by in self.errors.values())


def snapshot(db: Database) -> Snapshot:
    now = utcnow()
    with db.read() as conn:
        depth, oldest = inbox.depth(conn)
        sizes = error_log.size_by_kind(conn)
        targets = list(conn.execute(select(destinations).order_by(destinations.c.name)))
        runs = job_store.last_runs(conn)
    errors: dict[str, dict[str, int]] = {}
    for (kind, status), n in sorted(sizes.items()):
        errors.setdefault(kind, {})[status] = n
    order = {c.code: i for i, c in enumerate(CATEGORIES)}
    jobs = []
    for job in sorted(registry.all_jobs(), key=lambda j: (order.get(j.definition.category, 99), j.definition.name)):
        mine = sorted((scope, run) for (name, scope), run in runs.items() if name == job.definition.name)
        for scope, run in mine or [(0, None)]:
            jobs.append(JobLine(job.definition.name, job.definition.category, scope,
                                run.status if run else None, run.started_at if run else None,
                                run.finished_at if run else None, run.processed_count if run else 0,
                                run.failed_count if run else 0, run.error if run else None,
                                run.id if run else None))
    return Snapshot(now, depth, oldest, errors, targets, jobs)

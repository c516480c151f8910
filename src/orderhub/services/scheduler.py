"""A minimal scheduler: runs jobs every N seconds, exactly once per tick across all nodes.

A node takes a tick by moving the schedule's ``next_run_at`` forward with a
conditional update (compare-and-set); only the node whose update matched runs it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import orjson
import structlog
from sqlalchemy import select, update

from orderhub.adapters.store.db import upsert
from orderhub.adapters.store.schema import schedules
from orderhub.adapters.store.shops import by_id
from orderhub.bootstrap import Hub
from orderhub.clock import utcnow
from orderhub.services.jobs.registry import get
from orderhub.services.jobs.runner import JobFailed, run_job

log = structlog.get_logger(__name__)


def set_schedule(hub: Hub, job: str, shop_id: int | None, every_seconds: int, params: dict[str, Any],
                 enabled: bool = True) -> None:
    get(job)  # refuse unknown jobs early
    if every_seconds < 60:
        raise ValueError("schedule a job at most once a minute (--every 1m or more)")
    with hub.db.write() as conn:
        upsert(conn, schedules, dict(job=job, shop_id=shop_id, every_seconds=every_seconds,
                                     params=orjson.dumps(params).decode(), enabled=enabled,
                                     next_run_at=utcnow()),
               keys=("job", "shop_id"), update=("every_seconds", "params", "enabled", "next_run_at"))


def list_schedules(hub: Hub) -> list[Any]:
    with hub.db.read() as conn:
        return list(conn.execute(select(schedules).order_by(schedules.c.job, schedules.c.shop_id)))


class Scheduler:
    def __init__(self, hub: Hub) -> None:
        self.hub = hub

    def run_once(self) -> tuple[int, float]:
        now = utcnow()
        with self.hub.db.read() as conn:
            due = list(conn.execute(select(schedules).where(
                schedules.c.enabled.is_(True), schedules.c.next_run_at <= now)))
        ran = 0
        for sched in due:
            # Missed ticks during downtime collapse into one run; the next tick is in the future.
            nxt = now + timedelta(seconds=sched.every_seconds)
            with self.hub.db.write() as conn:
                taken = conn.execute(update(schedules).where(
                    schedules.c.id == sched.id, schedules.c.next_run_at == sched.next_run_at).values(
                    next_run_at=nxt)).rowcount
                shop = by_id(conn, sched.shop_id) if sched.shop_id else None
            if not taken:
                continue  # another node took this tick
            ran += 1
            try:
                run_job(self.hub, sched.job, shop, orjson.loads(sched.params), trigger="schedule")
            except JobFailed:
                pass  # recorded in job_runs; the next tick tries again
        return ran, 5.0

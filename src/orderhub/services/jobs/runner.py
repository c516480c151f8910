"""Runs a job and records the run (status, parameters, statistics, error) in job_runs."""

from __future__ import annotations

from typing import Any

import orjson
import structlog
from sqlalchemy import insert, update

from orderhub.adapters.store.schema import job_runs
from orderhub.adapters.store.shops import Shop
from orderhub.bootstrap import Hub
from orderhub.clock import utcnow
from orderhub.services.jobs.registry import get

log = structlog.get_logger(__name__)


class JobFailed(Exception):
    def __init__(self, run_id: int, message: str) -> None:
        self.run_id = run_id
        super().__init__(message)


def run_job(hub: Hub, name: str, shop: Shop | None, params: dict[str, Any], *, trigger: str = "manual"
            ) -> tuple[int, dict[str, Any]]:
    """Run now, in this process. Returns (run id, statistics); raises JobFailed on failure."""
    job = get(name)
    if job.per_shop and shop is None:
        raise ValueError(f"job {name} runs per shop: pass --shop DOMAIN")
    with hub.db.write() as conn:
        run_id = int(conn.execute(insert(job_runs).values(
            job=name, shop_id=shop.id if shop else None, status="running", trigger=trigger,
            params=orjson.dumps(params).decode(), node=hub.node, started_at=utcnow()).returning(job_runs.c.id)
        ).scalar_one())
    log.info("job_started", job=name, run_id=run_id, shop=shop.domain if shop else None, trigger=trigger)
    try:
        stats = job.run(hub, shop, params)
    except Exception as exc:
        message = f"{type(exc).__name__}: {exc}"
        with hub.db.write() as conn:
            conn.execute(update(job_runs).where(job_runs.c.id == run_id).values(
                status="failed", error=message[:4000], finished_at=utcnow()))
        log.warning("job_failed", job=name, run_id=run_id, error=message)
        raise JobFailed(run_id, message) from exc
    with hub.db.write() as conn:
        conn.execute(update(job_runs).where(job_runs.c.id == run_id).values(
            status="succeeded", stats=orjson.dumps(stats).decode(), finished_at=utcnow()))
    log.info("job_succeeded", job=name, run_id=run_id, **{k: v for k, v in stats.items() if isinstance(v, int)})
    return run_id, stats

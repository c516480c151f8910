"""Run a job now, in this process, through the job manager (so it is recorded like any run)."""

from __future__ import annotations

from typing import Any

from orderhub.adapters.store.shops import Shop
from orderhub.bootstrap import Hub
from orderhub.services.jobs.manager import JobManager


class JobFailed(Exception):
    def __init__(self, run_id: int, message: str) -> None:
        self.run_id = run_id
        super().__init__(message)


def run_job(hub: Hub, name: str, shop: Shop | None, params: dict[str, Any], *, trigger: str = "manual"
            ) -> tuple[int, dict[str, Any]]:
    """Returns (run id, statistics); raises JobFailed (with the run id) when the run failed."""
    result = JobManager(hub).run_now(name, shop, params, trigger=trigger)
    if result.status != "succeeded":
        raise JobFailed(result.run_id, result.error or result.status)
    return result.run_id, result.stats

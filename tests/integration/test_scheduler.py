"""The minimal scheduler: a tick runs exactly once however many nodes poll, and runs are recorded."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from typing import Any

import orjson
from sqlalchemy import select, update

from orderhub.adapters.store.schema import job_runs, schedules
from orderhub.services.jobs.registry import Job, register
from orderhub.services.scheduler import Scheduler, set_schedule
from tests.support import add_shop

calls: list[dict[str, Any]] = []
lock = threading.Lock()


def _count_job(hub, shop, params):  # type: ignore[no-untyped-def]
    with lock:
        calls.append({"shop": shop.domain, "params": params})
    if params.get("fail"):
        raise RuntimeError("the destination said no")
    return {"counted": 1}


register(Job(name="test-count", category="miscellaneous", description="counts its runs", run=_count_job))


def test_one_run_per_tick_across_nodes_and_runs_are_recorded(hub):  # type: ignore[no-untyped-def]
    from orderhub.bootstrap import build

    calls.clear()
    shop = add_shop(hub)
    set_schedule(hub, "test-count", shop.id, 60, {"window": "5m"})
    nodes = [Scheduler(build(hub.settings)) for _ in range(4)]
    barrier = threading.Barrier(len(nodes))

    def tick(node: Scheduler) -> None:
        barrier.wait()
        node.run_once()

    threads = [threading.Thread(target=tick, args=(n,)) for n in nodes]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert calls == [{"shop": shop.domain, "params": {"window": "5m"}}]
    # Not due again until a minute later.
    assert all(n.run_once()[0] == 0 for n in nodes)
    with hub.db.read() as conn:
        runs = conn.execute(select(job_runs)).all()
        nxt = conn.execute(select(schedules.c.next_run_at)).scalar_one()
    assert [(r.job, r.status, r.trigger, orjson.loads(r.stats)) for r in runs] == [
        ("test-count", "succeeded", "schedule", {"counted": 1})]
    assert nxt > datetime.now(timezone.utc) + timedelta(seconds=50)
    for n in nodes:
        n.hub.close()


def test_failed_run_is_recorded_and_retried_next_tick(hub):  # type: ignore[no-untyped-def]
    calls.clear()
    shop = add_shop(hub)
    set_schedule(hub, "test-count", shop.id, 60, {"fail": True})
    Scheduler(hub).run_once()
    with hub.db.write() as conn:
        conn.execute(update(schedules).values(next_run_at=datetime.now(timezone.utc) - timedelta(seconds=1)))
    Scheduler(hub).run_once()
    with hub.db.read() as conn:
        runs = conn.execute(select(job_runs.c.status, job_runs.c.error)).all()
    assert [r.status for r in runs] == ["failed", "failed"]
    assert "the destination said no" in runs[0].error

"""The job manager on the real databases: ticks, runs, overlap, heartbeats, timeouts, retries, chains."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import orjson
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import insert, select, update

from orderhub.adapters.store.schema import job_runs, job_schedules
from orderhub.bootstrap import Hub, build
from orderhub.clock import utcnow
from orderhub.domain.jobs import InvalidParams
from orderhub.services.jobs import admin
from orderhub.services.jobs.manager import JobBusy, JobManager
from tests import job_support
from tests.processes import wait_for
from tests.support import add_shop


@pytest.fixture(autouse=True)
def fresh_jobs() -> Iterator[None]:
    job_support.calls.clear()
    job_support.gate.clear()
    job_support.started.clear()
    yield
    job_support.gate.set()  # nothing stays blocked after a test


def runs(hub: Hub) -> list[Any]:
    with hub.db.read() as conn:
        return list(conn.execute(select(job_runs).order_by(job_runs.c.id)))


def due_in_past(hub: Hub, seconds: float) -> None:
    """As if the scheduler had been down: the schedules' next tick lies ``seconds`` in the past."""
    with hub.db.write() as conn:
        conn.execute(update(job_schedules).values(next_run_at=utcnow() - timedelta(seconds=seconds)))


def test_one_run_per_tick_however_many_nodes_tick_and_run(hub: Hub) -> None:
    shop = add_shop(hub)
    JobManager(hub).schedule("test-count", [shop], expression="every 60s", params={"window": "5m"})
    nodes = [JobManager(build(hub.settings)) for _ in range(4)]
    barrier = threading.Barrier(len(nodes))

    def node(manager: JobManager) -> None:
        barrier.wait()
        manager.tick()
        manager.work_once()

    threads = [threading.Thread(target=node, args=(n,)) for n in nodes]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [c["params"]["window"] for c in job_support.calls] == ["5m"]
    [run] = runs(hub)
    assert (run.status, run.trigger, run.shop_id, orjson.loads(run.stats)) == ("succeeded", "schedule", shop.id,
                                                                              {"counted": 1})
    assert (run.read_count, run.processed_count, run.failed_count) == (3, 2, 1)
    assert all(n.tick() == 0 for n in nodes)  # not due again until a minute later
    with hub.db.read() as conn:
        assert conn.execute(select(job_schedules.c.next_run_at)).scalar_one() > utcnow() + timedelta(seconds=50)
    for n in nodes:
        n.hub.close()


def test_a_run_records_its_counts_log_and_failed_records(hub: Hub) -> None:
    shop = add_shop(hub)
    before = REGISTRY.get_sample_value("orderhub_job_runs_total", {"job": "test-count", "status": "succeeded"}) or 0
    result = JobManager(hub).run_now("test-count", shop, {"limit": "7"})
    assert REGISTRY.get_sample_value("orderhub_job_runs_total",
                                     {"job": "test-count", "status": "succeeded"}) == before + 1
    detail = admin.run_detail(hub, result.run_id)
    assert job_support.calls[0]["params"] == {"fail": False, "window": None, "limit": 7}  # converted, defaulted
    assert detail["counts"] == {"read": 3, "processed": 2, "skipped": 0, "failed": 1}
    assert [line["message"] for line in detail["log"]] == [f"run for {shop.domain} 🦋"]
    _name, content = admin.run_file(hub, result.run_id, "failed")
    assert detail["files"] == [{"kind": "failed", "name": f"run-{result.run_id}-failed.jsonl", "size": len(content)}]
    assert orjson.loads(content) == {"error": "unknown SKU", "record": {"line": 3, "sku": "SKU-🦋"}}


def test_a_failure_is_recorded_in_one_line_and_retried_by_policy(hub: Hub) -> None:
    shop = add_shop(hub)
    manager = JobManager(hub)
    manager.schedule("test-count", [shop], expression="every 60s", params={"fail": "true"})
    assert manager.tick() == 1
    manager.work_once()
    manager.work_once()  # the retry (no delay for this job), which fails too
    assert manager.work_once()[0] == 0  # one retry only
    got = runs(hub)
    assert [(r.status, r.trigger, r.attempt) for r in got] == [("failed", "schedule", 1), ("failed", "retry", 2)]
    assert got[0].error == "RuntimeError: the destination said no second line"
    assert got[1].parent_run_id == got[0].id


def test_ticks_missed_while_down_run_once_and_queued_runs_never_pile_up(hub: Hub) -> None:
    manager = JobManager(hub)
    manager.schedule("test-hub-count", [None], expression="every 1s")
    due_in_past(hub, 100)  # the scheduler was down for 100 ticks
    assert manager.tick() == 1
    for _ in range(5):  # schedulers tick on while no node runs jobs: the waiting run is not doubled
        due_in_past(hub, 1)
        assert manager.tick() == 0
    assert [r.status for r in runs(hub)] == ["queued"]
    assert manager.work_once()[0] == 1
    assert manager.work_once()[0] == 0
    assert len(job_support.calls) == 1


def test_ticks_missed_while_down_are_skipped_when_the_job_says_so(hub: Hub) -> None:
    manager = JobManager(hub)
    manager.schedule("test-sleep", [None], expression="every 1h")
    due_in_past(hub, 5 * 3600 + 600)  # the newest missed tick is ten minutes old
    assert manager.tick() == 0
    assert runs(hub) == []
    with hub.db.read() as conn:
        nxt = conn.execute(select(job_schedules.c.next_run_at)).scalar_one()
    assert utcnow() < nxt < utcnow() + timedelta(hours=1)


def test_a_job_never_overlaps_itself_and_run_now_says_why(hub: Hub) -> None:
    manager = JobManager(hub, heartbeat_seconds=0.05)
    first: list[Any] = []
    t = threading.Thread(target=lambda: first.append(manager.run_now("test-block", None, {})))
    t.start()
    assert job_support.started.wait(10)
    with pytest.raises(JobBusy, match=r"already running \(run 1\)"):
        JobManager(hub).run_now("test-block", None, {})
    other = JobManager(build(hub.settings))
    other.schedule("test-block", [None], expression="every 1s")
    assert other.tick() == 1
    assert other.work_once()[0] == 0  # the scheduled run waits for the running one
    job_support.gate.set()
    t.join(10)
    assert first[0].status == "succeeded"
    assert other.work_once()[0] == 1
    assert [(r.status, r.trigger) for r in runs(hub)] == [
        ("succeeded", "manual"), ("cancelled", "manual"), ("succeeded", "schedule")]
    other.hub.close()


def test_a_run_whose_worker_died_is_failed_by_another_node_and_retried(hub: Hub) -> None:
    shop = add_shop(hub)
    long_ago = utcnow() - timedelta(minutes=5)
    with hub.db.write() as conn:  # a node claimed it and died
        conn.execute(insert(job_runs).values(
            job="test-count", shop_id=shop.id, scope=shop.id, status="running", trigger="schedule", params="{}",
            node="gone-node", exclusive_key=f"test-count:{shop.id}", queued_at=long_ago, available_at=long_ago,
            started_at=long_ago, heartbeat_at=long_ago, deadline_at=utcnow() + timedelta(hours=1)))
    manager = JobManager(hub, dead_after_seconds=60)
    assert manager.work_once()[0] == 1  # ends the dead run, then runs its retry
    dead, retry = runs(hub)
    assert dead.status == "failed" and dead.error.startswith("worker gone-node died: no heartbeat since")
    assert (retry.status, retry.trigger, retry.attempt, retry.parent_run_id) == ("succeeded", "retry", 2, dead.id)


def test_a_run_past_its_deadline_times_out_and_stops(hub: Hub) -> None:
    manager = JobManager(hub, heartbeat_seconds=0.05)
    manager.schedule("test-block", [None], expression="every 1h", timeout_seconds=1)
    assert manager.tick() == 1
    worker = threading.Thread(target=manager.work_once)
    worker.start()
    assert job_support.started.wait(10)
    reaper = JobManager(build(hub.settings))
    wait_for(lambda: reaper.reap() == 1, timeout=10, what="the reaper to time the run out")
    worker.join(10)  # the job noticed at its next check, without the gate ever opening
    assert not worker.is_alive()
    [run] = runs(hub)
    assert run.status == "timed_out" and run.error.startswith("timed out: still running at its deadline")
    reaper.hub.close()


def test_a_person_releases_a_run_left_running(hub: Hub) -> None:
    with hub.db.write() as conn:
        conn.execute(insert(job_runs).values(
            job="test-block", scope=0, status="running", trigger="manual", params="{}", node="laptop",
            exclusive_key="test-block:0", queued_at=utcnow(), started_at=utcnow(), heartbeat_at=utcnow()))
    JobManager(hub).release(1, by="ops")
    [run] = runs(hub)
    assert (run.status, run.error, run.exclusive_key) == ("failed", "released by ops", None)
    with pytest.raises(LookupError, match="run 1 is not running"):
        JobManager(hub).release(1, by="ops")
    job_support.gate.set()
    assert JobManager(hub).run_now("test-block", None, {}).status == "succeeded"  # free to run again


def test_a_chained_job_runs_after_its_upstream_succeeds_for_the_same_shop(hub: Hub) -> None:
    shop = add_shop(hub)
    admin.chain(hub, "test-count", "test-needs-count")
    manager = JobManager(hub)
    manager.run_now("test-count", shop, {})
    assert manager.work_once()[0] == 1
    upstream, downstream = runs(hub)
    assert (downstream.job, downstream.trigger, downstream.shop_id, downstream.parent_run_id, downstream.status) == (
        "test-needs-count", "chain", shop.id, upstream.id, "succeeded")
    admin.chain(hub, "test-count", "test-needs-count", delay="1h")
    manager.run_now("test-count", shop, {})
    assert manager.work_once()[0] == 0  # not before the delay
    assert runs(hub)[-1].status == "queued"


def test_a_chain_on_finished_runs_after_a_failed_run_too_and_one_on_succeeded_does_not(hub: Hub) -> None:
    shop = add_shop(hub)
    admin.chain(hub, "test-count", "test-hub-count", trigger_on="finished")
    admin.chain(hub, "test-count", "test-needs-count")  # on succeeded
    manager = JobManager(hub)
    assert manager.run_now("test-count", shop, {"fail": "true"}).status == "failed"
    queued = [(r.job, r.trigger) for r in runs(hub) if r.status == "queued"]
    assert sorted(queued) == [("test-count", "retry"), ("test-hub-count", "chain")]
    with pytest.raises(ValueError, match="succeeded or finished"):
        admin.chain(hub, "test-count", "test-hub-count", trigger_on="failed")


def test_a_job_that_needs_another_first_says_so(hub: Hub) -> None:
    shop = add_shop(hub)
    result = JobManager(hub).run_now("test-needs-count", shop, {})
    assert result.status == "failed"
    assert result.error == ("RuntimeError: job test-needs-count needs a successful run of test-count first "
                            "(for this shop); run that, then this")


def test_skip_next_skips_one_tick_and_pause_holds_every_tick(hub: Hub) -> None:
    manager = JobManager(hub)
    manager.schedule("test-hub-count", [None], expression="every 60s")
    admin.skip_next(hub, "test-hub-count", None)
    assert manager.tick() == 0
    due_in_past(hub, 1)
    assert manager.tick() == 1
    assert [(r.status, r.error) for r in runs(hub)] == [("skipped", "skipped once, as asked"), ("queued", None)]
    manager.work_once()
    admin.set_paused(hub, True)
    due_in_past(hub, 1)
    assert manager.tick() == 0
    admin.set_paused(hub, False)
    assert manager.tick() == 1


def test_parameters_and_cadences_are_checked_before_anything_runs(hub: Hub) -> None:
    shop = add_shop(hub)
    manager = JobManager(hub)
    with pytest.raises(InvalidParams, match="unknown parameter.*bogus"):
        manager.run_now("test-count", shop, {"bogus": "1"})
    with pytest.raises(InvalidParams, match="'limit' must be a whole number, got 'many'"):
        manager.run_now("test-count", shop, {"limit": "many"})
    with pytest.raises(ValueError, match="runs per shop"):
        manager.run_now("test-count", None, {})
    with pytest.raises(ValueError, match="approve-orders may run at most every 5m; 'every 1m' ticks every 1m"):
        manager.schedule("approve-orders", [None], expression="every 1m")
    with pytest.raises(ValueError, match="is not a schedule"):
        manager.schedule("approve-orders", [None], expression="every tuesday")
    with pytest.raises(ValueError, match="unknown timezone 'Mars/Olympus'"):
        manager.schedule("approve-orders", [None], expression="hourly", tz="Mars/Olympus")
    assert runs(hub) == []


def test_one_job_scheduled_for_many_shops_at_once(hub: Hub) -> None:
    shops = [add_shop(hub, f"shop-{k}.myshopify.com") for k in range(3)]
    manager = JobManager(hub)
    manager.schedule("test-count", shops, expression="every 60s")
    assert manager.tick() == 3
    while manager.work_once()[0]:
        pass
    assert sorted(c["shop"] for c in job_support.calls) == sorted(s.domain for s in shops)

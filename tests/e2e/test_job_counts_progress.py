"""What a job run reports reaches its history: the counts its statistics name (through the CLI), and
its progress, to a sink of the caller's and to the run's row."""

from __future__ import annotations

from typing import Any

import orjson
from click.testing import CliRunner

from orderhub.adapters.store import job_store
from orderhub.bootstrap import Hub
from orderhub.entrypoints.cli import main
from orderhub.services import fulfilment
from orderhub.services.jobs.manager import JobManager
from orderhub.services.progress import State
from tests.oms_support import ingest, make_oms, order, place


def cli(db_url: str, *args: str) -> str:
    result = CliRunner().invoke(main, [*args, "--db", db_url], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def an_order_waiting_for_approval(hub: Hub) -> None:
    """A placed order still created: held while it was placed, released since."""
    oms = make_oms(hub)
    ingest(hub, oms)
    with hub.db.write() as conn:
        fulfilment.hold(conn, int(order(hub)["id"]), fulfilment.Ctx("test"))
    place(hub)
    with hub.db.write() as conn:
        fulfilment.release(conn, int(order(hub)["id"]), fulfilment.Ctx("test"))
    assert order(hub)["status"] == "created"


def test_the_counts_a_job_returns_are_in_its_history(hub: Hub) -> None:
    an_order_waiting_for_approval(hub)
    url = hub.settings.database_url
    out = cli(url, "jobs", "run", "approve-orders")
    assert out.startswith("run 1 of approve-orders succeeded: checked=1, approved=1")
    [run] = orjson.loads(cli(url, "jobs", "history", "approve-orders", "--json"))
    assert run["counts"] == {"read": 1, "processed": 1, "skipped": 0, "failed": 0}
    assert "1/1/0/0" in cli(url, "jobs", "history", "approve-orders")


class RecordingSink:
    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def update(self, state: State) -> None:
        self.calls.append(("update", state.done, state.total, state.unit))

    def close(self, state: State) -> None:
        self.calls.append(("close", state.done, state.total, state.unit))


def test_a_job_reports_its_progress_to_the_callers_sink_and_its_row(hub: Hub) -> None:
    an_order_waiting_for_approval(hub)
    sink = RecordingSink()
    result = JobManager(hub).run_now("approve-orders", None, {}, progress=[sink])
    assert result.status == "succeeded"
    assert sink.calls == [("update", 0, 1, "orders"), ("update", 1, 1, "orders"), ("close", 1, 1, "orders")]
    with hub.db.read() as conn:
        run = job_store.get_run(conn, result.run_id)
    assert (run.progress_done, run.progress_total, run.progress_unit) == (1, 1, "orders")
    assert run.progress_at is not None


def test_a_job_that_reports_no_progress_leaves_none_on_its_row(hub: Hub) -> None:
    sink = RecordingSink()
    result = JobManager(hub).run_now("broker-orders", None, {}, progress=[sink])
    assert result.status == "succeeded" and sink.calls == []
    with hub.db.read() as conn:
        run = job_store.get_run(conn, result.run_id)
    assert run.progress_at is None and run.progress_done is None

"""The persisted workflow engine on the real databases: steps, compensation, waits, crashes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, select, update

from orderhub.adapters.store.schema import workflow_steps, workflows
from orderhub.bootstrap import Hub
from orderhub.clock import utcnow
from orderhub.services import workflow
from orderhub.services.workflow import Definition, Engine, Flow, Step


class Journal:
    """Records what the steps did, in order, as a subscriber would see it."""

    def __init__(self) -> None:
        self.entries: list[tuple[str, int]] = []
        self.raising: set[tuple[str, int]] = set()
        self.crash_at: str | None = None

    def step(self, name: str) -> Step:
        def run(conn, flows: list[Flow]):  # type: ignore[no-untyped-def]
            for f in flows:
                if (name, f.order_id) in self.raising:
                    raise RuntimeError(f"database blip in {name}")
                if self.crash_at == name:
                    raise KeyboardInterrupt  # stands in for the process dying mid-step
                f.context.setdefault("done", []).append(name)
                self.entries.append((name, f.order_id))
            return {f.id: workflow.wait("payment pending", 3600) for f in flows
                    if name == "pay" and f.context.get("pending")}

        def compensate(conn, flows: list[Flow]) -> None:  # type: ignore[no-untyped-def]
            for f in flows:
                self.entries.append((f"undo {name}", f.order_id))

        return Step(name, run, compensate)

    def definition(self) -> Definition:
        def completed(conn, flows):  # type: ignore[no-untyped-def]
            self.entries += [("completed", f.order_id) for f in flows]

        def compensated(conn, flows):  # type: ignore[no-untyped-def]
            self.entries += [("compensated", f.order_id) for f in flows]

        return Definition("test", tuple(self.step(n) for n in ("validate", "reserve", "pay", "record")),
                          on_completed=completed, on_compensated=compensated)


def _start(hub: Hub, *order_ids: int) -> None:
    with hub.db.write() as conn:
        workflow.start(conn, "test", list(order_ids))


def _rows(hub: Hub) -> dict[int, tuple[str, int, str | None]]:
    with hub.db.read() as conn:
        return {r.order_id: (r.status, r.step, r.error) for r in conn.execute(select(workflows))}


def test_steps_run_in_order_and_complete(hub: Hub) -> None:
    j = Journal()
    _start(hub, 1, 2)
    assert Engine(hub.db, j.definition(), worker="w").run_once()[0] == 2
    assert [e for e in j.entries if e[1] == 1] == [("validate", 1), ("reserve", 1), ("pay", 1), ("record", 1),
                                                   ("completed", 1)]
    assert _rows(hub) == {1: ("completed", 4, None), 2: ("completed", 4, None)}


def test_a_failing_step_compensates_the_earlier_ones_newest_first(hub: Hub) -> None:
    j = Journal()
    _start(hub, 1, 2)
    engine = Engine(hub.db, j.definition(), worker="w",
                    fault=lambda step, f: "card declined" if step == "pay" and f.order_id == 1 else None)
    engine.run_once()
    assert [e for e in j.entries if e[1] == 1] == [("validate", 1), ("reserve", 1), ("undo reserve", 1),
                                                   ("undo validate", 1), ("compensated", 1)]
    assert ("completed", 2) in j.entries
    assert _rows(hub)[1] == ("compensated", 0, "card declined")
    with hub.db.read() as conn:
        log = [(r.step, r.action, r.outcome) for r in conn.execute(
            select(workflow_steps).join(workflows, workflows.c.id == workflow_steps.c.workflow_id)
            .where(workflows.c.order_id == 1).order_by(workflow_steps.c.id))]
    assert log == [("validate", "run", "ok"), ("reserve", "run", "ok"), ("pay", "run", "fail"),
                   ("reserve", "compensate", "ok"), ("validate", "compensate", "ok")]


def test_failing_the_first_step_has_nothing_to_undo(hub: Hub) -> None:
    j = Journal()
    _start(hub, 1)
    Engine(hub.db, j.definition(), worker="w", fault=lambda step, f: "no lines" if step == "validate" else None
           ).run_once()
    assert j.entries == [("compensated", 1)]
    assert _rows(hub)[1] == ("compensated", 0, "no lines")


def test_a_waiting_step_keeps_what_was_done_and_resumes_when_woken(hub: Hub) -> None:
    j = Journal()
    _start(hub, 1)
    with hub.db.write() as conn:
        conn.execute(update(workflows).values(context='{"pending": true}'))
    engine = Engine(hub.db, j.definition(), worker="w")
    engine.run_once()
    assert _rows(hub)[1] == ("running", 2, "payment pending")
    assert engine.run_once() == (0, 0.5)  # not due yet
    with hub.db.write() as conn:
        conn.execute(update(workflows).values(context='{"pending": false, "done": ["validate", "reserve"]}'))
        workflow.wake(conn, "test", [1])
    engine.run_once()
    assert _rows(hub)[1][0] == "completed"
    assert [e for e, _ in j.entries].count("reserve") == 1  # not repeated


def test_an_exception_retries_only_the_workflow_that_raised(hub: Hub) -> None:
    j = Journal()
    j.raising.add(("reserve", 2))
    _start(hub, 1, 2, 3)
    engine = Engine(hub.db, j.definition(), worker="w", retry_seconds=0)
    engine.run_once()
    rows = _rows(hub)
    assert rows[1][0] == rows[3][0] == "completed"
    assert rows[2] == ("running", 1, "reserve: RuntimeError: database blip in reserve")
    j.raising.clear()
    engine.run_once()
    assert _rows(hub)[2][0] == "completed"


@pytest.mark.parametrize("together", [False, True], ids=["step by step", "together"])
def test_a_step_handed_rows_that_went_stale_runs_again_on_rows_read_afresh(hub: Hub, together: bool) -> None:
    runs: list[list[dict[str, str]]] = []

    def load(conn, flows: list[Flow]) -> None:  # type: ignore[no-untyped-def]
        for f in flows:
            f.rows["order"] = "as read by load"

    def use(conn, flows: list[Flow]) -> None:  # type: ignore[no-untyped-def]
        runs.append([dict(f.rows) for f in flows])
        if any(f.rows for f in flows):
            raise workflow.Stale("the order changed meanwhile")
        for f in flows:
            f.context["used"] = True

    _start(hub, 1, 2)
    Engine(hub.db, Definition("test", (Step("load", load), Step("use", use)), together=together),
           worker="w").run_once()
    handed = [{"order": "as read by load"}] * 2
    # Step by step: once on the handed rows, once without. Together: the batch rolled back whole, then step
    # by step: handed again, then read afresh.
    assert runs == ([handed, handed, [{}, {}]] if together else [handed, [{}, {}]])
    assert _rows(hub) == {1: ("completed", 2, None), 2: ("completed", 2, None)}
    with hub.db.read() as conn:  # handed rows are never persisted; the step's context is
        assert {r.context for r in conn.execute(select(workflows.c.context))} == {'{"used":true}'}


def test_a_step_still_stale_on_fresh_rows_is_retried_later_not_at_once(hub: Hub) -> None:
    calls: list[int] = []

    def load(conn, flows: list[Flow]) -> None:  # type: ignore[no-untyped-def]
        for f in flows:
            f.rows["order"] = "as read by load"

    def always_stale(conn, flows: list[Flow]) -> None:  # type: ignore[no-untyped-def]
        calls.append(len(flows))
        for f in flows:
            f.rows["order"] = "read again"  # what it reads afresh is no better
        raise workflow.Stale("inconsistent")

    _start(hub, 1)
    Engine(hub.db, Definition("test", (Step("load", load), Step("check", always_stale))), worker="w",
           retry_seconds=60).run_once()
    assert calls == [1, 1]  # on the handed rows, then once afresh; then it waits like any failure
    assert _rows(hub)[1] == ("running", 1, "check: Stale: inconsistent")


def test_a_workflow_whose_worker_died_resumes_at_the_uncommitted_step(hub: Hub) -> None:
    j = Journal()
    _start(hub, 1)
    j.crash_at = "pay"
    with pytest.raises(KeyboardInterrupt):
        Engine(hub.db, j.definition(), worker="dead", lease_seconds=300).run_once()
    assert _rows(hub)[1] == ("running", 2, None)  # validate and reserve committed
    j.crash_at = None
    assert Engine(hub.db, j.definition(), worker="w2").run_once() == (0, 0.5)  # still leased
    with hub.db.write() as conn:
        conn.execute(update(workflows).values(locked_until=utcnow() - timedelta(seconds=1)))
    Engine(hub.db, j.definition(), worker="w2").run_once()
    assert _rows(hub)[1][0] == "completed"
    assert [e for e, _ in j.entries] == ["validate", "reserve", "pay", "record", "completed"]


def test_a_step_that_keeps_raising_is_compensated_after_max_attempts(hub: Hub) -> None:
    j = Journal()
    j.raising.add(("pay", 1))
    _start(hub, 1)
    engine = Engine(hub.db, j.definition(), worker="w", retry_seconds=0, max_attempts=3)
    for _ in range(3):
        engine.run_once()
    status, _, error = _rows(hub)[1]
    assert status == "compensated" and error.startswith("gave up after 3 attempts: pay: RuntimeError")
    assert [e for e, _ in j.entries] == ["validate", "reserve", "undo reserve", "undo validate", "compensated"]


def test_an_undo_that_fails_is_retried_until_it_succeeds(hub: Hub) -> None:
    """A void at a gateway that is down: the flow stays compensating, logs each failed attempt, and
    finishes once the gateway is back."""
    j = Journal()
    outages = [RuntimeError("gateway unavailable"), RuntimeError("gateway unavailable")]

    def void(flows: list[Flow]) -> None:
        if outages:
            raise outages.pop()
        j.entries += [("void", f.order_id) for f in flows]

    steps = list(j.definition().steps)
    steps[2] = Step("pay", steps[2].run, compensate_outside=void)
    steps.append(Step("fail", lambda conn, flows: {f.id: workflow.fail("record refused") for f in flows}))
    definition = Definition("test", tuple(steps), on_compensated=j.definition().on_compensated)
    _start(hub, 1)
    engine = Engine(hub.db, definition, worker="w", retry_seconds=0)
    engine.run_once()
    status, step, error = _rows(hub)[1]
    assert (status, step, error) == ("compensating", 2, "record refused")  # why it is undone stays
    assert ("undo record", 1) in j.entries and ("void", 1) not in j.entries
    engine.run_once()  # still down
    assert _rows(hub)[1][0] == "compensating"
    engine.run_once()
    assert _rows(hub)[1][0] == "compensated"
    assert [e for e, _ in j.entries][-4:] == ["void", "undo reserve", "undo validate", "compensated"]
    with hub.db.read() as conn:
        outcomes = [(r.step, r.outcome, r.detail) for r in conn.execute(
            select(workflow_steps).where(workflow_steps.c.action == "compensate").order_by(workflow_steps.c.id))]
    down = ("pay", "error", "undo pay: RuntimeError: gateway unavailable")
    assert outcomes == [("record", "ok", None), down, down, ("pay", "ok", None), ("reserve", "ok", None),
                        ("validate", "ok", None)]


# -- steps together (Definition.together): one transaction a batch, split only around outside work ----------

def _together(j: Journal, hub: Hub) -> Definition:
    """The journal's steps together, "pay" with outside work (a gateway call) that must see no transaction open."""
    def gateway(flows: list[Flow]) -> None:
        assert hub.db.engine.pool.checkedout() == 0, "outside work ran inside a transaction"
        j.entries += [("gateway", f.order_id) for f in flows]

    steps = list(j.definition().steps)
    steps[2] = Step("pay", steps[2].run, steps[2].compensate, outside=gateway)
    return Definition("test", tuple(steps), on_completed=j.definition().on_completed,
                      on_compensated=j.definition().on_compensated, together=True)


def _progress_writes(hub: Hub) -> tuple[list[str], Any]:
    seen: list[str] = []

    def listen(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if statement.startswith("UPDATE workflows SET updated_at"):
            seen.append(statement)

    event.listen(hub.db.engine, "before_cursor_execute", listen)
    return seen, lambda: event.remove(hub.db.engine, "before_cursor_execute", listen)


def test_steps_together_commit_only_around_outside_work(hub: Hub) -> None:
    j = Journal()
    _start(hub, 1, 2)
    seen, stop = _progress_writes(hub)
    try:
        assert Engine(hub.db, _together(j, hub), worker="w").run_once()[0] == 2
    finally:
        stop()
    assert [e for e in j.entries if e[1] == 1] == [("validate", 1), ("reserve", 1), ("gateway", 1), ("pay", 1),
                                                   ("record", 1), ("completed", 1)]
    assert _rows(hub) == {1: ("completed", 4, None), 2: ("completed", 4, None)}
    assert len(seen) == 2  # validate+reserve, then pay+record: progress written once a transaction
    with hub.db.read() as conn:  # the step log is whole all the same
        log = [(r.step, r.outcome) for r in conn.execute(
            select(workflow_steps).join(workflows, workflows.c.id == workflow_steps.c.workflow_id)
            .where(workflows.c.order_id == 1).order_by(workflow_steps.c.id))]
    assert log == [("validate", "ok"), ("reserve", "ok"), ("pay", "ok"), ("record", "ok")]


@pytest.mark.parametrize(("crash_at", "committed"), [("reserve", 0), ("record", 2)])
def test_a_worker_dying_while_steps_run_together_leaves_its_flows_at_the_last_commit(hub: Hub, crash_at: str,
                                                                                     committed: int) -> None:
    j = Journal()
    _start(hub, 1)
    j.crash_at = crash_at
    with pytest.raises(KeyboardInterrupt):
        Engine(hub.db, _together(j, hub), worker="dead", lease_seconds=300).run_once()
    assert _rows(hub)[1] == ("running", committed, None)  # nothing of the transaction that died
    with hub.db.read() as conn:
        assert len(conn.execute(select(workflow_steps)).all()) == committed
    j.crash_at = None
    with hub.db.write() as conn:
        conn.execute(update(workflows).values(locked_until=utcnow() - timedelta(seconds=1)))
    Engine(hub.db, _together(j, hub), worker="w2").run_once()
    assert _rows(hub)[1] == ("completed", 4, None)
    with hub.db.read() as conn:  # each step committed once, the redone ones included
        assert [r.step for r in conn.execute(select(workflow_steps).order_by(workflow_steps.c.id))] == [
            "validate", "reserve", "pay", "record"]


def test_a_step_raising_while_together_goes_on_step_by_step_retrying_only_its_flow(hub: Hub) -> None:
    j = Journal()
    j.raising.add(("record", 2))
    _start(hub, 1, 2, 3)
    engine = Engine(hub.db, _together(j, hub), worker="w", retry_seconds=0)
    engine.run_once()
    rows = _rows(hub)
    assert rows[1][0] == rows[3][0] == "completed"
    assert rows[2] == ("running", 3, "record: RuntimeError: database blip in record")
    j.raising.clear()
    engine.run_once()
    assert _rows(hub)[2][0] == "completed"
    with hub.db.read() as conn:  # the transaction that raised left nothing: each step ran once for flow 1
        steps = [r.step for r in conn.execute(select(workflow_steps).join(workflows).where(
            workflows.c.order_id == 1, workflow_steps.c.outcome == "ok").order_by(workflow_steps.c.id))]
    assert steps == ["validate", "reserve", "pay", "record"]


def test_a_failing_step_while_together_compensates_the_earlier_ones(hub: Hub) -> None:
    j = Journal()
    _start(hub, 1, 2)
    Engine(hub.db, _together(j, hub), worker="w",
           fault=lambda step, f: "refused" if step == "record" and f.order_id == 1 else None).run_once()
    assert [e for e, oid in j.entries if oid == 1][-4:] == ["undo pay", "undo reserve", "undo validate",
                                                            "compensated"]
    assert _rows(hub) == {1: ("compensated", 0, "refused"), 2: ("completed", 4, None)}


def test_outside_work_that_would_not_call_out_stays_in_the_transaction(hub: Hub) -> None:
    j = Journal()
    _start(hub, 1, 2)
    steps = list(_together(j, hub).steps)

    def settled(flows: list[Flow]) -> None:  # paid already: nothing to call, so no need to commit first
        j.entries += [("settled", f.order_id) for f in flows]

    steps[2] = Step("pay", steps[2].run, outside=settled, calls_out=lambda flows: False)
    seen, stop = _progress_writes(hub)
    try:
        Engine(hub.db, Definition("test", tuple(steps), together=True), worker="w").run_once()
    finally:
        stop()
    assert _rows(hub) == {1: ("completed", 4, None), 2: ("completed", 4, None)}
    assert [e for e in j.entries if e[1] == 1] == [("validate", 1), ("reserve", 1), ("settled", 1), ("pay", 1),
                                                   ("record", 1)]
    assert len(seen) == 1  # one transaction for the batch

"""A small persisted workflow engine: ordered steps, each with a compensation.

Workflows are rows (``workflows``); every step commits its effects together with
the workflow's progress, so a process that dies mid-way loses nothing: another
worker takes the workflow when its lease runs out and resumes at the step that
was not committed. Steps that call other services (a payment gateway) do so
outside the transaction, with idempotency keys derived from the workflow, so a
resumed step repeats the call safely.

A step that fails runs the compensations of the steps before it, newest first,
each committed on its own; then ``on_compensated`` records the outcome. Nothing is
deleted.

The engine works on batches: one transaction runs a step for every workflow of a
batch that is at that step, which is what lets thousands of orders a second go
through on one SQLite file. Its own bookkeeping is set-based too: one statement per
batch records the flows' progress and one their step log.

A definition whose steps are all safe to redo may run them together
(``Definition.together``): a batch's steps share one transaction, committed only before
outside work that calls out (``Step.calls_out``) and once the batch is through, with the
flows' progress and step log written once, as the transaction ends. A crash then rolls
back to the last commit, and the steps after it are redone. A step that raises rolls
the shared transaction back whole; the flows are read back as last committed and go on
step by step, one transaction a step, where failures are handled as described above.

Steps hand rows on: what one step read or wrote for a flow it may keep in
``flow.rows`` for the next step of the same run. Those rows live in memory only; a
flow claimed again (after a crash, a wait, a lease that ran out) starts without them,
so its steps read from the database. A step that finds the database changed under
rows it was handed raises :class:`Stale`: the engine drops every handed row of the
batch and runs the step again, reading afresh.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import orjson
import structlog
from sqlalchemy import Connection, and_, insert, or_, select, update

from orderhub.adapters.store import bulk
from orderhub.adapters.store.db import Database
from orderhub.adapters.store.schema import workflow_steps, workflows
from orderhub.adapters.store.types import sqlite_time
from orderhub.clock import utcnow

log = structlog.get_logger(__name__)


@dataclass
class Flow:
    """One workflow in a batch: its order and what its steps have recorded so far."""

    id: int
    order_id: int
    step: int
    status: str
    attempts: int
    context: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    # Rows a step read or wrote, handed to the next step of this run; never persisted (see the module doc).
    rows: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


class Stale(Exception):
    """The database changed under rows a step was handed (another transaction cancelled or held the order,
    say): the step's transaction rolls back and the step runs again on rows read afresh."""


@dataclass(frozen=True)
class Outcome:
    kind: str  # ok | fail | wait
    reason: str | None = None
    seconds: float = 0.0


OK = Outcome("ok")


def fail(reason: str) -> Outcome:
    """A definite no (a declined payment, an invalid order): compensate and stop."""
    return Outcome("fail", reason)


def wait(reason: str, seconds: float) -> Outcome:
    """Not yet (payment still pending): try this step again later, keeping what was done."""
    return Outcome("wait", reason, seconds)


Outcomes = dict[int, Outcome]  # flow id -> outcome; flows left out are ok
RunInTx = Callable[[Connection, list[Flow]], Outcomes | None]
Outside = Callable[[list[Flow]], Outcomes | None]
Compensate = Callable[[Connection, list[Flow]], None]
CompensateOutside = Callable[[list[Flow]], None]
Fault = Callable[[str, Flow], str | None]


@dataclass(frozen=True)
class Step:
    name: str
    run: RunInTx
    compensate: Compensate | None = None
    # Work done before ``run``, outside any transaction (calls to other services);
    # it stores its results in ``flow.context`` for ``run`` to record.
    outside: Outside | None = None
    compensate_outside: CompensateOutside | None = None
    # Whether ``outside`` would call out for these flows; when it says no, steps run together may run it inside
    # their transaction (it then touches nothing outside: a payment the channel collected, say). None: always.
    calls_out: Callable[[list[Flow]], bool] | None = None


@dataclass(frozen=True)
class Definition:
    kind: str
    steps: tuple[Step, ...]
    on_completed: Callable[[Connection, list[Flow]], None] | None = None
    on_compensated: Callable[[Connection, list[Flow]], None] | None = None
    # Run a batch's steps in one transaction, committing only before a step's outside work and at the end
    # (see the module doc); for definitions whose steps are all safe to redo after a crash.
    together: bool = False


def start(conn: Connection, kind: str, order_ids: Sequence[int]) -> None:
    """Create workflows (one per order and kind) in the caller's transaction."""
    if not order_ids:
        return
    now = utcnow()
    bulk.insert_tuples(conn, workflows, ("kind", "order_id", "status", "step", "context", "attempts", "available_at",
                                         "created_at", "updated_at"),
                       [(kind, oid, "running", 0, "{}", 0, now, now, now) for oid in order_ids])


def wake(conn: Connection, kind: str, order_ids: Sequence[int]) -> None:
    """Make waiting workflows of these orders due now (their payment arrived, say)."""
    if order_ids:
        conn.execute(update(workflows).where(workflows.c.kind == kind, workflows.c.order_id.in_(order_ids),
                                             workflows.c.status == "running").values(available_at=utcnow()))


def _by_step(flows: list[Flow]) -> list[tuple[int, list[Flow]]]:
    """The flows grouped by the step they are at, first step first."""
    groups: dict[int, list[Flow]] = {}
    for f in flows:
        groups.setdefault(f.step, []).append(f)
    return sorted(groups.items())


COMPENSATION_RETRY_MAX = 900.0  # seconds between attempts to undo a step, at most


class Engine:
    def __init__(self, db: Database, definition: Definition, *, worker: str, batch_size: int = 200,
                 lease_seconds: float = 60.0, max_attempts: int = 5, retry_seconds: float = 5.0,
                 fault: Fault | None = None, together: bool | None = None) -> None:
        self.db = db
        self.definition = definition
        self.worker = worker
        self.batch_size = batch_size
        self.lease_seconds = lease_seconds
        self.max_attempts = max_attempts
        self.retry_seconds = retry_seconds
        self.fault = fault  # tests inject a failure at a chosen step this way
        # Steps together (``Definition.together``) unless told; apart, every step has its own transaction, as
        # a test that changes an order between two steps needs.
        self.together = definition.together if together is None else together
        # While steps run together: the flows' progress (by flow id) and step log rows to write at the end.
        self._deferred: tuple[dict[int, tuple[Flow, float, str | None, bool]], list[tuple[Any, ...]]] | None = None

    # -- claiming ---------------------------------------------------------------------------------

    def claim(self) -> list[Flow]:
        now = utcnow()
        due = and_(workflows.c.kind == self.definition.kind,
                   workflows.c.status.in_(("running", "compensating")),
                   workflows.c.available_at <= now,
                   or_(workflows.c.locked_until.is_(None), workflows.c.locked_until < now))
        with self.db.write() as conn:
            ids = select(workflows.c.id).where(due).order_by(workflows.c.id).limit(self.batch_size)
            if conn.dialect.name == "postgresql":
                ids = ids.with_for_update(skip_locked=True)
            rows = conn.execute(update(workflows).where(workflows.c.id.in_(ids.scalar_subquery()))
                                .values(locked_until=now + timedelta(seconds=self.lease_seconds))
                                .returning(workflows.c.id, workflows.c.order_id, workflows.c.step,
                                           workflows.c.status, workflows.c.attempts, workflows.c.context,
                                           workflows.c.error)).all()
        return sorted((Flow(r.id, r.order_id, r.step, r.status, r.attempts, orjson.loads(r.context), r.error)
                       for r in rows), key=lambda f: f.id)

    def run_once(self) -> tuple[int, float]:
        """Advance one batch as far as it can go now; returns (workflows touched, seconds to wait)."""
        flows = self.claim()
        if not flows:
            return 0, 0.5
        forward = [f for f in flows if f.status == "running"]
        if self.together:
            forward = self._advance_together(forward)
        while forward:
            forward = self._advance(forward)
        backward = [f for f in flows if f.status == "compensating"]
        while backward:
            backward = self._compensate(backward)
        return len(flows), 0.0

    # -- running forward ----------------------------------------------------------------------------

    def _advance(self, flows: list[Flow]) -> list[Flow]:
        """Run the current step for every flow at it; returns the flows that moved on to another step."""
        moving = []
        for index, group in _by_step(flows):
            moving += self._moving(group, self._run_step(self.definition.steps[index], group))
        return moving

    def _run_step(self, step: Step, flows: list[Flow], *, afresh: bool = False) -> Outcomes:
        """Run one step for these flows; ``afresh``: this is the rerun of a step that found its handed rows
        stale, so a Stale now is a technical failure like any other."""
        outcomes: Outcomes = {}
        try:
            outcomes = self._before(step, flows)
            with self.db.write() as conn:
                self._within(conn, step, flows, outcomes)
        except Exception as exc:  # a technical failure: nothing of this step was committed
            handed = any(f.rows for f in flows)
            for f in flows:
                f.rows.clear()  # what was handed on may be what failed: the next attempt reads afresh
            if isinstance(exc, Stale) and handed and not afresh:
                log.info("workflow_step_stale", step=step.name, workflows=len(flows), reason=str(exc))
                return self._run_step(step, flows, afresh=True)
            if len(flows) > 1:  # find the one that fails; let the others through
                for f in flows:
                    outcomes |= self._run_step(step, [f])
                return outcomes
            self._technical_failure(step, flows[0], exc)
            return {flows[0].id: wait(str(exc), self.retry_seconds)}
        return outcomes

    def _before(self, step: Step, flows: list[Flow]) -> Outcomes:
        """What comes before a step's transaction: the injected faults, then its outside work."""
        outcomes: Outcomes = {}
        if self.fault:
            for f in flows:
                reason = self.fault(step.name, f)
                if reason:
                    outcomes[f.id] = fail(reason)
        todo = [f for f in flows if f.id not in outcomes]
        if step.outside and todo:
            outcomes |= step.outside(todo) or {}
        return outcomes

    def _within(self, conn: Connection, step: Step, flows: list[Flow], outcomes: Outcomes) -> None:
        """A step in the caller's transaction: its work for the flows still ok, then their progress
        (``outcomes`` gains the step's)."""
        todo = [f for f in flows if outcomes.get(f.id, OK).kind == "ok"]
        if todo:
            outcomes |= step.run(conn, todo) or {}
        self._record_forward(conn, step, flows, outcomes)

    def _moving(self, flows: list[Flow], outcomes: Outcomes) -> list[Flow]:
        """The flows that went on to another step of theirs."""
        return [f for f in flows if f.status == "running" and outcomes.get(f.id, OK).kind == "ok"
                and f.step < len(self.definition.steps)]

    # -- running forward, steps together ----------------------------------------------------------------

    def _advance_together(self, flows: list[Flow]) -> list[Flow]:
        """Run the flows forward in as few transactions as their steps allow (``Definition.together``);
        returns the flows left to go on step by step: none, unless a step raised.

        A transaction ends before a step's outside work (no call to another service is made inside one)
        and where the flows stop. When a step raises, the transaction rolls back whole: the flows are read
        back as last committed and go on step by step, where a failure is dealt with one step and one flow
        at a time as ever (a stale handed row is read afresh, a flow that raises is retried alone). A
        process that dies mid-transaction leaves its flows at the last committed step, to be redone by the
        worker that takes them next."""
        while flows:
            try:
                flows = self._together(flows)
            except Exception as exc:
                log.info("workflow_steps_together_failed", workflows=len(flows), error=f"{type(exc).__name__}: {exc}")
                self._reload(flows)
                return [f for f in flows if f.status == "running"]
        return []

    def _together(self, flows: list[Flow]) -> list[Flow]:
        """One transaction: the step each flow is at (its outside work done before), then the steps after
        it up to one with outside work; returns the flows that stopped before such a step. The flows'
        progress and step log are written once, as the transaction ends."""
        steps = self.definition.steps
        first = [(steps[index], group, self._before(steps[index], group)) for index, group in _by_step(flows)]
        stopped: list[Flow] = []
        self._deferred = deferred = ({}, [])
        try:
            with self.db.write() as conn:
                moving: list[Flow] = []
                for step, group, outcomes in first:  # each group at its own step, as _advance takes them
                    self._within(conn, step, group, outcomes)
                    moving += self._moving(group, outcomes)
                while moving:
                    going = moving
                    moving = []
                    for index, group in _by_step(going):
                        step = steps[index]
                        if step.outside and (step.calls_out is None or step.calls_out(group)):
                            stopped += group  # its outside work waits until this transaction has committed
                            continue
                        outcomes = self._before(step, group)
                        self._within(conn, step, group, outcomes)
                        moving += self._moving(group, outcomes)
                self._deferred = None
                self._progress(conn, list(deferred[0].values()), deferred[1], utcnow())
        finally:
            self._deferred = None
        return stopped

    def _reload(self, flows: list[Flow]) -> None:
        """Put the flows back as last committed (their step, status, context), with no handed rows."""
        with self.db.read() as conn:
            found = {r.id: r for r in conn.execute(
                select(workflows.c.id, workflows.c.step, workflows.c.status, workflows.c.attempts,
                       workflows.c.context, workflows.c.error).where(workflows.c.id.in_([f.id for f in flows])))}
        for f in flows:
            r = found[f.id]
            f.step, f.status, f.attempts, f.context, f.error = (r.step, r.status, r.attempts, orjson.loads(r.context),
                                                                r.error)
            f.rows.clear()

    def _record_forward(self, conn: Connection, step: Step, flows: list[Flow], outcomes: Outcomes) -> None:
        now = utcnow()
        last = len(self.definition.steps) - 1
        completed = []
        compensating = []
        saves = []
        log_rows = []
        for f in flows:
            outcome = outcomes.get(f.id, OK)
            log_rows.append((f.id, step.name, "run", outcome.kind, outcome.reason, now))
            if outcome.kind == "ok":
                f.step += 1
                f.status = "completed" if f.step > last else "running"
                if f.status == "completed":
                    completed.append(f)
            elif outcome.kind == "fail":
                f.status, f.error = "compensating", outcome.reason
                f.step -= 1  # the failed step committed nothing: compensate the ones before it
                compensating.append(f)
            waiting = outcome.kind == "wait"
            saves.append((f, outcome.seconds if waiting else 0.0, outcome.reason if waiting else None, waiting))
        self._progress(conn, saves, log_rows, now)
        if completed and self.definition.on_completed:
            self.definition.on_completed(conn, completed)
        if any(f.step < 0 for f in compensating):  # failed at the first step: nothing to undo
            self._finish_compensation(conn, [f for f in compensating if f.step < 0], now)

    def _technical_failure(self, step: Step, flow: Flow, exc: Exception) -> None:
        """An exception (database blip, bug): retry later; after max_attempts, compensate."""
        flow.attempts += 1
        error = f"{step.name}: {type(exc).__name__}: {exc}"
        log.warning("workflow_step_error", workflow=flow.id, order=flow.order_id, step=step.name, error=error,
                    attempt=flow.attempts)
        with self.db.write() as conn:
            if flow.attempts >= self.max_attempts:
                flow.status, flow.error = "compensating", f"gave up after {flow.attempts} attempts: {error}"
                flow.step -= 1
            self._save(conn, flow, utcnow(), delay=self.retry_seconds * flow.attempts, note=error, release=True)
            conn.execute(insert(workflow_steps).values(workflow_id=flow.id, step=step.name, action="run",
                                                       outcome="error", detail=error, at=utcnow()))
            if flow.step < 0:
                self._finish_compensation(conn, [flow], utcnow())

    # -- compensating ---------------------------------------------------------------------------------

    def _compensate(self, flows: list[Flow]) -> list[Flow]:
        """Undo the current step of every compensating flow; returns those with more to undo."""
        by_step: dict[int, list[Flow]] = {}
        for f in flows:
            by_step.setdefault(f.step, []).append(f)
        stuck: set[int] = set()
        for index, group in sorted(by_step.items(), reverse=True):
            step = self.definition.steps[index]
            try:
                if step.compensate_outside:
                    step.compensate_outside(group)  # idempotent calls, repeated safely after a crash
                now = utcnow()
                with self.db.write() as conn:
                    if step.compensate:
                        step.compensate(conn, group)
                    for f in group:
                        f.step -= 1
                    self._save_many(conn, [(f, 0.0, None, False) for f in group], now)
                    bulk.insert_tuples(conn, workflow_steps, _LOG_COLUMNS,
                                       [(f.id, step.name, "compensate", "ok", None, now) for f in group])
                    self._finish_compensation(conn, [f for f in group if f.step < 0], now)
            except Exception as exc:  # the gateway is down, say: undoing must finish, so try again later
                for f in group:
                    f.step = index  # the write above rolled back
                self._compensation_failure(step, group, exc)
                stuck |= {f.id for f in group}
        return [f for f in flows if f.step >= 0 and f.id not in stuck]

    def _compensation_failure(self, step: Step, flows: list[Flow], exc: Exception) -> None:
        """Keep the flows compensating at this step; retry with growing delays (never give up: what was
        done must be undone). The error shows on the workflow and in its step log."""
        error = f"undo {step.name}: {type(exc).__name__}: {exc}"
        now = utcnow()
        for f in flows:
            f.attempts += 1
            log.warning("workflow_compensation_error", workflow=f.id, order=f.order_id, step=step.name, error=error,
                        attempt=f.attempts)
        with self.db.write() as conn:
            self._save_many(conn, [(f, min(COMPENSATION_RETRY_MAX, self.retry_seconds * 2 ** min(f.attempts, 16)),
                                    error, True) for f in flows], now)
            bulk.insert_tuples(conn, workflow_steps, _LOG_COLUMNS,
                               [(f.id, step.name, "compensate", "error", error, now) for f in flows])

    def _finish_compensation(self, conn: Connection, flows: list[Flow], now: Any) -> None:
        if not flows:
            return
        for f in flows:
            f.status = "compensated"
        self._progress(conn, [(f, 0.0, None, False) for f in flows], [], now)
        if self.definition.on_compensated:
            self.definition.on_compensated(conn, flows)

    def _progress(self, conn: Connection, saves: list[tuple[Flow, float, str | None, bool]],
                  log_rows: list[tuple[Any, ...]], now: Any) -> None:
        """Write the flows' progress and step log now, or, while steps run together, when their transaction
        ends: once for a flow, as it stands last (what a step before wrote of it would be overwritten in the
        same transaction anyway)."""
        if self._deferred is None:
            self._save_many(conn, saves, now)
            bulk.insert_tuples(conn, workflow_steps, _LOG_COLUMNS, log_rows)
            return
        saved, logged = self._deferred
        saved |= {item[0].id: item for item in saves}
        logged += log_rows

    def _save(self, conn: Connection, f: Flow, now: Any, *, delay: float = 0.0, note: str | None = None,
              release: bool = False) -> None:
        self._save_many(conn, [(f, delay, note, release)], now)

    def _save_many(self, conn: Connection, items: list[tuple[Flow, float, str | None, bool]], now: Any) -> None:
        """Write flows' progress in one statement per batch; the lease is kept while this worker carries on."""
        sqlite = conn.dialect.name == "sqlite"
        rows = []
        dues: dict[float, Any] = {}  # delay -> when due, as written: most flows of a batch share one
        for f, delay, note, release in items:
            due = dues.get(delay)
            if due is None:
                due = now + timedelta(seconds=delay)
                due = dues[delay] = sqlite_time(due) if sqlite else due
            rows.append((f.id, f.step if f.status == "compensating" else max(f.step, 0), f.status,
                         orjson.dumps(f.context).decode(), f.error if f.error is not None else note, f.attempts,
                         due, release or f.status in ("completed", "compensated")))
        for chunk in bulk.chunks(conn, rows, len(_PROGRESS_TYPES)):
            progress, params = bulk.source(conn, _PROGRESS_TYPES, chunk, "progress")
            conn.exec_driver_sql(_save_sql(progress, "?" if sqlite else "%s"),
                                 (sqlite_time(now) if sqlite else now, *params))


# A step log row's values (workflow_steps), in this order.
_LOG_COLUMNS = ("workflow_id", "step", "action", "outcome", "detail", "at")
# id, step, status, context, error, attempts, available_at, whether to release the lease
_PROGRESS_TYPES = ("BIGINT", "INTEGER", "VARCHAR(16)", "TEXT", "TEXT", "INTEGER", "TIMESTAMP WITH TIME ZONE",
                   "BOOLEAN")


@functools.lru_cache(maxsize=64)
def _save_sql(progress: str, mark: str) -> str:
    """``UPDATE workflows ... FROM`` the flows' progress (``bulk.source``: columns in ``_PROGRESS_TYPES``'
    order); the time of the update is the first parameter."""
    return (f"UPDATE workflows SET updated_at = {mark}, step = progress.column2, status = progress.column3, "
            "context = progress.column4, error = progress.column5, attempts = progress.column6, "
            "available_at = progress.column7, "
            "locked_until = CASE WHEN progress.column8 THEN NULL ELSE workflows.locked_until END "
            f"FROM {progress} WHERE workflows.id = progress.column1")

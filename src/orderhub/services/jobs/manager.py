"""The job manager: schedules tick into queued runs; any node runs them, one at a time per job and shop.

Ticking and running are separate. A scheduler (any number, on any nodes) moves each
due schedule past its tick with a compare-and-set and queues one run for it - never
a second while one still waits, so runs do not pile up after downtime. Executors
claim queued runs, run them with a heartbeat, and record counts, logs, files and
the outcome; a run whose node stopped beating, or that passed its deadline, is
ended by whichever node notices and retried as its policy says. A run that
succeeds queues the jobs chained after it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
import structlog

from orderhub.adapters.store import job_store
from orderhub.adapters.store.shops import Shop, by_id
from orderhub.bootstrap import Hub
from orderhub.clock import utcnow
from orderhub.domain.jobs import COUNTS, Cadence, Definition, MissedPolicy, Policy, due, validate_params
from orderhub.metrics import JOB_RUN_SECONDS, JOB_RUNS
from orderhub.services import shop_versions
from orderhub.services.jobs import registry
from orderhub.services.jobs.context import JobAborted, JobContext
from orderhub.services.progress import Latest, Progress, Sink, State

log = structlog.get_logger(__name__)


class JobBusy(Exception):
    def __init__(self, job: str, running_run: int | None) -> None:
        self.running_run = running_run
        super().__init__(f"job {job} is already running (run {running_run}) and does not allow overlapping runs; "
                         "wait for it, or release it if its node died")


@dataclass(frozen=True)
class RunResult:
    run_id: int
    status: str  # succeeded | failed | timed_out | cancelled
    stats: dict[str, Any]
    error: str | None = None


def policy_for(definition: Definition, schedule: Any = None) -> Policy:
    """The job's policy with the schedule's overrides."""
    p = definition.policy
    if schedule is None:
        return p
    return Policy(
        allow_overlap=p.allow_overlap if schedule.allow_overlap is None else bool(schedule.allow_overlap),
        timeout_seconds=schedule.timeout_seconds or p.timeout_seconds,
        max_retries=p.max_retries if schedule.max_retries is None else schedule.max_retries,
        retry_delay_seconds=p.retry_delay_seconds,
        missed=MissedPolicy(schedule.missed_policy) if schedule.missed_policy else p.missed)


def one_line(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}".replace("\n", " ").strip()
    return text[:1000]


class JobManager:
    def __init__(self, hub: Hub, *, heartbeat_seconds: float = 10.0, dead_after_seconds: float = 60.0,
                 progress_seconds: float = 1.0) -> None:
        self.hub = hub
        self.heartbeat_seconds = heartbeat_seconds
        self.progress_seconds = min(progress_seconds, heartbeat_seconds)
        self.dead_after = timedelta(seconds=dead_after_seconds)

    # -- scheduling ----------------------------------------------------------------------------------

    def schedule(self, job: str, shops: Sequence[Shop | None], *, expression: str | None = None, tz: str = "UTC",
                 start: datetime | None = None, params: dict[str, Any] | None = None, enabled: bool = True,
                 missed: MissedPolicy | None = None, allow_overlap: bool | None = None,
                 timeout_seconds: int | None = None, max_retries: int | None = None) -> list[int]:
        """Schedule a job for each of these shops (None: the hub), replacing earlier schedules of it."""
        definition = registry.get(job).definition
        now = utcnow()
        cadence = Cadence(expression or definition.default_schedule, tz)
        definition.check_cadence(cadence, now)
        validate_params(job, definition.params, params or {})
        for shop in shops:
            if definition.per_shop and shop is None:
                raise ValueError(f"job {job} runs per shop: name the shop(s)")
            if not definition.per_shop and shop is not None:
                raise ValueError(f"job {job} runs for the whole hub, not per shop")
        start_at = start or now
        first = start_at if cadence.interval() else cadence.next_after(start_at - timedelta(microseconds=1))
        ids = []
        with self.hub.db.write() as conn:
            for shop in shops:
                ids.append(job_store.save_schedule(conn, dict(
                    job=job, shop_id=shop.id if shop else None, scope=shop.id if shop else 0,
                    expression=cadence.expression, timezone=tz, start_at=start_at, enabled=enabled, skip_next=False,
                    params=orjson.dumps(params or {}).decode(), missed_policy=missed.value if missed else None,
                    allow_overlap=allow_overlap, timeout_seconds=timeout_seconds, max_retries=max_retries,
                    next_run_at=first)))
        return ids

    def tick(self, now: datetime | None = None) -> int:
        """Queue the runs of every schedule whose tick has come; returns how many were queued."""
        now = now or utcnow()
        with self.hub.db.read() as conn:
            if job_store.paused(conn):
                return 0  # ticks wait; on resume the missed-tick policy decides
            schedules = job_store.due_schedules(conn, now)
        return sum(self._tick_one(s, now) for s in schedules)

    def tick_step(self) -> tuple[int, float]:
        """One round of a scheduler loop: queue what is due, then sleep until the next tick (at most 1 s)."""
        queued = self.tick()
        with self.hub.db.read() as conn:
            soonest = job_store.next_tick(conn)
        wait = 1.0 if soonest is None else (soonest - utcnow()).total_seconds()
        return queued, min(1.0, max(0.02, wait))

    def _tick_one(self, s: Any, now: datetime) -> int:
        try:
            job = registry.get(s.job)
        except LookupError:
            log.warning("schedule_of_unknown_job", job=s.job, schedule=s.id)
            return 0
        policy = policy_for(job.definition, s)
        cadence = Cadence(s.expression, s.timezone)
        decision = due(cadence, s.next_run_at, now, policy.missed)
        with self.hub.db.write() as conn:
            if not job_store.advance(conn, s.id, s.next_run_at, decision.next_tick):
                return 0  # another node took this tick
            if decision.missed:
                log.info("job_ticks_missed", job=s.job, scope=s.scope, missed=decision.missed, policy=policy.missed)
            if decision.tick is None:
                return 0
            if s.skip_next:
                job_store.queue(conn, job=s.job, shop_id=s.shop_id, params=s.params, trigger="schedule",
                                available_at=now, schedule_id=s.id, tick_at=decision.tick, status="skipped",
                                error="skipped once, as asked")
                return 0
            waiting = job_store.waiting_run(conn, s.job, s.scope)
            if waiting is not None:  # the run of an earlier tick has not even started: do not pile up
                log.info("job_tick_coalesced", job=s.job, scope=s.scope, waiting_run=waiting.id)
                return 0
            queued = job_store.queue(conn, job=s.job, shop_id=s.shop_id, params=s.params, trigger="schedule",
                                     available_at=now, schedule_id=s.id, tick_at=decision.tick)
        return 1 if queued else 0

    # -- running ---------------------------------------------------------------------------------------

    def work_once(self, now: datetime | None = None) -> tuple[int, float]:
        """End stale runs, then run one queued run that is due. Returns (runs run, seconds to wait)."""
        self.reap(now)
        with self.hub.db.read() as conn:
            candidates = job_store.due_run_ids(conn, now or utcnow())  # after the reap: its retries count
        for run_id in candidates:
            result = self._claim_and_run(run_id)
            if result is not None:
                return 1, 0.0
        return 0, 0.2  # a queued run waits at most this long for an idle node

    def run_now(self, job: str, shop: Shop | None, params: dict[str, Any], *, trigger: str = "manual",
                progress: Sequence[Sink] = ()) -> RunResult:
        """Run a job here and now (whatever its schedule says), and wait for it. ``progress``: sinks that
        show the run's progress as it goes (a terminal's bar), beside its row's."""
        definition = registry.get(job).definition
        if definition.per_shop and shop is None:
            raise ValueError(f"job {job} runs per shop: pass --shop DOMAIN")
        validate_params(job, definition.params, params)
        # Queued and claimed in one transaction: no other node (an embedded worker polling the
        # queue) ever sees it queued, so it runs here.
        with self.hub.db.write() as conn:
            run_id = job_store.queue(conn, job=job, shop_id=shop.id if shop else None,
                                     params=orjson.dumps(params).decode(), trigger=trigger, available_at=utcnow())
            assert run_id is not None
            claimed = self._claim(conn, run_id, refuse_busy=True)
        result = self._run_claimed(claimed, refuse_busy=True, progress=progress)
        assert result is not None  # claimed in the transaction that queued it
        return result

    def _claim_and_run(self, run_id: int, *, refuse_busy: bool = False) -> RunResult | None:
        with self.hub.db.write() as conn:
            claimed = self._claim(conn, run_id, refuse_busy=refuse_busy)
        return self._run_claimed(claimed, refuse_busy=refuse_busy)

    def _claim(self, conn: Any, run_id: int, *, refuse_busy: bool) -> tuple[Any, Any, Any, Policy] | None:
        """(job, run row, claim, policy) of a queued run this node takes; None when it is not to be run."""
        row = job_store.get_run(conn, run_id)
        if row is None or row.status != "queued":
            return None
        try:
            job = registry.get(row.job)
        except LookupError as exc:  # e.g. a plugin module was removed: say so, do not block the queue
            job_store.cancel_queued(conn, run_id, error=one_line(exc))
            return None
        schedule = job_store.schedule_by_id(conn, row.schedule_id) if row.schedule_id else None
        policy = policy_for(job.definition, schedule)
        claim = job_store.claim(conn, row, node=self.hub.node, now=utcnow(),
                                timeout_seconds=policy.timeout_seconds, exclusive=not policy.allow_overlap)
        if claim is not None and claim.busy_with is not None and refuse_busy:  # kept, for the record
            job_store.cancel_queued(conn, run_id, error=f"job already running (run {claim.busy_with})")
        return None if claim is None else (job, row, claim, policy)

    def _run_claimed(self, claimed: tuple[Any, Any, Any, Policy] | None, *, refuse_busy: bool,
                     progress: Sequence[Sink] = ()) -> RunResult | None:
        if claimed is None:
            return None
        job, row, claim, policy = claimed
        if claim.busy_with is not None:
            if refuse_busy:
                raise JobBusy(row.job, claim.busy_with)
            return None  # it waits in the queue until the running one ends
        return self._execute(job, claim.run, policy, progress)

    def _execute(self, job: registry.Job, run: Any, policy: Policy, sinks: Sequence[Sink] = ()) -> RunResult:
        definition = job.definition
        with self.hub.db.read() as conn:
            shop = by_id(conn, run.shop_id) if run.shop_id else None
        row_progress = Latest()  # written to the run's row by the heartbeat thread
        ctx = JobContext(self.hub, shop, {}, run.id,
                         progress=Progress(run.job + (f" ({shop.domain})" if shop else ""), [row_progress, *sinks]))
        log.info("job_started", job=run.job, run_id=run.id, shop=shop.domain if shop else None, trigger=run.trigger,
                 attempt=run.attempt)
        if shop is not None:  # a shop whose Shopify API version leaves support soon: said in the log and the run's
            for state in shop_versions.warn([shop_versions.state_of(shop, shop_versions.today())], job=run.job,
                                            run_id=run.id):
                ctx.log(state.message, "warning")
        began = time.monotonic()
        stop = threading.Event()
        beat = threading.Thread(target=self._beat, args=(ctx, row_progress, stop), name=f"job-{run.id}-heartbeat",
                                daemon=True)
        beat.start()
        status, error, stats = "succeeded", None, {}
        try:
            ctx.params = validate_params(run.job, definition.params, orjson.loads(run.params))
            self._check_requirements(definition, run)
            stats = job.run(ctx) or {}
        except JobAborted as exc:
            status, error = "aborted", str(exc)
        except Exception as exc:  # the job failed: recorded in one line, retried by policy
            status, error = "failed", one_line(exc)
            log.warning("job_failed", job=run.job, run_id=run.id, error=error)
        finally:
            stop.set()
            beat.join()
            ctx.progress.close()
        counts = self._counts(ctx, stats, definition)
        with self.hub.db.write() as conn:
            job_store.add_logs(conn, run.id, ctx.take_lines())
            self._record_progress(conn, run.id, row_progress.take())
            for kind, name, content in ctx.files():
                job_store.put_file(conn, run.id, kind, name, content)
            if status == "aborted":
                return RunResult(run.id, "aborted", stats, error)
            if not job_store.finish(conn, run.id, self.hub.node, status=status, counts=counts,
                                    stats=orjson.dumps(stats, default=str).decode(), error=error,
                                    input_file=ctx.input_name):
                return RunResult(run.id, "aborted", stats, "the run was taken from this node")
            if status == "failed":
                self._retry(conn, run, policy)
            self._chain(conn, run, status)
        JOB_RUNS.labels(run.job, status).inc()
        JOB_RUN_SECONDS.labels(run.job).observe(time.monotonic() - began)
        log.info("job_finished", job=run.job, run_id=run.id, status=status, **counts.__dict__)
        return RunResult(run.id, status, stats, error)

    def _check_requirements(self, definition: Definition, run: Any) -> None:
        with self.hub.db.read() as conn:
            missing = [r for r in definition.requires if not job_store.succeeded_once(conn, r, run.scope)]
        if missing:
            raise RuntimeError(f"job {definition.name} needs a successful run of {', '.join(missing)} first "
                               "(for this shop); run that, then this")

    @staticmethod
    def _counts(ctx: JobContext, stats: dict[str, Any], definition: Definition) -> job_store.Counts:
        """Counts the job reported, or, for jobs that return them in their statistics, the statistics its
        definition names for them (``read``, ``processed``, ``skipped``, ``failed`` unless it says others)."""
        for key in COUNTS:
            value = stats.get(definition.count_key(key))
            if not ctx.counts[key] and isinstance(value, int) and not isinstance(value, bool):
                ctx.counts[key] = value
        return ctx.result_counts()

    def _record_progress(self, conn: Any, run_id: int, state: State | None) -> None:
        if state is not None:
            job_store.record_progress(conn, run_id, self.hub.node, done=state.done, total=state.total,
                                      unit=state.unit, at=utcnow())

    def _beat(self, ctx: JobContext, progress: Latest, stop: threading.Event) -> None:
        """Every ``progress_seconds``: the progress, if it moved; every ``heartbeat_seconds``: the heartbeat and
        the log, and whether the run is still this node's."""
        next_beat = time.monotonic() + self.heartbeat_seconds
        while not stop.wait(self.progress_seconds):
            beat = time.monotonic() >= next_beat
            state = progress.take()
            if state is None and not beat:
                continue
            try:
                with self.hub.db.write() as conn:
                    self._record_progress(conn, ctx.run_id, state)
                    if beat:
                        alive = job_store.heartbeat(conn, ctx.run_id, self.hub.node, utcnow())
                        job_store.add_logs(conn, ctx.run_id, ctx.take_lines())
            except Exception as exc:  # a database blip: try again at the next beat
                log.warning("job_heartbeat_failed", run_id=ctx.run_id, error=one_line(exc))
                continue
            if beat:
                next_beat = time.monotonic() + self.heartbeat_seconds
                if not alive:
                    ctx.abort()
                    return

    def _retry(self, conn: Any, run: Any, policy: Policy) -> int | None:
        if run.attempt > policy.max_retries:
            return None
        return job_store.queue(conn, job=run.job, shop_id=run.shop_id, params=run.params, trigger="retry",
                               available_at=utcnow() + timedelta(seconds=policy.retry_delay_seconds),
                               attempt=run.attempt + 1, parent_run_id=run.id)

    def _chain(self, conn: Any, run: Any, status: str) -> None:
        for chain in job_store.chains(conn, upstream=run.job):
            if status != "succeeded" and chain.trigger_on != "finished":
                continue
            try:
                downstream = registry.get(chain.downstream_job).definition
            except LookupError:
                log.warning("chain_to_unknown_job", upstream=run.job, downstream=chain.downstream_job)
                continue
            job_store.queue(conn, job=chain.downstream_job, shop_id=run.shop_id if downstream.per_shop else None,
                            params=chain.params, trigger="chain",
                            available_at=utcnow() + timedelta(seconds=chain.delay_seconds), parent_run_id=run.id)

    # -- stale runs ------------------------------------------------------------------------------------

    def reap(self, now: datetime | None = None) -> int:
        """End runs whose node stopped beating (it died) or that passed their deadline; retry by policy."""
        now = now or utcnow()
        with self.hub.db.read() as conn:
            stale = job_store.stale_runs(conn, now, self.dead_after)
        ended = 0
        for run in stale:
            if run.deadline_at is not None and run.deadline_at < now:
                status = "timed_out"
                error = f"timed out: still running at its deadline {run.deadline_at.isoformat()} on {run.node}"
            else:
                status = "failed"
                error = (f"worker {run.node} died: no heartbeat since "
                         f"{run.heartbeat_at.isoformat() if run.heartbeat_at else 'it started'}")
            with self.hub.db.write() as conn:
                row = job_store.end_running(conn, run.id, status=status, error=error)
                if row is None:
                    continue
                ended += 1
                JOB_RUNS.labels(run.job, status).inc()
                log.warning("job_run_ended", run_id=run.id, job=run.job, status=status, error=error)
                try:
                    definition = registry.get(run.job).definition
                except LookupError:
                    continue
                schedule = job_store.schedule_by_id(conn, run.schedule_id) if run.schedule_id else None
                self._retry(conn, row, policy_for(definition, schedule))
        return ended

    def release(self, run_id: int, *, by: str) -> Any:
        """A person ends a run left 'running' by a node that is gone (it is not retried)."""
        with self.hub.db.write() as conn:
            row = job_store.end_running(conn, run_id, status="failed", error=f"released by {by}")
        if row is None:
            raise LookupError(f"run {run_id} is not running")
        return row

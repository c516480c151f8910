"""What the console's job manager pages show, read in one go per page, and a run started from the
console (in the background, so the page does not wait for a long job).

Reads use the job manager's store (:mod:`orderhub.adapters.store.job_store`) and its catalogue; the few
queries it lacks (a run's follow-up runs, one file of a run, failing last runs) are here.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import structlog
from sqlalchemy import Connection, select

from orderhub.adapters.store import job_store, shops
from orderhub.adapters.store.db import Database
from orderhub.adapters.store.schema import job_run_files, job_runs
from orderhub.adapters.store.shops import Shop
from orderhub.bootstrap import Hub
from orderhub.clock import utcnow
from orderhub.domain.jobs import CATEGORIES, Cadence, Category, Definition, Policy, validate_params
from orderhub.services import webhook_categories
from orderhub.services.jobs import registry
from orderhub.services.jobs.manager import JobBusy, JobManager, policy_for
from orderhub.services.progress import State, line

log = structlog.get_logger(__name__)

FAILING = ("failed", "timed_out")
ACTIVE = ("queued", "running")
RUN_STATUSES = ("queued", "running", "succeeded", "failed", "timed_out", "cancelled", "skipped")
HISTORY_PAGE = 25


def load(value: str | None) -> dict[str, Any]:
    """A JSON object column (params, stats) as a dict; anything else as ``{"value": ...}``."""
    data = orjson.loads(value or "{}")
    return data if isinstance(data, dict) else {"value": data}


def cadence_text(expression: str) -> str:
    """The cron expression a named frequency stands for, to show beside it ('' when it is one)."""
    try:
        cadence = Cadence(expression)
    except ValueError:
        return ""
    if cadence.interval() is not None or cadence.cron() == expression:
        return ""
    return cadence.cron()


def duration_text(seconds: float | None) -> str:
    """``95`` -> ``1 min 35 s``; ``7200`` -> ``2 h``."""
    if seconds is None:
        return "—"
    left, parts = int(seconds), []
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if left >= size:
            parts.append(f"{left // size} {unit}")
            left %= size
    if left or not parts:
        parts.append(f"{left} s" if parts or seconds >= 1 else f"{seconds:.2f} s")
    return " ".join(parts[:2])


# -- one job for one shop (or the hub) -------------------------------------------------------------------

@dataclass(frozen=True)
class Line:
    """A job for one scope: its schedule (if any), its newest run that started, and one waiting."""

    definition: Definition
    shop: Shop | None  # None: the hub (a job that is not per shop)
    schedule: Any  # job_schedules row or None
    last: Any  # job_runs row (newest not queued) or None
    waiting: Any  # the oldest queued run, or None
    paused: bool

    @property
    def scope(self) -> int:
        return self.shop.id if self.shop else 0

    @property
    def domain(self) -> str:
        return self.shop.domain if self.shop else ""

    @property
    def enabled(self) -> bool:
        return bool(self.schedule is not None and self.schedule.enabled)

    @property
    def next_run_at(self) -> datetime | None:
        """When its schedule runs it next (None: not scheduled, disabled or every schedule paused)."""
        return self.schedule.next_run_at if self.enabled and not self.paused else None

    @property
    def schedule_params(self) -> dict[str, Any]:
        return load(self.schedule.params) if self.schedule is not None else {}

    @property
    def next_run_local(self) -> str:
        """The next run in the schedule's own timezone (what 'daily' means there)."""
        if self.next_run_at is None:
            return ""
        local = self.next_run_at.astimezone(ZoneInfo(self.schedule.timezone))
        return f"{local:%Y-%m-%d %H:%M} {self.schedule.timezone}"

    @property
    def needs_input(self) -> bool:
        """A required parameter that its schedule does not give: 'run now' needs the job's form."""
        given = self.schedule_params
        return any(p.required and given.get(p.name) in (None, "") for p in self.definition.params)

    @property
    def failing(self) -> bool:
        return self.last is not None and self.last.status in FAILING


def _lines(conn: Connection, definition: Definition, all_shops: list[Shop], schedules: Mapping[tuple[str, int], Any],
           last: Mapping[tuple[str, int], Any], paused: bool) -> list[Line]:
    targets: list[Shop | None] = list(all_shops) if definition.per_shop else [None]
    out = []
    for shop in targets:
        scope = shop.id if shop else 0
        out.append(Line(definition, shop, schedules.get((definition.name, scope)), last.get((definition.name, scope)),
                        job_store.waiting_run(conn, definition.name, scope), paused))
    return out


def _context(conn: Connection) -> tuple[list[Shop], dict[tuple[str, int], Any], dict[tuple[str, int], Any], bool]:
    all_shops = sorted(shops.all_shops(conn), key=lambda s: s.domain)
    schedules = {(s.job, s.scope): s for s in job_store.all_schedules(conn)}
    return all_shops, schedules, job_store.last_runs(conn), job_store.paused(conn)


# -- /jobs ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CategoryTile:
    category: Category
    jobs: int
    failing: int  # (job, shop) pairs whose newest run failed or timed out
    running: int
    scheduled: int  # enabled schedules


def overview(db: Database) -> tuple[list[CategoryTile], bool]:
    """Each category with its counts, and whether every schedule is paused."""
    with db.read() as conn:
        schedules = job_store.all_schedules(conn)
        last = job_store.last_runs(conn)
        running = list(conn.execute(select(job_runs.c.job).where(job_runs.c.status == "running")))
        paused = job_store.paused(conn)
    tiles = []
    for c in CATEGORIES:
        names = {j.name for j in registry.all_jobs(c.code)}
        tiles.append(CategoryTile(
            c, len(names),
            sum(1 for (name, _scope), run in last.items() if name in names and run.status in FAILING),
            sum(1 for r in running if r.job in names),
            sum(1 for s in schedules if s.job in names and s.enabled)))
    return tiles, paused


# -- /jobs/category/{code} --------------------------------------------------------------------------------

@dataclass(frozen=True)
class ShopWebhooks:
    shop: Shop
    records: list[webhook_categories.Record]

    @property
    def by_topic(self) -> dict[str, webhook_categories.Record]:
        return {r.topic: r for r in self.records}

    @property
    def address(self) -> str | None:
        return self.records[0].callback_url if self.records else None


@dataclass(frozen=True)
class CategoryView:
    category: Category
    jobs: list[tuple[Definition, list[Line]]]
    shops: list[Shop]
    webhooks: list[ShopWebhooks]
    paused: bool


def category_view(db: Database, code: str) -> CategoryView:
    """The category's jobs, each per shop where it runs per shop, and its webhook records per shop."""
    category = next(c for c in CATEGORIES if c.code == code)
    with db.read() as conn:
        all_shops, schedules, last, paused = _context(conn)
        jobs = [(j.definition, _lines(conn, j.definition, all_shops, schedules, last, paused))
                for j in registry.all_jobs(code)]
        hooks = [ShopWebhooks(s, webhook_categories.records(conn, s.id, code)) for s in all_shops] \
            if category.topics else []
    return CategoryView(category, jobs, all_shops, hooks, paused)


# -- /jobs/{name} -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class JobView:
    definition: Definition
    category: Category
    policy: Policy
    lines: list[Line]
    chains: list[Any]
    runs: list[Any]
    domains: dict[int, str]
    next_before: int | None  # the id to page on from, when there are older runs
    paused: bool
    shops: list[Shop] = field(default_factory=list)


def job_view(db: Database, name: str, *, status: str | None = None, before: int | None = None,
             limit: int = HISTORY_PAGE) -> JobView:
    """A job with its schedules per scope, its chains and a page of its runs, newest first."""
    definition = registry.get(name).definition
    with db.read() as conn:
        all_shops, schedules, last, paused = _context(conn)
        lines = _lines(conn, definition, all_shops, schedules, last, paused)
        chains = [c for c in job_store.chains(conn) if name in (c.upstream_job, c.downstream_job)]
        runs = job_store.history(conn, job=name, status=status, limit=limit + 1, before_id=before)
    more = len(runs) > limit
    runs = runs[:limit]
    return JobView(definition, next(c for c in CATEGORIES if c.code == definition.category),
                   policy_for(definition), lines, chains, runs, {s.id: s.domain for s in all_shops},
                   runs[-1].id if more else None, paused, all_shops)


# -- /jobs/runs/{id} ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RunView:
    run: Any
    domain: str | None
    params: dict[str, Any]
    stats: dict[str, Any]
    log: list[Any]
    files: list[Any]
    error_entries: list[int]
    followers: list[Any]  # runs it retried or chained into
    category: Category | None  # None: a job no longer in the catalogue

    @property
    def active(self) -> bool:
        return self.run.status in ACTIVE

    @property
    def duration(self) -> float | None:
        if self.run.started_at is None:
            return None
        return ((self.run.finished_at or utcnow()) - self.run.started_at).total_seconds()

    @property
    def progress(self) -> RunProgress | None:
        return progress_of(self.run)


@dataclass(frozen=True)
class RunProgress:
    """How far a run got, as its node last wrote it (about once a second while it runs)."""

    done: int
    total: int | None  # None: the job does not know how much there is
    unit: str
    updated_at: datetime
    rate: float | None  # units a second since the run started
    seconds_left: float | None
    text: str  # "import-orders: 1,200 of 5,000 orders (240/s, about 16 s left)"

    @property
    def percent(self) -> float | None:
        return None if not self.total else min(100.0, 100.0 * self.done / self.total)

    def as_dict(self) -> dict[str, Any]:
        return {"done": self.done, "total": self.total, "unit": self.unit, "updated_at": self.updated_at.isoformat(),
                "rate_per_second": None if self.rate is None else round(self.rate, 2),
                "seconds_left": None if self.seconds_left is None else round(self.seconds_left),
                "percent": None if self.percent is None else round(self.percent, 1), "text": self.text}


def progress_of(run: Any) -> RunProgress | None:
    """The progress recorded on a run's row; None when it reported none."""
    if run.progress_at is None or run.progress_done is None:
        return None
    started = run.started_at or run.progress_at
    state = State(run.job, done=int(run.progress_done), total=run.progress_total, unit=run.progress_unit or "items",
                  started=started.timestamp(), at=run.progress_at.timestamp(), finished=run.status not in ACTIVE)
    return RunProgress(state.done, state.total, state.unit, run.progress_at, state.rate, state.seconds_left,
                       line(state))


def run_progress(db: Database, run_id: int) -> dict[str, Any] | None:
    """A run's status, counts and progress, for the console's run page to follow it (JSON)."""
    with db.read() as conn:
        run = job_store.get_run(conn, run_id)
    if run is None:
        return None
    found = progress_of(run)
    return {"run_id": run.id, "job": run.job, "status": run.status,
            "counts": {"read": run.read_count, "processed": run.processed_count, "skipped": run.skipped_count,
                       "failed": run.failed_count},
            "progress": None if found is None else found.as_dict()}


def run_row(db: Database, run_id: int) -> tuple[Any, str | None] | None:
    """One run (for its row in a history) and its shop's domain."""
    with db.read() as conn:
        row = job_store.get_run(conn, run_id)
        shop = shops.by_id(conn, row.shop_id) if row is not None and row.shop_id else None
    return None if row is None else (row, shop.domain if shop else None)


def run_view(db: Database, run_id: int) -> RunView | None:
    with db.read() as conn:
        row = job_store.get_run(conn, run_id)
        if row is None:
            return None
        shop = shops.by_id(conn, row.shop_id) if row.shop_id else None
        followers = list(conn.execute(select(job_runs).where(job_runs.c.parent_run_id == run_id)
                                      .order_by(job_runs.c.id).limit(50)))
        return RunView(row, shop.domain if shop else None, load(row.params), load(row.stats),
                       job_store.logs(conn, run_id), job_store.files(conn, run_id),
                       job_store.error_entries(conn, run_id), followers, _category_of(row.job))


def _category_of(job: str) -> Category | None:
    try:
        code = registry.get(job).definition.category
    except LookupError:
        return None
    return next(c for c in CATEGORIES if c.code == code)


def run_file(db: Database, run_id: int, file_id: int) -> Any:
    """One file of a run (its kind, name and content), or None."""
    with db.read() as conn:
        return conn.execute(select(job_run_files).where(job_run_files.c.id == file_id,
                                                        job_run_files.c.run_id == run_id)).first()


# -- run now, from the console ------------------------------------------------------------------------------

MAX_BACKGROUND_RUNS = 8  # runs started from this process's console that may be running at once
_slots = threading.BoundedSemaphore(MAX_BACKGROUND_RUNS)


class TooManyRuns(RuntimeError):
    pass


class RunNotStarted(RuntimeError):
    pass


@dataclass(frozen=True)
class Started:
    run_id: int
    status: str  # as it was when the page answered: queued, running, or how it ended
    error: str | None = None


def start_run(hub: Hub, name: str, shop: Shop | None, params: dict[str, Any], *, wait: float = 2.0) -> Started:
    """Run a job now through the job manager (as ``orderhub jobs run`` and the API do), in a thread of
    this process: a quick run has ended when this returns (up to ``wait`` seconds), a long one goes on
    and its page follows it. Raises what the manager raises before the run starts: ValueError (bad
    parameters, a shop missing or not wanted), JobBusy (it runs already), LookupError (no such job)."""
    definition = registry.get(name).definition
    if not definition.per_shop and shop is not None:
        raise ValueError(f"job {name} runs for the whole hub, not per shop")
    if definition.per_shop and shop is None:
        raise ValueError(f"job {name} runs per shop: choose the shop to run it for")
    validate_params(name, definition.params, params)  # refused here, before a thread is started
    with hub.db.read() as conn:
        newest_before = conn.execute(select(job_runs.c.id).order_by(job_runs.c.id.desc()).limit(1)).scalar() or 0
    if not _slots.acquire(blocking=False):
        raise TooManyRuns(f"{MAX_BACKGROUND_RUNS} runs started from the console are still running; "
                          "wait for one to end, then run this again")
    outcome: dict[str, Any] = {}

    def work() -> None:
        try:
            outcome["result"] = JobManager(hub).run_now(name, shop, params)
        except (JobBusy, ValueError, LookupError) as exc:  # refused before it ran: the page says why
            outcome["refused"] = exc
        except Exception as exc:  # e.g. a worker of this hub claimed the run first (it runs it), a database blip
            log.warning("console_run_failed", job=name, error=f"{type(exc).__name__}: {exc}")
        finally:
            _slots.release()

    thread = threading.Thread(target=work, name=f"console-run-{name}", daemon=True)
    thread.start()
    thread.join(wait)
    if "refused" in outcome:
        raise outcome["refused"]
    if "result" in outcome:
        result = outcome["result"]
        return Started(result.run_id, result.status, result.error)
    return Started(*_started_since(hub.db, name, shop.id if shop else 0, newest_before, thread))


def _started_since(db: Database, name: str, scope: int, newest_before: int,
                   thread: threading.Thread) -> tuple[int, str]:
    """The run the thread queued (the manager does not say its id until it ends)."""
    deadline = time.monotonic() + 10
    while True:
        with db.read() as conn:
            row = conn.execute(select(job_runs.c.id, job_runs.c.status).where(
                job_runs.c.job == name, job_runs.c.scope == scope, job_runs.c.trigger == "manual",
                job_runs.c.id > newest_before).order_by(job_runs.c.id).limit(1)).first()
        if row is not None:
            return int(row.id), str(row.status)
        if time.monotonic() > deadline or not thread.is_alive():
            raise RunNotStarted(f"the run of job {name} did not start; the server's log says why")
        time.sleep(0.05)

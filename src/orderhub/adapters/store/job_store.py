"""The job manager's tables: schedules, runs (a queue with leases), their logs and files, chains.

Exactly-once per tick needs no lock: a run of a schedule's tick is inserted with
``ON CONFLICT DO NOTHING`` on (schedule, tick). At most one running run per job and
shop is a partial unique index on ``exclusive_key`` while ``status = 'running'``,
so two nodes claiming at once cannot both start one, on SQLite or PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from orderhub.adapters.store.db import upsert
from orderhub.adapters.store.schema import (
    error_log,
    job_chains,
    job_run_files,
    job_run_logs,
    job_runs,
    job_schedules,
    job_state,
)
from orderhub.clock import utcnow

FINISHED = ("succeeded", "failed", "timed_out", "cancelled", "skipped")
_MANAGER = "*job-manager*"


def exclusive_key(job: str, scope: int) -> str:
    return f"{job}:{scope}"


# -- schedules -----------------------------------------------------------------------------------

def save_schedule(conn: Connection, values: dict[str, Any]) -> int:
    """Create or replace the schedule of (job, scope)."""
    now = utcnow()
    row = values | {"updated_at": now}
    upsert(conn, job_schedules, row | {"created_at": now}, keys=("job", "scope"),
           update=[k for k in row if k not in ("job", "scope")])
    return int(conn.execute(select(job_schedules.c.id).where(
        job_schedules.c.job == values["job"], job_schedules.c.scope == values["scope"])).scalar_one())


def schedule(conn: Connection, job: str, scope: int) -> Any:
    return conn.execute(select(job_schedules).where(job_schedules.c.job == job,
                                                    job_schedules.c.scope == scope)).first()


def schedule_by_id(conn: Connection, schedule_id: int) -> Any:
    return conn.execute(select(job_schedules).where(job_schedules.c.id == schedule_id)).first()


def all_schedules(conn: Connection, job: str | None = None) -> list[Any]:
    stmt = select(job_schedules).order_by(job_schedules.c.job, job_schedules.c.scope)
    if job:
        stmt = stmt.where(job_schedules.c.job == job)
    return list(conn.execute(stmt))


def due_schedules(conn: Connection, now: datetime) -> list[Any]:
    return list(conn.execute(select(job_schedules).where(
        job_schedules.c.enabled.is_(True), job_schedules.c.next_run_at <= now).order_by(job_schedules.c.id)))


def next_tick(conn: Connection) -> datetime | None:
    return conn.execute(select(func.min(job_schedules.c.next_run_at)).where(job_schedules.c.enabled.is_(True))
                        ).scalar()


def advance(conn: Connection, schedule_id: int, seen_next: datetime, new_next: datetime) -> bool:
    """Move a schedule past the tick it was at (compare-and-set: only one node wins a tick);
    a pending skip is used up by it."""
    return conn.execute(update(job_schedules).where(
        job_schedules.c.id == schedule_id, job_schedules.c.next_run_at == seen_next).values(
        next_run_at=new_next, skip_next=False, updated_at=utcnow())).rowcount == 1


def change_schedules(conn: Connection, job: str, scopes: Sequence[int] | None, **values: Any) -> int:
    stmt = update(job_schedules).where(job_schedules.c.job == job)
    if scopes is not None:
        stmt = stmt.where(job_schedules.c.scope.in_(scopes))
    return conn.execute(stmt.values(**values, updated_at=utcnow())).rowcount


def time_watermark(conn: Connection, job: str, shop_id: int, key: str) -> datetime | None:
    """How far a polling job has read (its ``job_state`` row), or None before its first run."""
    value = conn.execute(select(job_state.c.value).where(
        job_state.c.job == job, job_state.c.shop_id == shop_id, job_state.c.key == key)).scalar()
    return None if value is None else datetime.fromisoformat(value)


def _later_time(excluded: Any) -> Any:
    return job_state.c.value < excluded.value  # ISO UTC text sorts as time


def advance_time_watermark(conn: Connection, job: str, shop_id: int, key: str, value: datetime) -> None:
    """Move a polling job's watermark to ``value``, never back (a slower run finishing last keeps the newer one)."""
    upsert(conn, job_state, dict(job=job, shop_id=shop_id, key=key, value=value.isoformat()),
           keys=("job", "shop_id", "key"), update=("value",), where=_later_time)


def paused(conn: Connection) -> bool:
    return conn.execute(select(job_state.c.value).where(
        job_state.c.job == _MANAGER, job_state.c.shop_id == 0, job_state.c.key == "paused")).scalar() == "true"


def set_paused(conn: Connection, value: bool) -> None:
    upsert(conn, job_state, {"job": _MANAGER, "shop_id": 0, "key": "paused", "value": "true" if value else "false"},
           keys=("job", "shop_id", "key"), update=("value",))


# -- runs ----------------------------------------------------------------------------------------------

def queue(conn: Connection, *, job: str, shop_id: int | None, params: str, trigger: str, available_at: datetime,
          schedule_id: int | None = None, tick_at: datetime | None = None, attempt: int = 1,
          parent_run_id: int | None = None, status: str = "queued", error: str | None = None) -> int | None:
    """Queue a run; for a schedule's tick, None when another node queued that tick already."""
    now = utcnow()
    values = dict(job=job, shop_id=shop_id, scope=shop_id or 0, schedule_id=schedule_id, tick_at=tick_at,
                  status=status, trigger=trigger, attempt=attempt, parent_run_id=parent_run_id, params=params,
                  queued_at=now, available_at=available_at, error=error,
                  finished_at=now if status in FINISHED else None)
    if tick_at is None:
        return int(conn.execute(insert(job_runs).values(**values).returning(job_runs.c.id)).scalar_one())
    row = upsert(conn, job_runs, values, keys=("schedule_id", "tick_at"), returning=("id",)).first()
    return None if row is None else int(row.id)


def waiting_run(conn: Connection, job: str, scope: int) -> Any:
    """A queued run of the job for the scope that has not started (a tick that would pile up on it)."""
    return conn.execute(select(job_runs.c.id, job_runs.c.tick_at).where(
        job_runs.c.job == job, job_runs.c.scope == scope, job_runs.c.status == "queued")
        .order_by(job_runs.c.id).limit(1)).first()


def due_run_ids(conn: Connection, now: datetime, limit: int = 20) -> list[int]:
    stmt = (select(job_runs.c.id).where(job_runs.c.status == "queued", job_runs.c.available_at <= now)
            .order_by(job_runs.c.available_at, job_runs.c.id).limit(limit))
    return [r.id for r in conn.execute(stmt)]


@dataclass(frozen=True)
class Claim:
    run: Any  # the run's row, as it started
    busy_with: int | None = None  # when it could not start: the run that holds its job


def claim(conn: Connection, row: Any, *, node: str, now: datetime, timeout_seconds: int,
          exclusive: bool) -> Claim | None:
    """Start a queued run (``row``, as just read) on this node. None if it is no longer queued (another
    node took it); a Claim with ``busy_with`` if another run of the same job and shop is running."""
    key = exclusive_key(row.job, row.scope) if exclusive else None
    savepoint = conn.begin_nested()
    try:
        started = conn.execute(update(job_runs).where(job_runs.c.id == row.id, job_runs.c.status == "queued").values(
            status="running", node=node, exclusive_key=key, started_at=now, heartbeat_at=now,
            deadline_at=now + timedelta(seconds=timeout_seconds)).returning(*job_runs.c)).first()
        savepoint.commit()
    except IntegrityError:
        savepoint.rollback()
        holder = conn.execute(select(job_runs.c.id).where(job_runs.c.exclusive_key == key,
                                                          job_runs.c.status == "running")).scalar()
        return Claim(row, busy_with=holder)
    return None if started is None else Claim(started)


def cancel_queued(conn: Connection, run_id: int, *, error: str) -> bool:
    return conn.execute(update(job_runs).where(job_runs.c.id == run_id, job_runs.c.status == "queued").values(
        status="cancelled", finished_at=utcnow(), error=error)).rowcount == 1


def heartbeat(conn: Connection, run_id: int, node: str, now: datetime) -> bool:
    """Say the run is alive; False when it is no longer this node's (timed out, released, reaped)."""
    return conn.execute(update(job_runs).where(
        job_runs.c.id == run_id, job_runs.c.status == "running", job_runs.c.node == node).values(
        heartbeat_at=now)).rowcount == 1


@dataclass(frozen=True)
class Counts:
    read: int = 0
    processed: int = 0
    skipped: int = 0
    failed: int = 0


def finish(conn: Connection, run_id: int, node: str, *, status: str, counts: Counts, stats: str,
           error: str | None, input_file: str | None) -> bool:
    """Record the end of a run this node is running; False if it was taken from it meanwhile."""
    return conn.execute(update(job_runs).where(
        job_runs.c.id == run_id, job_runs.c.status == "running", job_runs.c.node == node).values(
        status=status, exclusive_key=None, finished_at=utcnow(), stats=stats, error=error, input_file=input_file,
        read_count=counts.read, processed_count=counts.processed, skipped_count=counts.skipped,
        failed_count=counts.failed)).rowcount == 1


def record_progress(conn: Connection, run_id: int, node: str, *, done: int, total: int | None, unit: str,
                    at: datetime) -> bool:
    """A running run's progress, from the node running it; False when the run is no longer its."""
    return conn.execute(update(job_runs).where(
        job_runs.c.id == run_id, job_runs.c.status == "running", job_runs.c.node == node).values(
        progress_done=done, progress_total=total, progress_unit=unit[:32], progress_at=at)).rowcount == 1


def end_running(conn: Connection, run_id: int, *, status: str, error: str) -> Any:
    """Take a running run away from its node (dead, timed out, released by a person)."""
    row = conn.execute(update(job_runs).where(job_runs.c.id == run_id, job_runs.c.status == "running").values(
        status=status, exclusive_key=None, finished_at=utcnow(), error=error).returning(*job_runs.c)).first()
    return row


def stale_runs(conn: Connection, now: datetime, dead_after: timedelta) -> list[Any]:
    """Running runs whose node stopped beating, or that passed their deadline."""
    return list(conn.execute(select(job_runs).where(job_runs.c.status == "running", or_(
        job_runs.c.heartbeat_at < now - dead_after, job_runs.c.deadline_at < now))))


def get_run(conn: Connection, run_id: int) -> Any:
    return conn.execute(select(job_runs).where(job_runs.c.id == run_id)).first()


def history(conn: Connection, *, job: str | None = None, scope: int | None = None, status: str | None = None,
            limit: int = 50, before_id: int | None = None) -> list[Any]:
    stmt = select(job_runs).order_by(job_runs.c.id.desc()).limit(limit)
    for column, value in ((job_runs.c.job, job), (job_runs.c.scope, scope), (job_runs.c.status, status)):
        if value is not None:
            stmt = stmt.where(column == value)
    if before_id is not None:
        stmt = stmt.where(job_runs.c.id < before_id)
    return list(conn.execute(stmt))


def last_runs(conn: Connection) -> dict[tuple[str, int], Any]:
    """The newest finished or running run of every (job, scope)."""
    newest = (select(func.max(job_runs.c.id)).where(job_runs.c.status != "queued")
              .group_by(job_runs.c.job, job_runs.c.scope).scalar_subquery())
    return {(r.job, r.scope): r for r in conn.execute(select(job_runs).where(job_runs.c.id.in_(newest)))}


def succeeded_once(conn: Connection, job: str, scope: int) -> bool:
    return conn.execute(select(job_runs.c.id).where(job_runs.c.job == job, job_runs.c.scope == scope,
                                                    job_runs.c.status == "succeeded").limit(1)).first() is not None


# -- logs, files, error-log links --------------------------------------------------------------------------

MAX_LOG_LINES = 1000  # per run; a job that logs more keeps the first ones and a note


def add_logs(conn: Connection, run_id: int, lines: Sequence[tuple[datetime, str, str]]) -> None:
    if lines:
        conn.execute(insert(job_run_logs), [{"run_id": run_id, "at": at, "level": level, "message": message[:4000]}
                                            for at, level, message in lines])


def logs(conn: Connection, run_id: int) -> list[Any]:
    return list(conn.execute(select(job_run_logs).where(job_run_logs.c.run_id == run_id)
                             .order_by(job_run_logs.c.id)))


def put_file(conn: Connection, run_id: int, kind: str, name: str, content: bytes) -> None:
    upsert(conn, job_run_files, {"run_id": run_id, "kind": kind, "name": name[:255], "content": content,
                                 "size": len(content), "created_at": utcnow()},
           keys=("run_id", "kind", "name"), update=("content", "size", "created_at"))


def files(conn: Connection, run_id: int) -> list[Any]:
    return list(conn.execute(select(job_run_files.c.id, job_run_files.c.kind, job_run_files.c.name,
                                    job_run_files.c.size).where(job_run_files.c.run_id == run_id)
                             .order_by(job_run_files.c.id)))


def get_file(conn: Connection, run_id: int, kind: str) -> Any:
    return conn.execute(select(job_run_files).where(job_run_files.c.run_id == run_id, job_run_files.c.kind == kind)
                        .order_by(job_run_files.c.id).limit(1)).first()


def error_entries(conn: Connection, run_id: int) -> list[int]:
    return [r.id for r in conn.execute(select(error_log.c.id).where(error_log.c.job_run_id == run_id)
                                       .order_by(error_log.c.id))]


# -- chains ----------------------------------------------------------------------------------------------------

CHAIN_TRIGGERS = ("succeeded", "finished")  # after a successful run only, or after any run that ended


def add_chain(conn: Connection, upstream: str, downstream: str, delay_seconds: int, params: str,
              trigger_on: str = "succeeded") -> None:
    upsert(conn, job_chains, {"upstream_job": upstream, "downstream_job": downstream, "delay_seconds": delay_seconds,
                              "params": params, "enabled": True, "created_at": utcnow(), "trigger_on": trigger_on},
           keys=("upstream_job", "downstream_job"), update=("delay_seconds", "params", "enabled", "trigger_on"))


def remove_chain(conn: Connection, upstream: str, downstream: str) -> bool:
    return conn.execute(job_chains.delete().where(job_chains.c.upstream_job == upstream,
                                                  job_chains.c.downstream_job == downstream)).rowcount == 1


def chains(conn: Connection, upstream: str | None = None) -> list[Any]:
    stmt = select(job_chains).order_by(job_chains.c.upstream_job, job_chains.c.id)
    if upstream is not None:
        stmt = stmt.where(and_(job_chains.c.upstream_job == upstream, job_chains.c.enabled.is_(True)))
    return list(conn.execute(stmt))

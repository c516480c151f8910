"""What the CLI and the API show and change of the job manager, as plain dicts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import orjson

from orderhub.adapters.store import job_store
from orderhub.adapters.store.shops import Shop, all_shops
from orderhub.bootstrap import Hub
from orderhub.domain.jobs import CATEGORIES, parse_duration, validate_params
from orderhub.services.jobs import registry


def _time(value: datetime | None, tz: str = "UTC") -> str | None:
    return None if value is None else value.astimezone(ZoneInfo(tz)).isoformat(timespec="seconds")


def _scopes(shops: Sequence[Shop | None]) -> list[int]:
    return [s.id if s else 0 for s in shops]


def schedule_dict(s: Any, domains: dict[int, str]) -> dict[str, Any]:
    return {"id": s.id, "job": s.job, "shop": domains.get(s.shop_id) if s.shop_id else None,
            "expression": s.expression,
            "timezone": s.timezone, "enabled": bool(s.enabled), "skip_next": bool(s.skip_next),
            "next_run_at": _time(s.next_run_at), "next_run_local": _time(s.next_run_at, s.timezone),
            "start_at": _time(s.start_at), "params": orjson.loads(s.params), "missed_policy": s.missed_policy,
            "allow_overlap": s.allow_overlap, "timeout_seconds": s.timeout_seconds, "max_retries": s.max_retries}


def run_dict(r: Any, *, domains: dict[int, str] | None = None) -> dict[str, Any]:
    return {"id": r.id, "job": r.job, "shop": (domains or {}).get(r.shop_id) if r.shop_id else None,
            "status": r.status, "trigger": r.trigger, "attempt": r.attempt, "parent_run_id": r.parent_run_id,
            "tick_at": _time(r.tick_at), "queued_at": _time(r.queued_at), "started_at": _time(r.started_at),
            "finished_at": _time(r.finished_at), "heartbeat_at": _time(r.heartbeat_at), "node": r.node,
            "counts": {"read": r.read_count, "processed": r.processed_count, "skipped": r.skipped_count,
                       "failed": r.failed_count},
            "error": r.error, "params": orjson.loads(r.params), "stats": orjson.loads(r.stats or "{}"),
            "input_file": r.input_file}


def _domains(hub: Hub) -> dict[int, str]:
    with hub.db.read() as conn:
        return {s.id: s.domain for s in all_shops(conn)}


def jobs(hub: Hub, category: str | None = None) -> list[dict[str, Any]]:
    """Every job of the catalogue (of one category) with its schedules and its last run."""
    with hub.db.read() as conn:
        schedules = job_store.all_schedules(conn)
        last = job_store.last_runs(conn)
        paused = job_store.paused(conn)
    domains = _domains(hub)
    out = []
    for job in registry.all_jobs(category):
        d = job.definition
        mine = [s for s in schedules if s.job == job.name]
        runs = [r for (name, _scope), r in last.items() if name == job.name]
        newest = max(runs, key=lambda r: r.id) if runs else None
        out.append({
            "name": job.name, "category": d.category, "description": d.description,
            "default_schedule": d.default_schedule, "per_shop": d.per_shop, "requires": list(d.requires),
            "params": [p.name for p in d.params],
            "schedules": [{"shop": domains.get(s.shop_id) if s.shop_id else None, "expression": s.expression,
                           "timezone": s.timezone, "enabled": bool(s.enabled) and not paused,
                           "next_run_at": _time(s.next_run_at)} for s in mine],
            "last_run": run_dict(newest, domains=domains) if newest else None,
        })
    return out


def describe(hub: Hub, name: str) -> dict[str, Any]:
    job = registry.get(name)
    d = job.definition
    with hub.db.read() as conn:
        schedules = job_store.all_schedules(conn, name)
        runs = job_store.history(conn, job=name, limit=10)
        chains = [c for c in job_store.chains(conn) if name in (c.upstream_job, c.downstream_job)]
        paused = job_store.paused(conn)
    domains = _domains(hub)
    return {
        "name": d.name, "category": d.category, "description": d.description, "per_shop": d.per_shop,
        "default_schedule": d.default_schedule, "min_interval_seconds": d.min_interval_seconds,
        "requires": list(d.requires),
        "policy": {"allow_overlap": d.policy.allow_overlap, "timeout_seconds": d.policy.timeout_seconds,
                   "max_retries": d.policy.max_retries, "retry_delay_seconds": d.policy.retry_delay_seconds,
                   "missed": d.policy.missed.value},
        "params": [{"name": p.name, "kind": p.kind.value, "required": p.required, "default": p.default,
                    "help": p.help} for p in d.params],
        "paused": paused,
        "schedules": [schedule_dict(s, domains) for s in schedules],
        "chains": [{"after": c.upstream_job, "then": c.downstream_job, "delay_seconds": c.delay_seconds,
                    "trigger_on": c.trigger_on, "params": orjson.loads(c.params)} for c in chains],
        "runs": [run_dict(r, domains=domains) for r in runs],
    }


def schedules(hub: Hub) -> list[dict[str, Any]]:
    """Every schedule of a job in the catalogue, in the catalogue's order."""
    order = {job.name: i for i, job in enumerate(registry.all_jobs())}
    with hub.db.read() as conn:
        found = [s for s in job_store.all_schedules(conn) if s.job in order]
    domains = _domains(hub)
    return [schedule_dict(s, domains) for s in sorted(found, key=lambda s: (order[s.job], s.scope))]


def categories() -> list[dict[str, Any]]:
    return [{"code": c.code, "title": c.title, "description": c.description, "topics": list(c.topics),
             "jobs": [j.name for j in registry.all_jobs(c.code)]} for c in CATEGORIES]


def history(hub: Hub, *, job: str | None = None, shop: Shop | None = None, status: str | None = None,
            limit: int = 50, before_id: int | None = None) -> list[dict[str, Any]]:
    with hub.db.read() as conn:
        rows = job_store.history(conn, job=job, scope=shop.id if shop else None, status=status, limit=limit,
                                 before_id=before_id)
    domains = _domains(hub)
    return [run_dict(r, domains=domains) for r in rows]


def run_detail(hub: Hub, run_id: int) -> dict[str, Any]:
    with hub.db.read() as conn:
        row = job_store.get_run(conn, run_id)
        if row is None:
            raise LookupError(f"no job run {run_id}")
        lines = job_store.logs(conn, run_id)
        files = job_store.files(conn, run_id)
        errors = job_store.error_entries(conn, run_id)
    return run_dict(row, domains=_domains(hub)) | {
        "log": [{"at": _time(line.at), "level": line.level, "message": line.message} for line in lines],
        "files": [{"kind": f.kind, "name": f.name, "size": f.size} for f in files],
        "error_log_entries": errors,
    }


def run_file(hub: Hub, run_id: int, kind: str) -> tuple[str, bytes]:
    with hub.db.read() as conn:
        row = job_store.get_file(conn, run_id, kind)
    if row is None:
        raise LookupError(f"job run {run_id} has no {kind} file")
    return row.name, bytes(row.content)


def set_enabled(hub: Hub, name: str, shops: Sequence[Shop | None] | None, enabled: bool) -> int:
    registry.get(name)
    with hub.db.write() as conn:
        changed = job_store.change_schedules(conn, name, _scopes(shops) if shops else None, enabled=enabled)
    if not changed:
        raise LookupError(f"job {name} has no schedule" + (" for that shop" if shops else "")
                          + "; create one with `orderhub jobs schedule`")
    return changed


def skip_next(hub: Hub, name: str, shops: Sequence[Shop | None] | None) -> int:
    registry.get(name)
    with hub.db.write() as conn:
        changed = job_store.change_schedules(conn, name, _scopes(shops) if shops else None, skip_next=True)
    if not changed:
        raise LookupError(f"job {name} has no schedule to skip a run of")
    return changed


def set_paused(hub: Hub, value: bool) -> None:
    with hub.db.write() as conn:
        job_store.set_paused(conn, value)


def chain(hub: Hub, upstream: str, downstream: str, *, delay: str = "0s", params: dict[str, Any] | None = None,
          trigger_on: str = "succeeded") -> None:
    """Run ``downstream`` ``delay`` after each run of ``upstream`` that succeeded (or, ``trigger_on="finished"``,
    that ended in any way: a report of what failed is wanted most when its job failed)."""
    if trigger_on not in job_store.CHAIN_TRIGGERS:
        raise ValueError(f"a chain runs after its job {' or '.join(job_store.CHAIN_TRIGGERS)}, not {trigger_on!r}")
    registry.get(upstream)
    definition = registry.get(downstream).definition
    validate_params(downstream, definition.params, params or {})
    if upstream == downstream:
        raise ValueError(f"job {upstream} cannot be chained after itself")
    with hub.db.write() as conn:
        job_store.add_chain(conn, upstream, downstream, parse_duration(delay), orjson.dumps(params or {}).decode(),
                            trigger_on)


def unchain(hub: Hub, upstream: str, downstream: str) -> None:
    with hub.db.write() as conn:
        if not job_store.remove_chain(conn, upstream, downstream):
            raise LookupError(f"no chain from {upstream} to {downstream}")

"""The admin API of the job manager: the catalogue, schedules, runs now, history, logs and files."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from orderhub.adapters.store import shops
from orderhub.adapters.store.shops import Shop
from orderhub.bootstrap import Hub
from orderhub.clock import utcnow
from orderhub.domain.errors import message
from orderhub.domain.jobs import CATEGORY_CODES, MissedPolicy, parse_duration, parse_start
from orderhub.entrypoints.http.api import MAX_INT, RowId, hub_of, require_role, require_token
from orderhub.entrypoints.http.downloads import attachment
from orderhub.services.jobs import admin
from orderhub.services.jobs.manager import JobBusy, JobManager

router = APIRouter(prefix="/api", dependencies=[Depends(require_token)])
HubDep = Annotated[Hub, Depends(hub_of)]
JobName = Annotated[str, Query(min_length=1, max_length=100)]
Params = Annotated[dict[str, str | int | bool], Field(default_factory=dict, max_length=50)]


def _shops(hub: Hub, domains: list[str], all_shops: bool = False) -> list[Shop | None]:
    with hub.db.read() as conn:
        if all_shops:
            return list(shops.all_shops(conn))
        out: list[Shop | None] = []
        for domain in domains:
            shop = shops.by_domain(conn, domain)
            if shop is None:
                raise HTTPException(404, f"no shop {domain}")
            out.append(shop)
    return out or [None]


def _job_or_404(hub: Hub, name: str) -> dict[str, Any]:
    try:
        return admin.describe(hub, name)
    except LookupError as exc:
        raise HTTPException(404, message(exc)) from None


@router.get("/jobs")
def list_jobs(hub: HubDep, category: str | None = Query(None, max_length=32)) -> dict[str, Any]:
    """The catalogue (or one category of it), each job with its schedules and last run."""
    if category is not None and category not in CATEGORY_CODES:
        raise HTTPException(422, f"unknown category {category!r}; categories: {', '.join(sorted(CATEGORY_CODES))}")
    return {"categories": admin.categories(), "jobs": admin.jobs(hub, category)}


@router.get("/jobs/runs")
def list_runs(hub: HubDep, job: str | None = Query(None, max_length=100),
              shop: str | None = Query(None, max_length=255),
              status: str | None = Query(None, max_length=16), limit: int = Query(50, ge=1, le=1000),
              before: int | None = Query(None, ge=1, le=MAX_INT)) -> dict[str, Any]:
    """Run history, newest first (page with ``before`` = the last id seen)."""
    target = _shops(hub, [shop])[0] if shop else None
    runs = admin.history(hub, job=job, shop=target, status=status, limit=limit, before_id=before)
    return {"runs": runs, "next_before": runs[-1]["id"] if len(runs) == limit else None}


@router.get("/jobs/runs/{run_id}")
def show_run(run_id: RowId, hub: HubDep) -> dict[str, Any]:
    """One run with its log lines, files and error-log entries."""
    try:
        return admin.run_detail(hub, run_id)
    except LookupError as exc:
        raise HTTPException(404, str(exc)) from None


@router.get("/jobs/runs/{run_id}/files/{kind}", response_class=Response)
def run_file(run_id: RowId, kind: Literal["failed", "input", "output"], hub: HubDep) -> Response:
    """Download a run's file: the records it could not process, its input or its output."""
    try:
        name, content = admin.run_file(hub, run_id, kind)
    except LookupError as exc:
        raise HTTPException(404, str(exc)) from None
    return Response(content, media_type="application/octet-stream",
                    headers={"Content-Disposition": attachment(name)})


@router.post("/jobs/runs/{run_id}/release", dependencies=[require_role("operator")])
def release_run(run_id: RowId, request: Request, hub: HubDep) -> dict[str, Any]:
    """End a run left 'running' by a node that is gone."""
    try:
        JobManager(hub).release(run_id, by=f"api:{getattr(request.state, 'token_name', '?')}")
    except LookupError as exc:
        raise HTTPException(409, str(exc)) from None
    return admin.run_detail(hub, run_id)


@router.get("/jobs/{name}")
def show_job(name: str, hub: HubDep) -> dict[str, Any]:
    """A job: description, parameters, policy, schedules, chains and its last runs."""
    return _job_or_404(hub, name[:100])


class RunBody(BaseModel):
    shop: str | None = Field(None, max_length=255)
    params: Params


@router.post("/jobs/{name}/run", dependencies=[require_role("operator")])
def run_job(name: str, body: RunBody, hub: HubDep) -> dict[str, Any]:
    """Run the job now, here, and answer when it has finished (whatever its schedule says)."""
    _job_or_404(hub, name[:100])
    shop = _shops(hub, [body.shop])[0] if body.shop else None
    try:
        result = JobManager(hub).run_now(name, shop, dict(body.params))
    except JobBusy as exc:
        raise HTTPException(409, str(exc)) from None
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    return admin.run_detail(hub, result.run_id)


class ScheduleBody(BaseModel):
    shops: list[Annotated[str, Field(max_length=255)]] = Field(default_factory=list, max_length=1000)
    all_shops: bool = False
    schedule: str | None = Field(None, max_length=100,
                                 description="every-5-minutes ... daily, a cron expression, or 'every 90s'")
    timezone: str = Field("UTC", max_length=64)
    start: str = Field("now", max_length=64, description="now, +5m, +1h, tomorrow or an ISO time")
    params: Params
    enabled: bool = True
    missed: MissedPolicy | None = None
    allow_overlap: bool | None = None
    timeout: str | None = Field(None, max_length=16, description="e.g. 30m")
    max_retries: int | None = Field(None, ge=0, le=20)


@router.put("/jobs/{name}/schedule", dependencies=[require_role("operator")])
def schedule_job(name: str, body: ScheduleBody, hub: HubDep) -> dict[str, Any]:
    """Schedule the job for the given shops (or all, or the hub), replacing their earlier schedules."""
    _job_or_404(hub, name[:100])
    targets = _shops(hub, body.shops, body.all_shops)
    try:
        JobManager(hub).schedule(
            name, targets, expression=body.schedule, tz=body.timezone,
            start=parse_start(body.start, utcnow(), body.timezone), params=dict(body.params), enabled=body.enabled,
            missed=body.missed, allow_overlap=body.allow_overlap,
            timeout_seconds=parse_duration(body.timeout) if body.timeout else None, max_retries=body.max_retries)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    return _job_or_404(hub, name)


class Targets(BaseModel):
    shops: list[Annotated[str, Field(max_length=255)]] = Field(default_factory=list, max_length=1000)


def _change(hub: Hub, name: str, body: Targets, action: str) -> dict[str, Any]:
    _job_or_404(hub, name[:100])
    targets = _shops(hub, body.shops) if body.shops else None
    try:
        if action == "skip-next":
            admin.skip_next(hub, name, targets)
        else:
            admin.set_enabled(hub, name, targets, action == "enable")
    except LookupError as exc:
        raise HTTPException(409, message(exc)) from None
    return _job_or_404(hub, name)


@router.post("/jobs/{name}/enable", dependencies=[require_role("operator")])
def enable_job(name: str, body: Targets, hub: HubDep) -> dict[str, Any]:
    return _change(hub, name, body, "enable")


@router.post("/jobs/{name}/disable", dependencies=[require_role("operator")])
def disable_job(name: str, body: Targets, hub: HubDep) -> dict[str, Any]:
    return _change(hub, name, body, "disable")


@router.post("/jobs/{name}/skip-next", dependencies=[require_role("operator")])
def skip_next_run(name: str, body: Targets, hub: HubDep) -> dict[str, Any]:
    """Skip the next scheduled run once."""
    return _change(hub, name, body, "skip-next")


class PauseBody(BaseModel):
    paused: bool


@router.put("/jobs-paused", dependencies=[require_role("operator")])
def pause_all(body: PauseBody, hub: HubDep) -> dict[str, Any]:
    """Pause (or resume) every schedule."""
    admin.set_paused(hub, body.paused)
    return {"paused": body.paused}


class ChainBody(BaseModel):
    after: str = Field(..., min_length=1, max_length=100)
    delay: str = Field("0s", max_length=16)
    params: Params
    on: Literal["succeeded", "finished"] = "succeeded"


@router.put("/jobs/{name}/chain", dependencies=[require_role("operator")])
def chain_job(name: str, body: ChainBody, hub: HubDep) -> dict[str, Any]:
    """Run this job after each successful run of ``after`` (or each finished one, ``on="finished"``), for the
    same shop, after ``delay``."""
    try:
        admin.chain(hub, body.after, name[:100], delay=body.delay, params=dict(body.params), trigger_on=body.on)
    except LookupError as exc:
        raise HTTPException(404, message(exc)) from None
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    return _job_or_404(hub, name)

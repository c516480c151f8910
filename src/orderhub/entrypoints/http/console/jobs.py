"""The job manager's pages: a page per category, each job's schedule, parameters and runs, and the
category's Shopify webhook subscriptions.

Reading is for everyone signed in; running a job now (and releasing a run whose node died) needs the
operator role; schedules, enabling and webhook subscriptions are configuration: admin. Every action
goes through the job manager's own services, as the CLI and the API do.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

import structlog
from fastapi import APIRouter, Depends, Form, Request
from starlette.datastructures import FormData
from starlette.responses import JSONResponse, Response

from orderhub.adapters.shopify.graphql import ShopifyError
from orderhub.adapters.store import job_store, shops
from orderhub.adapters.store.shops import Shop
from orderhub.clock import utcnow
from orderhub.domain.errors import message
from orderhub.domain.jobs import CATEGORY_CODES, Definition, MissedPolicy, parse_start
from orderhub.entrypoints.http.console import web
from orderhub.entrypoints.http.downloads import attachment
from orderhub.services import webhook_categories
from orderhub.services.console import jobs_view
from orderhub.services.jobs import admin, registry
from orderhub.services.jobs.manager import JobBusy, JobManager

router = APIRouter(include_in_schema=False)
log = structlog.get_logger(__name__)  # who did what from the console, for the record

MAX_PARAM = 2000  # characters of one parameter from a form (each job's own limit is checked after)
MAX_ID = 2**63 - 1


async def _posted(request: Request) -> FormData:
    return await request.form()  # parsed once per request: the CSRF check read it already


Posted = Annotated[FormData, Depends(_posted)]
ShopField = Annotated[str, Form(max_length=255)]
Back = Annotated[str, Form(max_length=16)]


# -- lookups that answer with a page that says what is missing ------------------------------------------------

def _definition(name: str) -> Definition:
    try:
        return registry.get(name[:100]).definition
    except LookupError:
        raise web.Refused(404, f"There is no job named “{name[:100]}”; the job categories list every job.") from None


def _category_code(code: str) -> str:
    if code not in CATEGORY_CODES:
        raise web.Refused(404, f"There is no job category “{code[:40]}”.")
    return code


def _run_id(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) <= MAX_ID:
        raise web.Refused(404, f"“{text[:40]}” is not a job run number.")
    return int(text)


def _shop(request: Request, domain: str) -> Shop | None:
    """The shop of a form ('' is the hub); an unknown one is a problem with the form."""
    if not domain:
        return None
    with web.hub_of(request).db.read() as conn:
        found = shops.by_domain(conn, domain)
    if found is None:
        raise ValueError(f"there is no shop {domain}; add it with `orderhub shop add {domain} --secret ...`")
    return found


def _params(definition: Definition, form: FormData) -> dict[str, str]:
    """The job's parameters filled in on a form (fields ``p_<name>``; empty ones take their default)."""
    out = {}
    for p in definition.params:
        value = form.get(f"p_{p.name}")
        if isinstance(value, str) and value.strip():
            if len(value) > MAX_PARAM:
                raise ValueError(f"job {definition.name}: parameter {p.name!r} is longer than {MAX_PARAM} characters")
            out[p.name] = value.strip()
    return out


def _job_url(name: str) -> str:
    return f"/jobs/{quote(name, safe='')}"


# -- pages ------------------------------------------------------------------------------------------------

def _render(request: Request, template: str, status: int = 200, **context: Any) -> Response:
    """A job manager page, with the helpers its templates share."""
    return web.render(request, template, status=status, now=utcnow(), cadence_text=jobs_view.cadence_text,
                      duration=jobs_view.duration_text, **context)


@router.get("/jobs")
def jobs_page(request: Request, session: web.Viewer) -> Response:
    tiles, paused = jobs_view.overview(web.hub_of(request).db)
    return _render(request, "jobs.html", tiles=tiles, paused=paused)


def _category_page(request: Request, code: str, status: int = 200, problem: str | None = None) -> Response:
    view = jobs_view.category_view(web.hub_of(request).db, code)
    return _render(request, "jobs_category.html", status, problem=problem, view=view,
                   suggested_address=str(request.base_url).rstrip("/") + "/webhooks/shopify")


@router.get("/jobs/category/{code}")
def category_page(request: Request, code: str, session: web.Viewer) -> Response:
    return _category_page(request, _category_code(code))


def _job_page(request: Request, name: str, status: int = 200, problem: str | None = None,
              run_status: str | None = None, before: int | None = None) -> Response:
    view = jobs_view.job_view(web.hub_of(request).db, name, status=run_status, before=before)
    return _render(request, "jobs_job.html", status, problem=problem, view=view, run_status=run_status,
                   before=before, statuses=jobs_view.RUN_STATUSES)


@router.get("/jobs/runs/{run_id}")
def run_page(request: Request, run_id: str, session: web.Viewer) -> Response:
    view = jobs_view.run_view(web.hub_of(request).db, _run_id(run_id))
    if view is None:
        raise web.Refused(404, f"There is no job run {run_id}.")
    return _render(request, "jobs_run.html", view=view)


@router.get("/jobs/runs/{run_id}/live")
def run_live(request: Request, run_id: str, session: web.Viewer) -> Response:
    """The changing part of a run's page, polled while the run is queued or running."""
    view = jobs_view.run_view(web.hub_of(request).db, _run_id(run_id))
    if view is None:
        raise web.Refused(404, f"There is no job run {run_id}.")
    return _render(request, "jobs_run_live.html", view=view)


@router.get("/jobs/runs/{run_id}/progress.json")
def run_progress(request: Request, run_id: str, session: web.Viewer) -> Response:
    """A run's status, counts and progress (done of total units, rate, time left), as JSON."""
    found = jobs_view.run_progress(web.hub_of(request).db, _run_id(run_id))
    if found is None:
        raise web.Refused(404, f"There is no job run {run_id}.")
    return web.secured(JSONResponse(found))


@router.get("/jobs/runs/{run_id}/row")
def run_row(request: Request, run_id: str, session: web.Viewer) -> Response:
    """A run's row of a history table, polled while the run is queued or running."""
    found = jobs_view.run_row(web.hub_of(request).db, _run_id(run_id))
    if found is None:
        raise web.Refused(404, f"There is no job run {run_id}.")
    run, domain = found
    return _render(request, "jobs_run_row.html", run=run, domain=domain)


@router.get("/jobs/runs/{run_id}/files/{file_id}")
def run_file(request: Request, run_id: str, file_id: str, session: web.Viewer) -> Response:
    """A run's file (its input, its output, the records it could not process), as a download."""
    row = jobs_view.run_file(web.hub_of(request).db, _run_id(run_id), _run_id(file_id))
    if row is None:
        raise web.Refused(404, f"Job run {run_id} has no file {file_id}.")
    content = bytes(row.content)
    try:
        content.decode("utf-8")
        media_type = "text/plain; charset=utf-8"
    except UnicodeDecodeError:
        media_type = "application/octet-stream"
    return web.secured(Response(content, media_type=media_type,
                                headers={"content-disposition": attachment(row.name)}))


@router.get("/jobs/{name}")
def job_page(request: Request, name: str, session: web.Viewer, status: str = "", before: str = "") -> Response:
    definition = _definition(name)
    run_status = status if status in jobs_view.RUN_STATUSES else None
    older = _run_id(before) if before else None
    return _job_page(request, definition.name, run_status=run_status, before=older)


def _again(request: Request, name: str, back: str, status: int, problem: str) -> Response:
    """The page the form was on, again, with what was wrong."""
    if back.startswith("category:") and back[9:] in CATEGORY_CODES:
        return _category_page(request, back[9:], status, problem)
    return _job_page(request, name, status, problem)


# -- actions ----------------------------------------------------------------------------------------------

@router.post("/jobs/{name}/run")
def run_now(request: Request, name: str, session: web.Operator, form: Posted, shop: ShopField = "",
            from_schedule: Annotated[str, Form(max_length=1)] = "", back: Back = "") -> Response:
    """Run the job now (operator): with the parameters of the form, or those of the shop's schedule."""
    definition = _definition(name)
    hub = web.hub_of(request)
    try:
        target = _shop(request, shop)
        if from_schedule:
            with hub.db.read() as conn:
                schedule = job_store.schedule(conn, definition.name, target.id if target else 0)
            params: dict[str, Any] = jobs_view.load(schedule.params) if schedule is not None else {}
        else:
            params = _params(definition, form)
        started = jobs_view.start_run(hub, definition.name, target, params)
    except JobBusy as exc:
        return _again(request, definition.name, back, 409,
                      f"Job {definition.name} is already running (run {exc.running_run}) and does not allow a "
                      "second run at once: wait for it to end (or release that run if its node died), then run "
                      "it again.")
    except jobs_view.TooManyRuns as exc:
        return _again(request, definition.name, back, 429, f"Not run: {exc}.")
    except jobs_view.RunNotStarted as exc:
        return _again(request, definition.name, back, 500, f"Not run: {exc}.")
    except ValueError as exc:
        return _again(request, definition.name, back, 422, f"Not run: {exc}.")
    log.info("console_job_run", job=definition.name, shop=target.domain if target else None, run_id=started.run_id,
             by=session.username)
    scope = f" for {target.domain}" if target else ""
    if started.status in jobs_view.ACTIVE:
        note = f"Run {started.run_id} of {definition.name}{scope} started; its row below follows it."
    else:
        note = f"Run {started.run_id} of {definition.name}{scope} {started.status}" + (
            f": {started.error}" if started.error else ".")
    return web.go(request, f"{_job_url(definition.name)}#runs", note)


@router.post("/jobs/{name}/schedule")
def save_schedule(request: Request, name: str, session: web.Admin, form: Posted, shop: ShopField = "",
                  expression: Annotated[str, Form(max_length=100)] = "",
                  timezone: Annotated[str, Form(max_length=64)] = "UTC",
                  start: Annotated[str, Form(max_length=64)] = "now",
                  enabled: Annotated[str, Form(max_length=8)] = "") -> Response:
    """Create or replace the job's schedule for one shop (or the hub) (admin); the schedule's own
    overrides of the job's policy (missed ticks, overlap, timeout, retries) are kept."""
    definition = _definition(name)
    hub = web.hub_of(request)
    try:
        target = _shop(request, shop)
        with hub.db.read() as conn:
            current = job_store.schedule(conn, definition.name, target.id if target else 0)
        tz = timezone.strip() or "UTC"
        JobManager(hub).schedule(
            definition.name, [target], expression=expression.strip() or None, tz=tz,
            start=parse_start(start or "now", utcnow(), tz), params=_params(definition, form),
            enabled=bool(enabled),
            missed=MissedPolicy(current.missed_policy) if current is not None and current.missed_policy else None,
            allow_overlap=current.allow_overlap if current is not None else None,
            timeout_seconds=current.timeout_seconds if current is not None else None,
            max_retries=current.max_retries if current is not None else None)
    except ValueError as exc:
        return _job_page(request, definition.name, 422, f"Schedule not saved: {exc}.")
    log.info("console_job_scheduled", job=definition.name, shop=target.domain if target else None,
             expression=expression, enabled=bool(enabled), by=session.username)
    scope = f" for {target.domain}" if target else ""
    return web.go(request, _job_url(definition.name),
                  f"Schedule of {definition.name}{scope} saved ({'enabled' if enabled else 'disabled'}).")


def _set_enabled(request: Request, name: str, shop: str, back: str, enabled: bool, by: str) -> Response:
    definition = _definition(name)
    try:
        target = _shop(request, shop)
        admin.set_enabled(web.hub_of(request), definition.name, [target], enabled)
    except LookupError:
        return _again(request, definition.name, back, 409,
                      f"Job {definition.name} has no schedule{' for ' + shop if shop else ''} to "
                      f"{'enable' if enabled else 'disable'}: save a schedule for it first.")
    except ValueError as exc:
        return _again(request, definition.name, back, 422, f"{exc}.")
    log.info("console_job_enabled" if enabled else "console_job_disabled", job=definition.name, shop=shop or None,
             by=by)
    scope = f" for {shop}" if shop else ""
    url = f"/jobs/category/{back[9:]}" if back.startswith("category:") and back[9:] in CATEGORY_CODES \
        else _job_url(definition.name)
    return web.go(request, url, f"Schedule of {definition.name}{scope} {'enabled' if enabled else 'disabled'}.")


@router.post("/jobs/{name}/enable")
def enable(request: Request, name: str, session: web.Admin, shop: ShopField = "", back: Back = "") -> Response:
    return _set_enabled(request, name, shop, back, True, session.username)


@router.post("/jobs/{name}/disable")
def disable(request: Request, name: str, session: web.Admin, shop: ShopField = "", back: Back = "") -> Response:
    return _set_enabled(request, name, shop, back, False, session.username)


@router.post("/jobs/runs/{run_id}/release")
def release(request: Request, run_id: str, session: web.Operator) -> Response:
    """End a run left 'running' by a node that is gone (operator); it is not retried."""
    number = _run_id(run_id)
    try:
        JobManager(web.hub_of(request)).release(number, by=f"console:{session.username}")
    except LookupError:
        raise web.Refused(409, f"Run {number} is not running, so there is nothing to release.") from None
    return web.go(request, f"/jobs/runs/{number}", f"Run {number} released: it is recorded as failed.")


# -- webhooks of a category ----------------------------------------------------------------------------------

def _webhook_shop(request: Request, domain: str) -> Shop:
    found = _shop(request, domain)
    if found is None:
        raise ValueError("choose the shop whose webhooks to change")
    return found


def _summary(states: list[webhook_categories.TopicState]) -> str:
    done = ", ".join(f"{s.topic} {s.state}" for s in states if not s.error)
    errors = "; ".join(s.error for s in states if s.error)
    return done + (f". Refused: {errors}" if errors else "")


@router.post("/jobs/category/{code}/webhooks")
def change_webhooks(request: Request, code: str, session: web.Admin, shop: ShopField = "",
                    action: Annotated[str, Form(max_length=16)] = "",
                    address: Annotated[str, Form(max_length=1000)] = "") -> Response:
    """Subscribe the category's Shopify topics for a shop, or remove them (admin)."""
    code = _category_code(code)
    hub = web.hub_of(request)
    if action not in ("subscribe", "unsubscribe"):
        return _category_page(request, code, 422, f"Unknown webhook action “{action[:20]}”: subscribe or unsubscribe.")
    target: Shop | None = None
    try:
        target = _webhook_shop(request, shop)
        if action == "subscribe":
            states = webhook_categories.subscribe(hub, target, code, address)
        else:
            states = webhook_categories.unsubscribe(hub, target, code)
    except ShopifyError as exc:  # Shopify (or the way to it) failed
        return _category_page(request, code, 502, f"Shopify did not answer for the {code} webhooks of "
                              f"{target.domain if target else shop}: {message(exc)}. Nothing was recorded; "
                              "try again later.")
    except ValueError as exc:  # WebhookError and unknown shops
        return _category_page(request, code, 422, f"{code} webhooks not changed: {message(exc)}.")
    log.info("console_webhooks_changed", category=code, shop=target.domain, action=action, by=session.username)
    verb = "subscribed" if action == "subscribe" else "unsubscribed"
    return web.go(request, f"/jobs/category/{code}#webhooks",
                  f"{code} webhooks of {target.domain} {verb}: {_summary(states)}")


@router.post("/jobs/category/{code}/webhooks/check")
def check_webhooks(request: Request, code: str, session: web.Operator, shop: ShopField = "") -> Response:
    """Each topic's state at Shopify for one shop (operator: it calls Shopify), as a fragment of the page."""
    code = _category_code(code)
    states, problem = [], None
    try:
        target = _webhook_shop(request, shop)
        states = webhook_categories.state(web.hub_of(request), target, code)
    except (ShopifyError, ValueError) as exc:
        problem = f"Could not read the {code} webhooks of {shop or 'the shop'} at Shopify: {message(exc)}"
    return _render(request, "jobs_webhook_state.html", states=states, problem=problem)

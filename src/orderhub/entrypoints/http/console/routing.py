"""Routing pages: the rules in order, edited, and a dry run that shows where an order would go and
why.

Anyone signed in reads the rules and may dry-run an order (a GET: it changes nothing); an admin
edits a rule, moves rules and routings up or down, and chooses the run brokering uses.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request
from sqlalchemy.exc import IntegrityError
from starlette.responses import Response

from orderhub.domain.routing import QUEUES, ActionKind, InventorySort, RoutingConfigError, Split
from orderhub.entrypoints.http.console import web
from orderhub.services.console import routing_view
from orderhub.services.console.routing_view import BUILT_IN, Stale

router = APIRouter(include_in_schema=False)

MAX_NAME = 100  # routing_runs.name, routing_rules.name
MAX_INDEX = 10_000
CHOICES = {"sorts": [s.value for s in InventorySort], "splits": [s.value for s in Split],
           "kinds": [k.value for k in ActionKind], "queues": list(QUEUES)}


def _run_url(key: str, anchor: str = "") -> str:
    return f"/routing?run={quote(key, safe='')}" + (f"#{anchor}" if anchor else "")


def _view_or_404(request: Request, key: str | None) -> routing_view.RunView:
    with web.hub_of(request).db.read() as conn:
        view = routing_view.load(conn, key)
    if view is None:
        raise web.Refused(404, f"There is no routing run {key}; see the routing page for the runs there are.")
    return view


@router.get("/routing")
def routing_page(request: Request, session: web.Viewer, run: str | None = Query(None, max_length=MAX_NAME)
                 ) -> Response:
    view = _view_or_404(request, run)
    with web.hub_of(request).db.read() as conn:
        runs = routing_view.choices(conn)
    return web.render(request, "routing.html", view=view, runs=runs)


def _rule_or_404(view: routing_view.RunView, routing: int, rule: int) -> tuple[Any, Any]:
    if not 0 <= routing < len(view.routings) or not 0 <= rule < len(view.routings[routing].rules):
        raise web.Refused(404, f"Routing run {view.name} has no rule {rule + 1} in routing {routing + 1}; "
                               "it may have been moved or removed. Reload the routing page.")
    return view.routings[routing], view.routings[routing].rules[rule]


@router.get("/routing/rule")
def rule_page(request: Request, session: web.Viewer, run: str = Query(..., max_length=MAX_NAME),
              routing: int = Query(..., ge=0, le=MAX_INDEX), rule: int = Query(..., ge=0, le=MAX_INDEX)
              ) -> Response:
    view = _view_or_404(request, run)
    owner, found = _rule_or_404(view, routing, rule)
    return web.render(request, "routing_rule.html", view=view, owner=owner, rule=found, form=found.form,
                      choices=CHOICES, problem=None, bad_field="")


@router.post("/routing/rule")
def save_rule(request: Request, session: web.Admin,
              run: str = Form("", max_length=MAX_NAME), version: str = Form(..., max_length=64),
              routing: int = Form(..., ge=0, le=MAX_INDEX), rule: int = Form(..., ge=0, le=MAX_INDEX),
              name: str = Form("", max_length=MAX_NAME),
              facility_groups_in: str = Form("", max_length=2000), facility_groups_out: str = Form("", max_length=2000),
              max_distance_km: str = Form("", max_length=30), brokering_safety_stock: str = Form("", max_length=30),
              respect_capacity: str | None = Form(None, max_length=5),
              ship_from_store_only: str | None = Form(None, max_length=5),
              sort1: str = Form("", max_length=30), sort2: str = Form("", max_length=30),
              sort3: str = Form("", max_length=30), split: str = Form("none", max_length=30),
              min_shipment_value: str = Form("", max_length=30), action_kind: str = Form("next_rule", max_length=30),
              action_queue: str = Form("", max_length=30), auto_cancel_days: str = Form("", max_length=30),
              clear_auto_cancel: str | None = Form(None, max_length=5)) -> Response:
    form = {"name": name, "facility_groups_in": facility_groups_in, "facility_groups_out": facility_groups_out,
            "max_distance_km": max_distance_km, "brokering_safety_stock": brokering_safety_stock,
            "respect_capacity": respect_capacity is not None, "ship_from_store_only": ship_from_store_only is not None,
            "sort1": sort1, "sort2": sort2, "sort3": sort3, "split": split, "min_shipment_value": min_shipment_value,
            "action_kind": action_kind, "action_queue": action_queue, "auto_cancel_days": auto_cancel_days,
            "clear_auto_cancel": clear_auto_cancel is not None}
    try:
        with web.hub_of(request).db.write() as conn:
            stored, _ = routing_view.save_rule(conn, run, version, routing, rule, routing_view.rule_from_form(form))
    except RoutingConfigError as bad:
        view = _view_or_404(request, run)
        owner, found = _rule_or_404(view, routing, rule)
        data = view.data
        return web.render(request, "routing_rule.html", status=422, view=view, owner=owner, rule=found, form=form,
                          choices=CHOICES, problem=routing_view.explain(data, bad.path, bad.problem),
                          bad_field=routing_view.problem_field(bad.path))
    except Stale as stale:
        raise web.Refused(409, str(stale)) from None
    except LookupError as gone:
        raise web.Refused(404, str(gone).strip("'\"")) from None
    except IntegrityError:  # another admin saved the built-in default under the same name at this moment
        raise web.Refused(409, "The routing run changed while you saved; reload it and make your change again.") \
            from None
    note = "" if run == stored else f" It is saved as the stored run “{stored}”."
    return web.go(request, _run_url(stored, f"rule-{routing}-{rule}"),
                  f"Rule “{form['name'].strip()}” saved.{note}")


@router.post("/routing/move")
def move(request: Request, session: web.Admin, run: str = Form("", max_length=MAX_NAME),
         version: str = Form(..., max_length=64), routing: int = Form(..., ge=0, le=MAX_INDEX),
         rule: int | None = Form(None, ge=0, le=MAX_INDEX), step: str = Form(..., max_length=4)) -> Response:
    if step not in ("up", "down"):
        raise web.Refused(400, f"A rule moves up or down, not {step!r}.")
    try:
        with web.hub_of(request).db.write() as conn:
            stored, moved = routing_view.move(conn, run, version, routing, rule, -1 if step == "up" else 1)
    except Stale as stale:
        raise web.Refused(409, str(stale)) from None
    except LookupError as gone:
        raise web.Refused(404, str(gone).strip("'\"")) from None
    except ValueError as edge:  # already first or last: nothing changed
        return web.go(request, _run_url(run), f"Nothing moved: {edge}.")
    delta = -1 if step == "up" else 1
    anchor = f"routing-{routing + delta}" if rule is None else f"rule-{routing}-{rule + delta}"
    return web.go(request, _run_url(stored, anchor), f"“{moved}” moved {step}.")


@router.post("/routing/use")
def use(request: Request, session: web.Admin, run: str = Form("", max_length=MAX_NAME),
        version: str = Form(..., max_length=64), in_use: str = Form(..., max_length=3)) -> Response:
    if in_use not in ("yes", "no"):
        raise web.Refused(400, f"in_use is yes or no, not {in_use!r}.")
    try:
        with web.hub_of(request).db.write() as conn:
            now = routing_view.set_in_use(conn, run, version, in_use == "yes")
    except Stale as stale:
        raise web.Refused(409, str(stale)) from None
    except LookupError as gone:
        raise web.Refused(404, str(gone).strip("'\"")) from None
    except ValueError as why:
        return web.go(request, _run_url(run), f"Nothing changed: {why}.")
    label = "the built-in default" if now == BUILT_IN else f"“{now}”"
    return web.go(request, _run_url(run), f"Brokering now uses {label}.")


@router.get("/routing/dry-run")
def dry_run(request: Request, session: web.Viewer, order: str = Query("", max_length=64)) -> Response:
    """A GET: any role may ask, and nothing is written (brokering.preview only reads)."""
    hub = web.hub_of(request)
    result, problem = None, None
    with hub.db.read() as conn:
        waiting = routing_view.waiting_orders(conn)
        in_use = routing_view.load(conn, None)
        if order.strip():
            try:
                result = routing_view.dry_run(conn, routing_view.find_order(conn, order))
            except LookupError as missing:
                problem = str(missing).strip("'\"")
    return web.render(request, "routing_dry_run.html", status=404 if problem else 200, order=order,
                      result=result, problem=problem, waiting=waiting, in_use=in_use)

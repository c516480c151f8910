"""The dashboard: the pipeline at a glance, and its traffic per minute for the chart."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from starlette.responses import JSONResponse, Response

from orderhub.entrypoints.http.console import web
from orderhub.services.console import dashboard

router = APIRouter(include_in_schema=False)


@router.get("/")
def dashboard_page(request: Request, session: web.Viewer) -> Response:
    return web.render(request, "dashboard.html", snap=dashboard.snapshot(web.hub_of(request)))


@router.get("/dashboard/traffic.json")
def traffic(request: Request, session: web.Viewer, hours: float = Query(3.0, gt=0, le=48)) -> Response:
    """The chart's data: per-minute counts over the last ``hours``."""
    return web.secured(JSONResponse(dashboard.series(web.hub_of(request).db, hours)))

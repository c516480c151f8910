"""The dashboard: the pipeline at a glance."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from orderhub.entrypoints.http.console import web
from orderhub.services.console import dashboard

router = APIRouter(include_in_schema=False)


@router.get("/")
def dashboard_page(request: Request, session: web.Viewer) -> Response:
    return web.render(request, "dashboard.html", snap=dashboard.snapshot(web.hub_of(request).db))

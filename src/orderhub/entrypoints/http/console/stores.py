"""Store pages: every store's day, its POS devices and which are silent; one store's devices, late and flagged
sales and oversells. Anyone signed in reads them; an admin makes enrolment codes (shown once, on the page
that answers the form) and revokes devices, as with the API."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from starlette.responses import Response

from orderhub.adapters.store import pos_devices, stores
from orderhub.clock import utcnow
from orderhub.entrypoints.http.console import web
from orderhub.services import pos_alerts
from orderhub.services.console import stores_view

router = APIRouter(include_in_schema=False)


def _store_url(code: str) -> str:
    return "/stores/" + quote(code, safe="")


@router.get("/stores")
def stores_page(request: Request, session: web.Viewer) -> Response:
    hub = web.hub_of(request)
    with hub.db.read() as conn:
        page = stores_view.list_page(conn, utcnow(), pos_alerts.silent_after(hub.settings))
    return web.render(request, "stores.html", **page)


def _render_store(request: Request, code: str, status: int = 200, **extra: object) -> Response:
    hub = web.hub_of(request)
    with hub.db.read() as conn:
        page = stores_view.store_page(conn, code, utcnow(), pos_alerts.silent_after(hub.settings))
    if page is None:
        raise web.Refused(404, f"There is no store {code}; see the list of stores.")
    return web.render(request, "stores_store.html", status=status, **page, **extra)


@router.get("/stores/{code}")
def store_page(request: Request, session: web.Viewer, code: str) -> Response:
    return _render_store(request, code)


@router.post("/stores/{code}/device-codes")
def make_code(request: Request, session: web.Admin, code: str) -> Response:
    """The code is on this answer only: not in a redirect, a cookie or a log."""
    with web.hub_of(request).db.write() as conn:
        try:
            store = stores.get(conn, code)
        except LookupError:
            raise web.Refused(404, f"There is no store {code}; see the list of stores.") from None
        enrolment, expires = pos_devices.new_code(conn, store.id, actor=f"console:{session.username}")
    return _render_store(request, code, status=201, new_code=enrolment, new_code_expires=expires)


@router.post("/stores/{code}/devices/{device_id}/revoke")
def revoke(request: Request, session: web.Admin, code: str, device_id: int) -> Response:
    with web.hub_of(request).db.write() as conn:
        try:
            device = stores.find_device(conn, str(device_id), code)
        except LookupError:
            raise web.Refused(404, f"Store {code} has no device {device_id}; see the store's page.") from None
        done = pos_devices.revoke(conn, device.id, actor=f"console:{session.username}")
    said = "revoked: it can no longer sync" if done else "was revoked already"
    return web.go(request, _store_url(device.store), f"Device {device.name} of store {device.store} {said}.")

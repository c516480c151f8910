"""Channel pages: every channel account with its health, and one account's orders, stock offers and the
operations it owes or was told. Anyone signed in reads them; accounts are added with `orderhub channel add`
or the API (their secrets never reach a page)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from orderhub.entrypoints.http.console import web
from orderhub.services.console import channels_view

router = APIRouter(include_in_schema=False)


@router.get("/channels")
def channels_page(request: Request, session: web.Viewer) -> Response:
    with web.hub_of(request).db.read() as conn:
        rows = channels_view.account_rows(conn)
    return web.render(request, "channels.html", rows=rows)


@router.get("/channels/{name:path}")
def account_page(request: Request, session: web.Viewer, name: str) -> Response:
    with web.hub_of(request).db.read() as conn:
        page = channels_view.account_page(conn, name)
    if page is None:
        raise web.Refused(404, f"There is no channel account {name}; see the list of channels.")
    return web.render(request, "channels_account.html", **page)

"""The web console at ``/``: server-rendered pages for the people who run orderhub.

:func:`install` adds its pages, its static files and the handlers that turn a missing session
into the sign-in page and a refused request into a page that says why.
"""

from __future__ import annotations

from urllib.parse import quote, urlsplit

from fastapi import FastAPI, Request
from starlette.responses import Response
from starlette.staticfiles import StaticFiles

from orderhub.entrypoints.http.console import (
    channels,
    customer_privacy,
    customers,
    dashboard,
    errors,
    inventory,
    jobs,
    orders,
    routing,
    sign_in,
    stores,
    web,
)
from orderhub.services.jobs import registry


def install(app: FastAPI) -> None:
    # Loaded as the server starts, not by the first person to open a page after a restart: the job catalogue
    # imports its modules on first use (about 0.2 s, the dashboard's and the jobs pages'), and Jinja compiles a
    # template the first time it is rendered (10-30 ms a page). Both are kept for the life of the process.
    registry.all_jobs()
    for name in web.templates.env.list_templates():
        web.templates.env.get_template(name)
    app.mount("/static", web.SecuredStatic(StaticFiles(directory=str(web.STATIC))), name="static")
    for module in (sign_in, dashboard, jobs, errors, orders, customers, inventory, routing, channels, stores,
                   customer_privacy):
        app.include_router(module.router)

    @app.exception_handler(web.SignInNeeded)
    async def _sign_in_needed(request: Request, exc: web.SignInNeeded) -> Response:
        if request.headers.get("hx-request"):
            # A fragment htmx asked for (a polled row): the whole page goes to the sign-in form and
            # back to where it was; a plain redirect would put the form inside the fragment.
            here = urlsplit(request.headers.get("hx-current-url", ""))
            back = web.safe_next(here.path + (f"?{here.query}" if here.query else ""))
            return web.secured(Response(headers={"HX-Redirect": f"/sign-in?next={quote(back, safe='')}"}))
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return web.go(request, f"/sign-in?next={quote(target, safe='')}")

    @app.exception_handler(web.Refused)
    async def _refused(request: Request, exc: web.Refused) -> Response:
        return web.error_page(request, exc.status, exc.message)

"""The ASGI application: webhook receivers, admin API, the web console, health and metrics."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from orderhub import __version__
from orderhub.bootstrap import Hub, freeze_start_up
from orderhub.entrypoints.http import (
    api,
    api_channels,
    api_customer_privacy,
    api_customers,
    api_invoicing,
    api_job_webhooks,
    api_jobs,
    api_oms,
    api_pickups,
    api_pos,
    api_reconcile,
    api_stores,
    api_subscriptions,
    ops,
    shopify_door,
    webhooks,
    webhooks_tiktok,
)
from orderhub.entrypoints.http.bodies import BodyBudget
from orderhub.entrypoints.http.console import install as install_console
from orderhub.entrypoints.http.console import web as console_web
from orderhub.entrypoints.http.docs_and_headers import StrictTransport, install_docs
from orderhub.entrypoints.http.doors import BodyGuard
from orderhub.entrypoints.http.shopify_door import ShopifyDoor

_PAGE_ERRORS = {404: "There is no such page.", 405: "That address does not take this kind of request."}


class OrderhubApp(FastAPI):
    """The app, with Shopify's webhook door in front of it: that door (``shopify_door.py``) is the busiest, and
    answers before FastAPI's per-request work (telemetry checks, middleware, routing) begins."""

    front: ShopifyDoor | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.front is not None:
            await self.front(scope, receive, send)
        else:
            await super().__call__(scope, receive, send)


def create_app(hub: Hub) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        hub.writer.start()
        freeze_start_up()
        yield
        hub.writer.stop()

    # The docs are routes of their own (behind a credential unless opened): see install_docs.
    app = OrderhubApp(title="orderhub", version=__version__, lifespan=lifespan, docs_url=None, openapi_url=None,
                      redoc_url=None)
    app.state.hub = hub
    # One budget of body bytes for every door of this process (webhooks read through it directly).
    app.state.body_budget = BodyBudget(hub.settings.max_body_bytes_in_flight)
    app.add_middleware(BodyGuard, settings=hub.settings, budget=app.state.body_budget)
    install_docs(app, "docs" in hub.settings.open_endpoints)
    app.add_middleware(StrictTransport, trusted_proxies=hub.settings.trusted_proxies)
    app.add_route(shopify_door.PATH, shopify_door.ShopifyRoute(), methods=["POST"])
    app.add_route("/webhooks/eventbridge", webhooks.eventbridge_webhook, methods=["POST"])
    app.add_route("/healthz", ops.healthz, methods=["GET"])
    app.add_route("/metrics", ops.metrics, methods=["GET"])
    app.include_router(api.router)
    app.include_router(api_oms.router)
    app.include_router(api_pickups.router)
    app.include_router(api_channels.router)
    app.include_router(api_stores.router)
    app.include_router(api_customers.router)
    app.include_router(api_subscriptions.router)
    app.include_router(api_reconcile.router)
    app.include_router(api_jobs.router)
    app.include_router(api_job_webhooks.router)
    app.include_router(api_invoicing.router)
    app.include_router(webhooks_tiktok.router)
    app.include_router(api_pos.router)
    app.include_router(api_customer_privacy.router)
    app.state.queue_registry = ops.queue_registry(hub)
    app.front = ShopifyDoor(super(OrderhubApp, app).__call__, hub, app.state.body_budget)
    install_console(app)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if console_web.wants_page(request):  # a person's browser on a console address: a page, not JSON
            return console_web.error_page(request, exc.status_code, _PAGE_ERRORS.get(exc.status_code, str(exc.detail)))
        return JSONResponse({"error": exc.detail}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
        return JSONResponse({"error": "; ".join(problems)}, status_code=422)

    return app

"""The API's own documentation behind a credential, and the headers every answer over TLS carries.

The OpenAPI document and its browsable page describe every admin route; unless
``ORDERHUB_OPEN_ENDPOINTS`` opens them they are shown to a bearer API token or a signed-in
console user only. Answers to requests that came over TLS (directly, or through a proxy whose
forwarded headers uvicorn trusts) carry Strict-Transport-Security, so browsers keep to HTTPS.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from orderhub.entrypoints.http.auth import bearer_ok
from orderhub.entrypoints.http.client_address import over_tls
from orderhub.entrypoints.http.console import web as console_web

OPENAPI_URL, DOCS_URL = "/openapi.json", "/api/docs"
HSTS = b"max-age=31536000; includeSubDomains"


def _may_read(request: Request) -> bool:
    hub = request.app.state.hub
    return bearer_ok(request, hub, "api") or console_web.current_session(request) is not None


def _refused() -> Response:
    return JSONResponse({"error": "the API documentation needs a bearer API token or a console sign-in"},
                        status_code=401, headers={"WWW-Authenticate": "Bearer"})


def install_docs(app: FastAPI, open_docs: bool) -> None:
    """Serve the docs openly (FastAPI's own routes) or behind a credential."""
    if open_docs:
        app.openapi_url, app.docs_url = OPENAPI_URL, DOCS_URL
        app.setup()
        return

    async def openapi(request: Request) -> Response:
        return JSONResponse(app.openapi()) if _may_read(request) else _refused()

    async def docs(request: Request) -> Response:
        if not _may_read(request):
            return _refused()
        return get_swagger_ui_html(openapi_url=OPENAPI_URL, title="orderhub API")

    app.add_route(OPENAPI_URL, openapi, methods=["GET"], include_in_schema=False)
    app.add_route(DOCS_URL, docs, methods=["GET"], include_in_schema=False)


class StrictTransport:
    """Adds Strict-Transport-Security to every HTTP answer to a request that came over TLS (to orderhub, or
    to one of the trusted proxies, which says so in X-Forwarded-Proto)."""

    def __init__(self, app: ASGIApp, trusted_proxies: tuple[str, ...] = ()) -> None:
        self.app = app
        self.trusted_proxies = trusted_proxies

    def _over_tls(self, scope: Scope) -> bool:
        peer = (scope.get("client") or ("", 0))[0]
        proto = next((v.decode("latin-1") for k, v in scope.get("headers") or () if k == b"x-forwarded-proto"), None)
        return over_tls(scope.get("scheme", "http"), peer, proto, self.trusted_proxies)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self._over_tls(scope):
            await self.app(scope, receive, send)
            return

        async def send_with_hsts(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers: list[Any] = list(message.get("headers") or [])
                if not any(name.lower() == b"strict-transport-security" for name, _ in headers):
                    headers.append((b"strict-transport-security", HSTS))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_hsts)

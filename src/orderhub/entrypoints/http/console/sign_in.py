"""Signing in and out of the console.

The sign-in form carries a token that must match a cookie set with the form (there is no
session yet to hold one), so another site cannot sign a browser in as someone else.
"""

from __future__ import annotations

import hmac
import secrets

from fastapi import APIRouter, Form, Request
from starlette.responses import Response

from orderhub.entrypoints.http.client_address import client_address
from orderhub.entrypoints.http.console import web
from orderhub.services.console import accounts
from orderhub.services.console.accounts import SignInRefused

router = APIRouter(include_in_schema=False)


def _form(request: Request, status: int = 200, problem: str | None = None, username: str = "",
          retry_after: int | None = None) -> Response:
    token = secrets.token_urlsafe(32)
    response = web.render(request, "sign_in.html", status=status, session=None, csrf=token, problem=problem,
                          username=username, next=web.safe_next(request.query_params.get("next")))
    web.set_cookie(request, response, web.SIGN_IN_COOKIE, token, 30 * 60)
    if retry_after:
        response.headers["retry-after"] = str(retry_after)
    return response


@router.get("/sign-in")
def sign_in_form(request: Request) -> Response:
    if web.current_session(request) is not None:
        return web.go(request, web.safe_next(request.query_params.get("next")))
    return _form(request)


@router.post("/sign-in")
def sign_in(request: Request, username: str = Form("", max_length=200), password: str = Form("", max_length=4096),
            csrf: str = Form("", max_length=200), next: str = Form("/", max_length=2000)) -> Response:
    expected = request.cookies.get(web.SIGN_IN_COOKIE, "")
    if not expected or not hmac.compare_digest(csrf.encode(), expected.encode()):
        return _form(request, 403, "The form had expired; please sign in again.", username)
    hub = web.hub_of(request)
    try:
        signed = accounts.sign_in(hub.db, username, password,
                                  ip=client_address(request, hub.settings.trusted_proxies),
                                  user_agent=request.headers.get("user-agent"), idle=web.idle_time(hub),
                                  parallel_checks=hub.settings.console_password_checks)
    except SignInRefused as refused:
        status = 503 if refused.busy else 429 if refused.retry_after else 401
        return _form(request, status, str(refused), username, refused.retry_after)
    response = web.go(request, web.safe_next(next), f"Signed in as {signed.username} ({signed.role}).")
    web.set_cookie(request, response, web.SESSION_COOKIE, signed.token,
                   int(hub.settings.console_session_max_hours * 3600))
    response.delete_cookie(web.SIGN_IN_COOKIE, path="/")
    return response


@router.post("/sign-out")
def sign_out(request: Request, session: web.SignedIn) -> Response:
    accounts.sign_out(web.hub_of(request).db, request.cookies.get(web.SESSION_COOKIE))
    response = web.go(request, "/sign-in", "Signed out.")
    response.delete_cookie(web.SESSION_COOKIE, path="/")
    return response

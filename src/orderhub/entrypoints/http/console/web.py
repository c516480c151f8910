"""What every console page shares: templates, the signed-in user, roles, CSRF, flash messages
and the security headers.

Pages are server-rendered (Jinja2, autoescaped); a page that changes something is a POST form
that carries the session's CSRF token (htmx requests send it as ``X-CSRF-Token``), and the
server checks the role on every such request, whatever the page showed.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, unquote, urlsplit

import orjson
from fastapi import Depends, Request
from starlette.responses import RedirectResponse, Response
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from orderhub.bootstrap import Hub
from orderhub.clock import utcnow
from orderhub.services.console import accounts
from orderhub.services.console.accounts import Session

HERE = Path(__file__).parent
STATIC = HERE / "static"
SESSION_COOKIE = "orderhub_session"
SIGN_IN_COOKIE = "orderhub_sign_in"  # the sign-in form's CSRF token, before there is a session
FLASH_COOKIE = "orderhub_flash"
MAX_FLASH = 300

# No inline script or style anywhere, so nothing a payload smuggles into a page can run.
CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                           "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
                           "form-action 'self'; frame-ancestors 'none'")
SECURITY_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=()",
}


def _fingerprints() -> dict[str, str]:
    """Each static file's content hash (its URL carries it, so browsers may cache it for good)."""
    return {p.relative_to(STATIC).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()[:12]
            for p in STATIC.rglob("*") if p.is_file()}


STATIC_VERSIONS = _fingerprints()


def static_url(name: str) -> str:
    return f"/static/{name}?v={STATIC_VERSIONS[name]}"


def _when(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
    return value.strftime(fmt) if value else "—"


def _ago(value: datetime | None, now: datetime | None = None) -> str:
    if value is None:
        return "—"
    seconds = int(((now or utcnow()) - value).total_seconds())
    if seconds < 0:
        return f"in {_span(-seconds)}"
    return f"{_span(seconds)} ago"


def _span(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit}"
    return f"{seconds} s"


def _pretty_json(value: Any) -> str:
    """JSON text indented for reading (escaped by the template like any other text)."""
    if isinstance(value, (str, bytes)):
        try:
            value = orjson.loads(value)
        except orjson.JSONDecodeError:
            return value.decode("utf-8", "replace") if isinstance(value, bytes) else value
    return orjson.dumps(value, option=orjson.OPT_INDENT_2, default=str).decode()


templates = Jinja2Templates(directory=str(HERE / "templates"))
templates.env.globals["static"] = static_url
templates.env.filters["when"] = _when
templates.env.filters["ago"] = _ago
templates.env.filters["pretty_json"] = _pretty_json


def hub_of(request: Request) -> Hub:
    return request.app.state.hub  # type: ignore[no-any-return]


def idle_time(hub: Hub) -> timedelta:
    return timedelta(hours=hub.settings.console_session_hours)


def longest_time(hub: Hub) -> timedelta:
    return timedelta(hours=hub.settings.console_session_max_hours)


def current_session(request: Request) -> Session | None:
    """The request's signed-in user (looked up once per request)."""
    if not hasattr(request.state, "console_session"):
        hub = hub_of(request)
        request.state.console_session = accounts.session(
            hub.db, request.cookies.get(SESSION_COOKIE), idle=idle_time(hub), longest=longest_time(hub))
    return request.state.console_session  # type: ignore[no-any-return]


def secure_cookies(request: Request) -> bool:
    """Secure cookies, unless ``auto`` and served over plain HTTP on a loopback address."""
    mode = hub_of(request).settings.console_secure_cookies
    if mode != "auto":
        return mode == "always"
    if request.url.scheme == "https":
        return True
    host = (request.url.hostname or "").strip("[]")
    if host == "localhost":
        return False
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:
        return True


def set_cookie(request: Request, response: Response, name: str, value: str, max_age: int | None) -> None:
    response.set_cookie(name, value, max_age=max_age, path="/", httponly=True, samesite="lax",
                        secure=secure_cookies(request))


def secured(response: Response) -> Response:
    """The console's security headers, and no caching of pages (they show live data)."""
    for key, value in SECURITY_HEADERS.items():
        response.headers[key] = value
    response.headers.setdefault("cache-control", "no-store")
    return response


# -- what a page may be asked ---------------------------------------------------------------------------------

class SignInNeeded(Exception):
    """A page asked for without a session: the browser goes to the sign-in page, and back after."""


class Refused(Exception):
    """A request the user may not make (role, CSRF, origin), or asked of something that is not there."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def viewer(request: Request) -> Session:
    """Dependency of every page: the signed-in user (any role)."""
    session = current_session(request)
    if session is None:
        raise SignInNeeded()
    return session


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        return origin is None  # no Origin (older browsers, curl) is left to the token; "null" is refused
    parts = urlsplit(origin)
    return parts.netloc == request.headers.get("host", "") and parts.scheme in ("http", "https")


async def _posted_token(request: Request) -> str:
    header = request.headers.get("x-csrf-token")
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()  # kept by Starlette: the endpoint reads it again for free
        value = form.get("csrf")
        return value if isinstance(value, str) else ""
    return ""


def acting(needed: str) -> Callable[[Request], Awaitable[Session]]:
    """Dependency of every request that changes something: a session whose role allows it, a
    CSRF token that is the session's, and no foreign Origin."""

    async def check(request: Request) -> Session:
        session = current_session(request)
        if session is None:
            raise Refused(401, "You are not signed in (or your session ended): sign in again.")
        token = await _posted_token(request)
        if not _same_origin(request) or not hmac.compare_digest(token.encode(), session.csrf_token.encode()):
            raise Refused(403, "This form is out of date or did not come from this console; reload the page.")
        if not session.may(needed):
            raise Refused(403, f"Your role ({session.role}) may not do this; it needs {needed}.")
        return session

    return check


# What an endpoint declares it needs: ``session: web.Viewer`` for a page, ``session: web.Operator`` for
# an action on orders, jobs or the error log, ``session: web.Admin`` for a change of configuration.
Viewer = Annotated[Session, Depends(viewer)]
SignedIn = Annotated[Session, Depends(acting("viewer"))]  # a POST any role may make (signing out)
Operator = Annotated[Session, Depends(acting("operator"))]
Admin = Annotated[Session, Depends(acting("admin"))]


def flash(request: Request, response: Response, message: str) -> None:
    """A message for the next page shown (after a redirect)."""
    set_cookie(request, response, FLASH_COOKIE, quote(message[:MAX_FLASH]), 60)


def go(request: Request, url: str, message: str | None = None) -> Response:
    """Redirect after a POST (303: the browser GETs the page), with an optional flash message."""
    response = RedirectResponse(safe_next(url), status_code=303)
    if message:
        flash(request, response, message)
    return secured(response)


def safe_next(url: str | None) -> str:
    """A path on this site to go to; anything else (another host, a scheme, ``//``) is the dashboard."""
    if not url or not url.startswith("/") or url.startswith("//") or "\\" in url or urlsplit(url).netloc:
        return "/"
    return url


def render(request: Request, template: str, status: int = 200, **context: Any) -> Response:
    message = request.cookies.get(FLASH_COOKIE)
    context.setdefault("session", current_session(request))
    response = templates.TemplateResponse(request, template, {"flash": unquote(message)[:MAX_FLASH] if message
                                                              else None, **context}, status_code=status)
    if message:
        response.delete_cookie(FLASH_COOKIE, path="/")
    return secured(response)


_MACHINE_PREFIXES = ("/api/", "/webhooks/", "/openapi.json", "/metrics", "/healthz", "/dashboard/traffic.json")


def wants_page(request: Request) -> bool:
    """A browser asking for a console address (not the API, the receivers or the probes)."""
    path = request.url.path
    return "text/html" in request.headers.get("accept", "") and not path.startswith(_MACHINE_PREFIXES)


def error_page(request: Request, status: int, message: str) -> Response:
    return render(request, "error.html", status=status, message=message,
                  session=current_session(request) if status != 401 else None)


# -- static files ------------------------------------------------------------------------------------------

class SecuredStatic:
    """The static files app, with the console's headers; a file asked for with its current
    fingerprint (``?v=``) may be cached for a year."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path, root = scope.get("path", ""), scope.get("root_path", "")  # under the mount, as StaticFiles sees it
        path = (path[len(root):] if root and path.startswith(root) else path).removeprefix("/")
        query = scope.get("query_string", b"").decode()
        fresh = STATIC_VERSIONS.get(path) is not None and query == f"v={STATIC_VERSIONS[path]}"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"cache-control"]
                headers += [(k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]
                headers.append((b"cache-control", b"public, max-age=31536000, immutable" if fresh
                                else b"no-cache"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)

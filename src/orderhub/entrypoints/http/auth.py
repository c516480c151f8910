"""Bearer-token checks for the admin API and the EventBridge receiver.

Every request looks its token up in the database (one indexed read by the token's SHA-256), so a
revoked token is refused on its very next request, by every process. No cache: a cache would
keep a revoked token working for as long as it holds it.
"""

from __future__ import annotations

from starlette.requests import Request

from orderhub.adapters.store import tokens
from orderhub.bootstrap import Hub


def bearer_identity(request: Request, hub: Hub, scope: str) -> tuple[str, str] | None:
    """(token name, role) of the request's bearer token for ``scope``; None when it has none."""
    header = request.headers.get("authorization", "")
    kind, _, token = header.partition(" ")
    if kind.lower() != "bearer" or not token.strip():
        return None
    with hub.db.read() as conn:
        return tokens.identify(conn, token.strip(), scope)


def bearer_ok(request: Request, hub: Hub, scope: str) -> bool:
    return bearer_identity(request, hub, scope) is not None

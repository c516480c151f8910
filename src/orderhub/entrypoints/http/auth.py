"""Bearer-token checks for the admin API and the EventBridge receiver."""

from __future__ import annotations

import time

from starlette.requests import Request

from orderhub.adapters.store import tokens
from orderhub.bootstrap import Hub

_CACHE_SECONDS = 5.0
_cache: dict[tuple[str, str], tuple[float, tuple[str, str]]] = {}


def bearer_identity(request: Request, hub: Hub, scope: str) -> tuple[str, str] | None:
    """(token name, role) of the request's bearer token for ``scope``; None when it has none."""
    header = request.headers.get("authorization", "")
    kind, _, token = header.partition(" ")
    if kind.lower() != "bearer" or not token.strip():
        return None
    token = token.strip()
    key = (token, scope)
    now = time.monotonic()
    cached = _cache.get(key)
    if cached and cached[0] > now:
        return cached[1]
    with hub.db.read() as conn:
        identity = tokens.identify(conn, token, scope)
    if identity:
        _cache[key] = (now + _CACHE_SECONDS, identity)
    return identity


def bearer_ok(request: Request, hub: Hub, scope: str) -> bool:
    return bearer_identity(request, hub, scope) is not None

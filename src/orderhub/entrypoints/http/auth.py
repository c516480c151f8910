"""Bearer-token checks for the admin API and the EventBridge receiver."""

from __future__ import annotations

import time

from starlette.requests import Request

from orderhub.adapters.store import tokens
from orderhub.bootstrap import Hub

_CACHE_SECONDS = 5.0
_cache: dict[tuple[str, str], float] = {}


def bearer_ok(request: Request, hub: Hub, scope: str) -> bool:
    header = request.headers.get("authorization", "")
    kind, _, token = header.partition(" ")
    if kind.lower() != "bearer" or not token.strip():
        return False
    token = token.strip()
    key = (token, scope)
    now = time.monotonic()
    if _cache.get(key, 0.0) > now:
        return True
    with hub.db.read() as conn:
        ok = tokens.check(conn, token, scope)
    if ok:
        _cache[key] = now + _CACHE_SECONDS
    return ok

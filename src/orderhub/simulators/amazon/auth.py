"""Login with Amazon (``POST /auth/o2/token``) and the tokens SP-API requests carry.

LWA trades an application's ``client_id``/``client_secret`` and a seller's ``refresh_token``
for an access token (``Atza|...``, ``expires_in`` 3600), or, with ``grant_type=client_credentials``
and a ``scope``, for a grantless token. SP-API requests carry it in ``x-amz-access-token``;
a restricted data token (``Atz.sprdt|...``, from the Tokens API) takes its place for the
restricted resources it names. Expired, unknown and missing tokens are refused with SP-API's
403 ``Unauthorized`` bodies. Expiry reads the simulated clock.
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from orderhub.simulators.amazon.clock import Clock
from orderhub.simulators.amazon.errors import SpApiError, recorded


@dataclass(frozen=True)
class Seller:
    seller_id: str
    refresh_token: str
    marketplace_ids: tuple[str, ...]


@dataclass
class Token:
    value: str
    seller_id: str | None  # None: a grantless token
    expires_at: datetime
    scope: str | None = None
    restricted: list[dict[str, Any]] = field(default_factory=list)  # RDT: [{method, path, dataElements}]


class LwaError(Exception):
    """An OAuth error answer: ``{"error", "error_description"}``."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description

    def body(self) -> dict[str, str]:
        return {"error_description": self.description, "error": self.error}


class Tokens:
    def __init__(self, clock: Clock, apps: dict[str, str], sellers: list[Seller], lifetime: int) -> None:
        self.clock = clock
        self.apps = dict(apps)
        self.sellers = {s.seller_id: s for s in sellers}
        self.lifetime = lifetime
        self._lock = threading.Lock()
        self._tokens: dict[str, Token] = {}

    def seller_for_refresh(self, refresh_token: str) -> Seller | None:
        return next((s for s in self.sellers.values() if s.refresh_token == refresh_token), None)

    def grant(self, form: dict[str, str]) -> dict[str, Any]:
        """The LWA answer for a token request's form fields; raises :class:`LwaError`."""
        grant_type = form.get("grant_type")
        if not grant_type:
            raise LwaError(400, "invalid_request", "The request is missing a required parameter : grant_type")
        if grant_type not in ("refresh_token", "client_credentials"):
            raise LwaError(400, "unsupported_grant_type", f"The authorization grant type {grant_type} is not "
                                                          "supported by the authorization server")
        client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        if not client_id:
            raise LwaError(400, "invalid_request", "The request is missing a required parameter : client_id")
        known = self.apps.get(client_id)
        if known is None or not secrets.compare_digest(known.encode(), secret.encode()):
            raise LwaError(401, "invalid_client", "Client authentication failed")
        if grant_type == "client_credentials":
            scope = form.get("scope")
            if not scope:
                raise LwaError(400, "invalid_request", "The request is missing a required parameter : scope")
            token = self._issue(None, scope=scope)
            return {"access_token": token.value, "scope": scope, "token_type": "bearer", "expires_in": self.lifetime}
        refresh = form.get("refresh_token")
        if not refresh:
            raise LwaError(400, "invalid_request", "The request is missing a required parameter : refresh_token")
        seller = self.seller_for_refresh(refresh)
        if seller is None:
            raise LwaError(400, "invalid_grant", "The request has an invalid grant parameter : refresh_token")
        token = self._issue(seller.seller_id)
        return {"access_token": token.value, "refresh_token": refresh, "token_type": "bearer",
                "expires_in": self.lifetime}

    def _issue(self, seller_id: str | None, *, scope: str | None = None, prefix: str = "Atza|",
               restricted: list[dict[str, Any]] | None = None, lifetime: int | None = None) -> Token:
        value = prefix + secrets.token_urlsafe(48)
        token = Token(value, seller_id, self.clock.now() + timedelta(seconds=lifetime or self.lifetime), scope,
                      restricted or [])
        with self._lock:
            self._tokens[value] = token
        return token

    def restricted(self, seller_id: str, resources: list[dict[str, Any]], lifetime: int) -> Token:
        """A restricted data token for ``resources`` (``createRestrictedDataToken``)."""
        return self._issue(seller_id, prefix="Atz.sprdt|", restricted=resources, lifetime=lifetime)

    def resolve(self, value: str | None) -> Token:
        """The token a request carries, or the 403 SP-API answers for a missing, unknown or expired one."""
        if not value:
            raise recorded("UnauthorizedMissingToken")
        with self._lock:
            token = self._tokens.get(value)
        if token is None:
            raise recorded("UnauthorizedInvalidToken")
        if self.clock.now() >= token.expires_at:
            raise recorded("UnauthorizedExpiredToken")
        return token

    def expire_all(self) -> int:
        with self._lock:
            count = len(self._tokens)
            self._tokens.clear()
        return count

    def describe(self) -> list[dict[str, Any]]:
        with self._lock:
            return [{"token": t.value[:12] + "…", "seller_id": t.seller_id, "expires_at": t.expires_at.isoformat(),
                     "restricted": bool(t.restricted), "scope": t.scope} for t in self._tokens.values()]


def unlocked_elements(token: Token, method: str, path: str) -> frozenset[str]:
    """The restricted data elements (``buyerInfo``, ``shippingAddress``, ...) ``token`` unlocks for this request.

    A resource's path may name the order (``/orders/v0/orders/902-...``) or use the ``{orderId}`` placeholder.
    """
    elements: set[str] = set()
    for resource in token.restricted:
        if resource.get("method", "").upper() != method.upper():
            continue
        if _path_matches(resource.get("path", ""), path):
            elements.update(resource.get("dataElements") or [])
    return frozenset(elements)


def _path_matches(pattern: str, path: str) -> bool:
    want, have = pattern.rstrip("/").split("/"), path.rstrip("/").split("/")
    return len(want) == len(have) and all(w == h or (w.startswith("{") and w.endswith("}"))
                                          for w, h in zip(want, have, strict=True))


def seller_of(token: Token) -> str:
    """The seller a token speaks for; grantless tokens speak for none and are refused here."""
    if token.seller_id is None:
        raise SpApiError(403, "Unauthorized", "Access to requested resource is denied.",
                         "A grantless token cannot call a seller's operations.")
    return token.seller_id

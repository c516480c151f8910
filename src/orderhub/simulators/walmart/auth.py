"""Seller accounts, the Token API and the headers every other call must carry.

As Walmart documents it: ``POST /v3/token`` with ``Authorization: Basic
base64(clientId:clientSecret)``, the ``WM_SVC.NAME`` and ``WM_QOS.CORRELATION_ID`` headers and
the form ``grant_type=client_credentials`` gives an access token valid for 900 seconds.
Every other call sends it in ``WM_SEC.ACCESS_TOKEN`` beside ``WM_SVC.NAME`` and
``WM_QOS.CORRELATION_ID`` (all three "required" in the API reference). Tokens expire on the
simulated clock. Only ``client_credentials`` is offered: the other grant types belong to
app-based (authorization code) integrations.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import secrets
import threading
from dataclasses import dataclass

from orderhub.simulators.walmart.clock import Clock
from orderhub.simulators.walmart.defaults import TOKEN_TTL_SECONDS
from orderhub.simulators.walmart.errors import WalmartError, bad_header, unauthorized

REQUIRED_HEADERS = ("WM_SVC.NAME", "WM_QOS.CORRELATION_ID")
TOKEN_HEADER = "WM_SEC.ACCESS_TOKEN"


@dataclass(frozen=True)
class Account:
    """One seller's API credentials; ``seller_id`` is the partner id Walmart puts in cursors."""

    client_id: str
    client_secret: str
    name: str
    seller_id: str


@dataclass
class Token:
    value: str
    client_id: str
    expires_at: float


def require_headers(headers: dict[str, str]) -> None:
    for name in REQUIRED_HEADERS:
        if not headers.get(name.lower(), "").strip():
            raise bad_header(name, f"The {name} header is missing; send it on every call "
                                   "(WM_SVC.NAME: a service name, WM_QOS.CORRELATION_ID: a fresh GUID).")


class Accounts:
    """Known sellers and the access tokens issued to them, behind one lock."""

    def __init__(self, accounts: list[Account], clock: Clock, token_ttl: float = TOKEN_TTL_SECONDS) -> None:
        self._lock = threading.Lock()
        self._accounts = {a.client_id: a for a in accounts}
        self._tokens: dict[str, Token] = {}
        self.clock = clock
        self.token_ttl = token_ttl

    def add(self, account: Account) -> None:
        with self._lock:
            self._accounts[account.client_id] = account

    def all(self) -> list[Account]:
        with self._lock:
            return list(self._accounts.values())

    def get(self, client_id: str) -> Account | None:
        with self._lock:
            return self._accounts.get(client_id)

    def issue(self, authorization: str | None, grant_type: str | None) -> Token:
        """A new token for the Basic credentials, or Walmart's 400/401."""
        client_id, secret = _basic(authorization)
        with self._lock:
            account = self._accounts.get(client_id)
            if account is None or not hmac.compare_digest(account.client_secret.encode(), secret.encode()):
                raise unauthorized("Unauthorized token or incorrect authorization header: the client id or "
                                   "client secret is wrong. Check the credentials in Seller Center.")
        if grant_type != "client_credentials":
            raise WalmartError(400, "INVALID_REQUEST_CONTENT", "GMP_GATEWAY_API", "grant_type", "Invalid grant type",
                               f"grant_type {grant_type!r} is not offered; send grant_type=client_credentials.")
        token = Token("wm_" + secrets.token_urlsafe(32), client_id, self.clock.now() + self.token_ttl)
        with self._lock:
            self._tokens[token.value] = token
        return token

    def authenticate(self, headers: dict[str, str]) -> Account:
        """The seller behind ``WM_SEC.ACCESS_TOKEN``, or Walmart's 400 (missing headers) / 401."""
        value = headers.get(TOKEN_HEADER.lower(), "").strip()
        if not value:
            raise unauthorized(f"The {TOKEN_HEADER} header is missing; get a token from POST /v3/token.")
        require_headers(headers)
        with self._lock:
            token = self._tokens.get(value)
            if token is None:
                raise unauthorized("Unauthorized token or invalid token: this access token was never issued.")
            if self.clock.now() >= token.expires_at:
                del self._tokens[value]
                raise unauthorized("The access token has expired (tokens live 900 seconds); get a new one from "
                                   "POST /v3/token.")
            return self._accounts[token.client_id]

    def expire_all(self) -> int:
        with self._lock:
            count = len(self._tokens)
            self._tokens.clear()
            return count

    def live_tokens(self) -> int:
        with self._lock:
            now = self.clock.now()
            return sum(1 for t in self._tokens.values() if t.expires_at > now)


def _basic(authorization: str | None) -> tuple[str, str]:
    scheme, _, encoded = (authorization or "").partition(" ")
    if scheme.lower() != "basic" or not encoded.strip():
        raise unauthorized('Incorrect authorization header. Please verify correct format: '
                           '"Authorization: Basic Base64Encode(clientId:clientSecret)".')
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise unauthorized("The Basic authorization header is not base64 of clientId:clientSecret.") from None
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        raise unauthorized("The Basic authorization header must encode clientId:clientSecret.")
    return client_id, secret


def token_xml(token: Token, ttl: int) -> str:
    """The Token API's XML answer (what it sends unless the client asks for ``Accept: application/json``)."""
    return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><OAuthTokenDTO>'
            f"<accessToken>{token.value}</accessToken><tokenType>Bearer</tokenType>"
            f"<expiresIn>{ttl}</expiresIn></OAuthTokenDTO>")

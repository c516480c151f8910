"""A client for Walmart Marketplace's API (US): the token, the headers every call carries, the rate limits
and what each failure means for the caller.

- **Token**: OAuth client credentials (``POST /v3/token`` with Basic ``client_id:client_secret``,
  ``grant_type=client_credentials``, ``Accept: application/json``). A token lives 900 s; it is cached per
  process (per endpoint and client id) until :data:`TOKEN_MARGIN_SECONDS` before it expires, and fetched
  again once when a call answers 401 (Walmart revoked or expired it early).
- **Headers**: ``WM_SEC.ACCESS_TOKEN``, ``WM_SVC.NAME`` and a fresh ``WM_QOS.CORRELATION_ID`` (a uuid) per
  call; the correlation id is logged with the operation and status, which is what Walmart's support asks
  for. Neither the token nor the client secret is ever logged or put in a message.
- **Rate limits**: one :class:`SharedRateLimiter` bucket per account and operation (``walmart:<account
  id>:<operationId>``), shared by every process, sized by :data:`LIMITS`. A 429 pauses the bucket until
  ``X-Next-Replenishment-Time`` (epoch ms) and raises :class:`ChannelUnavailable` with ``retry_after``.
- **Failures**: 5xx, timeouts and broken connections are retried (``retry=True``: reads and absolute
  writes) and then raise :class:`ChannelUnavailable`; a refused credential raises :class:`WalmartAuthError`
  (a ChannelUnavailable: nothing was done, try again once a person fixed it); other 4xx raise
  :class:`WalmartRefused` with Walmart's own error text. Every message names the account and the operation.
"""

from __future__ import annotations

import base64
import random
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
import structlog

from orderhub.adapters.outbound import OutboundPolicy
from orderhub.adapters.store.ratelimit import SharedRateLimiter
from orderhub.domain.channels import ChannelUnavailable

log = structlog.get_logger(__name__)

SERVICE_NAME = "orderhub"  # WM_SVC.NAME: "Walmart Service Name", any name of the caller's service
TOKEN_MARGIN_SECONDS = 60.0  # a cached token is renewed this long before Walmart's expiry
DEFAULT_TIMEOUT = 30.0
MAX_ATTEMPTS = 3  # transient failures of a retryable call, before ChannelUnavailable
MAX_LOCAL_WAIT = 5.0  # wait this long for our own rate-limit bucket; longer waits are the caller's retry
MAX_RETRY_AFTER = 3600.0


@dataclass(frozen=True)
class Limit:
    rate: float  # requests per second, on average
    burst: float


_HOUR = 3600.0
# Walmart's throttling page gives the feed limits (inventory: 10 per hour); the synchronous calls' limits
# are not published per seller in the material orderhub follows, so these stay well below what sellers see.
LIMITS: dict[str, Limit] = {
    "updateBulkInventory": Limit(10 / _HOUR, 10),
    "tokenAPI": Limit(1.0, 10),
}
DEFAULT_LIMIT = Limit(10.0, 20)


class WalmartAuthError(ChannelUnavailable):
    """Walmart refused the account's credentials: nothing was done; a person must fix the key."""


class WalmartRefused(Exception):
    """Walmart refused this request (4xx other than 401/429): trying it again as it is will not help."""

    def __init__(self, message: str, status: int, errors: list[dict[str, Any]]) -> None:
        super().__init__(message)
        self.status = status
        self.errors = errors


@dataclass
class _Token:
    value: str
    expires_at: float  # time.monotonic()


_tokens: dict[tuple[str, str], _Token] = {}
_tokens_lock = threading.Lock()


def forget_tokens() -> None:
    """Drop every cached token (tests that restart a simulator; an operator rotating a key)."""
    with _tokens_lock:
        _tokens.clear()


def error_text(response: httpx.Response) -> tuple[str, list[dict[str, Any]]]:
    """Walmart's ``{"errors": [{code, field, description, info}]}`` as one line, and the entries."""
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return response.text[:300].strip() or response.reason_phrase, []
    entries = body.get("errors") if isinstance(body, dict) else None
    if isinstance(entries, dict):  # some services wrap it once more: {"errors": {"error": [...]}}
        entries = entries.get("error")
    if not isinstance(entries, list):
        return str(body)[:300], []
    found = [e for e in entries if isinstance(e, dict)]
    text = "; ".join(f"{e.get('code', '')}: {e.get('info') or e.get('description') or ''}".strip(": ")
                     for e in found)
    return text[:1000], found


def retry_after_of(response: httpx.Response, now: Callable[[], float] = time.time) -> float:
    """Seconds until Walmart replenishes the bucket: ``X-Next-Replenishment-Time`` is epoch milliseconds."""
    raw = response.headers.get("X-Next-Replenishment-Time", "")
    try:
        seconds = int(raw) / 1000 - now()
    except ValueError:
        retry = response.headers.get("Retry-After", "")
        seconds = float(retry) if retry.replace(".", "", 1).isdigit() else 60.0
    return min(MAX_RETRY_AFTER, max(1.0, seconds))


class WalmartClient:
    """One account's calls. ``who`` names the account in every message (``walmart account acme-us``)."""

    def __init__(self, endpoint: str, client_id: str, client_secret: str, *, account_id: int, who: str,
                 limiter: SharedRateLimiter | None = None, client: httpx.Client | None = None,
                 timeout: float = DEFAULT_TIMEOUT, max_attempts: int = MAX_ATTEMPTS,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.client_id = client_id
        self._secret = client_secret
        self.account_id = account_id
        self.who = who
        self.limiter = limiter
        self.http = client or httpx.Client(timeout=timeout)
        self.max_attempts = max_attempts
        self.sleep = sleep
        self.calls = 0
        self.throttled = 0

    def __repr__(self) -> str:  # the secret never reaches logs or tracebacks
        return f"WalmartClient(endpoint={self.endpoint!r}, who={self.who!r})"

    # -- token -----------------------------------------------------------------------------------------

    def _token(self, *, renew: bool = False) -> str:
        key = (self.endpoint, self.client_id)
        with _tokens_lock:
            cached = _tokens.get(key)
            if cached is not None and not renew and cached.expires_at - TOKEN_MARGIN_SECONDS > time.monotonic():
                return cached.value
            _tokens.pop(key, None)
        self._take("tokenAPI")
        basic = base64.b64encode(f"{self.client_id}:{self._secret}".encode()).decode()
        correlation = str(uuid.uuid4())
        try:
            response = self.http.post(f"{self.endpoint}/v3/token", data={"grant_type": "client_credentials"},
                                      headers={"Authorization": f"Basic {basic}", "Accept": "application/json",
                                               "WM_SVC.NAME": SERVICE_NAME, "WM_QOS.CORRELATION_ID": correlation})
        except httpx.HTTPError as exc:
            raise ChannelUnavailable(f"{self.who}: Walmart's token service did not answer on tokenAPI "
                                     f"({type(exc).__name__}); trying again later") from None
        log.info("walmart_call", account=self.who, operation="tokenAPI", status=response.status_code,
                 correlation_id=correlation)
        if response.status_code in (400, 401, 403):
            text, _ = error_text(response)
            raise WalmartAuthError(f"{self.who}: Walmart refused the client id and secret on tokenAPI "
                                   f"({response.status_code} {text}); check the account's key in Seller Center "
                                   f"and set it again with `orderhub channel add walmart ...`")
        if response.status_code == 429:
            raise self._throttled("tokenAPI", response)
        if response.status_code != 200:
            raise ChannelUnavailable(f"{self.who}: Walmart answered {response.status_code} on tokenAPI; trying "
                                     "again later")
        try:
            body = orjson.loads(response.content)
            value, ttl = str(body["access_token"]), float(body.get("expires_in") or 900)
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            raise ChannelUnavailable(f"{self.who}: Walmart's tokenAPI answer carried no access_token") from None
        with _tokens_lock:
            _tokens[key] = _Token(value, time.monotonic() + ttl)
        return value

    # -- rate limits -------------------------------------------------------------------------------------

    def bucket(self, operation: str) -> str:
        return f"walmart:{self.account_id}:{operation}"

    def _take(self, operation: str) -> None:
        if self.limiter is None:
            return
        limit = LIMITS.get(operation, DEFAULT_LIMIT)
        waited = 0.0
        while True:
            granted, wait = self.limiter.take(self.bucket(operation), 1, rate=limit.rate, burst=limit.burst)
            if granted:
                return
            if waited + wait > MAX_LOCAL_WAIT:
                raise ChannelUnavailable(f"{self.who}: orderhub's rate limit for {operation} is used up; next "
                                         f"call in {wait:.0f} s", retry_after=wait)
            self.sleep(wait)
            waited += wait

    def _throttled(self, operation: str, response: httpx.Response) -> ChannelUnavailable:
        self.throttled += 1
        retry_after = retry_after_of(response)
        if self.limiter is not None:
            self.limiter.pause(self.bucket(operation), retry_after,
                               burst=LIMITS.get(operation, DEFAULT_LIMIT).burst)
        log.warning("walmart_throttled", account=self.who, operation=operation, retry_after=round(retry_after, 1),
                    tokens_left=response.headers.get("X-Current-Token-Count"))
        return ChannelUnavailable(f"{self.who}: Walmart throttled {operation} (429); its next allowance comes in "
                                  f"{retry_after:.0f} s", retry_after=retry_after)

    # -- calls -------------------------------------------------------------------------------------------

    def call(self, operation: str, method: str, path: str, *, params: dict[str, str] | None = None,
             json: Any = None, files: dict[str, Any] | None = None, retry: bool = True,
             ok: tuple[int, ...] = (200,)) -> httpx.Response:
        """Send one request (``operation``: Walmart's operationId, for limits and messages). Returns the
        response when its status is in ``ok``. ``retry``: the call may be sent again after a failure whose
        outcome is unknown (reads and absolute writes); others raise ChannelUnavailable at once."""
        renewed = False
        attempt = 0
        while True:
            attempt += 1
            self._take(operation)
            token = self._token()
            correlation = str(uuid.uuid4())
            headers = {"WM_SEC.ACCESS_TOKEN": token, "WM_SVC.NAME": SERVICE_NAME,
                       "WM_QOS.CORRELATION_ID": correlation, "Accept": "application/json"}
            self.calls += 1
            try:
                response = self.http.request(method, f"{self.endpoint}{path}", params=params, json=json,
                                             files=files, headers=headers)
            except httpx.HTTPError as exc:
                log.warning("walmart_call_failed", account=self.who, operation=operation, correlation_id=correlation,
                            error=type(exc).__name__)
                if retry and attempt < self.max_attempts:
                    self.sleep(self.backoff(attempt))
                    continue
                kind = "timed out" if isinstance(exc, httpx.TimeoutException) else "failed"
                raise ChannelUnavailable(f"{self.who}: Walmart {kind} on {operation} ({type(exc).__name__}, "
                                         f"correlation id {correlation}); trying again later") from None
            log.info("walmart_call", account=self.who, operation=operation, status=response.status_code,
                     correlation_id=correlation)
            status = response.status_code
            if status in ok:
                return response
            if status == 401 and not renewed:  # revoked or expired early: one fresh token
                renewed = True
                attempt -= 1
                self._token(renew=True)
                continue
            if status == 401:
                raise WalmartAuthError(f"{self.who}: Walmart refused a fresh access token on {operation} (401); "
                                       "check the account's key in Seller Center")
            if status == 429:
                raise self._throttled(operation, response)
            if status >= 500:
                if retry and attempt < self.max_attempts:
                    self.sleep(self.backoff(attempt))
                    continue
                text, _ = error_text(response)
                raise ChannelUnavailable(f"{self.who}: Walmart answered {status} on {operation} ({text[:200]}, "
                                         f"correlation id {correlation}); trying again later")
            text, errors = error_text(response)
            raise WalmartRefused(f"{self.who}: Walmart refused {operation} ({status}): {text}", status, errors)

    def json(self, operation: str, method: str, path: str, **kwargs: Any) -> Any:
        response = self.call(operation, method, path, **kwargs)
        try:
            return orjson.loads(response.content)
        except orjson.JSONDecodeError:
            raise ChannelUnavailable(f"{self.who}: Walmart's answer to {operation} is not JSON") from None

    @staticmethod
    def backoff(attempt: int) -> float:
        return random.uniform(0.1, 0.3) * 2 ** (attempt - 1)

    def close(self) -> None:
        self.http.close()


def for_account(account: Any, limiter: SharedRateLimiter | None, *, timeout: float | None = None) -> WalmartClient:
    """The client of a ``walmart`` account (adapters/store/accounts.py Account, secrets decrypted)."""
    if account.kind != "walmart":
        raise ValueError(f"{account.kind} account {account.name} is not a Walmart account")
    secret = account.credentials.get("client_secret")
    if not secret:
        raise WalmartAuthError(f"walmart account {account.name} has no client secret; set it with "
                               f"`orderhub channel add walmart {account.name} ...`")
    endpoint = account.settings.get("endpoint") or "https://marketplace.walmartapis.com"
    OutboundPolicy.from_env().check(endpoint)  # as when the account was saved: DNS answers can change
    return WalmartClient(endpoint, account.settings["client_id"], secret, account_id=account.id,
                         who=f"walmart account {account.name}", limiter=limiter,
                         timeout=DEFAULT_TIMEOUT if timeout is None else timeout)

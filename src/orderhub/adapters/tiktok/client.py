"""A client for one TikTok Shop account's Partner API (202309): signed requests, retries, and rate limits
shared by every orderhub process.

Every request carries ``app_key``, ``timestamp``, ``shop_cipher`` (shop APIs) and ``sign`` in the query
and the access token in ``x-tts-access-token`` (signing.py). Before each request the client takes a token
from the shared bucket ``tiktok:<account id>:<operation>`` (adapters/store/ratelimit.py), so the rate
holds across processes; an answer of HTTP 429 pauses that bucket for everyone, for ``Retry-After`` when
the service sends one (TikTok documents no rate-limit headers and sends only ``x-tt-logid``; then
:data:`THROTTLED_PAUSE_SECONDS`). Timeouts, broken answers, 5xx and 429 are tried again with backoff up to
``max_attempts``; then :class:`TikTokUnavailable`. Refused credentials are :class:`TikTokAuthError` at
once; a business error (HTTP 200 with a non-zero ``code``, or another 4xx) is :class:`TikTokRefused`.

Every error names the account and the operation, never a secret: the access token and the signature stay
out of messages, and the URL shown is the path alone.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any

import httpx
import orjson
import structlog

from orderhub.adapters.store.accounts import Account
from orderhub.adapters.store.ratelimit import SharedRateLimiter
from orderhub.adapters.tiktok.signing import request_signature

log = structlog.get_logger(__name__)

# Requests per second per operation and account. TikTok limits a shop's app to 50 requests per second (and
# states limits on each API's page); half of that per operation leaves room for two running at once.
DEFAULT_RATE = 25.0
RATES = {"shipPackage": 10.0}
THROTTLED_PAUSE_SECONDS = 1.0  # a 429 without Retry-After
MAX_RATE_WAIT_SECONDS = 30.0  # longer than this waiting for our own bucket: the account is unavailable
# Gateway codes that mean the credentials (app key, signature, token) are wrong: no retry helps.
AUTH_CODES = frozenset({105001, 105002, 106001})


class TikTokError(Exception):
    """A request to one account's API failed; the message names the account and the operation."""

    def __init__(self, message: str, *, code: int | None = None, status: int | None = None,
                 retry_after: float | None = None) -> None:
        super().__init__(message)
        self.code, self.status, self.retry_after = code, status, retry_after


class TikTokAuthError(TikTokError):
    """TikTok refused the app key, the signature or the access token."""


class TikTokUnavailable(TikTokError):
    """TikTok could not be reached, timed out, failed (5xx) or throttled (429) every attempt."""


class TikTokRefused(TikTokError):
    """TikTok answered and refused the request itself (not found, wrong state, invalid field)."""


def bucket_name(account: Account, operation: str) -> str:
    return f"tiktok:{account.id}:{operation}"


class TikTokClient:
    def __init__(self, account: Account, *, limiter: SharedRateLimiter | None = None,
                 http: httpx.Client | None = None, timeout: float = 20.0, max_attempts: int = 4,
                 backoff_base: float = 0.5, clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if account.kind != "tiktok":
            raise ValueError(f"account {account.name} is a {account.kind} account, not a TikTok Shop one")
        missing = [k for k in ("app_key", "shop_cipher", "endpoint") if not account.settings.get(k)]
        missing += [k for k in ("app_secret", "access_token") if not account.credentials.get(k)]
        if missing:
            raise ValueError(f"TikTok account {account.name} has no {', '.join(missing)}; set it with "
                             f"`orderhub channel add tiktok {account.name} ...`")
        if not account.credentials["access_token"].isascii() or not account.credentials["access_token"].isprintable():
            raise TikTokAuthError(f"TikTok account {account.name}: the access token has characters an HTTP header "
                                  f"cannot carry; set the token the shop granted with `orderhub channel add tiktok "
                                  f"{account.name} ...`")
        self.account = account
        self.endpoint = str(account.settings["endpoint"]).rstrip("/")
        self.limiter = limiter
        self.http = http or httpx.Client(timeout=timeout)
        self.max_attempts = max(1, max_attempts)
        self.backoff_base = backoff_base
        self.clock = clock  # TikTok refuses a timestamp more than 5 minutes off its own clock
        self.sleep = sleep
        self.throttled = 0  # 429 answers seen
        self.waited_seconds = 0.0

    def __repr__(self) -> str:
        return f"TikTokClient(account={self.account.name!r}, endpoint={self.endpoint!r})"

    def _what(self, operation: str) -> str:
        return f"TikTok account {self.account.name}: {operation}"

    # -- one request ---------------------------------------------------------------------------------------
    def call(self, operation: str, method: str, path: str, *, query: dict[str, str] | None = None,
             body: dict[str, Any] | None = None, shop: bool = True, attempts: int | None = None) -> Any:
        """The ``data`` of TikTok's answer to one request; ``operation`` is TikTok's operation id (e.g.
        ``shipPackage``), which names the rate bucket. Raises TikTokAuthError, TikTokRefused or
        TikTokUnavailable."""
        raw = orjson.dumps(body) if body is not None else b""
        limit = self.max_attempts if attempts is None else max(1, attempts)
        last: TikTokUnavailable | None = None
        for attempt in range(1, limit + 1):
            self._take(operation)
            try:
                return self._once(operation, method, path, query or {}, raw, shop)
            except TikTokUnavailable as exc:
                last = exc
                if exc.status == 429:
                    self.throttled += 1
                    if self.limiter is not None:
                        self.limiter.pause(bucket_name(self.account, operation),
                                           exc.retry_after or THROTTLED_PAUSE_SECONDS, burst=self._rate(operation))
                if attempt < limit and not (exc.status == 429 and self.limiter is not None):  # the bucket waits
                    self._wait(exc.retry_after if exc.retry_after is not None else self._backoff(attempt))
        assert last is not None
        log.warning("tiktok_unavailable", account=self.account.name, operation=operation, attempts=limit,
                    error=str(last))
        raise TikTokUnavailable(f"{last} (after {limit} attempt{'s' if limit > 1 else ''})", code=last.code,
                                status=last.status, retry_after=last.retry_after)

    def _once(self, operation: str, method: str, path: str, query: dict[str, str], raw: bytes, shop: bool) -> Any:
        params = dict(query)
        params["app_key"] = str(self.account.settings["app_key"])
        params["timestamp"] = str(int(self.clock()))
        if shop:
            params["shop_cipher"] = str(self.account.settings["shop_cipher"])
        params["sign"] = request_signature(self.account.credentials["app_secret"], path, list(params.items()), raw)
        headers = {"content-type": "application/json", "x-tts-access-token": self.account.credentials["access_token"]}
        what = self._what(operation)
        try:
            response = self.http.request(method, self.endpoint + path, params=params, content=raw or None,
                                         headers=headers)
            text = response.read()
        except httpx.TimeoutException:
            raise TikTokUnavailable(f"{what} timed out ({method} {path})") from None
        except httpx.HTTPError as exc:  # refused connection, or an answer broken off (the work may be done)
            raise TikTokUnavailable(f"{what} failed on the way ({method} {path}: {type(exc).__name__}: {exc})") \
                from None
        logid = response.headers.get("x-tt-logid", "")
        where = f"({method} {path}, HTTP {response.status_code}{', log id ' + logid if logid else ''})"
        try:
            envelope = orjson.loads(text)
        except orjson.JSONDecodeError:
            envelope = None
        code = envelope.get("code") if isinstance(envelope, dict) else None
        message = str(envelope.get("message", ""))[:300] if isinstance(envelope, dict) else text[:200].decode(
            "utf-8", "replace")
        if response.status_code == 429:
            raise TikTokUnavailable(f"{what} was throttled (code {code}: {message}) {where}", code=code, status=429,
                                    retry_after=_retry_after(response))
        if response.status_code >= 500:
            raise TikTokUnavailable(f"{what} failed at TikTok (code {code}: {message}) {where}", code=code,
                                    status=response.status_code, retry_after=_retry_after(response))
        if response.status_code == 401 or code in AUTH_CODES or message.startswith("Invalid credentials"):
            raise TikTokAuthError(f"{what} was refused: the app key, app secret or access token is wrong or "
                                  f"expired (code {code}: {message}) {where}; renew them with `orderhub channel add "
                                  f"tiktok {self.account.name} ...`", code=code, status=response.status_code)
        if not isinstance(envelope, dict):
            raise TikTokUnavailable(f"{what} answered with something that is not TikTok's JSON envelope {where}",
                                    status=response.status_code)
        if response.status_code != 200 or code != 0:
            raise TikTokRefused(f"{what} was refused (code {code}: {message}) {where}", code=code,
                                status=response.status_code)
        return envelope.get("data")

    # -- rate and backoff -------------------------------------------------------------------------------
    def _rate(self, operation: str) -> float:
        return RATES.get(operation, DEFAULT_RATE)

    def _take(self, operation: str) -> None:
        if self.limiter is None:
            return
        rate = self._rate(operation)
        waited = 0.0
        while True:
            granted, wait = self.limiter.take(bucket_name(self.account, operation), 1, rate=rate, burst=rate)
            if granted:
                return
            if waited + wait > MAX_RATE_WAIT_SECONDS:
                raise TikTokUnavailable(f"{self._what(operation)} is held back: the account's rate for it is "
                                        f"used up for {wait:.0f} more seconds", status=429, retry_after=wait)
            self._wait(wait)
            waited += wait

    def _wait(self, seconds: float) -> None:
        if seconds > 0:
            self.waited_seconds += seconds
            self.sleep(seconds)

    def _backoff(self, attempt: int) -> float:
        return random.uniform(0.5, 1.0) * min(30.0, self.backoff_base * 2 ** (attempt - 1))


def _retry_after(response: httpx.Response) -> float | None:
    raw = (response.headers.get("retry-after") or "").strip()
    try:
        seconds = float(raw)
    except ValueError:
        return None
    return seconds if 0 <= seconds <= 3600 else None

"""A small Selling Partner API client: Login with Amazon tokens, usage plans shared by every process, retries.

- **Tokens.** The account's refresh token is traded at its ``lwa_endpoint`` for an access token
  (``expires_in`` an hour), kept in this process's memory per account until a minute before it expires
  and refreshed then, or at once when SP-API refuses it as expired. Buyer data (names, addresses, gift
  messages) needs a restricted data token from the Tokens API naming the order reads; it is cached the
  same way. Nothing here logs or puts a secret in a message: errors name the account and the operation.
- **Usage plans.** Each operation has a token bucket (Amazon's published rate and burst) in the shared
  ``rate_buckets`` table, named ``amazon:<account id>:<operation>``, so every process of orderhub stays
  within the plan together. An answer's ``x-amzn-RateLimit-Limit`` (requests per second) takes the place
  of the published rate for that account from then on. A 429 ``QuotaExceeded`` pauses the bucket for
  the time one request's token takes to come back (SP-API's 429 carries no header saying when) and the
  call is tried again.
- **Failures.** 5xx answers, timeouts and lost connections are tried again with backoff, then raised as
  :class:`AmazonUnavailable` (a :class:`ChannelUnavailable`: nothing lost, tried later); refused
  credentials as :class:`AmazonAuthFailed`; 400/404 answers as :class:`AmazonRefused` (a
  :class:`ChannelRefused`: for a person).
"""

from __future__ import annotations

import hashlib
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
import structlog

from orderhub.adapters.outbound import OutboundPolicy
from orderhub.adapters.store.accounts import Account
from orderhub.adapters.store.ratelimit import SharedRateLimiter
from orderhub.domain.channels import ChannelRefused, ChannelUnavailable

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class UsagePlan:
    rate: float  # requests per second
    burst: int


# The "Usage Plan" of each operation in Amazon's models (selling-partner-api-models: ordersV0.json,
# listingsItems_2021-08-01.json, feeds_2021-06-30.json, tokens_2021-03-01.json).
USAGE_PLANS: dict[str, UsagePlan] = {
    "getOrders": UsagePlan(0.0167, 20),
    "getOrder": UsagePlan(0.5, 30),
    "getOrderItems": UsagePlan(0.5, 30),
    "confirmShipment": UsagePlan(2.0, 10),
    "getListingsItem": UsagePlan(5.0, 10),
    "patchListingsItem": UsagePlan(5.0, 5),
    "searchListingsItems": UsagePlan(5.0, 5),
    "createFeedDocument": UsagePlan(0.5, 15),
    "createFeed": UsagePlan(0.0083, 15),
    "getFeed": UsagePlan(2.0, 15),
    "getFeedDocument": UsagePlan(0.0222, 10),
    "createRestrictedDataToken": UsagePlan(1.0, 10),
}
# A little under each plan's rate: a request granted on time can still reach Amazon a few milliseconds early
# for its bucket (the benchmark met 2 429s in 343 patches at exactly 5 a second).
RATE_MARGIN = 0.95
TOKEN_MARGIN_SECONDS = 60.0  # refresh a token this long before Amazon says it expires
MAX_WAIT_SECONDS = 60.0  # a call waits at most this long for its usage plan; beyond that it is "try later"
ORDER_PATHS = ("/orders/v0/orders", "/orders/v0/orders/{orderId}", "/orders/v0/orders/{orderId}/orderItems")


class AmazonUnavailable(ChannelUnavailable):
    """Amazon could not be reached, answered 5xx, or kept throttling: try again later."""


class AmazonAuthFailed(AmazonUnavailable):
    """Login with Amazon or SP-API refused the account's credentials: a person has to renew them."""


class AmazonRefused(ChannelRefused):
    """Amazon refused the request for good (400, 404): the message is Amazon's, with the operation."""

    def __init__(self, message: str, status: int, code: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


@dataclass
class _Token:
    value: str
    expires_at: float  # time.monotonic()


# Per process, by (account id, purpose): access and restricted data tokens. A process that starts asks
# Login with Amazon once; every later call of that process reuses the token until shortly before it expires.
_TOKENS: dict[tuple[int, str, str], _Token] = {}
_OBSERVED_RATES: dict[tuple[int, str], float] = {}
_LOCK = threading.Lock()


def forget_tokens(account_id: int | None = None) -> None:
    """Drop cached tokens (all, or one account's): the next call logs in again."""
    with _LOCK:
        for key in [k for k in _TOKENS if account_id is None or k[0] == account_id]:
            del _TOKENS[key]


def _errors_text(response: httpx.Response) -> tuple[str, str]:
    """(code, message) of an SP-API error body ``{"errors": [{code, message, details}]}``, or of LWA's."""
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return "", response.text[:200]
    if isinstance(body, dict) and isinstance(body.get("errors"), list) and body["errors"]:
        first = body["errors"][0] if isinstance(body["errors"][0], dict) else {}
        message = str(first.get("message", ""))[:300]
        details = str(first.get("details") or "")[:200]
        return str(first.get("code", "")), f"{message} {details}".strip()
    if isinstance(body, dict) and "error" in body:
        return str(body.get("error")), str(body.get("error_description", ""))[:300]
    return "", response.text[:200]


class SpApiClient:
    """Calls SP-API operations for one account. ``sleep`` waits (tests pass one that records)."""

    def __init__(self, account: Account, limiter: SharedRateLimiter, *, client: httpx.Client | None = None,
                 timeout: float = 30.0, max_attempts: int = 4, sleep: Callable[[float], None] = time.sleep,
                 max_wait: float = MAX_WAIT_SECONDS) -> None:
        settings = ("marketplace_id", "client_id", "endpoint", "lwa_endpoint")
        missing = [k for k in settings if not account.settings.get(k)]
        missing += [k for k in ("client_secret", "refresh_token") if not account.credentials.get(k)]
        if missing:
            raise AmazonAuthFailed(f"amazon account {account.name} has no {', '.join(missing)}; set it with "
                                   f"`orderhub channel add amazon {account.name} ...`")
        self.account = account
        self.endpoint = str(account.settings["endpoint"]).rstrip("/")
        self.policy = OutboundPolicy.from_env()
        self.policy.check(self.endpoint)
        self.policy.check(str(account.settings["lwa_endpoint"]))
        self.limiter = limiter
        self.http = client or httpx.Client(timeout=timeout, follow_redirects=False)
        self.max_attempts = max_attempts
        self.sleep = sleep
        self.max_wait = max_wait
        self.waited_seconds = 0.0
        self.throttled = 0
        self._restricted_refused = False
        # Tokens are the account's as it is set up now: new credentials or endpoints log in afresh.
        self._fingerprint = hashlib.sha256("\n".join(
            (self.endpoint, str(account.settings["lwa_endpoint"]), str(account.settings["client_id"]),
             account.credentials["refresh_token"])).encode()).hexdigest()

    def __repr__(self) -> str:
        return f"SpApiClient(account={self.account.name!r})"

    @property
    def marketplace_id(self) -> str:
        return str(self.account.settings["marketplace_id"])

    @property
    def seller_id(self) -> str:
        seller = self.account.settings.get("seller_id")
        if not seller:
            raise AmazonRefused(f"amazon account {self.account.name} has no seller_id; the Listings API needs it",
                                400, "MissingSellerId")
        return str(seller)

    def _where(self, operation: str) -> str:
        return f"amazon account {self.account.name}, {operation}"

    # -- tokens

    def _lwa(self) -> _Token:
        form = {"grant_type": "refresh_token", "refresh_token": self.account.credentials["refresh_token"],
                "client_id": str(self.account.settings["client_id"]),
                "client_secret": self.account.credentials["client_secret"]}
        try:
            response = self.http.post(str(self.account.settings["lwa_endpoint"]), data=form)
        except httpx.HTTPError as exc:
            raise AmazonUnavailable(f"{self._where('Login with Amazon')}: unreachable ({type(exc).__name__})") from None
        if response.status_code in (400, 401, 403):
            code, message = _errors_text(response)
            raise AmazonAuthFailed(f"{self._where('Login with Amazon')}: refused the app's credentials or the "
                                   f"seller's refresh token ({response.status_code} {code}: {message}); renew them "
                                   f"with `orderhub channel add amazon {self.account.name} ...`")
        if response.status_code != 200:
            raise AmazonUnavailable(f"{self._where('Login with Amazon')}: answered {response.status_code}",
                                    retry_after=_retry_after(response))
        body = response.json()
        return _Token(str(body["access_token"]),
                      time.monotonic() + float(body.get("expires_in") or 3600) - TOKEN_MARGIN_SECONDS)

    def access_token(self) -> str:
        key = (self.account.id, "access", self._fingerprint)
        with _LOCK:
            token = _TOKENS.get(key)
        if token is None or token.expires_at <= time.monotonic():
            token = self._lwa()
            with _LOCK:
                _TOKENS[key] = token
        return token.value

    def restricted_token(self) -> str:
        """A restricted data token for the order reads (buyer and address data), or the access token when
        Amazon does not give this app one (buyer data is then absent, as it may be anyway)."""
        key = (self.account.id, "orders-pii", self._fingerprint)
        with _LOCK:
            token = _TOKENS.get(key)
        if token is not None and token.expires_at > time.monotonic():
            return token.value
        if self._restricted_refused:
            return self.access_token()
        resources = [{"method": "GET", "path": p, "dataElements": ["buyerInfo", "shippingAddress"]}
                     for p in ORDER_PATHS]
        try:
            body = self.call("createRestrictedDataToken", "POST", "/tokens/2021-03-01/restrictedDataToken",
                             json={"restrictedResources": resources})
        except AmazonRefused:
            self._restricted_refused = True
            log.warning("amazon_restricted_data_refused", account=self.account.name)
            return self.access_token()
        token = _Token(str(body["restrictedDataToken"]),
                       time.monotonic() + float(body.get("expiresIn") or 3600) - TOKEN_MARGIN_SECONDS)
        with _LOCK:
            _TOKENS[key] = token
        return token.value

    # -- usage plans

    def _bucket(self, operation: str) -> tuple[str, float, int]:
        plan = USAGE_PLANS.get(operation, UsagePlan(1.0, 1))
        rate = _OBSERVED_RATES.get((self.account.id, operation), plan.rate) * RATE_MARGIN
        return f"amazon:{self.account.id}:{operation}", rate, plan.burst

    def _take(self, operation: str) -> None:
        name, rate, burst = self._bucket(operation)
        waited = 0.0
        while True:
            granted, wait = self.limiter.take(name, 1, rate=rate, burst=burst)
            if granted:
                return
            if waited + wait > self.max_wait:
                raise AmazonUnavailable(f"{self._where(operation)}: usage plan exhausted ({rate:g} requests/s); "
                                        f"next request in {wait:.0f} s", retry_after=wait)
            self._wait(wait)
            waited += wait

    def _note_rate(self, operation: str, response: httpx.Response) -> None:
        header = response.headers.get("x-amzn-RateLimit-Limit")
        try:
            rate = float(header) if header else 0.0
        except ValueError:
            return
        if rate > 0:
            _OBSERVED_RATES[(self.account.id, operation)] = rate

    def _wait(self, seconds: float) -> None:
        if seconds > 0:
            self.waited_seconds += seconds
            self.sleep(seconds)

    # -- calls

    def call(self, operation: str, method: str, path: str, *, params: dict[str, Any] | None = None,
             json: Any = None, restricted: bool = False) -> Any:
        """One SP-API operation; returns the parsed body (None for an empty one)."""
        retry_after: float | None = None
        relogged = False
        for attempt in range(1, self.max_attempts + 1):
            self._take(operation)
            token = self.restricted_token() if restricted else self.access_token()
            headers = {"x-amz-access-token": token, "accept": "application/json",
                       "user-agent": "orderhub (Language=Python)"}
            try:
                response = self.http.request(method, self.endpoint + path, params=params,
                                             content=None if json is None else orjson.dumps(json),
                                             headers=headers | ({"content-type": "application/json"}
                                                                if json is not None else {}))
            except httpx.HTTPError as exc:
                problem = "timed out" if isinstance(exc, httpx.TimeoutException) else \
                    f"unreachable ({type(exc).__name__})"
                if attempt == self.max_attempts:
                    raise AmazonUnavailable(f"{self._where(operation)}: {problem} after {attempt} attempts") from None
                self._wait(_backoff(attempt))
                continue
            self._note_rate(operation, response)
            status = response.status_code
            if status < 300:
                return orjson.loads(response.content) if response.content else None
            code, message = _errors_text(response)
            if status == 403 and not relogged and attempt < self.max_attempts:
                # The token expired or was dropped before we thought (or the credentials changed): log in again
                relogged = True
                forget_tokens(self.account.id)
                continue
            if status in (401, 403):
                raise AmazonAuthFailed(f"{self._where(operation)}: access denied ({status} {code}: {message}); "
                                       "check the app's authorisation for this seller")
            if status == 429:
                self.throttled += 1
                name, rate, burst = self._bucket(operation)
                retry_after = _retry_after(response) or 1.0 / rate
                self.limiter.pause(name, retry_after, burst=burst)
                if attempt == self.max_attempts or retry_after > self.max_wait:
                    break
                continue  # the next take waits for the paused bucket
            if status >= 500:
                retry_after = _retry_after(response)
                if attempt == self.max_attempts:
                    raise AmazonUnavailable(f"{self._where(operation)}: Amazon answered {status} {code} "
                                            f"{attempt} times", retry_after=retry_after)
                self._wait(retry_after or _backoff(attempt))
                continue
            raise AmazonRefused(f"{self._where(operation)}: {status} {code}: {message}", status, code)
        raise AmazonUnavailable(f"{self._where(operation)}: throttled by Amazon (429 QuotaExceeded); next request "
                                f"in {retry_after or 0:.0f} s", retry_after=retry_after)

    def put_document(self, url: str, content: bytes, content_type: str) -> None:
        """Upload a feed document to its pre-signed URL (S3: no SP-API token, no usage plan)."""
        self.policy.check(url)
        for attempt in range(1, self.max_attempts + 1):
            try:
                response = self.http.put(url, content=content, headers={"content-type": content_type})
            except httpx.HTTPError as exc:
                if attempt == self.max_attempts:
                    raise AmazonUnavailable(f"{self._where('uploadFeedDocument')}: unreachable "
                                            f"({type(exc).__name__})") from None
                self._wait(_backoff(attempt))
                continue
            if response.status_code < 300:
                return
            if response.status_code < 500 or attempt == self.max_attempts:
                raise AmazonUnavailable(f"{self._where('uploadFeedDocument')}: the document store answered "
                                        f"{response.status_code}")
            self._wait(_backoff(attempt))

    def get_document(self, url: str) -> bytes:
        self.policy.check(url)
        try:
            response = self.http.get(url)
        except httpx.HTTPError as exc:
            raise AmazonUnavailable(f"{self._where('downloadFeedDocument')}: unreachable "
                                    f"({type(exc).__name__})") from None
        if response.status_code != 200:
            raise AmazonUnavailable(f"{self._where('downloadFeedDocument')}: answered {response.status_code}")
        return response.content

    def close(self) -> None:
        self.http.close()


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


def _backoff(attempt: int) -> float:
    return random.uniform(0.5, 1.0) * min(30.0, 0.5 * 2 ** (attempt - 1))

"""A client for the Shopify Admin GraphQL API that lives within the cost-based rate limit.

Shopify meters GraphQL by query cost from a leaky bucket per app and shop. Each
response reports ``extensions.cost.throttleStatus``; the client waits before a
query when the bucket is too low for it, and after a THROTTLED error waits for the
bucket to refill, backing off further if it is throttled again.

It knows its API version (from the endpoint, ``/admin/api/{version}/graphql.json``) and the
version that actually serves it: Shopify answers a version it no longer supports with the
oldest supported one and says so in ``X-Shopify-API-Version``. :attr:`AdminClient.version`
is that served version (predicted from the day until the first answer names it), so callers
choose GraphQL text that version accepts (:mod:`orderhub.adapters.shopify.api_versions`).
Deprecated fields a request used (``X-Shopify-API-Deprecated-Reason``) are logged once each.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx
import structlog

from orderhub.adapters.shopify import api_versions
from orderhub.clock import utcnow

log = structlog.get_logger(__name__)
_PATH_VERSION = re.compile(r"/admin/api/([^/]+)/graphql\.json$")


class ShopifyError(Exception):
    pass


class AuthError(ShopifyError):
    pass


class GraphQLErrors(ShopifyError):
    def __init__(self, errors: Any) -> None:
        self.errors = errors
        messages = [e.get("message", str(e)) for e in errors] if isinstance(errors, list) else [str(errors)]
        super().__init__("; ".join(messages)[:1000])


@dataclass
class Throttle:
    maximum: float = 1000.0
    available: float = 1000.0
    restore_rate: float = 50.0
    seen_at: float = 0.0

    def estimate(self, now: float) -> float:
        return min(self.maximum, self.available + (now - self.seen_at) * self.restore_rate)


def _today() -> date:
    return utcnow().date()


def graphql_endpoint(shop: Any) -> str:
    """The Admin GraphQL endpoint of a shop (adapters/store/shops.py Shop) at its API version."""
    base = (shop.admin_url or f"https://{shop.domain}").rstrip("/")
    return f"{base}/admin/api/{shop.api_version}/graphql.json"


def for_shop(shop: Any, **options: Any) -> "AdminClient":
    """An Admin API client of a shop (adapters/store/shops.py Shop) with its token and API version; ``options``
    as AdminClient takes them. Raises ValueError saying what to set."""
    if not shop.access_token:
        raise ValueError(f"shop {shop.domain} has no access token; add one with "
                         f"`orderhub shop add {shop.domain} --secret ... --access-token ...`")
    try:
        version = api_versions.parse(shop.api_version)
    except api_versions.InvalidVersion as exc:
        raise ValueError(f"shop {shop.domain}: {exc}; set one with `orderhub shop set {shop.domain} "
                         f"--api-version VERSION`") from None
    return AdminClient(graphql_endpoint(shop), shop.access_token, api_version=version, **options)


class AdminClient:
    def __init__(self, endpoint: str, access_token: str, *, client: httpx.Client | None = None,
                 max_attempts: int = 8, timeout: float = 30.0,
                 sleep: Callable[[float], None] = time.sleep, api_version: str | None = None,
                 today: Callable[[], date] = _today) -> None:
        self.endpoint = endpoint
        self._token = access_token
        in_path = _PATH_VERSION.search(endpoint)
        self.api_version = api_versions.parse(api_version or (in_path.group(1) if in_path else "unstable"))
        self.served_version: str | None = None  # as the last answer's X-Shopify-API-Version named it
        self.today = today
        self.deprecations: set[str] = set()  # X-Shopify-API-Deprecated-Reason values seen
        self.client = client or httpx.Client(timeout=timeout)
        self.max_attempts = max_attempts
        self.sleep = sleep
        self.throttle: Throttle | None = None
        self.waited_seconds = 0.0
        self.throttled_count = 0
        self.last_requested_cost = 0.0

    def __repr__(self) -> str:
        return f"AdminClient(endpoint={self.endpoint!r}, api_version={self.api_version!r})"

    @property
    def version(self) -> str:
        """The API version answering this client: as Shopify last named it, else as its rule predicts."""
        if self.served_version is not None:
            return self.served_version
        try:
            return api_versions.served_version(self.api_version, self.today())
        except api_versions.InvalidVersion:
            return self.api_version

    def has(self, feature: str) -> bool:
        """Whether the version answering this client has ``feature`` (see api_versions.FEATURES)."""
        return api_versions.has(feature, self.version)

    def _note_version(self, response: httpx.Response) -> None:
        served = response.headers.get(api_versions.VERSION_HEADER)
        if served and api_versions.is_valid(served):
            served = api_versions.parse(served)
            if served != self.served_version and served != self.api_version:
                log.warning("shopify_api_version_fell_forward", endpoint=self.endpoint, requested=self.api_version,
                            served=served)
            self.served_version = served
        reason = response.headers.get(api_versions.DEPRECATION_HEADER)
        if reason and reason not in self.deprecations:
            self.deprecations.add(reason)
            log.warning("shopify_deprecated_request", endpoint=self.endpoint, version=self.served_version,
                        deprecated=reason[:500])

    def _wait(self, seconds: float) -> None:
        if seconds > 0:
            self.waited_seconds += seconds
            self.sleep(seconds)

    def execute(self, query: str, variables: dict[str, Any] | None = None, *, expected_cost: float = 0) -> Any:
        """Run a query; returns ``data``. Raises AuthError, GraphQLErrors or ShopifyError."""
        for attempt in range(1, self.max_attempts + 1):
            if self.throttle is not None and expected_cost:
                short = expected_cost - self.throttle.estimate(time.monotonic())
                if short > 0:
                    self._wait(short / self.throttle.restore_rate)
            try:
                response = self.client.post(self.endpoint, json={"query": query, "variables": variables or {}},
                                            headers={"X-Shopify-Access-Token": self._token})
            except httpx.HTTPError as exc:
                if attempt == self.max_attempts:
                    raise ShopifyError(f"Shopify unreachable at {self.endpoint}: {exc}") from exc
                self._wait(self._backoff(attempt))
                continue
            self._note_version(response)
            if response.status_code in (401, 403):
                raise AuthError(f"Shopify refused the access token ({response.status_code}) at {self.endpoint}")
            if response.status_code == 429 or response.status_code >= 500:
                if attempt == self.max_attempts:
                    raise ShopifyError(f"Shopify answered {response.status_code} {attempt} times")
                retry_after = response.headers.get("retry-after")
                self._wait(float(retry_after) if retry_after and retry_after.replace(".", "", 1).isdigit()
                           else self._backoff(attempt))
                continue
            if response.status_code != 200:
                raise ShopifyError(f"Shopify answered {response.status_code}: {response.text[:300]}")
            body = response.json()
            cost = (body.get("extensions") or {}).get("cost") or {}
            self._note_cost(cost)
            errors = body.get("errors")
            if errors and _is_throttled(errors):
                self.throttled_count += 1
                if attempt == self.max_attempts:
                    raise GraphQLErrors(errors)
                self._wait(self._refill_time(cost) + self._backoff(attempt) * 0.1)
                continue
            if errors:
                raise GraphQLErrors(errors)
            return body.get("data")
        raise ShopifyError("unreachable")

    def _note_cost(self, cost: dict[str, Any]) -> None:
        if cost.get("requestedQueryCost") is not None:
            self.last_requested_cost = float(cost["requestedQueryCost"])
        status = cost.get("throttleStatus")
        if status:
            self.throttle = Throttle(maximum=float(status.get("maximumAvailable", 1000)),
                                     available=float(status.get("currentlyAvailable", 0)),
                                     restore_rate=float(status.get("restoreRate", 50)) or 50.0,
                                     seen_at=time.monotonic())

    def _refill_time(self, cost: dict[str, Any]) -> float:
        if self.throttle is None:
            return 1.0
        needed = float(cost.get("requestedQueryCost") or 0) - self.throttle.available
        return max(0.05, needed / self.throttle.restore_rate)

    @staticmethod
    def _backoff(attempt: int) -> float:
        return random.uniform(0.5, 1.0) * min(30.0, 0.5 * 2 ** (attempt - 1))


def _is_throttled(errors: Any) -> bool:
    return isinstance(errors, list) and any(
        (e.get("extensions") or {}).get("code") == "THROTTLED" for e in errors if isinstance(e, dict))

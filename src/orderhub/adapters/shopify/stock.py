"""Stock out to a Shopify shop: the ``available`` quantity of each listed SKU at the shop's stock location.

A listing's ``channel_ref`` is the variant's inventory item id and its ``location`` the Shopify location id
(adapters/store/shopify_listings.py lists them; '' stands for the shop's stock location). Quantities are set
with ``inventorySetQuantities`` (graphql_inventory.set_quantities), up to MAX_QUANTITIES a request. orderhub
is the source of truth for these levels, so no compare quantity is sent (``changeFromQuantity: null`` from
API version 2026-01, ``ignoreCompareQuantity`` before). Each request carries an idempotency key derived from
the listings, values and attempts it covers: the client's own retries of a request that timed out are
recognised by Shopify and applied once, while a new value, or a new attempt after a refusal, is a new request.

Shopify applies a request whole or not at all: a request with user errors changed nothing, so the listings
it names are refused (with Shopify's message, and tried again later) and the others go again at once.
Throttling (``THROTTLED``, HTTP 429) that needs more than a short pause, Shopify being down, or the token
refused end the call with ChannelUnavailable (``retry_after`` from the cost bucket or ``Retry-After``).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from functools import partial
from typing import TypeVar

import httpx

from orderhub.adapters.shopify import graphql_inventory as api
from orderhub.adapters.shopify.graphql import AdminClient, GraphQLErrors, ShopifyError, for_shop
from orderhub.adapters.store.shopify_listings import StockLocation
from orderhub.adapters.store.shops import Shop
from orderhub.domain.channels import ChannelUnavailable, StockUpdate

NAME = "available"
REASON = "correction"  # one of the reasons Shopify takes for inventorySetQuantities
MAX_ATTEMPTS = 3  # per request, within one push; then the values wait for the pusher's next round
MAX_PAUSE_SECONDS = 1.0  # a longer wait for Shopify ends the call: the pusher serves every account in turn
MAX_QUANTITY = 1_000_000_000  # the most Shopify takes (INVALID_QUANTITY_TOO_HIGH)

Key = tuple[str, str]
T = TypeVar("T")


class _Pause(Exception):
    """Shopify asked for a longer wait than one push may spend."""

    def __init__(self, seconds: float, status: int | None) -> None:
        super().__init__(f"{seconds:.1f} s")
        self.seconds = seconds
        self.status = status


class Waits:
    """The client's sleep: a short wait is slept, a longer one ends the call (see :class:`_Pause`)."""

    def __init__(self, sleep: Callable[[float], None] = time.sleep, longest: float = MAX_PAUSE_SECONDS) -> None:
        self.sleep = sleep
        self.longest = longest
        self.last_status: int | None = None  # of the last answer: tells a 429 from a THROTTLED error or a 5xx

    def __call__(self, seconds: float) -> None:
        if seconds > self.longest:
            raise _Pause(seconds, self.last_status)
        self.sleep(seconds)

    def saw(self, response: httpx.Response) -> None:
        self.last_status = response.status_code


def admin_client(shop: Shop, waits: Waits, *, timeout: float = 20.0) -> AdminClient:
    """An Admin API client for the shop whose long waits end the call. Raises ValueError saying what to set."""
    http = httpx.Client(timeout=timeout, event_hooks={"response": [waits.saw]})
    return for_shop(shop, client=http, sleep=waits, max_attempts=MAX_ATTEMPTS)


def idempotency_key(shop_id: int, batch: Sequence[tuple[StockUpdate, str, str]]) -> str:
    """The same listings at the same values and attempts, the same key; anything else, another."""
    covered = ",".join(sorted(f"{item}@{location}={u.quantity}#{u.version}.{u.attempts}"
                              for u, item, location in batch))
    return "orderhub-stock-" + hashlib.sha256(f"{shop_id}|{covered}".encode()).hexdigest()[:40]


class _Unsent(Exception):
    """Shopify could not be reached for a request, or asked for a longer wait."""

    def __init__(self, message: str, retry_after: float | None) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after


class ShopifyStock:
    def __init__(self, client: AdminClient, shop: Shop, location: StockLocation | None, waits: Waits) -> None:
        self.client = client
        self.shop = shop
        self.location = location
        self.waits = waits
        self.requests = 0  # inventorySetQuantities sent by the last push

    @classmethod
    def for_shop(cls, shop: Shop, location: StockLocation | None, *, sleep: Callable[[float], None] = time.sleep,
                 longest_pause: float = MAX_PAUSE_SECONDS) -> ShopifyStock:
        waits = Waits(sleep, longest_pause)
        return cls(admin_client(shop, waits), shop, location, waits)

    def _location(self, location: str) -> str | None:
        if location:
            return location
        return self.location.id if self.location is not None else None

    def push_stock(self, updates: Sequence[StockUpdate]) -> dict[Key, str]:
        refused: dict[Key, str] = {}
        sendable: list[tuple[StockUpdate, str, str]] = []
        for u in updates:
            location = self._location(u.location)
            if not (u.channel_ref or "").isdigit():
                refused[(u.sku, u.location)] = (
                    f"SKU {u.sku} has no Shopify inventory item (channel_ref {u.channel_ref!r}); run sync-products "
                    f"for {self.shop.domain}, then `orderhub shop stock-location {self.shop.domain} LOCATION` again")
            elif location is None or not location.isdigit():
                refused[(u.sku, u.location)] = (
                    f"SKU {u.sku}: shop {self.shop.domain} has no stock location; name one with "
                    f"`orderhub shop stock-location {self.shop.domain} LOCATION`")
            else:
                sendable.append((u, u.channel_ref or "", location))
        self.requests = 0
        taken: set[Key] = set()
        batches = [sendable[i:i + api.MAX_QUANTITIES] for i in range(0, len(sendable), api.MAX_QUANTITIES)]
        try:
            for batch in batches:
                taken |= self._send(batch, refused)
        except _Unsent as exc:
            if not taken:
                raise ChannelUnavailable(exc.message, retry_after=exc.retry_after) from None
            for u, _item, _location in sendable:  # some were taken: the rest wait like refused ones
                if (u.sku, u.location) not in taken:
                    refused.setdefault((u.sku, u.location), f"not sent: {exc.message}")
        return refused

    def _send(self, batch: list[tuple[StockUpdate, str, str]], refused: dict[Key, str]) -> set[Key]:
        """Send the batch; what Shopify refuses goes to ``refused`` and the rest is sent again. Returns the
        listings taken."""
        while batch:
            quantities = [{"item_id": item, "location_id": location, "quantity": max(0, min(MAX_QUANTITY, u.quantity)),
                           "compare": None} for u, item, location in batch]
            result = self._call(partial(
                api.set_quantities, self.client, name=NAME, reason=REASON, quantities=quantities,
                ignore_compare=True, idempotency_key=idempotency_key(self.shop.id, batch),
                reference=f"orderhub://channel-stock/{self.shop.id}"))
            self.requests += 1
            if not result.errors:
                return {(u.sku, u.location) for u, _item, _location in batch}
            named: dict[int, list[api.UserError]] = {}
            for error in result.errors:
                if error.index is None or not 0 <= error.index < len(batch):  # about the request: all of it
                    why = "; ".join(str(e) for e in result.errors)
                    for u, item, location in batch:
                        refused[(u.sku, u.location)] = self._refusal(u, item, location, why)
                    return set()
                named.setdefault(error.index, []).append(error)
            for index, errors in named.items():
                u, item, location = batch[index]
                refused[(u.sku, u.location)] = self._refusal(u, item, location, "; ".join(str(e) for e in errors))
            batch = [entry for index, entry in enumerate(batch) if index not in named]
        return set()

    def _refusal(self, u: StockUpdate, item: str, location: str, why: str) -> str:
        hint = ("; stock the item at that location in Shopify" if "NOT_STOCKED" in why else
                f"; run sync-products for {self.shop.domain}" if "INVALID_INVENTORY_ITEM" in why else "")
        return (f"Shopify shop {self.shop.domain} refused available {u.quantity} for SKU {u.sku} (inventory item "
                f"{item}, location {location}): {why}{hint}")

    def _call(self, send: Callable[[], T]) -> T:
        throttled = self.client.throttled_count
        try:
            return send()
        except _Pause as exc:
            raise _Unsent(self._paused(exc, self.client.throttled_count > throttled), exc.seconds) from None
        except GraphQLErrors as exc:
            raise _Unsent(f"Shopify shop {self.shop.domain}: {exc}", self._refill_seconds(exc)) from None
        except ShopifyError as exc:  # unreachable, 5xx or 429 each attempt, the token refused
            raise _Unsent(f"Shopify shop {self.shop.domain}: {exc}", None) from None

    def _refill_seconds(self, exc: GraphQLErrors) -> float | None:
        """For a request still THROTTLED after its attempts: until the bucket holds its cost again."""
        throttle = self.client.throttle
        throttled = isinstance(exc.errors, list) and any(
            isinstance(e, dict) and (e.get("extensions") or {}).get("code") == "THROTTLED" for e in exc.errors)
        if not throttled or throttle is None:
            return None
        return max(1.0, (self.client.last_requested_cost - throttle.available) / throttle.restore_rate)

    def _paused(self, exc: _Pause, throttled: bool) -> str:
        if exc.status == 429:
            why = "answered 429 Too Many Requests"
        elif exc.status is not None and exc.status >= 500:
            why = f"answered {exc.status}"
        elif throttled:
            why = "throttled the request (THROTTLED: the app's query cost bucket is empty)"
        else:
            why = "has too little left in the app's query cost bucket for the next request"
        return f"Shopify shop {self.shop.domain} {why}; try again in {exc.seconds:.1f} s"

    def read_stock(self, listings: Sequence[tuple[str, str, str | None]]) -> dict[Key, int]:
        """The ``available`` quantity Shopify shows for each (sku, location, channel_ref), by (sku, location);
        a listing with no inventory item, or whose item is not stocked at the location, is left out. Raises
        ChannelUnavailable when Shopify cannot be read."""
        pairs: dict[tuple[str, str], list[Key]] = {}
        for sku, location, ref in listings:
            at = self._location(location)
            if (ref or "").isdigit() and at is not None and at.isdigit():
                pairs.setdefault((ref or "", at), []).append((sku, location))
        if not pairs:
            return {}
        try:
            found = self._call(partial(api.current_quantities, self.client, list(pairs), NAME))
        except _Unsent as exc:
            raise ChannelUnavailable(exc.message, retry_after=exc.retry_after) from None
        return {key: current.available for pair, current in found.items() if current is not None
                and current.available is not None for key in pairs[pair]}

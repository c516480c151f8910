"""Stock out to Walmart: a few SKUs by single calls, many by the bulk inventory feed.

- Fewer than :data:`BULK_THRESHOLD` listings: ``PUT /v3/inventory?sku=`` each (``shipNode`` for a
  listing's location), ``{"sku", "quantity": {"unit": "EACH", "amount": N}}``. A 4xx for one SKU (an item
  not set up, a bad value) refuses that listing only.
- :data:`BULK_THRESHOLD` or more: one ``POST /v3/feeds?feedType=inventory`` per location (the JSON feed,
  ``InventoryHeader`` version 1.4, sent as the multipart part ``file``), then ``GET /v3/feeds/{feedId}
  ?includeDetails=true`` until it is ``PROCESSED`` (items ``DATA_ERROR`` are refused with Walmart's
  description) or ``ERROR`` (every item refused). Walmart allows 10 inventory feeds an hour, so the
  threshold keeps small changes off the feed.

Read back (the listings sync and the drift check): ``GET /v3/items`` lists the seller's items, 50 a page by
``nextCursor`` (the ``wpid`` is each one's ``channel_ref``), and ``GET /v3/inventory?sku=`` (``shipNode`` for
a listing's location) says what one shows; an item Walmart refuses to show (404: not the seller's) is left
out.

A listing whose outcome is unknown is never reported as taken. Walmart down, throttled or refusing the
key raises ChannelUnavailable when nothing was taken; when some listings were taken before it, the rest are
returned as refused (with the reason) and go again with the next round.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import orjson

from orderhub.adapters.walmart.client import WalmartClient, WalmartRefused
from orderhub.domain.channels import ChannelListing, ChannelUnavailable, ListingKey, StockUpdate

# From this many listings in one round, the bulk feed. Walmart processes a feed in minutes (it quotes up to
# thirty) and takes ten an hour, while single updates go at ten a second: below a thousand listings (under
# two minutes of calls) single calls show the new quantities sooner and leave the feeds for big changes.
BULK_THRESHOLD = 1000
FEED_POLL_SECONDS = 2.0  # between status reads of a feed being processed
# A feed not processed by then is left to Walmart and its listings go again later. It is as long as Walmart
# may take, so a feed that is on its way is not sent again (each one spends one of the ten an hour); the
# account's pusher waits for it in a thread of its own (services/channel_loops.py).
FEED_WAIT_SECONDS = 1800.0
FEED_DETAILS_PAGE = 50  # getFeedItemStatus: "limit cannot be more than 50"
FEED_VERSION = "1.4"
ITEMS_PAGE = 50  # getAllItems: limit "cannot be more than 50"


class WalmartStock:
    """The StockChannel of one Walmart account."""

    def __init__(self, client: WalmartClient, *, bulk_threshold: int | None = None,
                 feed_wait: float = FEED_WAIT_SECONDS, feed_poll: float = FEED_POLL_SECONDS,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.client = client
        self.bulk_threshold = BULK_THRESHOLD if bulk_threshold is None else bulk_threshold
        self.feed_wait = feed_wait
        self.feed_poll = feed_poll
        self.monotonic = monotonic
        self.feeds: list[str] = []  # ids of the feeds sent, for the job's report

    def push_stock(self, updates: Sequence[StockUpdate]) -> dict[tuple[str, str], str]:
        if not updates:
            return {}
        if len(updates) < self.bulk_threshold:
            return self._singly(updates)
        by_location: dict[str, list[StockUpdate]] = defaultdict(list)
        for update in updates:
            by_location[update.location].append(update)
        refused: dict[tuple[str, str], str] = {}
        taken = 0
        for location, batch in by_location.items():
            try:
                refused.update(self._feed(location, batch))
                taken += 1
            except ChannelUnavailable as exc:
                if not taken:
                    raise
                refused.update({(u.sku, u.location): f"not sent: {exc}" for u in batch})
        return refused

    # -- reading back ---------------------------------------------------------------------------------

    def read_listings(self) -> Iterator[list[ChannelListing]]:
        """Every item of the seller, a page at a time, its wpid as channel_ref."""
        cursor = "*"
        while True:
            page = self.client.json("getAllItems", "GET", "/v3/items",
                                    params={"nextCursor": cursor, "limit": str(ITEMS_PAGE)})
            items = (page or {}).get("ItemResponse") if isinstance(page, dict) else None
            yield [ChannelListing(str(i["sku"]), str(i["wpid"]) if i.get("wpid") else None)
                   for i in items or [] if isinstance(i, dict) and i.get("sku")]
            cursor = str(page.get("nextCursor") or "") if isinstance(page, dict) else ""
            if not items or not cursor:
                return

    def read_stock(self, listings: Sequence[ListingKey]) -> dict[tuple[str, str], int]:
        """What each listing shows, one getInventory call each."""
        shown: dict[tuple[str, str], int] = {}
        for sku, location, _ref in dict.fromkeys(listings):
            params = {"sku": sku, **({"shipNode": location} if location else {})}
            try:
                body = self.client.json("getInventory", "GET", "/v3/inventory", params=params)
            except WalmartRefused:  # not an item of the seller (404): nothing shown to compare
                continue
            amount = ((body or {}).get("quantity") or {}).get("amount") if isinstance(body, dict) else None
            if isinstance(amount, (int, float)) and not isinstance(amount, bool):
                shown[(sku, location)] = int(amount)
        return shown

    # -- one call per SKU ------------------------------------------------------------------------------

    def _singly(self, updates: Sequence[StockUpdate]) -> dict[tuple[str, str], str]:
        refused: dict[tuple[str, str], str] = {}
        taken = 0
        for index, update in enumerate(updates):
            params = {"sku": update.sku, **({"shipNode": update.location} if update.location else {})}
            body = {"sku": update.sku, "quantity": {"unit": "EACH", "amount": max(0, update.quantity)}}
            try:
                self.client.call("updateInventoryForAnItem", "PUT", "/v3/inventory", params=params, json=body)
                taken += 1
            except WalmartRefused as exc:
                refused[(update.sku, update.location)] = str(exc)
            except ChannelUnavailable as exc:
                if not taken and not refused:
                    raise
                refused.update({(u.sku, u.location): f"not sent: {exc}" for u in updates[index:]})
                break
        return refused

    # -- the bulk feed ---------------------------------------------------------------------------------

    def _feed(self, location: str, updates: Sequence[StockUpdate]) -> dict[tuple[str, str], str]:
        document = {"InventoryHeader": {"version": FEED_VERSION},
                    "Inventory": [{"sku": u.sku, "quantity": {"unit": "EACH", "amount": max(0, u.quantity)}}
                                  for u in updates]}
        params = {"feedType": "inventory", **({"shipNode": location} if location else {})}
        try:
            answer = self.client.json("updateBulkInventory", "POST", "/v3/feeds", params=params, retry=False,
                                      files={"file": ("inventory.json", orjson.dumps(document), "application/json")})
        except WalmartRefused as exc:
            return {(u.sku, u.location): str(exc) for u in updates}
        feed_id = str((answer or {}).get("feedId") or "")
        if not feed_id:
            raise ChannelUnavailable(f"{self.client.who}: Walmart's answer to updateBulkInventory has no feedId")
        self.feeds.append(feed_id)
        status = self._wait(feed_id)
        if status["feedStatus"] == "ERROR":
            why = _ingestion_errors(status) or "the feed could not be read"
            return {(u.sku, u.location): f"Walmart feed {feed_id} ended in ERROR: {why}" for u in updates}
        failed: dict[str, str] = {}
        for item in self._details(feed_id, status):
            if item.get("ingestionStatus") != "SUCCESS":
                failed[str(item.get("sku"))] = (f"Walmart feed {feed_id}: {item.get('ingestionStatus')} "
                                                f"{_ingestion_errors(item)}").strip()
        return {(u.sku, u.location): failed[u.sku] for u in updates if u.sku in failed}

    def _wait(self, feed_id: str) -> dict[str, Any]:
        deadline = self.monotonic() + self.feed_wait
        while True:
            status = self._status(feed_id, 0)
            if status.get("feedStatus") in ("PROCESSED", "ERROR"):
                return status
            if self.monotonic() >= deadline:
                raise ChannelUnavailable(f"{self.client.who}: Walmart feed {feed_id} is still "
                                         f"{status.get('feedStatus')} after {self.feed_wait:.0f} s; its listings go "
                                         "again later", retry_after=max(60.0, self.feed_wait))
            self.client.sleep(self.feed_poll)

    def _status(self, feed_id: str, offset: int) -> dict[str, Any]:
        body = self.client.json("getFeedItemStatus", "GET", f"/v3/feeds/{feed_id}",
                                params={"includeDetails": "true", "offset": str(offset),
                                        "limit": str(FEED_DETAILS_PAGE)})
        if not isinstance(body, dict):
            raise ChannelUnavailable(f"{self.client.who}: Walmart's status of feed {feed_id} is not an object")
        return body

    def _details(self, feed_id: str, first: dict[str, Any]) -> list[dict[str, Any]]:
        """Every item's status, page by page (at most 50 a page)."""
        items: list[dict[str, Any]] = []
        page = first
        while True:
            found = (page.get("itemDetails") or {}).get("itemIngestionStatus") or []
            items.extend(i for i in found if isinstance(i, dict))
            received = int(page.get("itemsReceived") or 0)
            if not found or len(items) >= received:
                return items
            page = self._status(feed_id, len(items))


def _ingestion_errors(record: dict[str, Any]) -> str:
    errors = (record.get("ingestionErrors") or {}).get("ingestionError") or []
    return "; ".join(f"{e.get('code', '')} {e.get('description', '')}".strip() for e in errors
                     if isinstance(e, dict))[:500]

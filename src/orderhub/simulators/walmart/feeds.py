"""Inventory feeds: ``POST /v3/feeds?feedType=inventory`` (or ``MP_INVENTORY``) and their status.

A feed is received at once (``{"feedId": ...}``) and processed over simulated time:
``RECEIVED``, then ``INPROGRESS`` after ``in_progress_after`` seconds, then ``PROCESSED``
after ``processed_after`` seconds, when its quantities are applied (once). Each item ends
``SUCCESS`` or ``DATA_ERROR`` with ``ingestionErrors``; a file that is not a readable feed
ends the whole feed in ``ERROR`` (Walmart: "If the Feed is not valid, the feedStatus will show
ERROR"). Feed bodies are read as JSON, as in the published ``json1`` and
``MultiNode_Bulk_Inventory_Update_Request`` samples (the simulator does not read XML feeds).
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from typing import Any

import orjson

from orderhub.simulators.walmart.clock import Clock
from orderhub.simulators.walmart.defaults import FEED_IN_PROGRESS_AFTER_SECONDS, FEED_PROCESSED_AFTER_SECONDS
from orderhub.simulators.walmart.errors import FEEDS, WalmartError, bad_content, bad_param, not_found
from orderhub.simulators.walmart.inventory import Inventory, parse_quantity

FEED_TYPES = ("inventory", "MP_INVENTORY")


@dataclass
class FeedItem:
    sku: str
    node: str
    quantity: int | None
    error: str | None = None  # why the item cannot be applied, found when read
    status: str = "INPROGRESS"
    ingestion_errors: list[dict[str, str]] = field(default_factory=list)


@dataclass
class Feed:
    feed_id: str
    seller: str
    feed_type: str
    submitted_ms: int
    items: list[FeedItem]
    feed_error: str | None = None
    status: str = "RECEIVED"
    modified_ms: int = 0


def _items(feed_type: str, data: Any, ship_node: str) -> list[FeedItem]:
    """The feed's items; a ValueError when the document is not an inventory feed at all."""
    if not isinstance(data, dict):
        raise ValueError("the feed file is not a JSON object")
    items: list[FeedItem] = []
    if feed_type == "inventory":
        if not isinstance(data.get("InventoryHeader"), dict) or not isinstance(data.get("Inventory"), list):
            raise ValueError("an inventory feed has InventoryHeader {version: '1.4'} and an Inventory array")
        for index, raw in enumerate(data["Inventory"]):
            items.append(_item(raw, f"Inventory[{index}]", ship_node))
    else:
        if not isinstance(data.get("inventoryHeader"), dict) or not isinstance(data.get("inventory"), list):
            raise ValueError("an MP_INVENTORY feed has inventoryHeader {version: '1.5'} and an inventory array")
        for index, raw in enumerate(data["inventory"]):
            nodes = raw.get("shipNodes") if isinstance(raw, dict) else None
            if not isinstance(nodes, list) or not nodes:
                items.append(FeedItem(str(raw.get("sku", "")) if isinstance(raw, dict) else "", "", None,
                                      f"inventory[{index}].shipNodes must be a non-empty array"))
                continue
            for node in nodes:
                item = _item({"sku": raw.get("sku"), "quantity": node.get("quantity") if isinstance(node, dict)
                              else None}, f"inventory[{index}]", "")
                item.node = str(node.get("shipNode", "")) if isinstance(node, dict) else ""
                items.append(item)
    if not items:
        raise ValueError("the feed has no items")
    return items


def _item(raw: Any, path: str, node: str) -> FeedItem:
    if not isinstance(raw, dict) or not isinstance(raw.get("sku"), str) or not raw["sku"]:
        return FeedItem("", node, None, f"{path}.sku is required")
    try:
        quantity = parse_quantity(raw.get("quantity"), f"{path}.quantity")
    except WalmartError as exc:
        return FeedItem(raw["sku"], node, None, str(exc))
    return FeedItem(raw["sku"], node, quantity)


class Feeds:
    def __init__(self, clock: Clock, inventory: Inventory) -> None:
        self._lock = threading.Lock()
        self._feeds: dict[str, Feed] = {}
        self.clock = clock
        self.inventory = inventory
        self.in_progress_after = FEED_IN_PROGRESS_AFTER_SECONDS
        self.processed_after = FEED_PROCESSED_AFTER_SECONDS

    def submit(self, seller: str, feed_type: str | None, ship_node: str, content: bytes) -> str:
        if feed_type not in FEED_TYPES:
            raise bad_param(FEEDS, "feedType", f"feedType {feed_type!r} is not served here; use 'inventory' or "
                                               "'MP_INVENTORY'.")
        now = self.clock.stamp()
        feed_id = hashlib.sha1(f"{seller}:{now}:{len(self._feeds)}".encode()).hexdigest()[:32].upper() + "@AQMBAQA"
        items: list[FeedItem] = []
        error = None
        try:
            items = _items(feed_type, orjson.loads(content), ship_node)
        except (orjson.JSONDecodeError, ValueError) as exc:
            error = f"The feed file could not be read: {exc}."
        with self._lock:
            self._feeds[feed_id] = Feed(feed_id, seller, feed_type, now, items, error, modified_ms=now)
        return feed_id

    def settle(self) -> None:
        """Move feeds along the simulated clock; apply a feed's quantities when it is processed."""
        now = self.clock.now_ms()
        with self._lock:
            due = []
            for feed in self._feeds.values():
                age = (now - feed.submitted_ms) / 1000
                if feed.status == "RECEIVED" and age >= self.in_progress_after:
                    feed.status, feed.modified_ms = "INPROGRESS", now
                if feed.status == "INPROGRESS" and age >= self.processed_after:
                    feed.status, feed.modified_ms = ("ERROR" if feed.feed_error else "PROCESSED"), now
                    due.append(feed)
        for feed in due:
            for item in feed.items:
                self._apply(feed, item)

    def _apply(self, feed: Feed, item: FeedItem) -> None:
        if item.error is None and not self.inventory.known(feed.seller, item.sku):
            item.error = f"SKU {item.sku!r} is not an item of this seller"
        if item.error is not None:
            item.status = "DATA_ERROR"
            item.ingestion_errors = [{"type": "DATA_ERROR", "code": "ERR_EXT_DATA_0101001", "description": item.error}]
            return
        assert item.quantity is not None
        self.inventory.set(feed.seller, item.sku, item.quantity, item.node, via="feed", feed_id=feed.feed_id)
        item.status = "SUCCESS"

    def _feed(self, seller: str, feed_id: str) -> Feed:
        feed = self._feeds.get(feed_id)
        if feed is None or feed.seller != seller:
            raise not_found(FEEDS, "feedId", f"Feed {feed_id} was not found for this seller; use the feedId "
                                             "POST /v3/feeds answered.")
        return feed

    def status(self, seller: str, feed_id: str, include_details: bool, offset: int, limit: int) -> dict[str, Any]:
        """The ``PartnerFeedResponse`` of ``GET /v3/feeds/{feedId}``."""
        self.settle()
        with self._lock:
            feed = self._feed(seller, feed_id)
            done = feed.status in ("PROCESSED", "ERROR")
            succeeded = sum(1 for i in feed.items if i.status == "SUCCESS") if done else 0
            failed = sum(1 for i in feed.items if i.status != "SUCCESS") if done and not feed.feed_error else 0
            out: dict[str, Any] = {"feedId": feed.feed_id, "feedStatus": feed.status,
                                   "feedSubmissionDate": feed.submitted_ms, "itemsReceived": len(feed.items),
                                   "itemsSucceeded": succeeded, "itemsFailed": failed,
                                   "itemsProcessing": 0 if done else len(feed.items), "offset": offset,
                                   "limit": limit}
            if feed.feed_error:
                out["ingestionErrors"] = {"ingestionError": [{"type": "DATA_ERROR", "code": "ERR_INT_DATA_01010001",
                                                              "description": feed.feed_error}]}
            if include_details:
                out["itemDetails"] = {"itemIngestionStatus": [
                    {"martId": 0, "sku": item.sku, "index": index,
                     "ingestionStatus": item.status if done else "INPROGRESS",
                     **({"ingestionErrors": {"ingestionError": item.ingestion_errors}} if item.ingestion_errors
                        else {})}
                    for index, item in enumerate(feed.items) if offset <= index < offset + limit]}
            return out

    def records(self, seller: str, feed_id: str | None, offset: int, limit: int) -> dict[str, Any]:
        """The ``FeedRecordResponse`` of ``GET /v3/feeds``."""
        self.settle()
        with self._lock:
            feeds = [f for f in sorted(self._feeds.values(), key=lambda f: -f.submitted_ms)
                     if f.seller == seller and (feed_id is None or f.feed_id == feed_id)]
            page = feeds[offset:offset + limit]
            return {"totalResults": len(feeds), "offset": offset, "limit": limit, "results": {"feed": [
                {"feedId": f.feed_id, "feedSource": "MARKETPLACE_PARTNER", "feedType": f.feed_type,
                 "partnerId": f.seller, "itemsReceived": len(f.items),
                 "itemsSucceeded": sum(1 for i in f.items if i.status == "SUCCESS"),
                 "itemsFailed": sum(1 for i in f.items if i.status == "DATA_ERROR"),
                 "itemsProcessing": 0 if f.status in ("PROCESSED", "ERROR") else len(f.items),
                 "feedStatus": f.status, "feedDate": f.submitted_ms, "modifiedDtm": f.modified_ms} for f in page]}}

    def describe(self) -> list[dict[str, Any]]:
        self.settle()
        with self._lock:
            return [{"feedId": f.feed_id, "seller": f.seller, "feedType": f.feed_type, "feedStatus": f.status,
                     "submittedAt": f.submitted_ms, "items": [{"sku": i.sku, "shipNode": i.node or None,
                                                               "quantity": i.quantity, "status": i.status}
                                                              for i in f.items]}
                    for f in self._feeds.values()]

    def reset(self) -> None:
        with self._lock:
            self._feeds.clear()


def check_feed_size(feed_type: str, size: int) -> None:
    """Walmart's documented file-size limits: inventory 5 MB, MP_INVENTORY 1 MB."""
    limit = 5 * 1024 * 1024 if feed_type == "inventory" else 1024 * 1024
    if size > limit:
        raise WalmartError(413, "PAYLOAD_TOO_LARGE", "GMP_GATEWAY_API", "file", "Payload Too Large",
                           f"The {feed_type} feed file is {size} bytes; the limit is {limit} bytes.",
                           category="REQUEST")
    if size == 0:
        raise bad_content(FEEDS, "file", "The feed file is empty; send it as the multipart part named 'file'.")

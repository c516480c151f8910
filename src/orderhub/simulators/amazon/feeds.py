"""Feed documents and feeds: upload to a pre-signed URL, process over simulated time, report.

``createFeedDocument`` answers a ``feedDocumentId`` and a pre-signed ``url`` (served by the
simulator itself, valid for five minutes) to PUT the content to. ``createFeed`` queues a feed:
it is ``IN_QUEUE``, then ``IN_PROGRESS``, then ``DONE`` (or ``FATAL``) as the simulated clock
passes the configured times; it is processed when it reaches ``DONE``. A ``JSON_LISTINGS_FEED``
(``samples/listings_feed_schema_v2.json``) applies its messages to the listings and writes a
processing report (``samples/listings_feed_processing_report_schema_v2.json``) whose issues name
each message's ``messageId`` and ``sku``. The XML order feeds ``POST_ORDER_ACKNOWLEDGEMENT_DATA`` and
``POST_PAYMENT_ADJUSTMENT_DATA`` are read by :mod:`.xml_feeds` and applied by :mod:`.order_feeds`;
their report is Amazon's XML ``ProcessingReport``. Other feed types end ``FATAL``: the simulator does
not process them.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import secrets
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from orderhub.simulators.amazon.catalogue import Product, product
from orderhub.simulators.amazon.clock import Clock, iso_ms
from orderhub.simulators.amazon.listings import Listings, issue, patch_issues
from orderhub.simulators.amazon.models import check_schema, problems
from orderhub.simulators.amazon.order_feeds import MESSAGE_TYPES, OrderFeeds
from orderhub.simulators.amazon.order_store import OrderStore
from orderhub.simulators.amazon.samples import load
from orderhub.simulators.amazon.xml_feeds import (
    ENVELOPE_ERROR,
    MESSAGE_ERROR,
    PARSE_ERROR,
    FeedRefused,
    Result,
    envelope,
    parse,
    report,
)

LISTINGS_FEED = "JSON_LISTINGS_FEED"
XML_REPORT_TYPE = "text/xml; charset=UTF-8"


@dataclass
class Document:
    document_id: str
    seller_id: str
    content_type: str
    created: datetime
    content: bytes | None = None


@dataclass
class Feed:
    feed_id: str
    seller_id: str
    feed_type: str
    marketplace_ids: list[str]
    input_document_id: str
    created: datetime
    status: str = "IN_QUEUE"
    started: datetime | None = None
    ended: datetime | None = None
    result_document_id: str | None = None
    report: dict[str, Any] | None = None
    cancelled: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def render(self) -> dict[str, Any]:
        """The model's ``Feed``."""
        out: dict[str, Any] = {"feedId": self.feed_id, "feedType": self.feed_type,
                               "marketplaceIds": list(self.marketplace_ids), "createdTime": iso_ms(self.created),
                               "processingStatus": self.status}
        if self.started:
            out["processingStartTime"] = iso_ms(self.started)
        if self.ended:
            out["processingEndTime"] = iso_ms(self.ended)
        if self.result_document_id:
            out["resultFeedDocumentId"] = self.result_document_id
        return out


def _rows_for(attributes: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"op": "replace", "path": f"/attributes/{name}", "value": value} for name, value in attributes.items()]


class Feeds:
    def __init__(self, clock: Clock, listings: Listings, orders: OrderStore, *, queue_seconds: float,
                 processing_seconds: float, url_seconds: int, max_document_bytes: int) -> None:
        self.clock = clock
        self.listings = listings
        self.order_feeds = OrderFeeds(clock, orders)
        self.max_document_bytes = max_document_bytes
        self.queue_seconds = queue_seconds
        self.processing_seconds = processing_seconds
        self.url_seconds = url_seconds
        self._key = secrets.token_bytes(32)
        self._lock = threading.RLock()
        self._documents: dict[str, Document] = {}
        self._feeds: dict[str, Feed] = {}
        self._next_feed = 50_012_019_000

    # -- documents and their pre-signed URLs

    def new_document(self, seller_id: str, content_type: str, content: bytes | None = None) -> Document:
        doc = Document("amzn1.tortuga.4." + secrets.token_hex(16), seller_id, content_type, self.clock.now(), content)
        with self._lock:
            self._documents[doc.document_id] = doc
        return doc

    def document(self, document_id: str) -> Document | None:
        with self._lock:
            return self._documents.get(document_id)

    def signature(self, document_id: str, method: str, expires: int) -> str:
        return hmac.new(self._key, f"{method}\n{document_id}\n{expires}".encode(), hashlib.sha256).hexdigest()

    def presign(self, base_url: str, document_id: str, method: str) -> str:
        expires = int(self.clock.seconds()) + self.url_seconds
        return (f"{base_url}/feed-documents/{document_id}?X-Amz-Algorithm=AWS4-HMAC-SHA256"
                f"&X-Amz-Expires={self.url_seconds}&X-Amz-Date={expires}"
                f"&X-Amz-Signature={self.signature(document_id, method, expires)}")

    def url_problem(self, document_id: str, method: str, query: dict[str, str]) -> str | None:
        """Why a pre-signed URL is refused (S3's error code), or None when it is good."""
        try:
            expires = int(query.get("X-Amz-Date", ""))
        except ValueError:
            return "AccessDenied"
        if not hmac.compare_digest(self.signature(document_id, method, expires), query.get("X-Amz-Signature", "")):
            return "SignatureDoesNotMatch"
        if self.clock.seconds() > expires:
            return "AccessDenied"
        return None

    def upload(self, document_id: str, content: bytes) -> None:
        with self._lock:
            self._documents[document_id].content = content

    # -- feeds

    def create(self, seller_id: str, feed_type: str, marketplace_ids: list[str], document_id: str) -> Feed:
        with self._lock:
            self._next_feed += 1
            feed = Feed(str(self._next_feed), seller_id, feed_type, marketplace_ids, document_id, self.clock.now())
            self._feeds[feed.feed_id] = feed
            return copy.deepcopy(feed)

    def feed(self, feed_id: str) -> Feed | None:
        self.advance()
        with self._lock:
            feed = self._feeds.get(feed_id)
            return copy.deepcopy(feed) if feed else None

    def feeds(self) -> list[Feed]:
        self.advance()
        with self._lock:
            return [copy.deepcopy(f) for f in self._feeds.values()]

    def cancel(self, feed_id: str) -> bool:
        with self._lock:
            feed = self._feeds[feed_id]
            if feed.status != "IN_QUEUE":
                return False
            feed.status, feed.cancelled = "CANCELLED", True
            return True

    def advance(self) -> None:
        """Move every feed along to where the simulated clock says it is, processing those that finish."""
        now = self.clock.now()
        with self._lock:
            for feed in self._feeds.values():
                if feed.status == "IN_QUEUE" and now >= feed.created + timedelta(seconds=self.queue_seconds):
                    feed.status, feed.started = "IN_PROGRESS", feed.created + timedelta(seconds=self.queue_seconds)
                if feed.status == "IN_PROGRESS" and feed.started and \
                        now >= feed.started + timedelta(seconds=self.processing_seconds):
                    feed.ended = feed.started + timedelta(seconds=self.processing_seconds)
                    self._process(feed)

    def _process(self, feed: Feed) -> None:
        doc = self._documents.get(feed.input_document_id)
        if feed.feed_type in MESSAGE_TYPES and doc is not None and doc.content is not None:
            content, summary = self._run_xml(feed, doc.content)
            feed.status, feed.report = "DONE", summary
            feed.result_document_id = self.new_document(feed.seller_id, XML_REPORT_TYPE, content).document_id
            return
        report, fatal = self._run(feed, doc)
        feed.status = "FATAL" if fatal else "DONE"
        feed.report = report
        result = self.new_document(feed.seller_id, "application/json",
                                   json.dumps(report, ensure_ascii=False).encode("utf-8"))
        feed.result_document_id = result.document_id

    def _run(self, feed: Feed, doc: Document | None) -> tuple[dict[str, Any], bool]:
        header = {"sellerId": feed.seller_id, "version": "2.0", "feedId": feed.feed_id}
        summary = {"errors": 0, "warnings": 0, "messagesProcessed": 0, "messagesAccepted": 0, "messagesInvalid": 0}

        def fatal(message: str) -> tuple[dict[str, Any], bool]:
            summary["errors"] = 1
            return {"header": header, "issues": [{"code": "FATAL", "severity": "ERROR", "message": message}],
                    "summary": summary}, True

        if doc is None or doc.content is None:
            return fatal(f"The feed document {feed.input_document_id} has no content; PUT it to the document's "
                         "url before createFeed.")
        if feed.feed_type != LISTINGS_FEED:
            return fatal(f"The feed type {feed.feed_type} is not processed by this simulator; use "
                         f"{', '.join([LISTINGS_FEED, *MESSAGE_TYPES])}.")
        try:
            body = json.loads(doc.content.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            return fatal(f"The feed document is not JSON in UTF-8: {exc}.")
        problems = [p for p in check_schema(body, "listings_feed_schema_v2.json") if not p.startswith("messages[")]
        if problems:
            return fatal("The feed does not match the JSON listings feed schema: " + "; ".join(problems[:5]))
        if body["header"]["sellerId"] != feed.seller_id:
            return fatal(f"header.sellerId {body['header']['sellerId']} is not the seller who submitted the feed "
                         f"({feed.seller_id}).")
        issues: list[dict[str, Any]] = []
        for message in body["messages"]:
            summary["messagesProcessed"] += 1
            found = self._message(feed, message)
            for item in found:
                issues.append({"messageId": message.get("messageId") if isinstance(message.get("messageId"), int)
                               else 0, "sku": str(message.get("sku", "")), "code": item["code"],
                               "severity": item["severity"], "message": item["message"],
                               **({"attributeName": item["attributeNames"][0]} if item.get("attributeNames")
                                  else {})})
            if found:
                summary["messagesInvalid"] += 1
                summary["errors"] += len(found)
            else:
                summary["messagesAccepted"] += 1
        return {"header": header, "issues": issues, "summary": summary}, False

    def _run_xml(self, feed: Feed, content: bytes) -> tuple[bytes, dict[str, Any]]:
        """An XML order feed applied message by message; its processing report, and a summary for /_sim/feeds."""
        results: list[Result] = []
        processed = 0
        merchant = feed.seller_id
        try:
            found = envelope(parse(content, self.max_document_bytes))
            if found.merchant != feed.seller_id:
                raise FeedRefused(f"Header/MerchantIdentifier {found.merchant} is not the seller who submitted the "
                                  f"feed ({feed.seller_id}).")
            if found.message_type != MESSAGE_TYPES[feed.feed_type]:
                raise FeedRefused(f"MessageType {found.message_type[:40]!r} does not go with {feed.feed_type}; "
                                  f"expected {MESSAGE_TYPES[feed.feed_type]}.")
        except FeedRefused as exc:
            code = ENVELOPE_ERROR if str(exc).startswith(("Header/MerchantIdentifier", "MessageType")) else PARSE_ERROR
            results.append(Result(0, code, str(exc)))
        else:
            results += [Result(n, MESSAGE_ERROR, text) for n, text in found.problems]
            processed = len(found.messages) + len(found.problems)
            for message_id, body in found.messages:
                results += self.order_feeds.apply(feed.feed_type, feed.seller_id, feed.feed_id, message_id, body)
        xml = report(merchant, feed.feed_id, processed, results)
        summary = {"format": "xml", "messages_processed": processed,
                   "results": [{"message_id": r.message_id, "result_code": r.kind, "code": r.code,
                                "description": r.description, "order_id": r.order_id, "item_code": r.item_code}
                               for r in results]}
        return xml, summary

    def _message(self, feed: Feed, message: Any) -> list[dict[str, Any]]:
        found = problems(message, load("listings_feed_schema_v2.json")["properties"]["messages"]["items"], {})
        if found:
            return [issue("INVALID_MESSAGE", "; ".join(found))]
        sku, op = message["sku"], message["operationType"]
        source = f"feed {feed.feed_id} message {message['messageId']}"
        if op == "DELETE":
            if not self.listings.delete(feed.seller_id, sku):
                return [issue("SKU_NOT_FOUND", f"There is no listing with SKU {sku} to delete.")]
            return []
        if op == "PATCH":
            patches = message.get("patches")
        else:  # UPDATE and PARTIAL_UPDATE
            patches = _rows_for(message.get("attributes") or {})
            if op == "UPDATE" and self.listings.get(feed.seller_id, sku) is None:
                self._create(feed, message)
        found = patch_issues(patches)
        if found:
            return found
        return self.listings.patch(feed.seller_id, sku, patches, source)

    def _create(self, feed: Feed, message: dict[str, Any]) -> None:
        sku = message["sku"]
        known = product(sku) or Product(sku, "B0" + hashlib.sha1(sku.encode()).hexdigest()[:8].upper(), sku,
                                        Decimal("0"), message.get("productType", "PRODUCT"))
        self.listings.seed(feed.seller_id, (feed.marketplace_ids or [""])[0], known, None)

    def reset(self) -> None:
        with self._lock:
            self._documents.clear()
            self._feeds.clear()


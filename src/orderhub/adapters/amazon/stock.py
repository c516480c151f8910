"""Stock out to Amazon: the quantity a listing shows is its ``fulfillment_availability`` (merchant-fulfilled,
``fulfillment_channel_code`` DEFAULT).

A few SKUs go by ``patchListingsItem``, one call each (usage plan 5/s, burst 5). From
:data:`FEED_THRESHOLD` SKUs on, one ``JSON_LISTINGS_FEED`` carries them all: createFeedDocument,
the content PUT to its pre-signed URL, createFeed, getFeed until Amazon has processed it, and the
processing report read back (feed_flow.py, shared with the order feeds). The feed is asynchronous
on Amazon's side; :meth:`AmazonStock.push_stock` waits for it (polling getFeed every
:data:`FEED_POLL_SECONDS`, for at most :data:`FEED_WAIT_SECONDS`) so the pusher learns per SKU what
Amazon took. A feed still unprocessed then is reported as "unavailable": its quantities stay pending
and go again next round, which is harmless, as each message sets an absolute quantity.

Per-SKU problems (an ``INVALID`` submission, a report issue, a 400 for one SKU) come back as the
refused listings, with Amazon's code and message.

Read back (the listings sync and the drift check): ``searchListingsItems`` lists the seller's listings
in the marketplace, 20 a page by SKU (the ASIN is each one's ``channel_ref``; Amazon pages through at
most 1000 listings), and with ``identifiers`` (20 SKUs a call) and ``includedData=fulfillmentAvailability``
says what each shows. A SKU with a comma cannot be one of a comma-separated list: it is read alone by
``getListingsItem``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from urllib.parse import quote

import orjson

from orderhub.adapters.amazon import feed_flow
from orderhub.adapters.amazon.client import AmazonRefused, AmazonUnavailable, SpApiClient
from orderhub.domain.channels import ChannelListing, ListingKey, StockUpdate

# From this many changed SKUs in one round, one feed instead of single calls. A feed takes Amazon a minute or
# more to process while single calls go at 5 a second: below about 300 SKUs (a minute of calls) the single
# calls show the new quantities sooner; above, the feed does, and spares the calls' budget.
FEED_THRESHOLD = 300
FEED_POLL_SECONDS = 30.0
FEED_WAIT_SECONDS = 1800.0  # Amazon processes most listings feeds within minutes; half an hour is generous
FEED_CONTENT_TYPE = "application/json; charset=UTF-8"
CHANNEL_CODE = "DEFAULT"  # merchant-fulfilled stock; Amazon's own (AFN) stock is Amazon's business
PRODUCT_TYPE = "PRODUCT"  # a patch of fulfillment_availability alone needs no real product type
SEARCH_PAGE_SIZE = 20  # searchListingsItems' largest page, and the most identifiers one call takes

Refused = dict[tuple[str, str], str]


def _availability(quantity: int) -> list[dict[str, object]]:
    return [{"op": "replace", "path": "/attributes/fulfillment_availability",
             "value": [{"fulfillment_channel_code": CHANNEL_CODE, "quantity": max(0, quantity)}]}]


def _merchant_quantity(item: dict[str, object]) -> int:
    rows = [r for r in item.get("fulfillmentAvailability") or [] if isinstance(r, dict)]  # type: ignore[attr-defined]
    return next((int(r.get("quantity") or 0) for r in rows if r.get("fulfillmentChannelCode") == CHANNEL_CODE), 0)


def _issues_text(issues: list[dict[str, object]]) -> str:
    return "; ".join(f"{i.get('code', '')}: {i.get('message', '')}".strip() for i in issues)[:1000]


class AmazonStock:
    def __init__(self, client: SpApiClient, *, sleep: Callable[[float], None] | None = None,
                 feed_threshold: int | None = None, poll_seconds: float = FEED_POLL_SECONDS,
                 wait_seconds: float = FEED_WAIT_SECONDS) -> None:
        self.client = client
        self.sleep = sleep or client.sleep
        self.feed_threshold = FEED_THRESHOLD if feed_threshold is None else feed_threshold
        self.poll_seconds = poll_seconds
        self.wait_seconds = wait_seconds
        self.last_feed_id: str | None = None

    def push_stock(self, updates: Sequence[StockUpdate]) -> Refused:
        refused: Refused = {}
        wanted = []
        for u in updates:
            if u.location:
                refused[(u.sku, u.location)] = (f"Amazon takes an account's stock as a whole; location "
                                                f"{u.location!r} cannot be sent (list the SKU without a location)")
            else:
                wanted.append(u)
        if not wanted:
            return refused
        if len(wanted) >= self.feed_threshold:
            return refused | self._feed(wanted)
        return refused | self._single(wanted)

    # -- reading back

    def read_listings(self) -> Iterator[list[ChannelListing]]:
        """Every listing of the seller in the account's marketplace, 20 a page, its ASIN as channel_ref."""
        token = None
        while True:
            params = {"marketplaceIds": self.client.marketplace_id, "includedData": "summaries",
                      "pageSize": SEARCH_PAGE_SIZE, "sortBy": "sku", "sortOrder": "ASC"}
            if token:
                params["pageToken"] = token
            page = self._search(params)
            yield [ChannelListing(str(item["sku"]), self._asin(item)) for item in page.get("items") or []
                   if item.get("sku")]
            token = (page.get("pagination") or {}).get("nextToken")
            if not token:
                return

    def read_stock(self, listings: Sequence[ListingKey]) -> dict[tuple[str, str], int]:
        """The merchant-fulfilled quantity each listed SKU shows (0 when it has none). Amazon takes stock by
        account, so a listing at a location has nothing to read and is left out."""
        skus = sorted({sku for sku, location, _ref in listings if not location})
        shown: dict[tuple[str, str], int] = {}
        alone = [s for s in skus if "," in s]
        together = [s for s in skus if "," not in s]
        for start in range(0, len(together), SEARCH_PAGE_SIZE):
            chunk = together[start:start + SEARCH_PAGE_SIZE]
            page = self._search({"marketplaceIds": self.client.marketplace_id, "pageSize": SEARCH_PAGE_SIZE,
                                 "includedData": "fulfillmentAvailability", "identifiersType": "SKU",
                                 "identifiers": ",".join(chunk)})
            for item in page.get("items") or []:
                shown[(str(item.get("sku")), "")] = _merchant_quantity(item)
        for sku in alone:
            path = f"/listings/2021-08-01/items/{quote(self.client.seller_id, safe='')}/{quote(sku, safe='')}"
            try:
                item = self.client.call("getListingsItem", "GET", path, params={
                    "marketplaceIds": self.client.marketplace_id, "includedData": "fulfillmentAvailability"}) or {}
            except AmazonRefused:  # not listed: nothing shown to compare
                continue
            shown[(sku, "")] = _merchant_quantity(item)
        asked = set(skus)
        return {key: quantity for key, quantity in shown.items() if key[0] in asked}

    def _search(self, params: dict[str, object]) -> dict[str, object]:
        path = f"/listings/2021-08-01/items/{quote(self.client.seller_id, safe='')}"
        answer = self.client.call("searchListingsItems", "GET", path, params=params)
        return answer if isinstance(answer, dict) else {}

    def _asin(self, item: dict[str, object]) -> str | None:
        summaries = [s for s in item.get("summaries") or [] if isinstance(s, dict)]  # type: ignore[attr-defined]
        mine = next((s for s in summaries if s.get("marketplaceId") == self.client.marketplace_id),
                    summaries[0] if summaries else {})
        return str(mine["asin"]) if mine.get("asin") else None

    # -- single calls

    def _single(self, updates: list[StockUpdate]) -> Refused:
        c = self.client
        refused: Refused = {}
        taken = 0
        for n, u in enumerate(updates):
            path = f"/listings/2021-08-01/items/{quote(c.seller_id, safe='')}/{quote(u.sku, safe='')}"
            try:
                answer = c.call("patchListingsItem", "PATCH", path, params={"marketplaceIds": c.marketplace_id},
                                json={"productType": PRODUCT_TYPE, "patches": _availability(u.quantity)}) or {}
            except AmazonRefused as exc:
                refused[(u.sku, u.location)] = str(exc)
                continue
            except AmazonUnavailable as exc:
                if not taken and not refused:
                    raise
                for rest in updates[n:]:  # some were taken: the others go again next round
                    refused[(rest.sku, rest.location)] = f"not sent: {exc}"
                return refused
            if answer.get("status") == "ACCEPTED":
                taken += 1
            else:
                refused[(u.sku, u.location)] = (f"Amazon answered {answer.get('status')} for SKU {u.sku}: "
                                                f"{_issues_text(answer.get('issues') or [])}")
        return refused

    # -- the listings feed

    def feed_document(self, updates: list[StockUpdate]) -> bytes:
        messages = [{"messageId": n, "sku": u.sku, "operationType": "PATCH", "productType": PRODUCT_TYPE,
                     "patches": _availability(u.quantity)} for n, u in enumerate(updates, start=1)]
        return orjson.dumps({"header": {"sellerId": self.client.seller_id, "version": "2.0", "issueLocale": "en_US"},
                             "messages": messages})

    def _feed(self, updates: list[StockUpdate]) -> Refused:
        c = self.client
        processed = feed_flow.submit(c, "JSON_LISTINGS_FEED", self.feed_document(updates), FEED_CONTENT_TYPE,
                                     sleep=self.sleep, poll_seconds=self.poll_seconds, wait_seconds=self.wait_seconds,
                                     again="its quantities go again next round", on_created=self._created)
        feed_id, status = processed.feed_id, processed.status
        report = _report(processed.report)
        if status != "DONE":
            issues = [i for i in report.get("issues") or [] if not i.get("sku")]
            raise AmazonUnavailable(f"amazon account {c.account.name}, createFeed: feed {feed_id} ended {status}"
                                    + (f": {_issues_text(issues)}" if issues else ""))
        refused: Refused = {}
        by_message = {n: u for n, u in enumerate(updates, start=1)}
        for issue in report.get("issues") or []:
            if issue.get("severity") != "ERROR":
                continue
            update = by_message.get(issue.get("messageId"))  # type: ignore[arg-type]
            if update is None:
                continue
            key = (update.sku, update.location)
            text = f"feed {feed_id} message {issue.get('messageId')}: {issue.get('code')}: {issue.get('message')}"
            refused[key] = f"{refused[key]}; {text}" if key in refused else text
        return refused

    def _created(self, feed_id: str) -> None:
        self.last_feed_id = feed_id


def _report(content: bytes | None) -> dict[str, list[dict[str, object]]]:
    """The listings feed's JSON processing report ({} when there is none or it cannot be read)."""
    if not content:
        return {}
    try:
        report = orjson.loads(content)
    except orjson.JSONDecodeError:
        return {}
    return report if isinstance(report, dict) else {}

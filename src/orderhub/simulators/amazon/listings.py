"""The sellers' listings and the changes made to them: what Amazon shows per SKU.

A listing keeps its attributes as the Listings Items API writes them
(``fulfillment_availability``: ``[{"fulfillment_channel_code": "DEFAULT", "quantity": 5}]``).
JSON Patch operations (``add``, ``replace``, ``merge``, ``delete`` on ``/attributes/<name>``)
change them, from ``patchListingsItem`` or from a ``JSON_LISTINGS_FEED`` message; every change
of a quantity is recorded, with where it came from. Problems come back as the model's
``Issue`` (``code``, ``message``, ``severity``, ``attributeNames``, ``categories``); the codes
are the simulator's own (Amazon does not publish its list).
"""

from __future__ import annotations

import copy
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from orderhub.simulators.amazon.catalogue import CATALOGUE, Product
from orderhub.simulators.amazon.clock import Clock, iso

ATTRIBUTE_PREFIX = "/attributes/"
AVAILABILITY = "fulfillment_availability"


@dataclass
class Listing:
    seller_id: str
    sku: str
    asin: str
    product_type: str
    title: str
    marketplace_id: str
    created: datetime
    updated: datetime
    attributes: dict[str, Any] = field(default_factory=dict)

    def quantities(self) -> dict[str, int]:
        return {row["fulfillment_channel_code"]: row["quantity"] for row in self.attributes.get(AVAILABILITY, [])
                if isinstance(row, dict) and "quantity" in row}


def issue(code: str, message: str, attribute: str | None = None, category: str = "INVALID_ATTRIBUTE") -> dict[str, Any]:
    out: dict[str, Any] = {"code": code, "message": message, "severity": "ERROR", "categories": [category]}
    if attribute:
        out["attributeNames"] = [attribute]
    return out


def _availability_issues(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not value:
        return [issue("INVALID_VALUE", "fulfillment_availability must be a non-empty list of "
                                       "{fulfillment_channel_code, quantity}.", AVAILABILITY)]
    found = []
    for row in value:
        if not isinstance(row, dict) or not isinstance(row.get("fulfillment_channel_code"), str):
            found.append(issue("INVALID_VALUE", "Each fulfillment_availability entry needs a "
                                                "fulfillment_channel_code.", AVAILABILITY))
            continue
        quantity = row.get("quantity")
        if "quantity" in row and (isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0):
            found.append(issue("INVALID_QUANTITY", f"The quantity {quantity!r} for fulfillment channel "
                                                   f"{row['fulfillment_channel_code']} must be a whole number of "
                                                   "at least 0.", AVAILABILITY))
    return found


def patch_issues(patches: Any) -> list[dict[str, Any]]:
    """What is wrong with a list of JSON Patch operations, as issues; empty when it can be applied."""
    if not isinstance(patches, list) or not patches:
        return [issue("INVALID_PATCH", "patches must be a non-empty list of {op, path, value}.")]
    found = []
    for patch in patches:
        if not isinstance(patch, dict) or patch.get("op") not in ("add", "replace", "merge", "delete"):
            found.append(issue("INVALID_PATCH", "Each patch needs op add, replace, merge or delete."))
            continue
        path = patch.get("path")
        if not isinstance(path, str) or not path.startswith(ATTRIBUTE_PREFIX) or len(path) == len(ATTRIBUTE_PREFIX):
            found.append(issue("INVALID_PATCH", f"The path {path!r} must be /attributes/<attribute name>."))
            continue
        if patch["op"] != "delete" and path == ATTRIBUTE_PREFIX + AVAILABILITY:
            found += _availability_issues(patch.get("value"))
        elif patch["op"] != "delete" and not isinstance(patch.get("value"), list):
            found.append(issue("INVALID_VALUE", f"The value for {path} must be a list.", path[len(ATTRIBUTE_PREFIX):]))
    return found


def _apply(listing: Listing, patch: dict[str, Any]) -> None:
    name = patch["path"][len(ATTRIBUTE_PREFIX):]
    if patch["op"] == "delete":
        listing.attributes.pop(name, None)
    elif patch["op"] == "merge" and name == AVAILABILITY:
        rows = {r["fulfillment_channel_code"]: dict(r) for r in listing.attributes.get(name, [])}
        for row in patch["value"]:
            rows.setdefault(row["fulfillment_channel_code"], {}).update(row)
        listing.attributes[name] = list(rows.values())
    else:
        listing.attributes[name] = copy.deepcopy(patch["value"])


class Listings:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._listings: dict[tuple[str, str], Listing] = {}
        self._updates: list[dict[str, Any]] = []

    def seed(self, seller_id: str, marketplace_id: str, product: Product, quantity: int | None) -> Listing:
        now = self.clock.now()
        listing = Listing(seller_id, product.sku, product.asin, product.product_type, product.title, marketplace_id,
                          now, now)
        if quantity is not None:
            listing.attributes[AVAILABILITY] = [{"fulfillment_channel_code": "DEFAULT", "quantity": quantity}]
        with self._lock:
            self._listings[(seller_id, product.sku)] = listing
        return copy.deepcopy(listing)

    def seed_catalogue(self, seller_id: str, marketplace_id: str, quantity: int = 0) -> None:
        for product in CATALOGUE:
            self.seed(seller_id, marketplace_id, product, quantity)

    def get(self, seller_id: str, sku: str) -> Listing | None:
        with self._lock:
            listing = self._listings.get((seller_id, sku))
            return copy.deepcopy(listing) if listing else None

    def patch(self, seller_id: str, sku: str, patches: list[dict[str, Any]], source: str) -> list[dict[str, Any]]:
        """Apply checked ``patches`` to an existing listing and record quantity changes; returns issues (none
        when applied). An unknown SKU is an issue: patching cannot create a listing."""
        with self._lock:
            listing = self._listings.get((seller_id, sku))
            if listing is None:
                return [issue("SKU_NOT_FOUND", f"There is no listing with SKU {sku} for seller {seller_id}; "
                                               "create it first (putListingsItem or an UPDATE message).",
                              None, "MISSING_ATTRIBUTE")]
            before = listing.quantities()
            for patch in patches:
                _apply(listing, patch)
            listing.updated = self.clock.now()
            after = listing.quantities()
            for channel, quantity in after.items():
                if before.get(channel) != quantity:
                    self._updates.append({"seq": len(self._updates) + 1, "seller_id": seller_id, "sku": sku,
                                          "fulfillment_channel_code": channel, "quantity": quantity,
                                          "previous": before.get(channel), "source": source,
                                          "at": iso(listing.updated)})
        return []

    def search(self, seller_id: str, *, skus: list[str] | None = None, asins: list[str] | None = None,
               sort_by: str = "lastUpdatedDate", descending: bool = True) -> list[Listing]:
        """The seller's listings (only those with these SKUs or ASINs, when given), in searchListingsItems'
        order: by SKU, createdDate or lastUpdatedDate, ties broken by SKU."""
        key = {"sku": lambda lst: (lst.sku,), "createdDate": lambda lst: (lst.created, lst.sku),
               "lastUpdatedDate": lambda lst: (lst.updated, lst.sku)}[sort_by]
        with self._lock:
            found = [copy.deepcopy(lst) for (seller, _), lst in self._listings.items() if seller == seller_id
                     and (skus is None or lst.sku in skus) and (asins is None or lst.asin in asins)]
        return sorted(found, key=key, reverse=descending)

    def delete(self, seller_id: str, sku: str) -> bool:
        with self._lock:
            return self._listings.pop((seller_id, sku), None) is not None

    def updates(self) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self._updates)

    def shown(self, seller_id: str | None = None) -> list[dict[str, Any]]:
        """What Amazon shows per listing: SKU, ASIN and quantity per fulfillment channel."""
        with self._lock:
            return [{"seller_id": lst.seller_id, "sku": lst.sku, "asin": lst.asin, "quantities": lst.quantities()}
                    for lst in self._listings.values() if seller_id in (None, lst.seller_id)]

    def reset(self) -> None:
        with self._lock:
            self._listings.clear()
            self._updates.clear()

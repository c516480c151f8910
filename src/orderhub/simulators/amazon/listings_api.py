"""Listings Items API 2021-08-01: getListingsItem, patchListingsItem and searchListingsItems.

``PATCH /listings/2021-08-01/items/{sellerId}/{sku}?marketplaceIds=...`` takes a
``ListingsItemPatchRequest`` (``productType``, ``patches``) and answers a
``ListingsItemSubmissionResponse``: ``ACCEPTED`` with no issues when the patches were applied,
``INVALID`` with the issues otherwise (as Amazon answers problems with the content: 200, not 400).
``GET`` shows the listing with the ``includedData`` asked for (default ``summaries``), among them
``fulfillmentAvailability``: the quantity Amazon shows. ``GET /listings/2021-08-01/items/{sellerId}``
(searchListingsItems) answers ``ItemSearchResults``: the seller's listings a page at a time (``pageSize``
up to 20, ``pagination.nextToken`` while more follow, at most 1000 in all), each with the same
``includedData``; ``identifiers`` (at most 20, with ``identifiersType``) narrows it to those SKUs or ASINs.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from typing import TYPE_CHECKING, Any

from starlette.routing import Route

from orderhub.simulators.amazon.clock import iso
from orderhub.simulators.amazon.errors import SpApiError
from orderhub.simulators.amazon.listings import AVAILABILITY, Listing, patch_issues
from orderhub.simulators.amazon.models import check
from orderhub.simulators.amazon.operation import Context

if TYPE_CHECKING:
    from orderhub.simulators.amazon.simulator import Simulator

SEARCH_PAGE_SIZE, SEARCH_MAX_PAGE_SIZE = 10, 20  # the model's pageSize default and maximum
SEARCH_MAX_RESULTS = 1000  # "the maximum number of items (SKUs) that can be returned and paged through"
SEARCH_MAX_IDENTIFIERS = 20
SORT_FIELDS = ("sku", "createdDate", "lastUpdatedDate")
IDENTIFIER_TYPES = ("ASIN", "EAN", "FNSKU", "GTIN", "ISBN", "JAN", "MINSAN", "SKU", "UPC")
INCLUDED_DATA = ("summaries", "attributes", "issues", "offers", "fulfillmentAvailability", "procurement",
                 "relationships", "productTypes")


def _bad(message: str) -> SpApiError:
    return SpApiError(400, "BAD_REQUEST", message)


def render_listing(listing: Listing, included: list[str]) -> dict[str, Any]:
    """The model's ``Item`` with the parts ``included`` names."""
    out: dict[str, Any] = {"sku": listing.sku}
    if "summaries" in included:
        out["summaries"] = [{"marketplaceId": listing.marketplace_id, "asin": listing.asin,
                             "productType": listing.product_type, "conditionType": "new_new",
                             "status": ["BUYABLE", "DISCOVERABLE"], "itemName": listing.title,
                             "createdDate": iso(listing.created), "lastUpdatedDate": iso(listing.updated)}]
    if "attributes" in included:
        out["attributes"] = dict(listing.attributes)
    if "issues" in included:
        out["issues"] = []
    if "offers" in included:
        out["offers"] = []
    if "fulfillmentAvailability" in included:
        out["fulfillmentAvailability"] = [{"fulfillmentChannelCode": code, "quantity": quantity}
                                          for code, quantity in listing.quantities().items()]
    if "productTypes" in included:
        out["productTypes"] = [{"marketplaceId": listing.marketplace_id, "productType": listing.product_type}]
    return out


class ListingsApi:
    def __init__(self, sim: Simulator) -> None:
        self.sim = sim

    def routes(self) -> list[Route]:
        path = "/listings/2021-08-01/items/{sellerId}/{sku}"
        return [Route("/listings/2021-08-01/items/{sellerId}", self.sim.operation("searchListingsItems", self.search),
                      methods=["GET"]),
                Route(path, self.sim.operation("getListingsItem", self.get_item), methods=["GET"]),
                Route(path, self.sim.operation("patchListingsItem", self.patch_item), methods=["PATCH"])]

    def _target(self, ctx: Context) -> tuple[str, str]:
        seller_id, sku = ctx.params["sellerId"], ctx.params.get("sku", "")
        if seller_id != ctx.seller_id:
            raise SpApiError(403, "Unauthorized", "Access to requested resource is denied.",
                             f"The access token is not for seller {seller_id}.")
        marketplaces = [m for raw in ctx.query.getlist("marketplaceIds") for m in raw.split(",") if m]
        if not marketplaces:
            raise _bad("marketplaceIds is required.")
        return seller_id, sku

    def get_item(self, ctx: Context) -> tuple[int, Any]:
        seller_id, sku = self._target(ctx)
        included = _included(ctx)
        listing = self.sim.listings.get(seller_id, sku)
        if listing is None:
            raise SpApiError(404, "NOT_FOUND", f"SKU '{sku}' not found in marketplace for seller {seller_id}.")
        return 200, render_listing(listing, included)

    def search(self, ctx: Context) -> tuple[int, Any]:
        seller_id, _ = self._target(ctx)
        included = _included(ctx)
        q = ctx.query
        identifiers = _csv(ctx, "identifiers")
        kind = q.get("identifiersType")
        if identifiers and not kind or kind and not identifiers:
            raise _bad("identifiers and identifiersType must be given together.")
        if kind and kind not in IDENTIFIER_TYPES:
            raise _bad(f"identifiersType {kind!r} is not one of {', '.join(IDENTIFIER_TYPES)}.")
        if len(identifiers) > SEARCH_MAX_IDENTIFIERS:
            raise _bad(f"identifiers takes at most {SEARCH_MAX_IDENTIFIERS} values.")
        sort_by, order = q.get("sortBy", "lastUpdatedDate"), q.get("sortOrder", "DESC")
        if sort_by not in SORT_FIELDS or order not in ("ASC", "DESC"):
            raise _bad(f"sortBy must be one of {', '.join(SORT_FIELDS)} and sortOrder ASC or DESC.")
        raw_size = q.get("pageSize", str(SEARCH_PAGE_SIZE))
        if not raw_size.isdigit() or not 1 <= int(raw_size) <= SEARCH_MAX_PAGE_SIZE:
            raise _bad(f"pageSize must be a whole number from 1 to {SEARCH_MAX_PAGE_SIZE}.")
        size = int(raw_size)
        found = self.sim.listings.search(
            seller_id, skus=identifiers if kind == "SKU" else None, asins=identifiers if kind == "ASIN" else None,
            sort_by=sort_by, descending=order == "DESC")
        if kind and kind not in ("SKU", "ASIN"):
            found = []
        bound = hashlib.sha256(repr((seller_id, identifiers, kind, sort_by, order, included)).encode()).hexdigest()[:12]
        offset = _offset(q.get("pageToken"), bound)
        end = min(offset + size, len(found), SEARCH_MAX_RESULTS)
        answer: dict[str, Any] = {"numberOfResults": len(found),
                                  "items": [render_listing(lst, included) for lst in found[offset:end]]}
        pagination = {}
        if end < min(len(found), SEARCH_MAX_RESULTS):
            pagination["nextToken"] = _token(end, bound)
        if offset:
            pagination["previousToken"] = _token(max(0, offset - size), bound)
        if pagination:
            answer["pagination"] = pagination
        return 200, answer

    def patch_item(self, ctx: Context) -> tuple[int, Any]:
        seller_id, sku = self._target(ctx)
        body = ctx.json()
        problems = check(body, "listings_2021_08_01", "ListingsItemPatchRequest")
        if problems:
            raise _bad("The request body does not match ListingsItemPatchRequest: " + "; ".join(problems[:5]))
        submission = uuid.uuid4().hex
        mode = ctx.query.get("mode")
        issues = patch_issues(body["patches"])
        if not issues and mode != "VALIDATION_PREVIEW":
            issues = self.sim.listings.patch(seller_id, sku, body["patches"], f"patchListingsItem {submission}")
        elif not issues and self.sim.listings.get(seller_id, sku) is None:
            issues = self.sim.listings.patch(seller_id, sku, [], "validation")
        if issues:
            status = "INVALID"
        else:
            status = "VALID" if mode == "VALIDATION_PREVIEW" else "ACCEPTED"
        return 200, {"sku": sku, "status": status, "submissionId": submission, "issues": issues}


def _csv(ctx: Context, name: str) -> list[str]:
    return [v for raw in ctx.query.getlist(name) for v in raw.split(",") if v]


def _included(ctx: Context) -> list[str]:
    included = _csv(ctx, "includedData") or ["summaries"]
    unknown = [v for v in included if v not in INCLUDED_DATA]
    if unknown:
        raise _bad(f"includedData {unknown[0]!r} is not one of {', '.join(INCLUDED_DATA)}.")
    return included


def _token(offset: int, bound: str) -> str:
    return base64.urlsafe_b64encode(f"{offset}:{bound}".encode()).decode()


def _offset(token: str | None, bound: str) -> int:
    """The offset a pageToken stands for; a token of another search (or none of ours) is refused."""
    if not token:
        return 0
    try:
        offset, _, of = base64.urlsafe_b64decode(token.encode()).decode().partition(":")
        if of == bound and offset.isdigit():
            return int(offset)
    except (ValueError, UnicodeDecodeError):
        pass
    raise _bad("pageToken is not one this search returned.")


__all__ = ["AVAILABILITY", "ListingsApi", "render_listing"]

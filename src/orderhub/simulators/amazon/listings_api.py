"""Listings Items API 2021-08-01: getListingsItem and patchListingsItem.

``PATCH /listings/2021-08-01/items/{sellerId}/{sku}?marketplaceIds=...`` takes a
``ListingsItemPatchRequest`` (``productType``, ``patches``) and answers a
``ListingsItemSubmissionResponse``: ``ACCEPTED`` with no issues when the patches were applied,
``INVALID`` with the issues otherwise (as Amazon answers problems with the content: 200, not 400).
``GET`` shows the listing with the ``includedData`` asked for (default ``summaries``), among them
``fulfillmentAvailability``: the quantity Amazon shows.
"""

from __future__ import annotations

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
        return [Route(path, self.sim.operation("getListingsItem", self.get_item), methods=["GET"]),
                Route(path, self.sim.operation("patchListingsItem", self.patch_item), methods=["PATCH"])]

    def _target(self, ctx: Context) -> tuple[str, str]:
        seller_id, sku = ctx.params["sellerId"], ctx.params["sku"]
        if seller_id != ctx.seller_id:
            raise SpApiError(403, "Unauthorized", "Access to requested resource is denied.",
                             f"The access token is not for seller {seller_id}.")
        marketplaces = [m for raw in ctx.query.getlist("marketplaceIds") for m in raw.split(",") if m]
        if not marketplaces:
            raise _bad("marketplaceIds is required.")
        return seller_id, sku

    def get_item(self, ctx: Context) -> tuple[int, Any]:
        seller_id, sku = self._target(ctx)
        included = [v for raw in ctx.query.getlist("includedData") for v in raw.split(",") if v] or ["summaries"]
        unknown = [v for v in included if v not in INCLUDED_DATA]
        if unknown:
            raise _bad(f"includedData {unknown[0]!r} is not one of {', '.join(INCLUDED_DATA)}.")
        listing = self.sim.listings.get(seller_id, sku)
        if listing is None:
            raise SpApiError(404, "NOT_FOUND", f"SKU '{sku}' not found in marketplace for seller {seller_id}.")
        return 200, render_listing(listing, included)

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


__all__ = ["AVAILABILITY", "ListingsApi", "render_listing"]

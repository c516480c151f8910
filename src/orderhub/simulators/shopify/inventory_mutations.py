"""The ``inventorySetQuantities`` mutation: input parsing, the adjustment group it returns, idempotency.

The work is done by :mod:`orderhub.simulators.shopify.inventory_actions`; this module reads
the GraphQL input (global ids of items and locations), honours ``@idempotent(key:)``
(:mod:`orderhub.simulators.shopify.idempotency`), fires the webhooks of a change, and shapes
the payload: ``inventoryAdjustmentGroup { changes { name delta quantityAfterChange item location } }``
and ``userErrors { code field message }``.
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError, GraphQLResolveInfo

from orderhub.adapters.shopify import api_versions
from orderhub.simulators.shopify import idempotency
from orderhub.simulators.shopify.inventory_actions import SetRequest, set_quantities, user_error
from orderhub.simulators.shopify.inventory_nodes import inventory_item, location_node
from orderhub.simulators.shopify.resolvers import RequestContext, parse_gid
from orderhub.simulators.shopify.store import gid


def _group_node(ctx: RequestContext, group: dict[str, Any]) -> dict[str, Any]:
    def changes(_info: Any, inventoryItemIds: list[str] | None = None, locationIds: list[str] | None = None,
                quantityNames: list[str] | None = None) -> list[dict[str, Any]]:
        out = []
        for change in group["changes"]:
            item_gid, location_gid = gid("InventoryItem", change["inventoryItemId"]), gid("Location",
                                                                                         change["locationId"])
            if ((inventoryItemIds is not None and item_gid not in inventoryItemIds)
                    or (locationIds is not None and location_gid not in locationIds)
                    or (quantityNames is not None and change["name"] not in quantityNames)):
                continue
            out.append({"name": change["name"], "delta": change["delta"],
                        "quantityAfterChange": change["quantityAfterChange"], "ledgerDocumentUri": None,
                        "item": lambda _info, c=change: inventory_item(ctx.store, ctx.shop, c["inventoryItemId"]),
                        "location": location_node(ctx.shop, change["locationId"])})
        return out

    return {"__typename": "InventoryAdjustmentGroup", "id": group["admin_graphql_api_id"],
            "createdAt": group["createdAt"], "reason": group["reason"],
            "referenceDocumentUri": group["referenceDocumentUri"], "changes": changes}


def _quantities(raw: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"inventoryItemId": parse_gid(q["inventoryItemId"], "InventoryItem"),
             "locationId": parse_gid(q["locationId"], "Location"), "quantity": q["quantity"],
             "compareQuantity": q.get("compareQuantity"),
             **({"changeFromQuantity": q["changeFromQuantity"]} if "changeFromQuantity" in q else {})} for q in raw]


def _required_from_2026_04(info: GraphQLResolveInfo, version: str, input: dict[str, Any]) -> None:
    """What Shopify checks at run time, not in the schema, from 2026-04: the ``@idempotent`` key and a
    ``changeFromQuantity`` (null to opt out) on every quantity.

    Messages as Shopify answers them (reported in
    https://github.com/luke-selrai/openclaw-workshop-kit/issues/218); the rules from
    https://shopify.dev/changelog/making-idempotency-mandatory-for-inventory-adjustments-and-refund-mutations and
    https://shopify.dev/changelog/finalizing-compare-and-swap-redesign-for-inventory-set-quantities.
    """
    if api_versions.has("idempotency_required", version) and idempotency.key_of(info) is None:
        raise GraphQLError("The @idempotent directive is required for this mutation but was not provided.",
                           extensions={"code": "BAD_REQUEST"})
    if api_versions.has("inventory_change_from_required", version) and any(
            "changeFromQuantity" not in q for q in input["quantities"]):
        raise GraphQLError("InventoryQuantityInput must include the following argument: changeFromQuantity.",
                           extensions={"code": "INVALID_FIELD_ARGUMENTS"})


def _set_quantities(info: GraphQLResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
    ctx: RequestContext = info.context
    _required_from_2026_04(info, ctx.api_version, input)
    request = SetRequest(name=input["name"], reason=input["reason"], quantities=_quantities(input["quantities"]),
                         ignore_compare=bool(input.get("ignoreCompareQuantity")),
                         reference=input.get("referenceDocumentUri"))

    def run() -> dict[str, Any]:
        group, errors, events = set_quantities(ctx.store, ctx.shop, request)
        if events:
            if ctx.emit is None:
                raise GraphQLError("this simulator cannot send webhooks")
            ctx.emit(ctx.shop, events)
        return {"inventoryAdjustmentGroup": None if group is None else _group_node(ctx, group),
                "userErrors": errors}

    def mismatch(message: str) -> dict[str, Any]:
        return {"inventoryAdjustmentGroup": None,
                "userErrors": [dict(user_error(idempotency.MISMATCH, message), field=None)]}

    return idempotency.run_once(ctx.store, ctx.shop, info, {"input": input}, run, mismatch)


INVENTORY_MUTATIONS: dict[str, Any] = {"inventorySetQuantities": _set_quantities}

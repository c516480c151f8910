"""``inventorySetQuantities`` as Shopify documents it: absolute quantities, compare-and-set, user errors.

Every quantity is checked first (its item and location exist, the item is stocked there,
the pair appears once, the value is in range, and its expected current value matches what the
level holds now: ``changeFromQuantity`` when the quantity has it (null opts out; API versions
from 2026-01), else - unless ``ignoreCompareQuantity`` - ``compareQuantity``). Any error rejects the whole
request: nothing changes, and the errors name each offending quantity by its index
(``["input", "quantities", "2", "compareQuantity"]``). Otherwise the levels are set, one
``InventoryAdjustmentGroup`` records the changes, and each level that changed fires
``inventory_levels/update``. Setting ``on_hand`` moves ``available`` by the same amount
(nothing is committed in the simulator, so the two are equal).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from orderhub.simulators.shopify.actions import Event
from orderhub.simulators.shopify.clock import rest_time
from orderhub.simulators.shopify.inventory_nodes import find_variant, quantity_of
from orderhub.simulators.shopify.store import Shop, Store, gid

NAMES = ("available", "on_hand")
# The reasons Shopify accepts for a change of inventory quantities.
REASONS = ("correction", "cycle_count_available", "damaged", "movement_canceled", "movement_created",
           "movement_received", "movement_updated", "other", "promotion", "quality_control", "received",
           "reservation_created", "reservation_deleted", "reservation_updated", "restock", "safety_stock",
           "shrinkage")
LIMIT = 1_000_000_000


@dataclass(frozen=True)
class SetRequest:
    name: str
    reason: str
    # {inventoryItemId, locationId, quantity, compareQuantity, and changeFromQuantity if given}: ids parsed
    quantities: Sequence[dict[str, Any]]
    ignore_compare: bool = False
    reference: str | None = None


def user_error(code: str, message: str, *path: str) -> dict[str, Any]:
    return {"code": code, "field": ["input", *path], "message": message}


def _check(shop: Shop, request: SetRequest) -> list[dict[str, Any]]:
    if request.name not in NAMES:
        return [user_error("INVALID_NAME", "The quantity name must be either 'available' or 'on_hand'.", "name")]
    if request.reason not in REASONS:
        return [user_error("INVALID_REASON", f"The specified reason is invalid. Valid values: {', '.join(REASONS)}.",
                           "reason")]
    errors: list[dict[str, Any]] = []
    seen: set[tuple[int, int]] = set()
    for i, q in enumerate(request.quantities):
        at = ("quantities", str(i))
        item, location, quantity = q["inventoryItemId"], q["locationId"], q["quantity"]
        if find_variant(shop, item) is None:
            errors.append(user_error("INVALID_INVENTORY_ITEM", "The specified inventory item could not be found.",
                                     *at, "inventoryItemId"))
            continue
        if location not in shop.locations:
            errors.append(user_error("INVALID_LOCATION", "The specified location could not be found.",
                                     *at, "locationId"))
            continue
        if (item, location) in seen:
            errors.append(user_error("NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR", "The combination of "
                                     "inventoryItemId and locationId must be unique.", *at, "inventoryItemId"))
            continue
        seen.add((item, location))
        level = shop.inventory_levels.get((item, location))
        if level is None:
            errors.append(user_error("ITEM_NOT_STOCKED_AT_LOCATION", "The specified inventory item is not stocked "
                                     "at the location.", *at, "locationId"))
        elif quantity > LIMIT:
            errors.append(user_error("INVALID_QUANTITY_TOO_HIGH", "The quantity can't be higher than 1,000,000,000.",
                                     *at, "quantity"))
        elif quantity < -LIMIT:
            errors.append(user_error("INVALID_QUANTITY_TOO_LOW", "The quantity can't be lower than -1,000,000,000.",
                                     *at, "quantity"))
        elif request.name == "on_hand" and quantity < 0:
            errors.append(user_error("INVALID_QUANTITY_NEGATIVE", "The quantity can't be negative.", *at, "quantity"))
        elif "changeFromQuantity" in q:
            expected = q["changeFromQuantity"]
            if expected is not None and expected != quantity_of(level, request.name):
                errors.append(user_error("CHANGE_FROM_QUANTITY_STALE", "The changeFromQuantity value does not match "
                                         "persisted value.", *at, "changeFromQuantity"))
        elif not request.ignore_compare and q.get("compareQuantity") is None:
            errors.append(user_error("COMPARE_QUANTITY_REQUIRED", "The compareQuantity argument must be given to "
                                     "each quantity or ignored using ignoreCompareQuantity.", *at, "compareQuantity"))
        elif not request.ignore_compare and q["compareQuantity"] != quantity_of(level, request.name):
            errors.append(user_error("COMPARE_QUANTITY_STALE", "The compareQuantity value does not match persisted "
                                     "value.", *at, "compareQuantity"))
    return errors


def set_quantities(store: Store, shop: Shop, request: SetRequest) -> tuple[dict[str, Any] | None,
                                                                           list[dict[str, Any]], list[Event]]:
    """Apply the request: (the adjustment group, or None; user errors; webhooks to fire)."""
    with store.lock:
        errors = _check(shop, request)
        if errors:
            return None, errors, []
        stamp = store.clock.now()  # the group's time: that of its latest level change
        changes: list[dict[str, Any]] = []
        events: list[Event] = []
        for q in request.quantities:
            key = (q["inventoryItemId"], q["locationId"])
            level = shop.inventory_levels[key]
            delta = q["quantity"] - quantity_of(level, request.name)
            if delta == 0:
                continue
            level["available"] = int(level.get("available") or 0) + delta
            moment = store.clock.after(level.get("updated_at"))
            stamp = max(stamp, moment)
            level["updated_at"] = rest_time(moment, shop.tz)
            for name in NAMES:  # both move: nothing is committed or unavailable in the simulator
                changes.append({"name": name, "delta": delta, "quantityAfterChange": quantity_of(level, name),
                                "inventoryItemId": key[0], "locationId": key[1]})
            events.append(("inventory_levels/update", copy.deepcopy(level)))
        group_id = store.next_id("inventory_adjustment_group")
        group = {"id": group_id, "createdAt": rest_time(stamp, shop.tz), "reason": request.reason,
                 "referenceDocumentUri": request.reference, "changes": changes,
                 "admin_graphql_api_id": gid("InventoryAdjustmentGroup", group_id)}
        shop.adjustment_groups.append(group)
        return copy.deepcopy(group), [], events

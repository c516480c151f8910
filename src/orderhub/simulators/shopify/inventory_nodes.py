"""Locations, inventory items and inventory levels of the Admin GraphQL API.

Root fields ``locations``, ``location(id:)``, ``inventoryItems`` and ``inventoryItem(id:)``;
an item's ``inventoryLevels``/``inventoryLevel(locationId:)``; and a level's
``quantities(names: [...])``, Shopify's named quantities. The simulator commits no stock
to orders and keeps none unavailable, so ``on_hand`` equals ``available`` and the other
names (``committed``, ``reserved``, ``incoming``, ...) are 0.
"""

from __future__ import annotations

import copy
from typing import Any

from graphql import GraphQLError, GraphQLResolveInfo

from orderhub.simulators.shopify.catalogue_search import parse_catalogue
from orderhub.simulators.shopify.pagination import SortKey, connection
from orderhub.simulators.shopify.product_nodes import available_units, inventory_item_node, shop_levels
from orderhub.simulators.shopify.resolvers import RequestContext, parse_gid
from orderhub.simulators.shopify.store import Shop, Store, gid

QUANTITY_NAMES = ("available", "on_hand", "committed", "reserved", "incoming", "damaged", "quality_control",
                  "safety_stock")


def location_node(shop: Shop, location_id: int) -> dict[str, Any]:
    return {"__typename": "Location", "id": gid("Location", location_id), "legacyResourceId": location_id,
            "name": shop.location_names.get(location_id, str(location_id)), "isActive": True,
            "fulfillsOnlineOrders": True}


def quantity_of(level: dict[str, Any], name: str) -> int:
    """A named quantity of a level in REST shape (on hand is what is available: nothing is committed)."""
    if name in ("available", "on_hand"):
        return int(level.get("available") or 0)
    return 0


def level_node(shop: Shop, level: dict[str, Any], item: dict[str, Any] | None = None) -> dict[str, Any]:
    """An InventoryLevel from a level in REST shape; ``item`` is its InventoryItem node, when known."""
    level = copy.deepcopy(level)

    def quantities(_info: Any, names: list[str]) -> list[dict[str, Any]]:
        unknown = [n for n in names if n not in QUANTITY_NAMES]
        if unknown:
            raise GraphQLError(f"Invalid quantity name(s): {', '.join(unknown)}. Valid names: "
                               f"{', '.join(QUANTITY_NAMES)}", extensions={"code": "BAD_REQUEST"})
        return [{"id": f"gid://shopify/InventoryQuantity/{level['location_id']}?inventory_item_id="
                       f"{level['inventory_item_id']}&name={name}",
                 "name": name, "quantity": quantity_of(level, name), "updatedAt": level["updated_at"]}
                for name in names]

    return {"__typename": "InventoryLevel", "id": level["admin_graphql_api_id"],
            "location": location_node(shop, level["location_id"]), "item": item, "quantities": quantities,
            "createdAt": level["updated_at"], "updatedAt": level["updated_at"]}


def find_variant(shop: Shop, item_id: int) -> dict[str, Any] | None:
    """The variant whose inventory item is ``item_id`` (callers hold the store's lock)."""
    for product in shop.products.values():
        for variant in product["variants"]:
            if variant["inventory_item_id"] == item_id:
                return variant
    return None


def item_level_nodes(store: Store, shop: Shop, item_id: int) -> list[dict[str, Any]]:
    """The item's levels at the shop's locations, in location order."""
    with store.lock:
        levels = [level for (item, _location), level in shop.inventory_levels.items() if item == item_id]
        variant = find_variant(shop, item_id)
        item = None if variant is None else inventory_item_node(copy.deepcopy(variant), shop_levels(store, shop))
        return [level_node(shop, level, item) for level in sorted(levels, key=lambda lv: lv["location_id"])]


def item_node(store: Store, shop: Shop, variant: dict[str, Any]) -> dict[str, Any]:
    return inventory_item_node(copy.deepcopy(variant), shop_levels(store, shop), available_units(store, shop))


# -- root fields ------------------------------------------------------------------------------------

def _by_id(item: dict[str, Any]) -> SortKey:
    return (item["id"], item["id"])


def _locations(info: GraphQLResolveInfo, first: int | None = None, after: str | None = None) -> dict[str, Any]:
    ctx: RequestContext = info.context
    with ctx.store.lock:
        found = [{"id": location_id} for location_id in ctx.shop.locations]
    return connection(found, _by_id, first=first, after=after, field_name="locations",
                      node=lambda loc: location_node(ctx.shop, loc["id"]))


def location(shop: Shop, location_id: int) -> dict[str, Any] | None:
    return location_node(shop, location_id) if location_id in shop.locations else None


def _location(info: GraphQLResolveInfo, id: str) -> dict[str, Any] | None:
    ctx: RequestContext = info.context
    return location(ctx.shop, parse_gid(id, "Location"))


def inventory_item(store: Store, shop: Shop, item_id: int) -> dict[str, Any] | None:
    with store.lock:
        variant = find_variant(shop, item_id)
        return None if variant is None else item_node(store, shop, variant)


def _inventory_item(info: GraphQLResolveInfo, id: str) -> dict[str, Any] | None:
    ctx: RequestContext = info.context
    return inventory_item(ctx.store, ctx.shop, parse_gid(id, "InventoryItem"))


def _inventory_items(info: GraphQLResolveInfo, first: int | None = None, after: str | None = None,
                     query: str | None = None, reverse: bool = False) -> dict[str, Any]:
    ctx: RequestContext = info.context
    matches, warnings = parse_catalogue(query, ctx.shop.tz)
    if warnings:
        ctx.search.append({"path": ["inventoryItems"], "query": query, "warnings": warnings})
    with ctx.store.lock:
        items = [{"id": v["inventory_item_id"], "sku": v.get("sku"), "created_at": v["created_at"],
                  "updated_at": v["updated_at"], "variant": copy.deepcopy(v)}
                 for p in ctx.shop.products.values() for v in p["variants"]]
    found = [i for i in items if matches(i)]
    return connection(found, _by_id, first=first, after=after, field_name="inventoryItems", reverse=reverse,
                      node=lambda i: item_node(ctx.store, ctx.shop, i["variant"]))


INVENTORY_ROOT: dict[str, Any] = {
    "locations": _locations, "location": _location, "inventoryItems": _inventory_items,
    "inventoryItem": _inventory_item,
}

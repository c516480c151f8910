"""Products in REST shape as GraphQL objects: Product, ProductVariant, InventoryItem, Collection.

Used by the ``products``/``product``/``collections``/``node`` resolvers and by bulk queries
over products. A product belongs to one collection, the one named after its product type
(as a smart collection with the rule "product type equals ..." holds it); the caller passes
that collection, since collection ids live in the store. An inventory item's levels come
from a :data:`LevelSource` the caller passes (the shop's, or none for synthetic products).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from orderhub.simulators.shopify.metafields import metafield_field, metafields_field
from orderhub.simulators.shopify.pagination import SortKey, connection
from orderhub.simulators.shopify.store import Shop, Store, gid

# An inventory item's InventoryLevel nodes, by inventory item id.
LevelSource = Callable[[int], list[dict[str, Any]]]


@dataclass(frozen=True)
class Collection:
    """A collection by product type: its id, title (the type), when it was made, and its members."""

    id: int
    title: str
    updated_at: str  # REST time
    members: Callable[[], list[dict[str, Any]]] = field(default=lambda: [])  # its products (REST), when asked


def _by_id(item: dict[str, Any]) -> SortKey:
    return (item["id"], item["id"])


def _handle(title: str) -> str:
    return "-".join("".join(c if c.isalnum() else " " for c in title.lower()).split())


def inventory_item_node(variant: dict[str, Any], levels: LevelSource | None = None,
                        available: Mapping[int, int] | None = None) -> dict[str, Any]:
    item_id = variant["inventory_item_id"]

    def level_nodes() -> list[dict[str, Any]]:
        return [] if levels is None else levels(item_id)

    def one_level(_info: Any, locationId: str) -> dict[str, Any] | None:
        return next((n for n in level_nodes() if n["location"]["id"] == locationId), None)

    return {"__typename": "InventoryItem", "id": gid("InventoryItem", item_id), "legacyResourceId": item_id,
            "sku": variant.get("sku"), "tracked": variant.get("inventory_management") == "shopify",
            "requiresShipping": variant.get("requires_shipping", True),
            "createdAt": variant["created_at"], "updatedAt": variant["updated_at"],
            "inventoryLevels": lambda _info, first=None, after=None: connection(
                level_nodes(), lambda n: (n["location"]["legacyResourceId"], n["location"]["legacyResourceId"]),
                first=first, after=after, field_name="inventoryLevels"),
            "inventoryLevel": one_level,
            "variant": lambda _info: variant_node(variant, available, levels)}


def variant_node(variant: dict[str, Any], available: Mapping[int, int] | None = None,
                 levels: LevelSource | None = None) -> dict[str, Any]:
    """A ProductVariant; ``available`` (inventory item id -> units over all locations) overrides the REST count."""
    quantity = variant.get("inventory_quantity")
    if available is not None and variant["inventory_item_id"] in available:
        quantity = available[variant["inventory_item_id"]]
    return {"__typename": "ProductVariant", "id": gid("ProductVariant", variant["id"]),
            "legacyResourceId": variant["id"], "title": variant["title"], "sku": variant.get("sku"),
            "barcode": variant.get("barcode"), "price": variant["price"], "position": variant["position"],
            "inventoryQuantity": quantity, "taxable": variant.get("taxable", True),
            "createdAt": variant["created_at"], "updatedAt": variant["updated_at"],
            "inventoryItem": inventory_item_node(variant, levels, available),
            "metafield": metafield_field("ProductVariant", variant["id"]),
            "metafields": metafields_field("ProductVariant", variant["id"])}


def collection_node(collection: Collection, available: Mapping[int, int] | None = None,
                    levels: LevelSource | None = None) -> dict[str, Any]:
    """A Collection: a smart collection whose one rule is "product type equals its title"."""
    def members(_info: Any, first: int | None = None, after: str | None = None) -> dict[str, Any]:
        return connection(collection.members(), _by_id, first=first, after=after, field_name="products",
                          node=lambda p: product_node(p, [collection], available, levels))

    return {"__typename": "Collection", "id": gid("Collection", collection.id), "legacyResourceId": collection.id,
            "title": collection.title, "handle": _handle(collection.title) or str(collection.id),
            "updatedAt": collection.updated_at, "sortOrder": "BEST_SELLING",
            "ruleSet": {"appliedDisjunctively": False,
                        "rules": [{"column": "TYPE", "relation": "EQUALS", "condition": collection.title}]},
            "productsCount": lambda _info: {"count": len(collection.members()), "precision": "EXACT"},
            "products": members}


def product_node(rest: dict[str, Any], collections: list[Collection],
                 available: Mapping[int, int] | None = None, levels: LevelSource | None = None) -> dict[str, Any]:
    """A Product from a product in REST shape, in ``collections``."""
    variants = [variant_node(v, available, levels) for v in rest["variants"]]
    return {
        "__typename": "Product", "id": gid("Product", rest["id"]), "legacyResourceId": rest["id"],
        "title": rest["title"], "handle": rest["handle"], "vendor": rest.get("vendor") or "",
        "productType": rest.get("product_type") or "", "status": str(rest.get("status") or "active").upper(),
        "tags": [t.strip() for t in (rest.get("tags") or "").split(",") if t.strip()],
        "isGiftCard": bool(rest.get("gift_card")),
        "totalInventory": sum(v["inventoryQuantity"] or 0 for v in variants),
        "createdAt": rest["created_at"], "updatedAt": rest["updated_at"], "publishedAt": rest.get("published_at"),
        "variants": lambda _info, first=None, after=None: connection(
            variants, lambda v: (v["legacyResourceId"], v["legacyResourceId"]), first=first, after=after,
            field_name="variants"),
        "collections": lambda _info, first=None, after=None: connection(
            [{"id": c.id, "collection": c} for c in collections], _by_id, first=first, after=after,
            field_name="collections", node=lambda c: collection_node(c["collection"], available, levels)),
        "metafield": metafield_field("Product", rest["id"]),
        "metafields": metafields_field("Product", rest["id"]),
    }


def available_units(store: Store, shop: Shop) -> dict[int, int]:
    """Units available per inventory item, summed over the shop's locations."""
    available: dict[int, int] = {}
    with store.lock:
        for (item, _location), level in shop.inventory_levels.items():
            available[item] = available.get(item, 0) + (level.get("available") or 0)
    return available


def shop_collection(store: Store, shop: Shop, title: str) -> Collection:
    """The shop's collection of the products of type ``title`` (made on first use)."""
    collection_id = store.collection_id(shop, title)

    def members() -> list[dict[str, Any]]:
        with store.lock:
            return [p for p in shop.products.values() if (p.get("product_type") or "") == title]

    return Collection(collection_id, title, store.collection_stamp(shop, collection_id), members)


def shop_levels(store: Store, shop: Shop) -> LevelSource:
    """The shop's inventory levels of an item, as InventoryLevel nodes."""
    from orderhub.simulators.shopify.inventory_nodes import item_level_nodes  # it builds items from these nodes

    return lambda item_id: item_level_nodes(store, shop, item_id)


def shop_product_node(store: Store, shop: Shop, rest: dict[str, Any],
                      available: Mapping[int, int] | None = None) -> dict[str, Any]:
    """A product of the shop, in its collection, with the units its inventory levels hold (or ``available``)."""
    if available is None:
        available = available_units(store, shop)
    product_type = rest.get("product_type") or ""
    collections = [shop_collection(store, shop, product_type)] if product_type else []
    return product_node(rest, collections, available, shop_levels(store, shop))

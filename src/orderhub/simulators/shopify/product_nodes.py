"""Products in REST shape as GraphQL objects: Product, ProductVariant, InventoryItem, Collection.

Used by the ``products``/``product``/``node`` resolvers and by bulk queries over
products. A product belongs to one collection, the one named after its product
type (as a smart collection "by type" would hold it); the caller passes that
collection, since collection ids live in the store.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from orderhub.simulators.shopify.pagination import SortKey, connection
from orderhub.simulators.shopify.store import Shop, Store, gid

Collection = tuple[int, str]  # (id, title)


def _by_id(item: dict[str, Any]) -> SortKey:
    return (item["id"], item["id"])


def _handle(title: str) -> str:
    return "-".join("".join(c if c.isalnum() else " " for c in title.lower()).split())


def inventory_item_node(variant: dict[str, Any]) -> dict[str, Any]:
    item_id = variant["inventory_item_id"]
    return {"__typename": "InventoryItem", "id": gid("InventoryItem", item_id), "legacyResourceId": item_id,
            "sku": variant.get("sku"), "tracked": variant.get("inventory_management") == "shopify",
            "requiresShipping": variant.get("requires_shipping", True),
            "createdAt": variant["created_at"], "updatedAt": variant["updated_at"]}


def variant_node(variant: dict[str, Any], available: Mapping[int, int] | None = None) -> dict[str, Any]:
    """A ProductVariant; ``available`` (inventory item id -> units over all locations) overrides the REST count."""
    quantity = variant.get("inventory_quantity")
    if available is not None and variant["inventory_item_id"] in available:
        quantity = available[variant["inventory_item_id"]]
    return {"__typename": "ProductVariant", "id": gid("ProductVariant", variant["id"]),
            "legacyResourceId": variant["id"], "title": variant["title"], "sku": variant.get("sku"),
            "barcode": variant.get("barcode"), "price": variant["price"], "position": variant["position"],
            "inventoryQuantity": quantity, "taxable": variant.get("taxable", True),
            "createdAt": variant["created_at"], "updatedAt": variant["updated_at"],
            "inventoryItem": inventory_item_node(variant)}


def collection_node(collection: Collection) -> dict[str, Any]:
    collection_id, title = collection
    return {"__typename": "Collection", "id": gid("Collection", collection_id), "legacyResourceId": collection_id,
            "title": title, "handle": _handle(title) or str(collection_id)}


def product_node(rest: dict[str, Any], collections: list[Collection],
                 available: Mapping[int, int] | None = None) -> dict[str, Any]:
    """A Product from a product in REST shape, in ``collections``."""
    variants = [variant_node(v, available) for v in rest["variants"]]
    members = [{"id": cid, "title": title} for cid, title in collections]
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
            members, _by_id, first=first, after=after, field_name="collections",
            node=lambda c: collection_node((c["id"], c["title"]))),
    }


def available_units(store: Store, shop: Shop) -> dict[int, int]:
    """Units available per inventory item, summed over the shop's locations."""
    available: dict[int, int] = {}
    with store.lock:
        for (item, _location), level in shop.inventory_levels.items():
            available[item] = available.get(item, 0) + (level.get("available") or 0)
    return available


def shop_product_node(store: Store, shop: Shop, rest: dict[str, Any],
                      available: Mapping[int, int] | None = None) -> dict[str, Any]:
    """A product of the shop, in its collection, with the units its inventory levels hold (or ``available``)."""
    if available is None:
        available = available_units(store, shop)
    product_type = rest.get("product_type") or ""
    collections = [(store.collection_id(shop, product_type), product_type)] if product_type else []
    return product_node(rest, collections, available)

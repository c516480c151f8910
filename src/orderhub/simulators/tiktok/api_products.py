"""Products: search them (``POST /product/202502/products/search``, searchProducts: each with its SKUs and
their per-warehouse stock), read one, read the inventory of products or SKUs (``POST
/product/202309/inventory/search``, inventorySearch), and update its SKUs' inventory.

Request and answer fields are the tiktok-shop-api client's models (``SearchProductsRequest``/``Response``,
``InventorySearchRequest``/``Response``). Not documented there, so the simulator's own: a product search
pages at most 100 products (as the order search does); an inventory search takes at most 100 ids; the
``committed_quantity`` (units in unshipped orders) is 0, as the simulator keeps no reservations.
"""

from __future__ import annotations

from typing import Any

from orderhub.simulators.tiktok.defaults import MAX_PAGE_SIZE
from orderhub.simulators.tiktok.errors import BAD_FIELD, NOT_FOUND, fail
from orderhub.simulators.tiktok.gateway import Call, Handler, Scope_
from orderhub.simulators.tiktok.model import Product
from orderhub.simulators.tiktok.paging import page
from orderhub.simulators.tiktok.render import product_json

PRODUCT_STATUSES = ("ALL", "DRAFT", "PENDING", "FAILED", "ACTIVATE", "SELLER_DEACTIVATED", "PLATFORM_DEACTIVATED",
                    "FREEZE", "DELETED")  # SearchProductsRequestStatus
MAX_INVENTORY_IDS = 100
MAX_QUANTITY = 99999


def _product(call: Call) -> Product:
    product = call.shop_data.products.get(call.path["product_id"])
    if product is None:
        raise fail(NOT_FOUND, f"Product {call.path['product_id']} does not exist in this shop.")
    return product


def get_product(call: Call) -> dict[str, Any]:
    return product_json(_product(call), call.shop_data.currency)


def _strings(body: dict[str, Any], key: str) -> list[str] | None:
    value = body.get(key)
    if value is not None and (not isinstance(value, list) or not all(isinstance(v, str) for v in value)):
        raise fail(BAD_FIELD, f"invalid param error: {key} must be a list of strings.")
    return value


def search_products(call: Call) -> dict[str, Any]:
    status = call.body.get("status", "ALL")
    if status not in PRODUCT_STATUSES:
        raise fail(BAD_FIELD, f"invalid param error: status must be one of {', '.join(PRODUCT_STATUSES)}.")
    seller_skus, sku_ids = _strings(call.body, "seller_skus"), _strings(call.body, "sku_ids")
    times = {k: call.body.get(k) for k in ("create_time_ge", "create_time_le", "update_time_ge", "update_time_le")}
    for key, value in times.items():
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            raise fail(BAD_FIELD, f"invalid param error: {key} must be a Unix time in seconds.")
    found = [p for p in call.shop_data.products.values()
             if status in ("ALL", "ACTIVATE")  # every simulated product is live
             and (seller_skus is None or any(s.seller_sku in seller_skus for s in p.skus))
             and (sku_ids is None or any(s.id in sku_ids for s in p.skus))
             and (times["create_time_ge"] or 0) <= p.create_time <= (times["create_time_le"] or 1 << 62)
             and (times["update_time_ge"] or 0) <= p.update_time <= (times["update_time_le"] or 1 << 62)]
    found.sort(key=lambda p: p.id)
    chunk, token = page(found, call.query, [status, seller_skus, sku_ids, times], MAX_PAGE_SIZE)
    currency = call.shop_data.currency
    return {"products": [dict(product_json(p, currency), sales_regions=["US"]) for p in chunk],
            "total_count": len(found), "next_page_token": token}


def inventory_search(call: Call) -> dict[str, Any]:
    product_ids, sku_ids = _strings(call.body, "product_ids"), _strings(call.body, "sku_ids")
    if not product_ids and not sku_ids:
        raise fail(BAD_FIELD, "invalid param error: give product_ids or sku_ids.")
    if len(sku_ids or product_ids or []) > MAX_INVENTORY_IDS:
        raise fail(BAD_FIELD, f"invalid param error: at most {MAX_INVENTORY_IDS} ids.")
    found = []
    for product in sorted(call.shop_data.products.values(), key=lambda p: p.id):
        skus = [s for s in product.skus if s.id in sku_ids] if sku_ids else \
            (product.skus if product.id in (product_ids or []) else [])  # sku_ids take precedence
        if skus:
            found.append({"product_id": product.id, "skus": [
                {"id": s.id, "seller_sku": s.seller_sku, "total_available_quantity": sum(s.inventory.values()),
                 "total_committed_quantity": 0,
                 "warehouse_inventory": [{"warehouse_id": w, "available_quantity": q, "committed_quantity": 0}
                                         for w, q in sorted(s.inventory.items())]} for s in skus]})
    return {"inventory": found}


def update_inventory(call: Call) -> dict[str, Any]:
    product = _product(call)
    skus = call.body.get("skus")
    if not isinstance(skus, list) or not skus:
        raise fail(BAD_FIELD, "invalid param error: skus is required: [{id, inventory: [{warehouse_id, quantity}]}].")
    warehouses = {w.id for w in call.shop_data.warehouses}
    changes: list[tuple[Any, str, int]] = []
    for n, entry in enumerate(skus):  # check everything before changing anything
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str) \
                or not isinstance(entry.get("inventory"), list) or not entry["inventory"]:
            raise fail(BAD_FIELD, f"invalid param error: skus[{n}] needs id and a non-empty inventory list.")
        sku = product.sku(entry["id"])
        if sku is None:
            raise fail(NOT_FOUND, f"SKU {entry['id']} is not a SKU of product {product.id}.")
        for level in entry["inventory"]:
            quantity = level.get("quantity") if isinstance(level, dict) else None
            warehouse = level.get("warehouse_id", call.shop_data.default_warehouse().id) \
                if isinstance(level, dict) else None
            if isinstance(quantity, bool) or not isinstance(quantity, int) or not 0 <= quantity <= MAX_QUANTITY:
                raise fail(BAD_FIELD, f"invalid param error: skus[{n}] quantity must be a whole number from 0 to "
                                      f"{MAX_QUANTITY}.")
            if warehouse not in warehouses:
                raise fail(BAD_FIELD, f"invalid param error: warehouse_id {warehouse} is not a warehouse of this shop.")
            changes.append((sku, warehouse, quantity))
    for sku, warehouse, quantity in changes:
        sku.inventory[warehouse] = quantity
        call.sim.store.record("stock_update", shop_id=call.shop_data.shop_id, product_id=product.id, sku_id=sku.id,
                              seller_sku=sku.seller_sku, warehouse_id=warehouse, quantity=quantity,
                              at=call.sim.clock.now())
    product.update_time = call.sim.clock.after(product.update_time)
    return {}


TABLE: list[tuple[str, str, str, Handler, Scope_]] = [
    ("POST", "/product/202502/products/search", "searchProducts", search_products, "shop"),
    ("POST", "/product/202309/inventory/search", "inventorySearch", inventory_search, "shop"),
    ("GET", "/product/202309/products/{product_id}", "getProduct", get_product, "shop"),
    ("POST", "/product/202309/products/{product_id}/inventory/update", "updateInventory", update_inventory, "shop"),
]

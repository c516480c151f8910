"""Products: read one with its per-warehouse stock, and update its SKUs' inventory."""

from __future__ import annotations

from typing import Any

from orderhub.simulators.tiktok.errors import BAD_FIELD, NOT_FOUND, fail
from orderhub.simulators.tiktok.gateway import Call, Handler, Scope_
from orderhub.simulators.tiktok.model import Product
from orderhub.simulators.tiktok.render import product_json

MAX_QUANTITY = 99999


def _product(call: Call) -> Product:
    product = call.shop_data.products.get(call.path["product_id"])
    if product is None:
        raise fail(NOT_FOUND, f"Product {call.path['product_id']} does not exist in this shop.")
    return product


def get_product(call: Call) -> dict[str, Any]:
    return product_json(_product(call), call.shop_data.currency)


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
    ("GET", "/product/202309/products/{product_id}", "getProduct", get_product, "shop"),
    ("POST", "/product/202309/products/{product_id}/inventory/update", "updateInventory", update_inventory, "shop"),
]

"""What happens in a shop, and the webhooks each change fires, as Shopify does it.

Every function changes the store under its lock, gives the changed record a new
``updated_at`` (strictly later than its previous version), and returns the
events to deliver as ``(topic, payload)`` pairs, payloads being snapshots taken
at that version. Changes Shopify would refuse for the record's state raise
:class:`ActionError`.
"""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

from orderhub.simulators.shopify import customers, payments, refund_records, sales_channels
from orderhub.simulators.shopify.clock import rest_time
from orderhub.simulators.shopify.generator import (
    BAD_KINDS,
    CatalogueItem,
    OrderGenerator,
)
from orderhub.simulators.shopify.money import (
    ZERO,
    dec,
    fmt,
    line_taxes,
    recompute_totals,
)
from orderhub.simulators.shopify.store import Shop, Store, gid

Event = tuple[str, dict[str, Any]]
CANCEL_REASONS = ("customer", "fraud", "inventory", "declined", "other", "staff")


class ActionError(ValueError):
    pass


def _touch(store: Store, shop: Shop, record: dict[str, Any]) -> str:
    stamp = rest_time(store.clock.after(record.get("updated_at")), shop.tz)
    record["updated_at"] = stamp
    return stamp


def _snapshot(record: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(record)


# -- orders -----------------------------------------------------------------------------------------

def place_orders(store: Store, shop: Shop, generator: OrderGenerator, count: int,
                 bad: dict[str, int], skus: list[str] | None = None, sales_channel: str | None = None
                 ) -> tuple[list[int], list[int], list[Event]]:
    """``count`` valid orders and the requested bad ones, of the variants with ``skus`` only if given, sold
    through ``sales_channel`` if given (else each through one drawn); each fires orders/create then
    orders/updated."""
    if sales_channel is not None:
        sales_channels.check(sales_channel)
    unknown = sorted(set(bad) - set(BAD_KINDS))
    if unknown or count < 0 or any(n < 0 for n in bad.values()):
        raise ValueError(f"cannot place {count} orders and bad ones {bad}: counts must not be negative and "
                         f"bad kinds must be among {', '.join(BAD_KINDS)}")
    good_ids: list[int] = []
    bad_ids: list[int] = []
    events: list[Event] = []
    with store.lock:
        products = [p for p in shop.products.values() if p["variants"]]
        if skus is not None:
            products = [dict(p, variants=[v for v in p["variants"] if v.get("sku") in skus]) for p in products]
            products = [p for p in products if p["variants"]]
        if not products:
            raise ActionError(f"shop {shop.domain} has no products to order"
                              + (f" with the SKUs {', '.join(skus)}" if skus is not None else "")
                              + "; create one with POST /_sim/products")
        plan = [None] * count + [kind for kind, n in bad.items() for _ in range(n)]
        for kind in plan:
            number = shop.next_order_number
            shop.next_order_number += 1
            kwargs: dict[str, Any] = {"number": number, "now": store.clock.now(), "tz": shop.tz,
                                      "currency": shop.currency, "taxes_included": shop.taxes_included,
                                      "sales_channel": sales_channel}
            order = (generator.order(products, **kwargs) if kind is None
                     else generator.bad_order(kind, products, **kwargs))
            shop.sales_channels[order["id"]] = order.pop(sales_channels.PRIVATE_KEY)
            shop.orders[order["id"]] = order
            customers.register(store, shop, order.get("customer"))
            payments.paid(store, shop, order)
            (good_ids if kind is None else bad_ids).append(order["id"])
            events += [("orders/create", _snapshot(order)), ("orders/updated", _snapshot(order))]
    return good_ids, bad_ids, events


def _open_for_change(order: dict[str, Any]) -> None:
    if order.get("cancelled_at"):
        raise ActionError(f"order {order['name']} ({order['id']}) is cancelled; it cannot change any more")


def _line(order: dict[str, Any], params: dict[str, Any], usable: Any) -> dict[str, Any]:
    """The line ``params['line_item_id']`` names, or the first line ``usable`` accepts."""
    wanted = params.get("line_item_id")
    for line in order["line_items"]:
        if (int(wanted) == line["id"]) if wanted is not None else usable(line):
            return line
    raise ActionError(f"order {order['name']} has no line {'id ' + str(wanted) if wanted else 'that can change'}")


def _pay(store: Store, shop: Shop, order: dict[str, Any], params: dict[str, Any]) -> list[Event]:
    _open_for_change(order)
    if order["financial_status"] not in ("pending", "authorized", "partially_paid"):
        raise ActionError(f"order {order['name']} is {order['financial_status']}; only pending or authorized "
                          "orders can be paid")
    order["financial_status"] = "paid"
    _touch(store, shop, order)
    payments.paid(store, shop, order)
    return [("orders/paid", _snapshot(order)), ("orders/updated", _snapshot(order))]


def _cancel(store: Store, shop: Shop, order: dict[str, Any], params: dict[str, Any]) -> list[Event]:
    _open_for_change(order)
    reason = params.get("reason", "customer")
    if reason not in CANCEL_REASONS:
        raise ActionError(f"unknown cancel reason {reason!r}; expected one of {', '.join(CANCEL_REASONS)}")
    stamp = _touch(store, shop, order)
    order["cancelled_at"], order["cancel_reason"] = stamp, reason
    if order["financial_status"] in ("pending", "authorized"):
        order["financial_status"] = "voided"
    return [("orders/cancelled", _snapshot(order)), ("orders/updated", _snapshot(order))]


def _fulfil(store: Store, shop: Shop, order: dict[str, Any], quantities: list[tuple[dict[str, Any], int]]) -> None:
    stamp = _touch(store, shop, order)
    for line, quantity in quantities:
        line["fulfillable_quantity"] -= quantity
        line["fulfillment_status"] = "fulfilled" if line["fulfillable_quantity"] == 0 else "partial"
    fulfillment_id = store.next_id("fulfillment")
    order["fulfillments"].append({
        "id": fulfillment_id, "admin_graphql_api_id": gid("Fulfillment", fulfillment_id), "order_id": order["id"],
        "name": f"{order['name']}.{len(order['fulfillments']) + 1}", "status": "success", "service": "manual",
        "location_id": shop.locations[0], "created_at": stamp, "updated_at": stamp,
        "tracking_company": "DHL Express", "tracking_number": f"JD{fulfillment_id % 10 ** 12:012d}",
        "line_items": [dict(_snapshot(line), quantity=quantity) for line, quantity in quantities]})
    done = all(li["fulfillable_quantity"] <= 0 for li in order["line_items"])
    order["fulfillment_status"] = "fulfilled" if done else "partial"


def _fulfill(store: Store, shop: Shop, order: dict[str, Any], params: dict[str, Any]) -> list[Event]:
    _open_for_change(order)
    open_lines = [li for li in order["line_items"] if li["fulfillable_quantity"] > 0]
    if not open_lines:
        raise ActionError(f"order {order['name']} has nothing left to fulfil")
    _fulfil(store, shop, order, [(li, li["fulfillable_quantity"]) for li in open_lines])
    return [("orders/fulfilled", _snapshot(order)), ("orders/updated", _snapshot(order))]


def _partially_fulfill(store: Store, shop: Shop, order: dict[str, Any], params: dict[str, Any]) -> list[Event]:
    _open_for_change(order)
    line = _line(order, params, lambda li: li["fulfillable_quantity"] > 0)
    open_total = sum(max(0, li["fulfillable_quantity"]) for li in order["line_items"])
    default = line["fulfillable_quantity"] if open_total > line["fulfillable_quantity"] else open_total - 1
    quantity = int(params.get("quantity", default))
    if not 0 < quantity <= line["fulfillable_quantity"] or quantity >= open_total:
        raise ActionError(f"cannot fulfil {quantity} of line {line['id']} of order {order['name']} and leave "
                          "something unfulfilled; use the fulfill action to fulfil everything")
    _fulfil(store, shop, order, [(line, quantity)])
    return [("orders/partially_fulfilled", _snapshot(order)), ("orders/updated", _snapshot(order))]


def _edit(store: Store, shop: Shop, order: dict[str, Any], params: dict[str, Any]) -> list[Event]:
    """Set a line's quantity, as an order edit does; fires orders/edited then orders/updated."""
    _open_for_change(order)
    line = _line(order, params, lambda li: True)
    new_quantity = int(params.get("quantity", line["current_quantity"] + 1))
    delta = new_quantity - line["current_quantity"]
    if new_quantity < 0 or delta == 0:
        raise ActionError(f"line {line['id']} already has quantity {line['current_quantity']}; "
                          f"cannot set it to {new_quantity}")
    if delta > 0:
        line["quantity"] += delta
        line_taxes(line, order["currency"], order["presentment_currency"], bool(order.get("taxes_included")))
    line["current_quantity"] += delta
    line["fulfillable_quantity"] = max(0, line["fulfillable_quantity"] + delta)
    if delta > 0 and order["fulfillment_status"] == "fulfilled":
        order["fulfillment_status"] = line["fulfillment_status"] = "partial"
    recompute_totals(order)
    stamp = _touch(store, shop, order)
    change = [{"id": line["id"], "delta": abs(delta)}]
    edit_id = store.next_id("order_edit")
    edit = {"order_edit": {
        "id": edit_id, "app_id": None, "created_at": stamp, "committed_at": stamp, "notify_customer": False,
        "order_id": order["id"], "staff_note": params.get("staff_note", ""), "user_id": None,
        "line_items": {"additions": change if delta > 0 else [], "removals": change if delta < 0 else []},
        "discounts": {"additions": [], "removals": []}, "shipping_lines": {"additions": [], "removals": []}}}
    return [("orders/edited", edit), ("orders/updated", _snapshot(order))]


REFUNDABLE = ("paid", "partially_refunded")


def _refund(store: Store, shop: Shop, order: dict[str, Any], params: dict[str, Any]) -> list[Event]:
    """Refund units of one line; fires refunds/create then orders/updated."""
    if order["financial_status"] not in REFUNDABLE:
        raise ActionError(f"order {order['name']} is {order['financial_status']}; only paid orders can be refunded")
    line = _line(order, params, lambda li: li["current_quantity"] > 0)
    quantity = int(params.get("quantity", line["current_quantity"]))
    if not 0 < quantity <= line["current_quantity"] or line["quantity"] <= 0:
        raise ActionError(f"cannot refund {quantity} of line {line['id']}: {line['current_quantity']} left on it")
    return refund_lines(store, shop, order, [(line, quantity)], restock=bool(params.get("restock", True)),
                        note=params.get("note"))


def refund_lines(store: Store, shop: Shop, order: dict[str, Any], lines: list[tuple[dict[str, Any], int]], *,
                 restock: bool, note: str | None) -> list[Event]:
    """One refund of ``quantity`` units of each line (restocked at the first location, or not), what they are worth
    given back from the order's payments; fires refunds/create then orders/updated."""
    total = sum((refund_records.due(order, line, quantity) for line, quantity in lines), ZERO)
    given: list[tuple[dict[str, Any] | None, Decimal]] = list(payments.share(shop, order, total))
    rest = total - sum((amount for _, amount in given), ZERO)
    if rest > 0 or not given:
        given.append((None, rest))  # paid outside the payments the simulator knows of
    restock_type = {True: "return", False: "cancel"}
    return refund_records.record(
        store, shop, order,
        [(line, quantity, restock_type[bool(line["fulfillment_status"])] if restock else "no_restock",
          shop.locations[0]) for line, quantity in lines], given, note=note)


def cancel_order(store: Store, shop: Shop, order: dict[str, Any], *, reason: str, refund: bool, restock: bool,
                 staff_note: str | None = None) -> list[Event]:
    """Cancel as ``orderCancel`` does: with ``refund``, what is left on a paid order is refunded first (one
    refund, restocked or not); then the order is cancelled. Fires refunds/create (if refunded),
    orders/cancelled and orders/updated."""
    with store.lock:
        _open_for_change(order)
        events: list[Event] = []
        left = [(li, li["current_quantity"]) for li in order["line_items"]
                if li["current_quantity"] > 0 and li["quantity"] > 0]
        if refund and left and order["financial_status"] in REFUNDABLE:
            events += refund_lines(store, shop, order, left, restock=restock, note=staff_note)
        return events + _cancel(store, shop, order, {"reason": reason})


def _update(store: Store, shop: Shop, order: dict[str, Any], params: dict[str, Any]) -> list[Event]:
    """Change the note and/or tags (a touch); fires orders/updated."""
    stamp = _touch(store, shop, order)
    if "tags" in params:
        tags = params["tags"]
        order["tags"] = ", ".join(tags) if isinstance(tags, list) else str(tags)
    if "note" in params or "tags" not in params:
        order["note"] = params.get("note", f"Updated {stamp} ✎")
    return [("orders/updated", _snapshot(order))]


ORDER_ACTIONS = {"pay": _pay, "cancel": _cancel, "fulfill": _fulfill, "partially_fulfill": _partially_fulfill,
                 "edit": _edit, "refund": _refund, "update": _update}


def change_order(store: Store, shop: Shop, order: dict[str, Any], action: str, params: dict[str, Any]
                 ) -> list[Event]:
    change = ORDER_ACTIONS.get(action)
    if change is None:
        raise ActionError(f"unknown order action {action!r}; expected one of {', '.join(ORDER_ACTIONS)}")
    with store.lock:
        return change(store, shop, order, params)


# -- products and inventory -------------------------------------------------------------------------

def stock(store: Store, shop: Shop, product: dict[str, Any]) -> None:
    """Inventory levels for a new product's variants at the shop's first location (no webhooks)."""
    with store.lock:
        for variant in product["variants"]:
            item, location = variant["inventory_item_id"], shop.locations[0]
            shop.inventory_levels[(item, location)] = _level(item, location, variant["inventory_quantity"],
                                                             product["updated_at"])


def _level(item: int, location: int, available: int | None, stamp: str) -> dict[str, Any]:
    return {"inventory_item_id": item, "location_id": location, "available": available, "updated_at": stamp,
            "admin_graphql_api_id": f"gid://shopify/InventoryLevel/{location}?inventory_item_id={item}"}


def create_product(store: Store, shop: Shop, generator: OrderGenerator, params: dict[str, Any]
                   ) -> tuple[dict[str, Any], list[Event]]:
    """A product from ``params`` (title, price, sku, ...), or a random catalogue one; fires products/create."""
    item = None
    if "title" in params:
        item = CatalogueItem(str(params["title"]), str(params.get("product_type", "Simulated")),
                             str(params.get("vendor", "orderhub simulator")),
                             ((str(params.get("variant_title", "Default Title")), params.get("sku"),
                               fmt(dec(params.get("price", "10.00"))), int(params.get("grams", 100))),),
                             requires_shipping=bool(params.get("requires_shipping", True)))
    with store.lock:
        product = generator.product(store.clock.now(), shop.tz, item)
        shop.products[product["id"]] = product
        stock(store, shop, product)
        return product, [("products/create", _snapshot(product))]


def _product(shop: Shop, product_id: Any) -> dict[str, Any]:
    product = shop.products.get(int(product_id))
    if product is None:
        raise ActionError(f"shop {shop.domain} has no product {product_id}")
    return product


def update_product(store: Store, shop: Shop, product_id: Any, params: dict[str, Any]) -> list[Event]:
    """Change title, vendor, price or sku (of every variant); fires products/update."""
    with store.lock:
        product = _product(shop, product_id)
        stamp = _touch(store, shop, product)
        for key in ("title", "vendor", "product_type", "tags"):
            if key in params:
                product[key] = params[key]
        for variant in product["variants"]:
            if "price" in params:
                variant["price"] = fmt(dec(params["price"]))
            if "sku" in params:
                variant["sku"] = params["sku"]
            variant["updated_at"] = stamp
        return [("products/update", _snapshot(product))]


def delete_product(store: Store, shop: Shop, product_id: Any) -> list[Event]:
    """Remove a product; products/delete carries only its id."""
    with store.lock:
        product = _product(shop, product_id)
        del shop.products[product["id"]]
        return [("products/delete", {"id": product["id"]})]


def set_inventory_level(store: Store, shop: Shop, item: Any, location: Any, available: Any) -> list[Event]:
    """Set what is available of an inventory item at a location; fires inventory_levels/update."""
    with store.lock:
        item, location = int(item), int(location)
        if not any(v["inventory_item_id"] == item for p in shop.products.values() for v in p["variants"]):
            raise ActionError(f"shop {shop.domain} has no inventory item {item}")
        if location not in shop.locations:
            raise ActionError(f"shop {shop.domain} has no location {location}; its locations are {shop.locations}")
        previous = shop.inventory_levels.get((item, location), {})
        stamp = rest_time(store.clock.after(previous.get("updated_at")), shop.tz)
        level = _level(item, location, None if available is None else int(available), stamp)
        shop.inventory_levels[(item, location)] = level
        return [("inventory_levels/update", _snapshot(level))]

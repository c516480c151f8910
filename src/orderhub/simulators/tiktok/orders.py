"""Orders made on request: ``POST /_sim/orders`` (explicit lines, SKUs, quantities and status) and the
generator's specs. An order starts UNPAID and is walked to the status asked for, so its webhooks and
update times are those the real lifecycle would give."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from orderhub.simulators.tiktok.cancellations import Cancellations
from orderhub.simulators.tiktok.errors import BAD_FIELD, fail
from orderhub.simulators.tiktok.lifecycle import Lifecycle
from orderhub.simulators.tiktok.logistics import SHIPPING_PROVIDERS
from orderhub.simulators.tiktok.model import FULFILLMENT_TYPES, ORDER_STATUSES, LineItem, Order
from orderhub.simulators.tiktok.store import ShopData

SPEC_KEYS = {"lines", "status", "buyer", "buyer_message", "shipping_fee", "shipping_fee_seller_discount", "tax",
             "fulfillment_type", "packages", "cancel_reason", "age_seconds", "warehouse_id"}
LINE_KEYS = {"seller_sku", "sku_id", "quantity", "price", "seller_discount", "platform_discount", "is_gift"}
PATH = {"UNPAID": [], "ON_HOLD": ["pay"], "AWAITING_SHIPMENT": ["pay", "release"],
        "PARTIALLY_SHIPPING": ["pay", "release", "ship_one"],
        "AWAITING_COLLECTION": ["pay", "release", "ship"], "IN_TRANSIT": ["pay", "release", "ship", "collect"],
        "DELIVERED": ["pay", "release", "ship", "collect", "deliver"],
        "COMPLETED": ["pay", "release", "ship", "collect", "deliver", "complete"], "CANCELLED": ["cancel"]}


def _decimal(value: Any, where: str) -> Decimal:
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise fail(BAD_FIELD, f"{where} must be an amount such as \"12.50\", not {value!r}.") from None
    if amount < 0 or not amount.is_finite():
        raise fail(BAD_FIELD, f"{where} must be an amount of 0 or more, not {value!r}.")
    return amount


def _check_spec(spec: dict[str, Any]) -> None:
    unknown = sorted(set(spec) - SPEC_KEYS - {"shop_id"})
    if unknown:
        raise fail(BAD_FIELD, f"Unknown key {unknown[0]!r} in the order; expected {', '.join(sorted(SPEC_KEYS))}.")
    lines = spec.get("lines")
    if not isinstance(lines, list) or not lines:
        raise fail(BAD_FIELD, "lines must be a non-empty list of {seller_sku or sku_id, quantity}.")
    if spec.get("status", "AWAITING_SHIPMENT") not in ORDER_STATUSES:
        raise fail(BAD_FIELD, f"status must be one of {', '.join(ORDER_STATUSES)}.")
    if spec.get("fulfillment_type", FULFILLMENT_TYPES[0]) not in FULFILLMENT_TYPES:
        raise fail(BAD_FIELD, f"fulfillment_type must be one of {', '.join(FULFILLMENT_TYPES)}.")
    buyer = spec.get("buyer")
    if buyer is not None and (not isinstance(buyer, dict) or not all(
            isinstance(buyer.get(k), str) for k in ("name", "phone", "address_line1", "city", "state", "postal_code"))):
        raise fail(BAD_FIELD, "buyer must be null (a restricted order) or {name, phone, address_line1, city, state, "
                              "postal_code} as strings.")


def create_order(lifecycle: Lifecycle, cancellations: Cancellations, shop: ShopData, spec: dict[str, Any]) -> Order:
    _check_spec(spec)
    store, clock = lifecycle.store, lifecycle.clock
    items: list[LineItem] = []
    groups: list[list[str]] = []
    for n, line in enumerate(spec["lines"]):
        if not isinstance(line, dict) or set(line) - LINE_KEYS:
            raise fail(BAD_FIELD, f"lines[{n}] must be an object with keys from {', '.join(sorted(LINE_KEYS))}.")
        found = (shop.find_sku(str(line["sku_id"])) if "sku_id" in line
                 else shop.find_seller_sku(str(line.get("seller_sku", ""))))
        if found is None:
            named = line.get("sku_id") or line.get("seller_sku")
            raise fail(BAD_FIELD, f"lines[{n}] names a SKU this shop does not sell ({named!r}); add it with "
                                  "POST /_sim/products.")
        product, sku = found
        quantity = line.get("quantity", 1)
        if isinstance(quantity, bool) or not isinstance(quantity, int) or not 1 <= quantity <= 50:
            raise fail(BAD_FIELD, f"lines[{n}].quantity must be a whole number from 1 to 50.")
        gift = bool(line.get("is_gift", False))
        original = _decimal(line.get("price", sku.price), f"lines[{n}].price")
        seller = Decimal("0") if gift else _decimal(line.get("seller_discount", "0"), f"lines[{n}].seller_discount")
        platform = Decimal("0") if gift else _decimal(line.get("platform_discount", "0"),
                                                      f"lines[{n}].platform_discount")
        sale = Decimal("0") if gift else max(Decimal("0"), original - seller - platform)
        group = []
        for _unit in range(quantity):  # TikTok lists one line item per unit
            item = LineItem(id=store.next_id("5771"), sku_id=sku.id, product_id=product.id, seller_sku=sku.seller_sku,
                            product_name=product.title, sku_name=sku.name, original_price=original, sale_price=sale,
                            seller_discount=seller, platform_discount=platform, is_gift=gift)
            items.append(item)
            group.append(item.id)
        groups.append(group)
    now = clock.now()
    created = now - int(spec.get("age_seconds", 0))
    buyer = spec.get("buyer", {"name": "Zoë Ångström", "first_name": "Zoë", "last_name": "Ångström",
                               "phone": "12125550142", "address_line1": "350 Fifth Ave", "city": "New York",
                               "state": "New York", "postal_code": "10118"})
    order = Order(id=store.next_id("5766"), shop_id=shop.shop_id, status="UNPAID", create_time=created,
                  update_time=created - 1, currency=shop.currency, line_items=items, recipient=buyer,
                  buyer_email=None if buyer is None else f"v{store.next_id('')[-10:]}@scs.tiktokw.us",
                  user_id=store.next_id("7494"), warehouse_id=str(spec.get("warehouse_id") or
                                                                 shop.default_warehouse().id),
                  fulfillment_type=spec.get("fulfillment_type", "FULFILLMENT_BY_SELLER"),
                  shipping_fee=_decimal(spec.get("shipping_fee", "0"), "shipping_fee"),
                  shipping_fee_seller_discount=_decimal(spec.get("shipping_fee_seller_discount", "0"),
                                                        "shipping_fee_seller_discount"),
                  tax=_decimal(spec.get("tax", "0"), "tax"), buyer_message=str(spec.get("buyer_message", "")))
    shop.orders[order.id] = order
    for item in items:  # a unit sold is a unit no longer on sale
        sku = shop.find_sku(item.sku_id)[1]  # type: ignore[index]
        sku.inventory[order.warehouse_id] = max(0, sku.inventory.get(order.warehouse_id, 0) - 1)
    lifecycle.set_status(order, "UNPAID")
    _walk(lifecycle, cancellations, order, spec, groups)
    return order


def _walk(lifecycle: Lifecycle, cancellations: Cancellations, order: Order, spec: dict[str, Any],
          groups: list[list[str]]) -> None:
    packages = spec.get("packages")
    provider = SHIPPING_PROVIDERS[0]
    for step in PATH[spec.get("status", "AWAITING_SHIPMENT")]:
        if step == "pay":
            lifecycle.pay(order)
        elif step == "release":
            if packages:
                lifecycle.pack(order, [[i for g in group for i in groups[g]] for group in packages])
            lifecycle.release_hold(order)
        elif step in ("ship", "ship_one"):
            if step == "ship_one" and len(order.packages) < 2:
                order.packages.clear()
                lifecycle.pack(order, [groups[0], [i for g in groups[1:] for i in g]] if len(groups) > 1
                               else [groups[0][:1], groups[0][1:]])
            for package in order.packages[:1] if step == "ship_one" else list(order.packages):
                lifecycle.ship(order, package, provider["id"], provider["name"], f"9400{package.id[-16:]}")
        elif step == "cancel":
            cancellations.by_buyer(order, str(spec.get("cancel_reason", "No longer needed")))
        else:
            lifecycle.carrier(order, {"collect": "collect", "deliver": "deliver", "complete": "complete"}[step])

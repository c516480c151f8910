"""Fulfilment and logistics: shipping a package, warehouses, delivery options, shipping providers."""

from __future__ import annotations

from collections import Counter
from typing import Any

from orderhub.simulators.tiktok.errors import BAD_FIELD, NOT_FOUND, WRONG_STATE, fail
from orderhub.simulators.tiktok.gateway import Call, Handler, Scope_
from orderhub.simulators.tiktok.logistics import DELIVERY_OPTIONS, SHIPPING_PROVIDERS, provider_name
from orderhub.simulators.tiktok.render import warehouse_json


def ship_package(call: Call) -> dict[str, Any]:
    package_id = call.path["package_id"]
    order = next((o for o in call.shop_data.orders.values() if o.package(package_id)), None)
    if order is None:
        raise fail(NOT_FOUND, f"Package {package_id} does not exist in this shop.")
    if order.fulfillment_type != "FULFILLMENT_BY_SELLER":
        raise fail(WRONG_STATE, f"Order {order.id} is fulfilled by TikTok; the seller cannot ship its packages.")
    handover = call.body.get("handover_method", "PICKUP")
    if handover not in ("PICKUP", "DROP_OFF"):
        raise fail(BAD_FIELD, "invalid param error: handover_method must be PICKUP or DROP_OFF.")
    own = call.body.get("self_shipment")
    if own is not None:
        if not isinstance(own, dict) or not isinstance(own.get("tracking_number"), str) \
                or not own["tracking_number"] or not isinstance(own.get("shipping_provider_id"), str):
            raise fail(BAD_FIELD, "invalid param error: self_shipment needs tracking_number and shipping_provider_id.")
        provider_id, tracking = own["shipping_provider_id"], own["tracking_number"]
        name = provider_name(provider_id)
        if name is None:
            raise fail(BAD_FIELD, f"invalid param error: shipping_provider_id {provider_id} is not a provider of this "
                                  "shop's delivery options (GET /logistics/202309/delivery_options/{id}/"
                                  "shipping_providers).")
    else:  # a TikTok shipping label
        provider_id, name = SHIPPING_PROVIDERS[0]["id"], SHIPPING_PROVIDERS[0]["name"]
        tracking = f"9400{package_id[-18:]}"
    package = order.package(package_id)
    assert package is not None
    call.sim.lifecycle.ship(order, package, provider_id, name, tracking)
    items = [order.item(i) for i in package.line_item_ids]
    live = [i for i in items if i is not None and i.display_status != "CANCELLED"]
    call.sim.store.record("shipment", shop_id=order.shop_id, order_id=order.id, package_id=package_id,
                          line_item_ids=[i.id for i in live],
                          quantities=dict(Counter(i.seller_sku for i in live)), carrier=name,
                          shipping_provider_id=provider_id, tracking_number=tracking, handover_method=handover,
                          at=call.sim.clock.now())
    return {}


def warehouses(call: Call) -> dict[str, Any]:
    return {"warehouses": [warehouse_json(w) for w in call.shop_data.warehouses]}


def delivery_options(call: Call) -> dict[str, Any]:
    if not any(w.id == call.path["warehouse_id"] for w in call.shop_data.warehouses):
        raise fail(NOT_FOUND, f"Warehouse {call.path['warehouse_id']} does not exist in this shop.")
    return {"delivery_options": [dict(o) for o in DELIVERY_OPTIONS]}


def shipping_providers(call: Call) -> dict[str, Any]:
    if not any(o["id"] == call.path["delivery_option_id"] for o in DELIVERY_OPTIONS):
        raise fail(NOT_FOUND, f"Delivery option {call.path['delivery_option_id']} does not exist.")
    return {"shipping_providers": [dict(p) for p in SHIPPING_PROVIDERS]}


TABLE: list[tuple[str, str, str, Handler, Scope_]] = [
    ("POST", "/fulfillment/202309/packages/{package_id}/ship", "shipPackage", ship_package, "shop"),
    ("GET", "/logistics/202309/warehouses", "getWarehouseList", warehouses, "shop"),
    ("GET", "/logistics/202309/warehouses/{warehouse_id}/delivery_options", "getWarehouseDeliveryOptions",
     delivery_options, "shop"),
    ("GET", "/logistics/202309/delivery_options/{delivery_option_id}/shipping_providers", "getShippingProviders",
     shipping_providers, "shop"),
]

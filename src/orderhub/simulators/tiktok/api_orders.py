"""Order API: ``POST /order/202309/orders/search`` and ``GET /order/202309/orders?ids=`` (also served
under 202507, the version the tiktok-shop-api client calls for detail: same shape)."""

from __future__ import annotations

from typing import Any

from orderhub.simulators.tiktok.defaults import MAX_DETAIL_IDS, MAX_PAGE_SIZE
from orderhub.simulators.tiktok.errors import BAD_FIELD, fail
from orderhub.simulators.tiktok.gateway import Call, Handler, Scope_
from orderhub.simulators.tiktok.model import ORDER_STATUSES, Order
from orderhub.simulators.tiktok.paging import page
from orderhub.simulators.tiktok.render import order_json

TIME_FILTERS = ("create_time_ge", "create_time_lt", "update_time_ge", "update_time_lt")


def _filters(body: dict[str, Any]) -> dict[str, Any]:
    status = body.get("order_status")
    if status is not None and status not in ORDER_STATUSES:
        raise fail(BAD_FIELD, f"invalid param error: order_status must be one of {', '.join(ORDER_STATUSES)}.")
    for key in TIME_FILTERS:
        value = body.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            raise fail(BAD_FIELD, f"invalid param error: {key} must be a Unix time in seconds.")
    for key in ("shipping_type", "buyer_user_id"):
        if body.get(key) is not None and not isinstance(body[key], str):
            raise fail(BAD_FIELD, f"invalid param error: {key} must be a string.")
    if body.get("is_buyer_request_cancel") is not None and not isinstance(body["is_buyer_request_cancel"], bool):
        raise fail(BAD_FIELD, "invalid param error: is_buyer_request_cancel must be true or false.")
    warehouses = body.get("warehouse_ids")
    if warehouses is not None and (not isinstance(warehouses, list) or not all(isinstance(w, str) for w in warehouses)):
        raise fail(BAD_FIELD, "invalid param error: warehouse_ids must be a list of strings.")
    return {k: body.get(k) for k in ("order_status", *TIME_FILTERS, "shipping_type", "buyer_user_id",
                                     "is_buyer_request_cancel", "warehouse_ids") if body.get(k) is not None}


def _matches(order: Order, f: dict[str, Any]) -> bool:
    checks = [
        f.get("order_status") in (None, order.status),
        order.create_time >= f.get("create_time_ge", 0), order.create_time < f.get("create_time_lt", 1 << 62),
        order.update_time >= f.get("update_time_ge", 0), order.update_time < f.get("update_time_lt", 1 << 62),
        f.get("buyer_user_id") in (None, order.user_id),
        f.get("is_buyer_request_cancel") in (None, order.is_buyer_request_cancel),
        f.get("warehouse_ids") is None or order.warehouse_id in f["warehouse_ids"],
        f.get("shipping_type") in (None, "SELLER" if order.fulfillment_type == "FULFILLMENT_BY_SELLER" else "TIKTOK"),
    ]
    return all(checks)


def search_orders(call: Call) -> dict[str, Any]:
    filters = _filters(call.body)
    field = call.query.get("sort_field", "create_time")
    order = call.query.get("sort_order", "DESC")
    if field not in ("create_time", "update_time") or order not in ("ASC", "DESC"):
        raise fail(BAD_FIELD, "invalid param error: sort_field must be create_time or update_time and sort_order "
                              "ASC or DESC.")
    found = [o for o in call.shop_data.orders.values() if _matches(o, filters)]
    found.sort(key=lambda o: (getattr(o, field), o.id), reverse=order == "DESC")
    chunk, token = page(found, call.query, [filters, field, order], MAX_PAGE_SIZE)
    return {"orders": [order_json(o) for o in chunk], "next_page_token": token, "total_count": len(found)}


def order_detail(call: Call) -> dict[str, Any]:
    ids = [i for i in call.query.get("ids", "").split(",") if i]
    if not 1 <= len(ids) <= MAX_DETAIL_IDS:
        raise fail(BAD_FIELD, f"invalid param error: ids must name 1 to {MAX_DETAIL_IDS} orders, comma-separated.")
    orders = call.shop_data.orders
    return {"orders": [order_json(orders[i]) for i in ids if i in orders]}


TABLE: list[tuple[str, str, str, Handler, Scope_]] = [
    ("POST", "/order/202309/orders/search", "getOrderList", search_orders, "shop"),
    ("GET", "/order/202309/orders", "getOrderDetail", order_detail, "shop"),
    ("GET", "/order/202507/orders", "getOrderDetail", order_detail, "shop"),
]

"""Cancellations: search, approve and reject a buyer's request, and the seller's own cancellation.

TikTok lists cancellations with ``POST .../cancellations/search`` (served under 202309 and under
202602, the version the tiktok-shop-api client calls) and cancels with ``POST .../cancellations``.
"""

from __future__ import annotations

from typing import Any

from orderhub.simulators.tiktok.errors import BAD_FIELD, NOT_FOUND, fail
from orderhub.simulators.tiktok.gateway import Call, Handler, Scope_
from orderhub.simulators.tiktok.model import CANCEL_STATUSES
from orderhub.simulators.tiktok.paging import page
from orderhub.simulators.tiktok.render import cancellation_json


def _strings(body: dict[str, Any], key: str) -> list[str] | None:
    value = body.get(key)
    if value is not None and (not isinstance(value, list) or not all(isinstance(v, str) for v in value)):
        raise fail(BAD_FIELD, f"invalid param error: {key} must be a list of strings.")
    return value


def search_cancellations(call: Call) -> dict[str, Any]:
    order_ids, cancel_ids = _strings(call.body, "order_ids"), _strings(call.body, "cancel_ids")
    statuses = _strings(call.body, "cancel_status")
    if statuses and set(statuses) - set(CANCEL_STATUSES):
        raise fail(BAD_FIELD, f"invalid param error: cancel_status values must be from {', '.join(CANCEL_STATUSES)}.")
    bounds = {k: call.body.get(k) for k in ("create_time_ge", "create_time_lt", "update_time_ge", "update_time_lt")}
    found = [c for c in call.shop_data.cancellations.values()
             if (order_ids is None or c.order_id in order_ids) and (cancel_ids is None or c.id in cancel_ids)
             and (not statuses or c.status in statuses)
             and (bounds["create_time_ge"] or 0) <= c.create_time < (bounds["create_time_lt"] or 1 << 62)
             and (bounds["update_time_ge"] or 0) <= c.update_time < (bounds["update_time_lt"] or 1 << 62)]
    found.sort(key=lambda c: (c.create_time, c.id), reverse=call.query.get("sort_order", "DESC") == "DESC")
    chunk, token = page(found, call.query, [order_ids, cancel_ids, statuses, bounds], 50)
    orders = call.shop_data.orders
    return {"cancellations": [cancellation_json(c, orders[c.order_id], call.sim.lifecycle.refund_amount(
        orders[c.order_id], c.line_item_ids)) for c in chunk], "next_page_token": token, "total_count": len(found)}


def approve(call: Call) -> dict[str, Any]:
    call.sim.cancellations.approve(call.shop_data.shop_id, call.path["cancel_id"])
    return {}


def reject(call: Call) -> dict[str, Any]:
    reason = call.body.get("reject_reason")
    if not isinstance(reason, str) or not reason:
        raise fail(BAD_FIELD, "invalid param error: reject_reason is required (see GET "
                              "/return_refund/202309/reject_reasons).")
    comment = call.body.get("comment")
    call.sim.cancellations.reject(call.shop_data.shop_id, call.path["cancel_id"], reason,
                                  comment if isinstance(comment, str) else None)
    return {}


def cancel_order(call: Call) -> dict[str, Any]:
    order_id, reason = call.body.get("order_id"), call.body.get("cancel_reason")
    if not isinstance(order_id, str) or not isinstance(reason, str) or not reason:
        raise fail(BAD_FIELD, "invalid param error: order_id and cancel_reason are required.")
    order = call.shop_data.orders.get(order_id)
    if order is None:
        raise fail(NOT_FOUND, f"Order {order_id} does not exist in this shop.")
    item_ids = _strings(call.body, "order_line_item_ids")
    skus = call.body.get("skus")
    if skus is not None:
        if not isinstance(skus, list) or not all(isinstance(s, dict) and isinstance(s.get("sku_id"), str)
                                                 and isinstance(s.get("quantity"), int) and s["quantity"] > 0
                                                 for s in skus):
            raise fail(BAD_FIELD, "invalid param error: skus must be a list of {sku_id, quantity}.")
        item_ids = list(item_ids or [])
        for sku in skus:
            live = [i.id for i in order.live_items() if i.sku_id == sku["sku_id"] and i.id not in item_ids]
            if len(live) < sku["quantity"]:
                raise fail(BAD_FIELD, f"invalid param error: order {order_id} has {len(live)} uncancelled unit(s) of "
                                      f"SKU {sku['sku_id']}, fewer than the {sku['quantity']} to cancel.")
            item_ids += live[:sku["quantity"]]
    for item_id in item_ids or []:
        if order.item(item_id) is None:
            raise fail(BAD_FIELD, f"invalid param error: line item {item_id} is not in order {order_id}.")
    record = call.sim.cancellations.by_seller(order, reason, item_ids or None)
    return {"cancel_id": record.id, "cancel_status": record.status}


def reject_reasons(call: Call) -> dict[str, Any]:
    return {"reasons": [{"name": "Package has been shipped", "text": "Package has been shipped"},
                        {"name": "Buyer agreed to continue", "text": "Buyer agreed to continue with the order"}]}


TABLE: list[tuple[str, str, str, Handler, Scope_]] = [
    ("POST", "/return_refund/202309/cancellations/search", "searchCancellations", search_cancellations, "shop"),
    ("POST", "/return_refund/202602/cancellations/search", "searchCancellations", search_cancellations, "shop"),
    ("POST", "/return_refund/202309/cancellations/{cancel_id}/approve", "approveCancellation", approve, "shop"),
    ("POST", "/return_refund/202309/cancellations/{cancel_id}/reject", "rejectCancellation", reject, "shop"),
    ("POST", "/return_refund/202309/cancellations", "cancelOrder", cancel_order, "shop"),
    ("POST", "/return_refund/202602/cancellations", "cancelOrder", cancel_order, "shop"),
    ("GET", "/return_refund/202309/reject_reasons", "getRejectReasons", reject_reasons, "shop"),
]

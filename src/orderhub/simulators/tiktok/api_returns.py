"""Returns and refunds the seller starts: Create Return and Search Returns.

TikTok serves them as ``POST /return_refund/202309/returns`` (the path of a public TypeScript client of the
202309 API, with the ``idempotency_key`` query parameter) and ``POST /return_refund/202309/returns/search``;
the tiktok-shop-api 0.1.0 client calls the same operations under 202602, so both versions are served.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from orderhub.simulators.tiktok.errors import BAD_FIELD, fail
from orderhub.simulators.tiktok.gateway import Call, Handler, Scope_
from orderhub.simulators.tiktok.model import RETURN_STATUSES, RETURN_TYPES, Order, Return, money
from orderhub.simulators.tiktok.paging import page
from orderhub.simulators.tiktok.returns import Returns, line_refunds

KEY_CHARS = 64


def create_return(call: Call) -> dict[str, Any]:
    key = call.query.get("idempotency_key")
    if key is not None and not 0 < len(key) <= KEY_CHARS:
        raise fail(BAD_FIELD, f"invalid param error: idempotency_key must be 1 to {KEY_CHARS} characters.")
    return Returns(call.sim.lifecycle).create(call.shop_data, call.body, key)


def _strings(body: dict[str, Any], key: str, allowed: tuple[str, ...] | None = None) -> list[str] | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise fail(BAD_FIELD, f"invalid param error: {key} must be a list of strings.")
    if allowed and set(value) - set(allowed):
        raise fail(BAD_FIELD, f"invalid param error: {key} values must be from {', '.join(allowed)}.")
    return value


def search_returns(call: Call) -> dict[str, Any]:
    return_ids, order_ids = _strings(call.body, "return_ids"), _strings(call.body, "order_ids")
    types = _strings(call.body, "return_types", RETURN_TYPES)
    statuses = _strings(call.body, "return_status", RETURN_STATUSES)
    bounds = {k: call.body.get(k) for k in ("create_time_ge", "create_time_lt", "update_time_ge", "update_time_lt")}
    if any(v is not None and (not isinstance(v, int) or isinstance(v, bool)) for v in bounds.values()):
        raise fail(BAD_FIELD, "invalid param error: time filters are Unix seconds (integers).")
    found = [r for r in call.shop_data.returns.values()
             if (return_ids is None or r.id in return_ids) and (order_ids is None or r.order_id in order_ids)
             and (not types or r.return_type in types) and (not statuses or r.status in statuses)
             and (bounds["create_time_ge"] or 0) <= r.create_time < (bounds["create_time_lt"] or 1 << 62)
             and (bounds["update_time_ge"] or 0) <= r.update_time < (bounds["update_time_lt"] or 1 << 62)]
    field = call.query.get("sort_field", "create_time")
    if field not in ("create_time", "update_time"):
        raise fail(BAD_FIELD, "invalid param error: sort_field must be create_time or update_time.")
    found.sort(key=lambda r: (getattr(r, field), r.id), reverse=call.query.get("sort_order", "DESC") == "DESC")
    chunk, token = page(found, call.query, [return_ids, order_ids, types, statuses, bounds], 50)
    orders = call.shop_data.orders
    return {"return_orders": [return_json(r, orders[r.order_id]) for r in chunk], "next_page_token": token,
            "total_count": len(found)}


def return_json(record: Return, order: Order) -> dict[str, Any]:
    """A return as Search Returns shows it (``SearchReturnsResponseDataReturnOrder``)."""
    items = [i for i in order.line_items if i.id in record.line_item_ids]
    parts = line_refunds(record, order)
    subtotal = min(record.refund_total, sum((i.sale_price for i in items), Decimal("0")))
    shipping = min(record.refund_total - subtotal, order.shipping_fee - order.shipping_fee_seller_discount)
    tax = record.refund_total - subtotal - shipping
    out: dict[str, Any] = {
        "return_id": record.id, "order_id": record.order_id, "return_type": record.return_type,
        "return_status": record.status, "role": record.role, "return_reason": record.reason,
        "return_reason_text": record.reason, "create_time": record.create_time, "update_time": record.update_time,
        "refund_amount": {"currency": record.currency, "refund_total": money(record.refund_total),
                          "refund_subtotal": money(subtotal), "refund_shipping_fee": money(shipping),
                          "refund_tax": money(tax)},
        "return_line_items": [{"return_line_item_id": f"{record.id}{n:02d}"[-18:], "order_line_item_id": i.id,
                               "sku_id": i.sku_id, "sku_name": i.sku_name, "product_name": i.product_name,
                               "seller_sku": i.seller_sku,
                               "refund_amount": {"currency": record.currency, "refund_total": money(parts[i.id])}}
                              for n, i in enumerate(items)],
    }
    if record.shipment_type:
        out["shipment_type"] = record.shipment_type
    if record.handover_method:
        out["handover_method"] = record.handover_method
    return out


TABLE: list[tuple[str, str, str, Handler, Scope_]] = [
    ("POST", "/return_refund/202309/returns", "createReturn", create_return, "shop"),
    ("POST", "/return_refund/202602/returns", "createReturn", create_return, "shop"),
    ("POST", "/return_refund/202309/returns/search", "searchReturns", search_returns, "shop"),
    ("POST", "/return_refund/202602/returns/search", "searchReturns", search_returns, "shop"),
]

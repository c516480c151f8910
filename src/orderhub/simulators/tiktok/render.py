"""Records as TikTok's 202309 API shows them: money as strings, times as Unix seconds, the buyer's
phone number masked and e-mail a relay address, one line item per unit."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from orderhub.simulators.tiktok.defaults import RTS_SLA_SECONDS, TTS_SLA_SECONDS
from orderhub.simulators.tiktok.model import Cancellation, LineItem, Order, Product, Warehouse, money


def mask_phone(phone: str) -> str:
    """``(+1)212*****89``: TikTok shows the country code, the first digits and the last two."""
    digits = "".join(c for c in phone if c.isdigit())
    if len(digits) < 6:
        return "*" * len(digits)
    return f"(+1){digits[-10:-7]}*****{digits[-2:]}" if len(digits) >= 10 else f"{digits[:2]}*****{digits[-2:]}"


def _address(order: Order) -> dict[str, Any]:
    raw = order.recipient
    if raw is None:  # a restricted order: TikTok leaves the buyer's details out
        return {"region_code": "US", "postal_code": "", "name": "", "phone_number": "", "full_address": "",
                "district_info": []}
    parts = [raw["address_line1"], raw.get("address_line2", ""), raw["city"], raw["state"], raw["postal_code"]]
    return {
        "name": raw["name"], "first_name": raw.get("first_name", ""), "last_name": raw.get("last_name", ""),
        "phone_number": mask_phone(raw["phone"]), "full_address": ", ".join(p for p in parts if p),
        "address_detail": raw.get("address_line2", ""), "address_line1": raw["address_line1"],
        "address_line2": raw.get("address_line2", ""), "address_line3": "", "address_line4": "",
        "postal_code": raw["postal_code"], "region_code": raw.get("region_code", "US"),
        "district_info": [
            {"address_level_name": "Country", "address_name": raw.get("country", "United States"),
             "address_level": "L0"},
            {"address_level_name": "State", "address_name": raw["state"], "address_level": "L1"},
            {"address_level_name": "City", "address_name": raw["city"], "address_level": "L3"},
        ],
    }


def _item(order: Order, item: LineItem) -> dict[str, Any]:
    package = order.package(item.package_id) if item.package_id else None
    out: dict[str, Any] = {
        "id": item.id, "sku_id": item.sku_id, "product_id": item.product_id, "product_name": item.product_name,
        "sku_name": item.sku_name, "seller_sku": item.seller_sku, "sku_image": "", "sku_type": "NORMAL",
        "original_price": money(item.original_price), "sale_price": money(item.sale_price),
        "seller_discount": money(item.seller_discount), "platform_discount": money(item.platform_discount),
        "currency": order.currency, "display_status": item.display_status, "is_gift": item.is_gift,
    }
    if package is not None:
        out |= {"package_id": package.id, "package_status": package.status}
        if package.tracking_number:
            out |= {"tracking_number": package.tracking_number, "shipping_provider_id": package.shipping_provider_id,
                    "shipping_provider_name": package.shipping_provider_name, "rts_time": package.rts_time}
    if item.cancel_reason:
        out |= {"cancel_reason": item.cancel_reason, "cancel_user": item.cancel_user}
    return out


def payment(order: Order) -> dict[str, str]:
    items = order.line_items if order.status == "CANCELLED" else order.live_items()
    original = sum((i.original_price for i in items), Decimal("0"))
    seller = sum((i.seller_discount for i in items), Decimal("0"))
    platform = sum((i.platform_discount for i in items), Decimal("0"))
    sub_total = sum((i.sale_price for i in items), Decimal("0"))
    shipping = order.shipping_fee - order.shipping_fee_seller_discount
    return {"currency": order.currency, "sub_total": money(sub_total), "shipping_fee": money(shipping),
            "seller_discount": money(seller), "platform_discount": money(platform),
            "total_amount": money(sub_total + shipping + order.tax), "original_total_product_price": money(original),
            "original_shipping_fee": money(order.shipping_fee),
            "shipping_fee_seller_discount": money(order.shipping_fee_seller_discount),
            "shipping_fee_platform_discount": "0.00", "tax": money(order.tax), "product_tax": money(order.tax),
            "shipping_fee_tax": "0.00"}


def order_json(order: Order) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": order.id, "status": order.status, "create_time": order.create_time, "update_time": order.update_time,
        "user_id": order.user_id, "buyer_message": order.buyer_message, "payment": payment(order),
        "recipient_address": _address(order), "line_items": [_item(order, i) for i in order.line_items],
        "packages": [{"id": p.id} for p in order.packages], "fulfillment_type": order.fulfillment_type,
        "delivery_type": "HOME_DELIVERY", "shipping_type": "SELLER" if order.fulfillment_type ==
        "FULFILLMENT_BY_SELLER" else "TIKTOK", "warehouse_id": order.warehouse_id,
        "is_on_hold_order": order.status == "ON_HOLD", "is_buyer_request_cancel": order.is_buyer_request_cancel,
        "is_cod": False, "is_sample_order": False, "is_replacement_order": False, "commerce_platform": "TIKTOK_SHOP",
        "order_type": "NORMAL", "payment_method_name": order.payment_method_name,
        "has_updated_recipient_address": False,
    }
    if order.buyer_email:
        out["buyer_email"] = order.buyer_email
    if order.paid_time:
        out |= {"paid_time": order.paid_time, "rts_sla_time": order.paid_time + RTS_SLA_SECONDS,
                "tts_sla_time": order.paid_time + TTS_SLA_SECONDS}
    shipped = [p for p in order.packages if p.tracking_number]
    if shipped:
        out |= {"tracking_number": shipped[0].tracking_number, "shipping_provider": shipped[0].shipping_provider_name,
                "shipping_provider_id": shipped[0].shipping_provider_id, "rts_time": shipped[0].rts_time}
    for key in ("cancel_reason", "cancellation_initiator", "cancel_time", "request_cancel_time", "collection_time",
                "delivery_time"):
        if getattr(order, key):
            out[key] = getattr(order, key)
    return out


def cancellation_json(record: Cancellation, order: Order, refund: dict[str, str]) -> dict[str, Any]:
    items = [i for i in order.line_items if i.id in record.line_item_ids]
    return {
        "cancel_id": record.id, "order_id": record.order_id, "cancel_type": record.cancel_type,
        "cancel_status": record.status, "role": record.role, "cancel_reason": record.reason,
        "cancel_reason_text": record.reason, "create_time": record.create_time, "update_time": record.update_time,
        "refund_amount": refund, "should_replenish_stock": True,
        "cancel_line_items": [{"cancel_line_item_id": f"{record.id}{n:02d}"[-18:], "order_line_item_id": i.id,
                               "sku_id": i.sku_id, "sku_name": i.sku_name, "product_name": i.product_name,
                               "seller_sku": i.seller_sku} for n, i in enumerate(items)],
    }


def product_json(product: Product, currency: str) -> dict[str, Any]:
    return {
        "id": product.id, "title": product.title, "status": "ACTIVATE", "create_time": product.create_time,
        "update_time": product.update_time,
        "skus": [{"id": s.id, "seller_sku": s.seller_sku,
                  "price": {"currency": currency, "sale_price": money(s.price), "tax_exclusive_price": money(s.price)},
                  "inventory": [{"warehouse_id": w, "quantity": q} for w, q in sorted(s.inventory.items())]}
                 for s in product.skus],
    }


def warehouse_json(warehouse: Warehouse) -> dict[str, Any]:
    return {"id": warehouse.id, "name": warehouse.name, "effect_status": "ENABLED", "type": warehouse.type,
            "sub_type": "DOMESTIC_WAREHOUSE", "is_default": warehouse.is_default,
            "address": {"region": "United States", "state": "California", "city": "Los Angeles",
                        "postal_code": "90021", "region_code": "US",
                        "full_address": "1200 S Alameda St, Los Angeles, California, 90021"}}

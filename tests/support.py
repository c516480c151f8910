"""Helpers for tests: signed Shopify webhooks and ready-made payloads."""

from __future__ import annotations

import uuid
from copy import deepcopy
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx
import orjson

from orderhub.adapters.shopify.webhooks import sign
from orderhub.adapters.store import shops
from orderhub.bootstrap import Hub
from orderhub.clock import utcnow

SHOP = "test-shop.myshopify.com"
SECRET = "s3cret-🦋-key"
BIG_ID = 2**53 + 1001  # 9007199254741993: above 2^53, not exact as a double


@dataclass(frozen=True)
class Webhook:
    """One webhook as a load test sends it."""

    topic: str
    body: bytes
    webhook_id: str
    order_id: int
    updated_at: str


def add_shop(hub: Hub, domain: str = SHOP, secret: str = SECRET) -> shops.Shop:
    with hub.db.write() as conn:
        return shops.add(conn, domain, secret)


def order_payload(order_id: int = BIG_ID, updated_at: str = "2026-11-23T10:00:00-05:00", **changes: Any
                  ) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "id": order_id, "name": f"#{order_id % 10000}", "order_number": order_id % 10000,
        "email": "zoë@example.com", "created_at": "2026-11-23T09:59:00-05:00", "updated_at": updated_at,
        "currency": "EUR", "financial_status": "paid", "fulfillment_status": None,
        "subtotal_price": "27.50", "total_discounts": "2.50", "total_line_items_price": "30.00",
        "total_tax": "5.70", "total_price": "38.20",
        "total_shipping_price_set": {"shop_money": {"amount": "5.00", "currency_code": "EUR"}},
        "tags": "vip, 🦋", "note": "Leave at the door 🚪",
        "customer": {"id": order_id + 7, "email": "zoë@example.com", "first_name": "Zoë", "last_name": "Ångström"},
        "shipping_address": {"name": "Zoë Ångström", "address1": "Straße 1", "address2": "🦋 Butterfly house",
                             "city": "Berlin", "zip": "10115", "country": "Germany", "country_code": "DE"},
        "billing_address": {"name": "زهرة", "address1": "שדרות רוטשילד 1", "city": "תל אביב", "country_code": "IL"},
        "line_items": [
            {"id": order_id + 1, "sku": "SKU-1", "title": "T-shirt 👕", "quantity": 2, "price": "10.00",
             "variant_id": order_id + 100, "product_id": order_id + 200,
             "tax_lines": [{"price": "3.80", "rate": 0.19, "title": "MwSt"}]},
            {"id": order_id + 2, "sku": "SKU-2", "title": "Сувенир", "quantity": 1, "price": "10.00",
             "total_discount": "0.00", "discount_allocations": [{"amount": "2.50", "discount_application_index": 0}],
             "tax_lines": [{"price": "1.90", "rate": 0.19, "title": "MwSt"}]},
        ],
        # As Shopify sends them: the line's discount is in its allocations, total_discount stays 0.00.
        "discount_codes": [{"code": "WELCOME🦋", "amount": "2.50", "type": "fixed_amount"}],
        "discount_applications": [{"type": "discount_code", "code": "WELCOME🦋", "value": "2.50",
                                   "value_type": "fixed_amount", "target_type": "line_item",
                                   "target_selection": "explicit", "allocation_method": "one"}],
        "shipping_lines": [{"id": order_id + 3, "title": "DHL", "code": "dhl", "price": "5.00",
                            "discounted_price": "5.00"}],
    }
    payload.update(deepcopy(changes))
    lines_or_shipping = [*(payload.get("line_items") or []), *(payload.get("shipping_lines") or [])]
    if not {"subtotal_price", "total_price", "total_line_items_price"} & changes.keys() and isinstance(
            payload.get("line_items"), list) and all(isinstance(x, dict) for x in lines_or_shipping):
        add_up(payload)  # changed lines or shipping: the figures follow, as Shopify's would
    return payload


def add_up(payload: dict[str, Any]) -> dict[str, Any]:
    """Set an order body's figures from its lines, shipping lines and taxes, the way Shopify defines them."""
    def amount(value: Any) -> Decimal:
        return Decimal(str(value or "0"))

    lines = payload.get("line_items") or []
    items = sum((amount(li.get("price")) * int(li.get("quantity") or 0) for li in lines), Decimal("0"))
    line_discounts = sum((sum((amount(a.get("amount")) for a in li["discount_allocations"]), Decimal("0"))
                          if li.get("discount_allocations") is not None else amount(li.get("total_discount"))
                          for li in lines), Decimal("0"))
    shipping = payload.get("shipping_lines") or []
    shipping_price = sum((amount(s.get("discounted_price", s.get("price"))) for s in shipping), Decimal("0"))
    shipping_discounts = sum((amount(s.get("price")) - amount(s.get("discounted_price", s.get("price")))
                              for s in shipping), Decimal("0"))
    tax = sum((amount(t.get("price")) for li in [*lines, *shipping] for t in li.get("tax_lines") or []),
              Decimal("0"))
    subtotal = items - line_discounts
    payload.update(total_line_items_price=str(items), subtotal_price=str(subtotal),
                   total_discounts=str(line_discounts + shipping_discounts), total_tax=str(tax),
                   total_price=str(subtotal + shipping_price + (0 if payload.get("taxes_included") else tax)))
    payload["total_shipping_price_set"] = {"shop_money": {"amount": str(shipping_price + shipping_discounts),
                                                          "currency_code": payload.get("currency")}}
    return payload


def webhook_headers(topic: str, body: bytes, *, shop: str = SHOP, secret: str = SECRET,
                    webhook_id: str | None = None) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "X-Shopify-Topic": topic,
        "X-Shopify-Hmac-Sha256": sign(secret, body),
        "X-Shopify-Shop-Domain": shop,
        "X-Shopify-API-Version": "2025-10",
        "X-Shopify-Webhook-Id": webhook_id or str(uuid.uuid4()),
        "X-Shopify-Event-Id": str(uuid.uuid4()),
        "X-Shopify-Triggered-At": utcnow().strftime("%Y-%m-%dT%H:%M:%S.%fZ"),  # now: older ones are refused
    }


def post_webhook(client: httpx.Client, base_url: str, topic: str, payload: Any, **kw: Any) -> httpx.Response:
    body = payload if isinstance(payload, bytes) else orjson.dumps(payload)
    return client.post(f"{base_url}/webhooks/shopify", content=body, headers=webhook_headers(topic, body, **kw))


def put(hub: Hub, topic: str, payload: Any, *, shop_id: int, webhook_id: str | None = None,
        triggered_at: Any = None) -> bool:
    """Put one record in the inbox as the webhook receiver would; False when it is a duplicate."""
    from orderhub.adapters.shopify.webhooks import identity
    from orderhub.adapters.store.inbox import InboxEntry, insert_entries

    wid = webhook_id or str(uuid.uuid4())
    return insert_entries(hub.db, [InboxEntry(
        shop_id=shop_id, source="webhook", topic=topic, identity=identity(topic, payload, wid),
        payload=orjson.dumps(payload).decode(), webhook_id=wid, triggered_at=triggered_at)])[0]


def drain(hub: Hub, rounds: int = 200) -> int:
    """Run the processor until nothing is due; returns records processed."""
    processor = hub.processor()
    total = 0
    for _ in range(rounds):
        done, _wait = processor.run_once()
        total += done
        if not done:
            from orderhub.adapters.store import inbox

            with hub.db.read() as conn:
                if not inbox.has_due(conn):
                    return total
    raise AssertionError("inbox did not drain")

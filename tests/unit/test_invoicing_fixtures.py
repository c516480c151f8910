"""Invoices of real Shopify orders, correct to the cent: what the customer paid, discounts and tax included."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from orderhub.adapters.shopify import translate
from orderhub.domain.invoicing import FEED_VERSION, Options, transform
from orderhub.domain.model import Order
from orderhub.fidelity.fixtures import Fixture, load


def _orders() -> list[Fixture]:
    return [f for f in load() if f.kind in ("webhook", "rest") and f.expected.get("reconciles")
            and "line_items" in f.expected]


def feed_record(order: Order) -> dict[str, Any]:
    """The order as the completed-orders feed writes it, every unit fulfilled at one store."""
    address = {"first_name": "Ana", "last_name": "Silva", "address1": "Rua 1", "city": "Lisboa",
               "country_code": "PT"}
    return {"v": FEED_VERSION, "order_id": 1, "shop": "shop.myshopify.com", "name": order.name,
            "number": order.number, "created_at": order.created_at.isoformat(), "currency": order.currency,
            "email": "ana@example.com", "shipping_method": "standard", "total_shipping": str(order.total_shipping),
            "taxes_included": order.taxes_included, "customer": None, "billing": address, "shipping": None,
            "items": [{"line": i.shopify_id, "sku": i.sku or f"SKU-{n}", "barcode": f"80000000{n:05d}",
                       "title": i.title, "ordered": i.quantity, "price": str(i.price),
                       "discount": str(i.total_discount), "tax": str(i.tax), "facility_id": 1, "store": "SVA32",
                       "quantity": i.quantity, "fulfilled_at": order.created_at.isoformat()}
                      for n, i in enumerate(order.items) if i.quantity]}


@pytest.mark.parametrize("fixture", _orders(), ids=lambda f: f.name)
def test_the_invoice_of_a_real_order_is_what_the_customer_paid(fixture: Fixture) -> None:
    order = translate.order(fixture.payload.get("order") or fixture.payload)
    invoice = transform(feed_record(order), Options()).invoice
    assert invoice["TotalAmt"] == order.total_price - order.total_tip - order.total_duties
    assert invoice["ShippingAmt"] == order.total_shipping
    if not order.taxes_included:  # the discounts the lines carry, to the cent
        assert invoice["TotalDiscAmt"] == order.line_discounts
    for item, line in zip(invoice["Items"], (i for i in order.items if i.quantity), strict=True):
        paid = (item["Price"] + item["Tax"]) * item["Qty"]
        assert abs(paid - (line.price * line.quantity - line.total_discount
                           + (0 if order.taxes_included else line.tax))) < Decimal("0.01") * line.quantity


def test_prices_that_include_tax_are_invoiced_without_it() -> None:
    fixture = next(f for f in _orders() if f.name == "orders_create_live_taxes_included_au")
    order = translate.order(fixture.payload)
    assert order.taxes_included
    invoice = transform(feed_record(order), Options()).invoice
    for item, line in zip(invoice["Items"], order.items, strict=True):
        assert item["Tax"] == (line.tax / line.quantity).quantize(Decimal("0.0001"))
        assert item["Price"] + item["Tax"] == (line.price - line.total_discount / line.quantity).quantize(
            Decimal("0.0001"))

"""The Amazon translator on its own: every status Amazon has, money that does not divide evenly, split items,
and the client's usage plans against Amazon's published ones (kept with the simulator's samples)."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import pytest

from orderhub.adapters import channels
from orderhub.adapters.amazon.client import USAGE_PLANS
from orderhub.adapters.amazon.translate import STATUSES
from orderhub.domain.errors import InvalidRecord
from orderhub.domain.model import Order
from orderhub.domain.order_totals import reconcile
from orderhub.simulators.amazon.orders import STATUSES as AMAZON_STATUSES
from orderhub.simulators.amazon.samples import load

AT = datetime(2026, 12, 7, 10, tzinfo=timezone.utc)


def money(amount: str) -> dict[str, str]:
    return {"CurrencyCode": "EUR", "Amount": amount}


def payload(**changes: Any) -> dict[str, Any]:
    order = {"AmazonOrderId": "302-1234567-7654321", "PurchaseDate": "2026-12-07T09:00:00Z",
             "LastUpdateDate": "2026-12-07T09:05:00Z", "OrderStatus": "Unshipped", "FulfillmentChannel": "MFN",
             "ShipServiceLevel": "Std DE Dom", "OrderTotal": money("10.00"),
             "LatestShipDate": "2026-12-09T22:59:59Z", "LatestDeliveryDate": "2026-12-12T22:59:59Z",
             "OrderItems": [{"OrderItemId": "55512345678901", "SellerSKU": "MUG-🦋", "ASIN": "B0MUG",
                             "Title": "Tasse «Schmetterling» 🦋", "QuantityOrdered": 3, "QuantityShipped": 0,
                             "ItemPrice": money("10.00"), "ItemTax": money("0.00")}]}
    return order | changes


def read(data: dict[str, Any]) -> Order:
    record = channels.translator("amazon").translate("amazon/order", data, AT)
    assert isinstance(record, Order)
    return record


def test_every_amazon_status_is_mapped() -> None:
    assert set(STATUSES) == set(AMAZON_STATUSES)
    seen = {status: read(payload(OrderStatus=status)) for status in AMAZON_STATUSES}
    assert seen["Pending"].financial_status == seen["PendingAvailability"].financial_status == "pending"
    assert seen["Shipped"].fulfillment_status == seen["InvoiceUnconfirmed"].fulfillment_status == "fulfilled"
    assert seen["PartiallyShipped"].fulfillment_status == "partial"
    assert seen["Canceled"].cancelled_at == datetime(2026, 12, 7, 9, 5, tzinfo=timezone.utc)
    assert [s for s, o in seen.items() if o.cancelled_at] == ["Canceled"]
    assert "amazon:unfulfillable" in seen["Unfulfillable"].tags
    afn = read(payload(FulfillmentChannel="AFN"))
    assert afn.fulfilled_by == "channel" and afn.ship_by == datetime(2026, 12, 9, 22, 59, 59, tzinfo=timezone.utc)
    assert afn.deliver_by == datetime(2026, 12, 12, 22, 59, 59, tzinfo=timezone.utc) and afn.source_name == "amazon"


def test_a_line_price_that_does_not_divide_comes_to_what_amazon_charged() -> None:
    order = read(payload())
    line = order.items[0]
    assert (line.price, line.quantity, line.total_discount) == (Decimal("3.3334"), 3, Decimal("0.0002"))
    assert order.total_price == Decimal("10.00") and order.subtotal_price == Decimal("10.00")
    reconcile(order)  # the totals add up, as the processor checks them
    assert line.title == "Tasse «Schmetterling» 🦋" and line.sku == "MUG-🦋"


def test_an_item_amazon_reports_in_parts_is_one_line_with_the_quantities_summed() -> None:
    item = payload()["OrderItems"][0] | {"QuantityOrdered": 1, "ItemPrice": money("5.00")}
    order = read(payload(OrderItems=[item, item | {"QuantityOrdered": 2, "ItemPrice": money("10.00")}],
                         OrderTotal=money("15.00")))
    assert [(i.shopify_id, i.quantity, i.price) for i in order.items] == [("55512345678901", 3, Decimal("5.00"))]


def test_pending_orders_without_a_total_or_buyer_are_valid() -> None:
    data = payload(OrderStatus="Pending")
    del data["OrderTotal"]
    order = read(data)
    assert order.total_price == Decimal("10.00") and order.currency == "EUR" and order.customer is None
    assert order.shipping_address is None and order.email is None


@pytest.mark.parametrize(("change", "field"), [
    ({"OrderItems": [], "OrderTotal": None}, "OrderTotal.CurrencyCode"),
    ({"LastUpdateDate": "yesterday"}, "LastUpdateDate"),
    ({"OrderTotal": {"CurrencyCode": "USD", "Amount": "10.00"}}, "OrderItems[0].ItemPrice.CurrencyCode"),
])
def test_unreadable_orders_name_the_field(change: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidRecord) as bad:
        read(payload(**change))
    assert bad.value.field == field


def test_the_usage_plans_are_amazon_s() -> None:
    published = load("usage_plans.json")
    for operation, plan in USAGE_PLANS.items():
        assert (plan.rate, plan.burst) == (published[operation]["rate"], published[operation]["burst"]), operation

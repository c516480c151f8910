"""An Amazon order (Orders API v0 ``Order``, with its ``OrderItems`` fetched beside it) as orderhub's ``Order``.

The inbox record is the order exactly as ``getOrders``/``getOrder`` answered it, plus one key the
order's own ``getOrderItems`` pages filled in: ``OrderItems``. Money is ``{"CurrencyCode", "Amount"}``
with the amount as text (read as Decimal); ``ItemPrice`` is for the whole line, so the unit price is it
divided by ``QuantityOrdered``. Buyer data (``BuyerInfo``, the name and street of ``ShippingAddress``)
is present only where Amazon gave it; an order without it is a valid order.

Statuses (``OrderStatus``; meanings from the ``OrderStatus`` enum of Amazon's Orders API v0 model,
github.com/amzn/selling-partner-api-models ``models/orders-api-model/ordersV0.json``, and the
simulator's ``lifecycle.py`` that follows it):

===================  =======================================================  ==========  ===========================
Amazon status        Meaning (ordersV0.json ``OrderStatus``)                  financial   fulfilment / other
===================  =======================================================  ==========  ===========================
PendingAvailability  pre-order placed, not yet available; not authorised      pending     None (reserved, not released)
Pending              placed, payment not yet authorised                       pending     None (reserved, not released)
Unshipped            payment authorised, ready to ship, nothing shipped       paid        None
PartiallyShipped     one or more, not all, items shipped                      paid        partial
Shipped              all items shipped                                        paid        fulfilled
InvoiceUnconfirmed   all items shipped, the seller has not confirmed invoice  paid        fulfilled
Canceled             the order was cancelled                                  voided      cancelled_at = LastUpdateDate
Unfulfillable        cannot be fulfilled (Amazon-fulfilled orders)            paid        tag amazon:unfulfillable
===================  =======================================================  ==========  ===========================

``FulfillmentChannel`` AFN (Fulfilled by Amazon: Amazon ships from its own stock) gives
``fulfilled_by="channel"``; ``LatestShipDate``/``LatestDeliveryDate`` give ``ship_by``/``deliver_by``.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from decimal import ROUND_CEILING, Decimal
from typing import Any

from orderhub.adapters.fields import Fields
from orderhub.domain.errors import InvalidRecord
from orderhub.domain.model import Address, Customer, LineItem, Order, ShippingLine

STATUSES: dict[str, tuple[str, str | None]] = {  # Amazon status -> (financial_status, fulfillment_status)
    "PendingAvailability": ("pending", None),
    "Pending": ("pending", None),
    "Unshipped": ("paid", None),
    "PartiallyShipped": ("paid", "partial"),
    "Shipped": ("paid", "fulfilled"),
    "InvoiceUnconfirmed": ("paid", "fulfilled"),
    "Canceled": ("voided", None),
    "Unfulfillable": ("paid", None),
}
ZERO = Decimal("0")


def money(f: Fields | None, key: str, currency: str | None = None) -> tuple[Decimal, str | None]:
    """``{"CurrencyCode", "Amount"}`` under ``key`` (zero when absent); the amount must be in ``currency``."""
    m = None if f is None else f.obj(key)
    if m is None:
        return ZERO, None
    amount = m.money("Amount", required=True)
    code = m.str("CurrencyCode", max_len=3)
    if currency and code and code.upper() != currency:
        raise InvalidRecord(m.path_to("CurrencyCode"), f"{code} differs from the order's currency {currency}")
    return amount, (code or "").upper() or None


def _currency(f: Fields, items: list[Fields]) -> str:
    _total, code = money(f, "OrderTotal")
    for item in items:
        if code:
            break
        _price, code = money(item, "ItemPrice")
    if not code:
        raise InvalidRecord("OrderTotal.CurrencyCode", "required field is missing (no OrderTotal and no line with "
                                                       "an ItemPrice to take the currency from)")
    return code


class _Line:
    """One Amazon order item, with the amounts it carries (its entries summed when Amazon splits it)."""

    def __init__(self, f: Fields) -> None:
        self.fields = f
        self.id = f.str("OrderItemId", required=True, max_len=40) or ""
        self.quantity = 0
        self.amounts = dict.fromkeys(("ItemPrice", "ItemTax", "ShippingPrice", "ShippingTax", "ShippingDiscount",
                                      "PromotionDiscount", "GiftWrapPrice", "GiftWrapTax"), ZERO)

    def add(self, f: Fields, currency: str) -> None:
        quantity = f.int("QuantityOrdered", required=True)
        assert quantity is not None
        if quantity < 0:
            raise InvalidRecord(f.path_to("QuantityOrdered"), f"negative quantity {quantity}")
        self.quantity += quantity
        buyer = f.obj("BuyerInfo")
        for key in self.amounts:
            source = buyer if key.startswith("GiftWrap") else f
            self.amounts[key] += money(source, key, currency)[0]

    def item(self, order_id: str, status: str) -> LineItem:
        f = self.fields
        price = self.amounts["ItemPrice"]
        # ItemPrice is the line's; a unit price that does not divide evenly is rounded up to orderhub's four
        # places and the cents it adds are taken off as part of the line's discount, so the line comes to
        # exactly what Amazon charged.
        unit = (price / self.quantity).quantize(Decimal("0.0001"), ROUND_CEILING) if self.quantity else price
        rounding = unit * self.quantity - price if self.quantity else ZERO
        if unit < 0:
            raise InvalidRecord(f.path_to("ItemPrice"), f"negative price {price} on item {self.id} of order {order_id}")
        open_quantity = 0 if status in ("Canceled", "Shipped", "InvoiceUnconfirmed") else self.quantity
        shipped = f.int("QuantityShipped") or 0
        return LineItem(shopify_id=self.id, title=f.str("Title", max_len=500) or f.str("SellerSKU") or self.id,
                        sku=f.str("SellerSKU") or None, product_id=f.str("ASIN", max_len=40), quantity=self.quantity,
                        price=unit, fulfillable_quantity=max(0, open_quantity - shipped),
                        fulfillment_status="fulfilled" if self.quantity and shipped >= self.quantity else None,
                        total_discount=self.amounts["PromotionDiscount"] + rounding, tax=self.amounts["ItemTax"])


def _lines(items: list[Fields], currency: str) -> list[_Line]:
    by_id: dict[str, _Line] = {}
    for f in items:
        line = _Line(f)
        line = by_id.setdefault(line.id, line)
        line.add(f, currency)
    return list(by_id.values())


def _address(f: Fields | None) -> Address | None:
    if f is None:
        return None
    street = [f.str(k, max_len=255) for k in ("AddressLine1", "AddressLine2", "AddressLine3")]
    address = Address(name=f.str("Name", max_len=255), company=f.str("CompanyName", max_len=255),
                      address1=street[0], address2=", ".join(s for s in street[1:] if s)[:255] or None,
                      city=f.str("City", max_len=255), province=f.str("StateOrRegion", max_len=255),
                      zip=f.str("PostalCode", max_len=32), country_code=(f.str("CountryCode", max_len=2) or "").upper()
                      or None, phone=f.str("Phone", max_len=64))
    return address if any((address.address1, address.city, address.zip, address.country_code)) else None


def _customer(f: Fields | None) -> Customer | None:
    if f is None:
        return None
    email = f.str("BuyerEmail", max_len=320)
    if not email:
        return None
    # Amazon's buyer e-mail (an anonymous relay address) is the only stable mark of a buyer; hashed to fit.
    buyer_id = "amzn-" + hashlib.sha256(email.lower().encode()).hexdigest()[:32]
    # Amazon gives one name as the buyer wrote it; it is kept whole (a split would misorder many scripts).
    return Customer(shopify_id=buyer_id, email=email, last_name=f.str("BuyerName", max_len=255))


def order(payload: Any) -> Order:
    f = Fields(payload)
    order_id = f.str("AmazonOrderId", required=True, max_len=40) or ""
    created_at = f.time("PurchaseDate", required=True)
    updated_at = f.time("LastUpdateDate", required=True)
    assert created_at is not None and updated_at is not None
    status = f.str("OrderStatus", required=True, max_len=32) or ""
    if status not in STATUSES:
        raise InvalidRecord("OrderStatus", f"{status[:40]!r} is not an Amazon order status; expected one of "
                                           f"{', '.join(STATUSES)}")
    financial, fulfilment = STATUSES[status]
    item_fields = f.objs("OrderItems", required=True)
    currency = _currency(f, item_fields)
    lines = _lines(item_fields, currency)
    items = tuple(line.item(order_id, status) for line in lines)
    total = {key: sum((line.amounts[key] for line in lines), ZERO) for key in lines[0].amounts} if lines else {}
    shipping, shipping_discount = total.get("ShippingPrice", ZERO), total.get("ShippingDiscount", ZERO)
    shipping_lines = ()
    if shipping or shipping_discount:
        shipping_lines = (ShippingLine(shopify_id=f"{order_id}-shipping",
                                       title=f.str("ShipServiceLevel", max_len=255) or "Amazon shipping",
                                       price=shipping, discounted_price=shipping - shipping_discount,
                                       code=f.str("ShipmentServiceLevelCategory", max_len=64)),)
    line_discounts = sum((i.total_discount for i in items), ZERO)
    subtotal = sum((i.price * i.quantity for i in items), ZERO) - line_discounts
    tax = total.get("ItemTax", ZERO) + total.get("ShippingTax", ZERO) + total.get("GiftWrapTax", ZERO)
    gift_wrap = total.get("GiftWrapPrice", ZERO)
    worked_out = subtotal + shipping - shipping_discount + tax + gift_wrap
    stated, _code = money(f, "OrderTotal", currency)
    buyer = f.obj("BuyerInfo")
    customer = _customer(buyer)
    tags = [t for t, on in (("amazon:prime", f.bool("IsPrime", False)),
                            ("amazon:business", f.bool("IsBusinessOrder", False)),
                            ("amazon:unfulfillable", status == "Unfulfillable"),
                            ("amazon:buyer-requested-cancel", any(
                                (i.obj("BuyerRequestedCancel") or Fields({})).str("IsBuyerRequestedCancel") == "true"
                                for i in item_fields))) if on]
    return Order(
        shopify_id=order_id, name=order_id, number=f.str("SellerOrderId", max_len=40),
        email=customer.email if customer else None, customer=customer,
        financial_status=financial, fulfillment_status=fulfilment,
        currency=currency, created_at=created_at, updated_at=updated_at,
        subtotal_price=subtotal, total_discounts=line_discounts + shipping_discount, total_tax=tax,
        total_shipping=shipping - shipping_discount,
        total_price=stated if f.data.get("OrderTotal") is not None else worked_out,
        total_line_items_price=sum((i.price * i.quantity for i in items), ZERO),
        total_additional_fees=gift_wrap, items=items, shipping_lines=shipping_lines,
        shipping_address=_address(f.obj("ShippingAddress")),
        cancelled_at=updated_at if status == "Canceled" else None,
        cancel_reason="amazon" if status == "Canceled" else None,
        tags=tuple(tags), source_name="amazon", channel="amazon",
        fulfilled_by="channel" if f.str("FulfillmentChannel", max_len=8) == "AFN" else None,
        ship_by=f.time("LatestShipDate"), deliver_by=f.time("LatestDeliveryDate"),
    )


def describe(payload: Any) -> str | None:
    if not isinstance(payload, dict):
        return None
    return f"Amazon order {str(payload.get('AmazonOrderId'))[:64]}"


def changed_at(payload: dict[str, Any]) -> datetime:
    """The order version's time, as its inbox identity names it."""
    moment = Fields(payload).time("LastUpdateDate", required=True)
    assert moment is not None
    return moment

"""Walmart purchase orders (the Orders API's ``Order`` shape) read as orderhub's canonical :class:`Order`.

A Walmart order is a purchase order (``purchaseOrderId``, the order's id in orderhub) of order lines
(``lineNumber``, the line's id). Each line's quantity is split by status in ``orderLineStatuses`` (e.g.
2 Shipped and 1 Cancelled): one canonical line per Walmart line, with the statuses' quantities summed.
Money is ``{"currency", "amount"}`` per charge: the ``PRODUCT`` charge ``ItemPrice`` is the line's price
for all its units, negative ``PRODUCT`` charges are discounts, ``SHIPPING`` charges its shipping, and each
charge's ``tax.taxAmount`` its tax. Times are epoch milliseconds. A version of the order is the latest
``statusDate`` of its lines (else its ``orderDate``): what orderhub keeps as ``updated_at``.

Statuses (the ``status`` values of ``orderLineStatus``; meanings from Walmart's Orders API reference,
"Order statuses" and "Acknowledge Orders", as kept in the simulator's ``samples/``):

====================  ===========================================  =========================================
Walmart status        Walmart's meaning                            In orderhub
====================  ===========================================  =========================================
Created               released to the seller, to be acknowledged   an open order, ``financial_status``
                      within four hours                            ``paid``
Acknowledged          the seller accepted it; "a required step     an open order, ``paid``
                      before shipping"
Shipped               units shipped, with tracking                 fulfilled units: ``fulfillment_status``
                                                                   ``partial`` / ``fulfilled``
Delivered             shipped units delivered to the customer      as Shipped (fulfilled units)
Cancelled             units that will not ship (a reason code)     the line's ``current_quantity`` goes down;
                                                                   every unit cancelled: ``cancelled_at``
====================  ===========================================  =========================================

Walmart charges the customer before it releases an order ("released orders" are the ones ready to
fulfil), so no Walmart order reaches orderhub unpaid: every order is ``paid``, and none needs the
``pending`` state that keeps an order's stock reserved but out of fulfilment.

``intentToCancel: "Y"`` on a line (the customer asked to cancel; the seller decides) adds the tag
``walmart:intent-to-cancel`` so a person sees it. ``shipNode.type`` ``WFSFulfilled`` (Walmart Fulfillment
Services) means Walmart ships from its own stock: ``fulfilled_by="channel"``. ``shippingInfo
.estimatedShipDate`` / ``estimatedDeliveryDate`` are Walmart's promise: ``ship_by`` / ``deliver_by``.

The buyer: Walmart gives no customer id and no real e-mail address. ``customerEmailId`` is a relay address
(``...@relay.walmart.com``) that forwards to the buyer: it is kept as the order's e-mail, for the record,
but never as the customer's, so no customer is ever matched or merged by it. The customer is the buyer of
this order (``customerOrderId``), named from the shipping address; guest orders without a name or phone
are valid.
"""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pycountry

from orderhub.adapters.fields import Fields
from orderhub.domain.errors import InvalidRecord
from orderhub.domain.model import Address, Customer, LineItem, Order, ShippingLine

KIND = "walmart"
CREATED, ACKNOWLEDGED, SHIPPED, DELIVERED, CANCELLED = "Created", "Acknowledged", "Shipped", "Delivered", "Cancelled"
STATUSES = (CREATED, ACKNOWLEDGED, SHIPPED, DELIVERED, CANCELLED)
WFS = "WFSFulfilled"
INTENT_TO_CANCEL_TAG = "walmart:intent-to-cancel"
# Walmart's cancellation reasons, as orderhub's (Shopify's) cancel reasons.
CANCEL_REASONS = {"CUSTOMER_REQUESTED_SELLER_TO_CANCEL": "customer", "SELLER_CANCEL_OUT_OF_STOCK": "inventory",
                  "SELLER_CANCEL_FRAUD_STOP_SHIPMENT": "fraud", "SELLER_CANCEL_PRICING_ERROR": "other",
                  "SELLER_CANCEL_ADDRESS_NOT_SERVICEABLE": "other"}
MAX_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z
UNIT = Decimal("0.0001")  # the store keeps four decimals


def epoch_ms(f: Fields, key: str, *, required: bool = False) -> datetime | None:
    """Walmart's times: whole epoch milliseconds (digit strings accepted)."""
    value = f.data.get(key)
    if value is None:
        if required:
            raise InvalidRecord(f.path_to(key), "required field is missing")
        return None
    if isinstance(value, bool) or not isinstance(value, (int, str)) or not str(value).isdigit():
        raise InvalidRecord(f.path_to(key), f"expected epoch milliseconds, got {str(value)[:40]!r}")
    ms = int(value)
    if ms > MAX_MS:
        raise InvalidRecord(f.path_to(key), f"{ms} is out of range for a time")
    return datetime.fromtimestamp(ms / 1000, timezone.utc)


def unwrap(payload: Any) -> Any:
    """The order itself: ``GET /v3/orders/{id}`` and the operations answer ``{"order": {...}}``."""
    if isinstance(payload, dict) and "purchaseOrderId" not in payload and isinstance(payload.get("order"), dict):
        return payload["order"]
    return payload


def version(payload: Any) -> datetime:
    """The time of this version of the order: its lines' latest ``statusDate``, else its ``orderDate``."""
    f = Fields(unwrap(payload))
    latest = epoch_ms(f, "orderDate", required=True)
    assert latest is not None
    for line in _lines(f):
        at = epoch_ms(line, "statusDate")
        if at is not None and at > latest:
            latest = at
    return latest


def _lines(f: Fields) -> list[Fields]:
    holder = f.obj("orderLines", required=True)
    assert holder is not None
    lines = holder.objs("orderLine", required=True)
    if not lines:
        raise InvalidRecord(holder.path_to("orderLine"), "the order has no lines")
    return lines


def _quantity(f: Fields | None, key: str) -> int:
    q = None if f is None else f.obj(key)
    if q is None:
        raise InvalidRecord(f.path_to(key) if f is not None else key, "required field is missing")
    amount = q.int("amount", required=True)
    assert amount is not None
    if amount < 0:
        raise InvalidRecord(q.path_to("amount"), f"negative quantity {amount}")
    return amount


class _Money:
    """The one currency of an order's charges."""

    def __init__(self) -> None:
        self.currency: str | None = None

    def amount(self, f: Fields, key: str) -> Decimal:
        money = f.obj(key, required=True)
        assert money is not None
        currency = (money.str("currency", required=True, max_len=3) or "").upper()
        if self.currency is None:
            self.currency = currency
        elif currency != self.currency:
            raise InvalidRecord(money.path_to("currency"), f"{currency} differs from the order's {self.currency}; "
                                                           "an order has one currency")
        return money.money("amount", required=True)


class _Line:
    """One Walmart line read: its canonical line, and what it adds to the order's figures."""

    def __init__(self, f: Fields, money: _Money) -> None:
        number = f.str("lineNumber", required=True, max_len=64)
        assert number is not None
        item = f.obj("item", required=True)
        assert item is not None
        quantity = _quantity(f, "orderLineQuantity")
        by_status: dict[str, int] = dict.fromkeys(STATUSES, 0)
        self.cancel_reasons: list[str] = []
        statuses = f.obj("orderLineStatuses")
        for entry in (statuses.objs("orderLineStatus") if statuses is not None else []):
            status = entry.str("status", required=True, max_len=32)
            if status not in by_status:
                raise InvalidRecord(entry.path_to("status"), f"unknown status {status!r}; Walmart's are "
                                                             f"{', '.join(STATUSES)}")
            by_status[status] += _quantity(entry, "statusQuantity")
            reason = entry.str("cancellationReason", max_len=64)
            if status == CANCELLED and reason:
                self.cancel_reasons.append(reason)
        if sum(by_status.values()) > quantity:
            raise InvalidRecord(f.path_to("orderLineStatuses"), f"its statuses count {sum(by_status.values())} "
                                                                f"units; the line has {quantity}")
        charges = f.obj("charges", required=True)
        assert charges is not None
        price_total = discount = tax = shipping = shipping_discount = fees = Decimal("0")
        priced = False
        for charge in charges.objs("charge", required=True):
            kind = charge.str("chargeType", required=True, max_len=32)
            amount = money.amount(charge, "chargeAmount")
            taxed = charge.obj("tax")
            if taxed is not None:
                tax += money.amount(taxed, "taxAmount")
            if kind == "PRODUCT" and charge.str("chargeName", max_len=100) == "ItemPrice" and not priced:
                price_total, priced = amount, True
            elif kind == "PRODUCT":
                if amount < 0:
                    discount -= amount
                else:
                    fees += amount
            elif kind == "SHIPPING":
                if amount < 0:
                    shipping_discount -= amount
                else:
                    shipping += amount
            else:
                fees += amount
        if not priced:
            raise InvalidRecord(charges.path_to("charge"), "no PRODUCT charge named ItemPrice (the line's price)")
        self.number = number
        self.quantity = quantity
        self.cancelled = by_status[CANCELLED]
        self.shipped = by_status[SHIPPED] + by_status[DELIVERED]
        self.delivered = by_status[DELIVERED]
        self.intent_to_cancel = f.str("intentToCancel", max_len=8) in ("Y", "y", "true")
        self.status_date = epoch_ms(f, "statusDate")
        self.shipping, self.shipping_discount, self.fees = shipping, shipping_discount, fees
        # ItemPrice is for all the line's units; orderhub keeps the unit price (four decimals)
        unit = (price_total / quantity).quantize(UNIT, ROUND_HALF_UP) if quantity else price_total
        current = quantity - self.cancelled
        self.item = LineItem(
            shopify_id=number, title=item.str("productName", max_len=500) or item.str("sku") or number,
            sku=item.str("sku") or None, quantity=quantity, current_quantity=current,
            fulfillable_quantity=max(0, current - self.shipped),
            fulfillment_status=_fulfilment(self.shipped, current), price=unit, total_discount=discount, tax=tax)


def _fulfilment(shipped: int, wanted: int) -> str | None:
    if shipped <= 0:
        return None
    return "fulfilled" if shipped >= wanted else "partial"


def _address(shipping: Fields | None) -> tuple[Address | None, str | None]:
    if shipping is None:
        return None, None
    phone = shipping.str("phone", max_len=64)
    postal = shipping.obj("postalAddress")
    if postal is None:
        return None, phone
    name = postal.str("name", max_len=255)
    first, _, last = (name or "").strip().partition(" ")
    country = postal.str("country", max_len=64)
    return Address(name=name, first_name=first or None, last_name=last.strip() or None,
                   address1=postal.str("address1"), address2=postal.str("address2"), city=postal.str("city"),
                   province=postal.str("state"), province_code=postal.str("state", max_len=16),
                   zip=postal.str("postalCode", max_len=32), country=country, country_code=_country_code(country),
                   phone=phone), phone


def _country_code(country: str | None) -> str | None:
    """Walmart writes ``USA`` (alpha-3); orderhub keeps ISO alpha-2."""
    if not country:
        return None
    text = country.strip()
    found = (pycountry.countries.get(alpha_3=text.upper()) if len(text) == 3 else
             pycountry.countries.get(alpha_2=text.upper()) if len(text) == 2 else None)
    return found.alpha_2 if found is not None else None


def order(payload: Any) -> Order:
    """The canonical order one Walmart order body stands for; InvalidRecord names the field it cannot read."""
    f = Fields(unwrap(payload))
    po = f.str("purchaseOrderId", required=True, max_len=64)
    assert po is not None
    created_at = epoch_ms(f, "orderDate", required=True)
    assert created_at is not None
    money = _Money()
    lines = [_Line(lf, money) for lf in _lines(f)]
    items = tuple(line.item for line in lines)
    updated_at = max([created_at, *(ln.status_date for ln in lines if ln.status_date is not None)])
    shipping_info = f.obj("shippingInfo")
    address, phone = _address(shipping_info)
    customer_order = f.str("customerOrderId", max_len=64)
    customer = Customer(shopify_id=f"order:{customer_order or po}", email=None,
                        first_name=address.first_name if address else None,
                        last_name=address.last_name if address else None, phone=phone)
    shipping = sum((ln.shipping for ln in lines), Decimal("0"))
    shipping_discount = sum((ln.shipping_discount for ln in lines), Decimal("0"))
    method = shipping_info.str("methodCode", max_len=64) if shipping_info is not None else None
    shipping_lines = (ShippingLine(shopify_id=f"{po}-shipping", title=method or "Shipping", code=method,
                                   price=shipping, discounted_price=shipping - shipping_discount),) \
        if shipping or shipping_discount else ()
    lines_total = sum((i.price * i.quantity for i in items), Decimal("0"))
    line_discounts = sum((i.total_discount for i in items), Decimal("0"))
    subtotal = lines_total - line_discounts
    total_tax = sum((i.tax for i in items), Decimal("0"))
    fees = sum((ln.fees for ln in lines), Decimal("0"))
    wanted = sum(i.current_quantity or 0 for i in items)
    shipped = sum(min(ln.shipped, ln.quantity - ln.cancelled) for ln in lines)
    all_cancelled = wanted == 0
    reasons = [r for ln in lines for r in ln.cancel_reasons]
    # The schema's ShipNodesType is an object; the published released-orders example sends [] instead.
    node = f.data.get("shipNode")
    ship_node_type = Fields(node, "shipNode").str("type", max_len=32) if isinstance(node, dict) else None
    return Order(
        shopify_id=po, name=customer_order or po, number=customer_order, email=f.str("customerEmailId", max_len=320),
        customer=customer, currency=money.currency or "USD", created_at=created_at, updated_at=updated_at,
        financial_status="paid", fulfillment_status=None if all_cancelled else _fulfilment(shipped, wanted),
        subtotal_price=subtotal, total_discounts=line_discounts + shipping_discount, total_tax=total_tax,
        total_shipping=shipping - shipping_discount, total_price=subtotal + shipping - shipping_discount + total_tax
        + fees, total_additional_fees=fees, total_line_items_price=lines_total, items=items,
        tags=(INTENT_TO_CANCEL_TAG,) if any(ln.intent_to_cancel for ln in lines) else (),
        cancelled_at=updated_at if all_cancelled else None,
        cancel_reason=CANCEL_REASONS.get(reasons[-1], "other") if all_cancelled and reasons else
        ("other" if all_cancelled else None),
        shipping_address=address, shipping_lines=shipping_lines, source_name=KIND, channel=KIND,
        fulfilled_by="channel" if ship_node_type == WFS else None,
        ship_by=epoch_ms(shipping_info, "estimatedShipDate") if shipping_info is not None else None,
        deliver_by=epoch_ms(shipping_info, "estimatedDeliveryDate") if shipping_info is not None else None,
    )

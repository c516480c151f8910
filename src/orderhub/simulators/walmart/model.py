"""Orders as the simulator keeps them, and their rendering in Walmart's ``Order`` shape.

The rendered shape follows ``GetOrderResponseRecord`` of Walmart's published Orders OpenAPI
(``samples/schemas.orders.json``): ``orderDate``/``statusDate``/``estimated*Date``/
``shipDateTime`` are epoch milliseconds, money is ``{"currency", "amount"}`` with a JSON
number, quantities are ``{"unitOfMeasurement": "EACH", "amount": "2"}`` with a string. A
line's ``orderLineStatuses`` splits its quantity by status (e.g. 2 Shipped + 1 Cancelled).
A line's PRODUCT ``ItemPrice`` charge is the line's total (unit price x quantity); a
promotion is a second PRODUCT charge named ``SubscriptionDiscount`` with a negative amount
(the only discount the published ``chargeName`` documentation names).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

CREATED, ACKNOWLEDGED, SHIPPED, DELIVERED, CANCELLED = "Created", "Acknowledged", "Shipped", "Delivered", "Cancelled"
SELLER_FULFILLED, WFS_FULFILLED = "SellerFulfilled", "WFSFulfilled"
CENT = Decimal("0.01")


def money(amount: Decimal, currency: str) -> dict[str, Any]:
    return {"currency": currency, "amount": float(amount.quantize(CENT))}


def quantity(amount: int) -> dict[str, str]:
    return {"unitOfMeasurement": "EACH", "amount": str(amount)}


@dataclass
class StatusEntry:
    status: str
    quantity: int
    cancellation_reason: str | None = None
    tracking: dict[str, Any] | None = None
    return_center: dict[str, Any] | None = None

    def render(self) -> dict[str, Any]:
        out: dict[str, Any] = {"status": self.status, "statusQuantity": quantity(self.quantity)}
        if self.cancellation_reason:
            out["cancellationReason"] = self.cancellation_reason
        if self.tracking:
            out["trackingInfo"] = self.tracking
        if self.return_center:
            out["returnCenterAddress"] = self.return_center
        return out


@dataclass
class Line:
    number: str
    sku: str
    product_name: str
    quantity: int
    unit_price: Decimal
    tax: Decimal = Decimal("0")
    shipping: Decimal = Decimal("0")
    discount: Decimal = Decimal("0")  # positive; rendered as a negative SubscriptionDiscount charge
    statuses: list[StatusEntry] = field(default_factory=list)
    status_date: int = 0
    fulfillment_option: str = "S2H"
    ship_method: str = "STANDARD"
    intent_to_cancel: bool = False
    refunds: list[dict[str, Any]] = field(default_factory=list)
    seller_order_id: str | None = None

    def qty(self, status: str) -> int:
        return sum(e.quantity for e in self.statuses if e.status == status)

    def take(self, status: str, amount: int) -> None:
        """Remove ``amount`` from the entries in ``status`` (the caller checked there is that much)."""
        for entry in self.statuses:
            if entry.status == status and amount:
                used = min(entry.quantity, amount)
                entry.quantity -= used
                amount -= used
        self.statuses = [e for e in self.statuses if e.quantity > 0]

    def add(self, entry: StatusEntry) -> None:
        for existing in self.statuses:  # plain statuses merge; shipments keep their own tracking
            if (existing.status == entry.status and existing.tracking is None and entry.tracking is None
                    and existing.cancellation_reason == entry.cancellation_reason):
                existing.quantity += entry.quantity
                return
        self.statuses.append(entry)

    def render(self, currency: str) -> dict[str, Any]:
        product: dict[str, Any] = {"chargeType": "PRODUCT", "chargeName": "ItemPrice",
                                   "chargeAmount": money(self.unit_price * self.quantity, currency)}
        if self.tax:
            product["tax"] = {"taxName": "Tax1", "taxAmount": money(self.tax, currency)}
        charges = [product]
        if self.discount:
            charges.append({"chargeType": "PRODUCT", "chargeName": "SubscriptionDiscount",
                            "chargeAmount": money(-self.discount, currency)})
        if self.shipping:
            charges.append({"chargeType": "SHIPPING", "chargeName": "Shipping",
                            "chargeAmount": money(self.shipping, currency)})
        out: dict[str, Any] = {
            "lineNumber": self.number,
            "item": {"productName": self.product_name, "sku": self.sku},
            "charges": {"charge": charges},
            "orderLineQuantity": quantity(self.quantity),
            "statusDate": self.status_date,
            "orderLineStatuses": {"orderLineStatus": [e.render() for e in self.statuses]},
            "fulfillment": {"fulfillmentOption": self.fulfillment_option, "shipMethod": self.ship_method},
        }
        if self.intent_to_cancel:
            out["intentToCancel"] = "Y"
        if self.seller_order_id:
            out["sellerOrderId"] = self.seller_order_id
        if self.refunds:
            charges_refunded = [c for r in self.refunds for c in r["refundCharges"]["refundCharge"]]
            last = self.refunds[-1]
            refund: dict[str, Any] = {"refundId": last["refundId"], "refundCharges": {"refundCharge": charges_refunded}}
            if last.get("refundComments"):
                refund["refundComments"] = last["refundComments"]
            out["refund"] = refund
        return out


@dataclass
class Order:
    seller: str  # the client id of the seller account it belongs to
    purchase_order_id: str
    customer_order_id: str
    customer_email_id: str
    order_date: int
    shipping: dict[str, Any]
    lines: list[Line]
    currency: str = "USD"
    ship_node_type: str = SELLER_FULFILLED
    ship_node: dict[str, str] | None = None
    is_guest: bool | None = None
    released_at: int = 0
    acknowledged_at: int | None = None
    last_modified: int = 0

    def line(self, number: str) -> Line | None:
        return next((ln for ln in self.lines if ln.number == number), None)

    def has_status(self, status: str) -> bool:
        return any(ln.qty(status) > 0 for ln in self.lines)

    def expected_ship_date(self) -> int:
        return int(self.shipping["estimatedShipDate"])

    def render(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "purchaseOrderId": self.purchase_order_id,
            "customerOrderId": self.customer_order_id,
            "customerEmailId": self.customer_email_id,
            "orderDate": self.order_date,
            "shippingInfo": self.shipping,
            "orderLines": {"orderLine": [ln.render(self.currency) for ln in self.lines]},
        }
        if self.is_guest is not None:
            out["isGuest"] = self.is_guest
        out["shipNode"] = dict(self.ship_node or {"type": self.ship_node_type})
        return out

SHIP_NODE_TYPES_CONTROL = (SELLER_FULFILLED, WFS_FULFILLED)

"""Orders as the simulator keeps them, and how the Orders API v0 shows them.

Field names, status values and types follow ``samples/orders_v0_definitions.json``
(``Order``, ``OrderItem``, ``Money``: ``Amount`` is a string). Buyer data (``BuyerInfo``,
the name, street and phone of ``ShippingAddress``, gift messages) is restricted: it is shown
only to a request made with a restricted data token that names it; otherwise the address
carries only its non-personal parts (city, region, postal code, country), as Amazon answers.
Orders can also have no buyer data at all (a pending order, a buyer Amazon withholds), which
a client must take as normal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from orderhub.simulators.amazon.clock import iso

STATUSES = ("Pending", "Unshipped", "PartiallyShipped", "Shipped", "Canceled", "Unfulfillable",
            "InvoiceUnconfirmed", "PendingAvailability")
CHANNELS = ("MFN", "AFN")
PUBLIC_ADDRESS_FIELDS = ("City", "StateOrRegion", "PostalCode", "CountryCode")
CENT = Decimal("0.01")


def money(amount: Decimal, currency: str) -> dict[str, str]:
    """``Money``: the amount as a string with two decimals (JPY has none)."""
    places = Decimal("1") if currency == "JPY" else CENT
    return {"CurrencyCode": currency, "Amount": str(amount.quantize(places))}


@dataclass
class Item:
    order_item_id: str
    seller_sku: str
    asin: str
    title: str
    quantity_ordered: int
    item_price: Decimal  # for the whole line (unit price x quantity), as Amazon reports ItemPrice
    item_tax: Decimal = Decimal("0")
    shipping_price: Decimal = Decimal("0")
    promotion_discount: Decimal = Decimal("0")
    promotion_ids: list[str] = field(default_factory=list)
    quantity_shipped: int = 0
    is_gift: bool = False
    gift_message: str | None = None
    gift_wrap_level: str | None = None
    gift_wrap_price: Decimal | None = None
    buyer_cancel_reason: str | None = None  # set when the buyer asked to cancel
    # Units the seller cancelled by an order acknowledgement feed, and its CancelReason (order_feeds.py)
    quantity_cancelled: int = 0
    cancel_reason: str | None = None
    # Refunds taken from order adjustment feeds: {"adjustment_id", "reason", "components": {type: amount}, ...}
    refunds: list[dict[str, Any]] = field(default_factory=list)

    @property
    def quantity(self) -> int:
        """The units the order still holds: ordered, less those the seller cancelled."""
        return self.quantity_ordered - self.quantity_cancelled

    @property
    def unshipped(self) -> int:
        return self.quantity - self.quantity_shipped

    def share(self, amount: Decimal) -> Decimal:
        """A line amount (given for every unit ordered) for the units the order still holds."""
        if not self.quantity_cancelled or not self.quantity_ordered:
            return amount
        return amount * self.quantity / self.quantity_ordered


@dataclass
class Order:
    amazon_order_id: str
    seller_id: str
    marketplace_id: str
    currency: str
    purchase_date: datetime
    last_update_date: datetime
    status: str
    fulfillment_channel: str
    items: list[Item]
    earliest_ship_date: datetime
    latest_ship_date: datetime
    earliest_delivery_date: datetime
    latest_delivery_date: datetime
    sales_channel: str = "Amazon.com"
    ship_service_level: str = "Std US D2D Dom"
    shipment_service_level_category: str = "Standard"
    order_type: str = "StandardOrder"
    payment_method: str = "Other"
    is_prime: bool = False
    is_business_order: bool = False
    seller_order_id: str | None = None
    buyer: dict[str, str] | None = None  # BuyerInfo: BuyerEmail, BuyerName
    shipping_address: dict[str, str] | None = None  # Address
    cancel_reason: str | None = None
    version: int = 1

    def total(self) -> Decimal:
        return sum((i.share(i.item_price + i.item_tax + i.shipping_price - i.promotion_discount
                            + (i.gift_wrap_price or Decimal("0"))) for i in self.items), Decimal("0"))

    def item(self, order_item_id: str) -> Item | None:
        return next((i for i in self.items if i.order_item_id == order_item_id), None)


def render_order(order: Order, *, restricted: frozenset[str] = frozenset()) -> dict[str, Any]:
    """The model's ``Order``. ``restricted`` names the data elements the request's token unlocks
    (``buyerInfo``, ``shippingAddress``)."""
    shipped = sum(i.quantity_shipped for i in order.items)
    unshipped = sum(i.unshipped for i in order.items) if order.status != "Canceled" else 0
    out: dict[str, Any] = {
        "AmazonOrderId": order.amazon_order_id,
        "PurchaseDate": iso(order.purchase_date),
        "LastUpdateDate": iso(order.last_update_date),
        "OrderStatus": order.status,
        "FulfillmentChannel": order.fulfillment_channel,
        "SalesChannel": order.sales_channel,
        "ShipServiceLevel": order.ship_service_level,
        "NumberOfItemsShipped": shipped,
        "NumberOfItemsUnshipped": unshipped,
        "PaymentMethod": order.payment_method,
        "PaymentMethodDetails": ["Standard"],
        "MarketplaceId": order.marketplace_id,
        "ShipmentServiceLevelCategory": order.shipment_service_level_category,
        "OrderType": order.order_type,
        "EarliestShipDate": iso(order.earliest_ship_date),
        "LatestShipDate": iso(order.latest_ship_date),
        "EarliestDeliveryDate": iso(order.earliest_delivery_date),
        "LatestDeliveryDate": iso(order.latest_delivery_date),
        "IsBusinessOrder": order.is_business_order,
        "IsPrime": order.is_prime,
        "IsPremiumOrder": False,
        "IsGlobalExpressEnabled": False,
        "IsReplacementOrder": False,
        "IsSoldByAB": False,
        "IsISPU": False,
        "IsAccessPointOrder": False,
    }
    if order.status not in ("Pending", "PendingAvailability", "Canceled") or order.total() > 0:
        out["OrderTotal"] = money(order.total(), order.currency)
    if order.seller_order_id:
        out["SellerOrderId"] = order.seller_order_id
    address = render_address(order, restricted)
    if address is not None:
        out["ShippingAddress"] = address
    if "buyerInfo" in restricted and order.buyer:
        out["BuyerInfo"] = dict(order.buyer)
    return out


def render_address(order: Order, restricted: frozenset[str]) -> dict[str, str] | None:
    if order.shipping_address is None:
        return None
    if "shippingAddress" in restricted:
        return dict(order.shipping_address)
    return {k: v for k, v in order.shipping_address.items() if k in PUBLIC_ADDRESS_FIELDS}


def render_item(item: Item, currency: str, *, restricted: frozenset[str] = frozenset()) -> dict[str, Any]:
    """The model's ``OrderItem``; ``IsGift`` is a string ("true"/"false") in the model."""
    out: dict[str, Any] = {
        "ASIN": item.asin,
        "SellerSKU": item.seller_sku,
        "OrderItemId": item.order_item_id,
        "Title": item.title,
        "QuantityOrdered": item.quantity,
        "QuantityShipped": item.quantity_shipped,
        "ProductInfo": {"NumberOfItems": "1"},
        "ItemPrice": money(item.share(item.item_price), currency),
        "ItemTax": money(item.share(item.item_tax), currency),
        "ShippingPrice": money(item.share(item.shipping_price), currency),
        "PromotionDiscount": money(item.share(item.promotion_discount), currency),
        "IsGift": "true" if item.is_gift else "false",
        "ConditionId": "New",
        "ConditionSubtypeId": "New",
        "IsTransparency": False,
        "SerialNumberRequired": False,
    }
    if item.promotion_ids:
        out["PromotionIds"] = list(item.promotion_ids)
    if item.buyer_cancel_reason is not None:
        out["BuyerRequestedCancel"] = {"IsBuyerRequestedCancel": "true", "BuyerCancelReason": item.buyer_cancel_reason}
    if "buyerInfo" in restricted and item.is_gift:
        out["BuyerInfo"] = render_item_buyer_info(item, currency)
    return out


def render_item_buyer_info(item: Item, currency: str) -> dict[str, Any]:
    """``ItemBuyerInfo``: gift wrap and gift message, restricted data."""
    info: dict[str, Any] = {}
    if item.gift_wrap_price is not None:
        info["GiftWrapPrice"] = money(item.gift_wrap_price, currency)
        info["GiftWrapTax"] = money(Decimal("0"), currency)
    if item.gift_message:
        info["GiftMessageText"] = item.gift_message
    if item.gift_wrap_level:
        info["GiftWrapLevel"] = item.gift_wrap_level
    return info

"""The records a simulated shop keeps: orders (one line item per unit, as TikTok lists them),
packages, cancellations, products with per-warehouse stock, and warehouses."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

ORDER_STATUSES = ("UNPAID", "ON_HOLD", "AWAITING_SHIPMENT", "PARTIALLY_SHIPPING", "AWAITING_COLLECTION",
                  "IN_TRANSIT", "DELIVERED", "COMPLETED", "CANCELLED")
FULFILLMENT_TYPES = ("FULFILLMENT_BY_SELLER", "FULFILLMENT_BY_TIKTOK")
RETURN_TYPES = ("REFUND", "RETURN_AND_REFUND")  # what a seller may create (Create Return)
RETURN_STATUSES = ("RETURN_OR_REFUND_REQUEST_PENDING", "REFUND_OR_RETURN_REQUEST_REJECT", "AWAITING_BUYER_SHIP",
                   "BUYER_SHIPPED_ITEM", "REJECT_RECEIVE_PACKAGE", "RETURN_OR_REFUND_REQUEST_SUCCESS",
                   "RETURN_OR_REFUND_REQUEST_CANCEL", "RETURN_OR_REFUND_REQUEST_COMPLETE")
RETURN_CLOSED = ("REFUND_OR_RETURN_REQUEST_REJECT", "RETURN_OR_REFUND_REQUEST_CANCEL")  # its items may go again
CANCEL_STATUSES = ("CANCELLATION_REQUEST_PENDING", "CANCELLATION_REQUEST_SUCCESS", "CANCELLATION_REQUEST_CANCEL",
                   "CANCELLATION_REQUEST_COMPLETE")


def money(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.01'))}"


@dataclass
class LineItem:
    id: str
    sku_id: str
    product_id: str
    seller_sku: str
    product_name: str
    sku_name: str
    original_price: Decimal
    sale_price: Decimal
    seller_discount: Decimal = Decimal("0")
    platform_discount: Decimal = Decimal("0")
    is_gift: bool = False
    package_id: str | None = None
    display_status: str = "UNPAID"
    cancel_reason: str | None = None
    cancel_user: str | None = None


@dataclass
class Package:
    id: str
    line_item_ids: list[str]
    status: str = "TO_FULFILL"  # TO_FULFILL, PROCESSING, FULFILLING, COMPLETED, CANCELLED
    tracking_number: str | None = None
    shipping_provider_id: str | None = None
    shipping_provider_name: str | None = None
    rts_time: int | None = None


@dataclass
class Order:
    id: str
    shop_id: str
    status: str
    create_time: int
    update_time: int
    currency: str
    line_items: list[LineItem]
    recipient: dict[str, Any] | None
    buyer_email: str | None
    user_id: str
    warehouse_id: str
    fulfillment_type: str = "FULFILLMENT_BY_SELLER"
    shipping_fee: Decimal = Decimal("0")
    shipping_fee_seller_discount: Decimal = Decimal("0")
    tax: Decimal = Decimal("0")
    buyer_message: str = ""
    paid_time: int | None = None
    packages: list[Package] = field(default_factory=list)
    cancel_reason: str | None = None
    cancellation_initiator: str | None = None
    cancel_time: int | None = None
    is_buyer_request_cancel: bool = False
    request_cancel_time: int | None = None
    collection_time: int | None = None
    delivery_time: int | None = None
    payment_method_name: str = "Credit card"

    def live_items(self) -> list[LineItem]:
        return [item for item in self.line_items if item.display_status != "CANCELLED"]

    def item(self, line_item_id: str) -> LineItem | None:
        return next((i for i in self.line_items if i.id == line_item_id), None)

    def package(self, package_id: str) -> Package | None:
        return next((p for p in self.packages if p.id == package_id), None)


@dataclass
class Cancellation:
    id: str
    order_id: str
    shop_id: str
    role: str  # BUYER, SELLER, SYSTEM
    cancel_type: str  # CANCEL (before shipment)
    status: str
    reason: str
    line_item_ids: list[str]
    create_time: int
    update_time: int
    reject_reason: str | None = None


@dataclass
class Return:
    """An after-sales request: here the seller's own (Create Return), refunding ``refund_total`` for its items."""

    id: str
    order_id: str
    shop_id: str
    role: str  # SELLER (the buyer's requests are not simulated)
    return_type: str
    status: str
    reason: str
    line_item_ids: list[str]
    refund_total: Decimal
    currency: str
    create_time: int
    update_time: int
    shipment_type: str | None = None
    handover_method: str | None = None


@dataclass
class Sku:
    id: str
    seller_sku: str
    name: str
    price: Decimal
    inventory: dict[str, int]  # warehouse_id -> quantity


@dataclass
class Product:
    id: str
    shop_id: str
    title: str
    skus: list[Sku]
    create_time: int
    update_time: int

    def sku(self, sku_id: str) -> Sku | None:
        return next((s for s in self.skus if s.id == sku_id), None)


@dataclass
class Warehouse:
    id: str
    name: str
    type: str = "SALES_WAREHOUSE"
    is_default: bool = False

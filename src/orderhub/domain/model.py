"""The canonical model orderhub stores, whatever channel a record came from.

Plain dataclasses: no I/O, no SQLAlchemy, no HTTP. Money is ``Decimal``; times
are aware UTC ``datetime``; identifiers from outside systems are strings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from orderhub.domain.sales_channels import ChannelInformation, classify


class Freshness(str, Enum):
    """How an incoming version compares with the one stored."""

    NEW = "new"  # nothing stored yet
    NEWER = "newer"  # replaces what is stored
    SAME = "same"  # already stored: applying again changes nothing
    STALE = "stale"  # older than what is stored: recorded, never applied


def freshness(stored: datetime | None, incoming: datetime) -> Freshness:
    """Shopify does not deliver in order; ``updated_at`` decides which version wins."""
    if stored is None:
        return Freshness.NEW
    if incoming > stored:
        return Freshness.NEWER
    if incoming == stored:
        return Freshness.SAME
    return Freshness.STALE


@dataclass(frozen=True)
class Address:
    name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    company: str | None = None
    address1: str | None = None
    address2: str | None = None
    city: str | None = None
    province: str | None = None
    province_code: str | None = None
    zip: str | None = None
    country: str | None = None
    country_code: str | None = None
    phone: str | None = None
    latitude: float | None = None
    longitude: float | None = None


@dataclass(frozen=True)
class Customer:
    """How one channel account knows a person (its id there: ``shopify_id`` for every channel)."""

    shopify_id: str
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    loyalty_id: str | None = None  # the retailer's loyalty programme's id of the person, when the channel knows it


@dataclass(frozen=True)
class DiscountAllocation:
    """The part of one discount application that fell on a line or a shipping line (shop currency)."""

    amount: Decimal
    application_index: int | None = None


@dataclass(frozen=True)
class DiscountApplication:
    """A discount as the customer saw it: a code, an automatic discount, a manual (staff or POS) one, or a
    script. ``index`` is its place in the order's list, which allocations point at."""

    index: int
    type: str  # discount_code | automatic | manual | script
    value: Decimal  # a percentage (``value_type`` percentage) or an amount in the order's currency
    value_type: str  # percentage | fixed_amount
    target_type: str  # line_item | shipping_line
    target_selection: str | None = None  # all | entitled | explicit
    allocation_method: str | None = None  # across | each | one
    code: str | None = None
    title: str | None = None
    description: str | None = None


@dataclass(frozen=True)
class LineItem:
    shopify_id: str
    title: str
    quantity: int
    price: Decimal
    sku: str | None = None
    variant_title: str | None = None
    product_id: str | None = None
    variant_id: str | None = None
    current_quantity: int | None = None
    fulfillable_quantity: int = 0
    fulfillment_status: str | None = None
    total_discount: Decimal = Decimal("0")  # the sum of its discount allocations, whatever discount they came from
    tax: Decimal = Decimal("0")
    requires_shipping: bool = True
    discount_allocations: tuple[DiscountAllocation, ...] = ()


@dataclass(frozen=True)
class ShippingLine:
    shopify_id: str
    title: str
    price: Decimal
    discounted_price: Decimal  # what the customer pays for it: price less its discount allocations
    code: str | None = None
    discount_allocations: tuple[DiscountAllocation, ...] = ()

    @property
    def discount(self) -> Decimal:
        return self.price - self.discounted_price


class OrderStatus(str, Enum):
    OPEN = "open"
    CANCELLED = "cancelled"
    CLOSED = "closed"


@dataclass(frozen=True)
class Order:
    shopify_id: str
    currency: str
    created_at: datetime
    updated_at: datetime
    subtotal_price: Decimal
    total_discounts: Decimal
    total_tax: Decimal
    total_shipping: Decimal
    total_price: Decimal
    items: tuple[LineItem, ...]
    name: str | None = None
    number: str | None = None
    email: str | None = None
    customer: Customer | None = None
    financial_status: str | None = None
    fulfillment_status: str | None = None
    tags: tuple[str, ...] = ()
    note: str | None = None
    cancel_reason: str | None = None
    cancelled_at: datetime | None = None
    closed_at: datetime | None = None
    shipping_address: Address | None = None
    billing_address: Address | None = None
    shipping_lines: tuple[ShippingLine, ...] = ()
    source_name: str | None = None  # where it was sold: web, pos (a store's POS), shopify_draft_order ...
    discount_applications: tuple[DiscountApplication, ...] = ()
    taxes_included: bool = False  # line prices (and so the subtotal) already contain the tax
    total_line_items_price: Decimal | None = None  # the lines' prices times quantities, before any discount
    total_tip: Decimal = Decimal("0")
    total_duties: Decimal = Decimal("0")  # import duties charged on top of the prices
    total_additional_fees: Decimal = Decimal("0")
    presentment_currency: str | None = None  # the currency the customer paid in, when not the shop's
    presentment_total_price: Decimal | None = None
    refunds: tuple["Refund", ...] = ()  # refunds the order's own body reports (orders/updated, orders/cancelled)
    # "channel" when the channel ships the order from its own stock (Amazon AFN/FBA, Walmart WFS, TikTok FBT):
    # recorded for customers and revenue, never reserved or brokered from the retailer's facilities.
    fulfilled_by: str | None = None
    ship_by: datetime | None = None  # the channel's promise: ship no later than, deliver no later than
    deliver_by: datetime | None = None
    channel_information: ChannelInformation | None = None  # Shopify's sales channel, when read through its API
    # orderhub's channel of the order (domain/sales_channels.py): a marketplace's translator gives its kind,
    # the shop's source-name mapping gives the operator's code; left empty, it is worked out from
    # source_name and channel_information (``dataclasses.replace`` keeps it: pass channel="" to work it out
    # again).
    channel: str = ""
    # Pickup in store: the channel's reference of the location the customer collects at (a Shopify location
    # id), and its name as the channel gives it; None when the order is delivered.
    pickup_location: str | None = None
    pickup_location_name: str | None = None
    customer_locale: str | None = None  # the language the customer bought in (e.g. "fr", "de-CH")
    # Taken at a store's counter (``fulfilled_by`` "store"): the channel's reference of that store's location
    # and its name (a Shopify POS sale's location); orderhub's own POS sales name the facility code.
    sold_at_location: str | None = None
    sold_at_location_name: str | None = None

    def __post_init__(self) -> None:
        if not self.channel:
            object.__setattr__(self, "channel", classify(self.source_name, self.channel_information))

    @property
    def line_discounts(self) -> Decimal:
        return sum((i.total_discount for i in self.items), Decimal("0"))

    @property
    def shipping_discounts(self) -> Decimal:
        return sum((s.discount for s in self.shipping_lines), Decimal("0"))

    def allocated(self, index: int) -> Decimal:
        """How much of discount application ``index`` fell on the lines and the shipping lines."""
        lines = [*self.items, *self.shipping_lines]
        return sum((a.amount for line in lines for a in line.discount_allocations if a.application_index == index),
                   Decimal("0"))

    @property
    def status(self) -> OrderStatus:
        if self.cancelled_at is not None:
            return OrderStatus.CANCELLED
        if self.closed_at is not None:
            return OrderStatus.CLOSED
        return OrderStatus.OPEN


@dataclass(frozen=True)
class RefundLine:
    line_item_id: str
    quantity: int
    subtotal: Decimal
    restock_type: str | None = None


@dataclass(frozen=True)
class Refund:
    shopify_id: str
    order_id: str
    created_at: datetime
    amount: Decimal
    currency: str | None
    lines: tuple[RefundLine, ...] = ()
    note: str | None = None
    adjustments: tuple["RefundAdjustment", ...] = ()
    # Where ``created_at`` came from: the refund's own created_at, its processed_at, its first transaction,
    # or (Shopify's test notification has none) the time the notification was sent.
    time_source: str = "created_at"
    # orderhub's return (``return-<id>``) this refund was made for, when orderhub made it on the channel (the
    # refund of a return recorded in orderhub): it returns nothing again.
    return_ref: str | None = None


@dataclass(frozen=True)
class RefundAdjustment:
    """An order adjustment made by a refund: a shipping refund, or a refund discrepancy."""

    kind: str
    amount: Decimal
    tax: Decimal = Decimal("0")
    reason: str | None = None


@dataclass(frozen=True)
class LineDelta:
    line_item_id: str
    delta: int


@dataclass(frozen=True)
class OrderEdit:
    """An ``orders/edited`` change: quantity deltas on existing lines."""

    shopify_id: str
    order_id: str
    created_at: datetime
    additions: tuple[LineDelta, ...] = ()
    removals: tuple[LineDelta, ...] = ()

    def quantity_changes(self) -> dict[str, int]:
        changes: dict[str, int] = {}
        for d in self.additions:
            changes[d.line_item_id] = changes.get(d.line_item_id, 0) + d.delta
        for d in self.removals:
            changes[d.line_item_id] = changes.get(d.line_item_id, 0) - d.delta
        return changes


@dataclass(frozen=True)
class Variant:
    shopify_id: str
    sku: str | None = None
    title: str | None = None
    price: Decimal | None = None
    barcode: str | None = None
    inventory_item_id: str | None = None


@dataclass(frozen=True)
class Product:
    shopify_id: str
    updated_at: datetime
    title: str | None = None
    handle: str | None = None
    vendor: str | None = None
    product_type: str | None = None
    status: str | None = None
    tags: tuple[str, ...] = ()
    variants: tuple[Variant, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class ProductDeletion:
    shopify_id: str
    deleted_at: datetime


@dataclass(frozen=True)
class InventoryLevel:
    inventory_item_id: str
    location_id: str
    available: int | None
    updated_at: datetime


@dataclass(frozen=True)
class Transaction:
    """A payment transaction on an order (authorization, capture, sale, refund, void)."""

    shopify_id: str
    order_id: str
    kind: str
    status: str
    amount: Decimal
    currency: str | None
    gateway: str | None
    created_at: datetime


@dataclass(frozen=True)
class CustomerRedaction:
    customer_id: str | None
    email: str | None
    order_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class CustomerDataRequest:
    request_id: str | None
    customer_id: str | None
    email: str | None
    order_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class ShopRedaction:
    shop_domain: str


@dataclass(frozen=True)
class AppUninstalled:
    shop_domain: str


@dataclass(frozen=True)
class JobSignal:
    """A channel's word to a job that waits for it (e.g. Shopify's bulk operation finished): kept under
    ``job`` and ``key`` for the job to read; the job still decides what it means."""

    job: str
    key: str
    value: dict[str, Any]
    run: str | None = None  # the job to start at once on it (queued unless a run of it is already waiting)

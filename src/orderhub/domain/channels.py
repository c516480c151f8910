"""What the pipeline needs of a sales channel: its records, read as orderhub's canonical ones.

Every channel (Shopify, a marketplace, a social shop, a store's POS) stores what it sends in the inbox
under a topic of its own. Its :class:`Translator` turns one record into one canonical record, and the
processor applies that by its type alone: no part of the pipeline asks which channel a record came from.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol, runtime_checkable

from orderhub.domain.customers import CustomerUpdate
from orderhub.domain.model import (
    AppUninstalled,
    CustomerDataRequest,
    CustomerRedaction,
    InventoryLevel,
    JobSignal,
    Order,
    OrderEdit,
    Product,
    ProductDeletion,
    Refund,
    ShopRedaction,
    Transaction,
)
from orderhub.domain.store_sales import StoreSale

# What one inbox record can say, in orderhub's terms.
Inbound = (Order | OrderEdit | Refund | Transaction | Product | ProductDeletion | InventoryLevel | CustomerRedaction
           | CustomerDataRequest | ShopRedaction | AppUninstalled | JobSignal | StoreSale | CustomerUpdate)


class UnknownTopic(LookupError):
    """A topic the channel's translator does not read (its intake should not have stored it)."""


class Translator(Protocol):
    """One channel's reading of its inbox records."""

    kind: str  # the channel: shopify, amazon, walmart, tiktok, ...

    def translate(self, topic: str, payload: Any, notified_at: datetime) -> Inbound:
        """The canonical record ``payload`` (parsed JSON) stands for. ``notified_at`` is when the
        channel sent it (else when orderhub received it), for records that carry no time of their own.
        Raises ``InvalidRecord`` naming the field when the payload cannot be read, ``UnknownTopic`` for a
        topic it does not know."""
        ...

    def describe(self, topic: str, payload: Any) -> str | None:
        """The record as a person knows it (``orders/create order #1001 (Shopify id 123)``), or None."""
        ...


# -- operations back to the channel ------------------------------------------------------------------------

@dataclass(frozen=True)
class StockUpdate:
    """The quantity one listing should show (``location`` '': the account as a whole)."""

    sku: str
    location: str
    quantity: int
    channel_ref: str | None = None  # the channel's own id of the listing, when orderhub knows it
    # Which value of the listing this is (bumped with each new one) and how often it was tried: a channel whose
    # writes take an idempotency key derives it from these, so a retry is recognised and a new value is not.
    version: int = 0
    attempts: int = 0


class ChannelUnavailable(Exception):
    """The channel could not be reached or refused the whole call (down, throttled, credentials): nothing of
    the call is known to be applied, and all of it is tried again later."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class StockChannel(Protocol):
    """How one account takes stock: a few listings by single calls, many by the channel's bulk feed; its
    own rate limits are its business."""

    def push_stock(self, updates: Sequence[StockUpdate]) -> dict[tuple[str, str], str]:
        """Send the quantities. Returns the listings the channel refused, (sku, location) -> its reason (they
        are tried again later; the others are taken). Raises ChannelUnavailable when none was taken."""
        ...


# -- what the channel shows ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class ChannelListing:
    """One SKU an account sells, as the channel lists it (``location`` '': the account as a whole)."""

    sku: str
    channel_ref: str | None  # the channel's own id of the listing (ASIN, Walmart item id, TikTok product:sku)
    location: str = ""


# A listing orderhub asks the channel about: (sku, location, channel_ref).
ListingKey = tuple[str, str, str | None]


class StockReader(Protocol):
    """What one account's channel shows, read back (the drift check compares it with what orderhub sent)."""

    def read_stock(self, listings: Sequence[ListingKey]) -> dict[tuple[str, str], int]:
        """The quantity the channel shows for each listing, (sku, location) -> quantity. A listing the channel
        does not have is left out. Raises ChannelUnavailable when the channel cannot be read."""
        ...


@runtime_checkable
class ListingReader(Protocol):
    """A channel that can say which SKUs an account sells."""

    def read_listings(self) -> Iterator[list[ChannelListing]]:
        """Every listing of the account, a page at a time. Raises ChannelUnavailable when the channel cannot
        be read."""
        ...


@dataclass(frozen=True)
class ShipmentNotice:
    """Tell the channel that lines of its order shipped."""

    order_ref: str  # the channel's order id
    lines: tuple[tuple[str, int], ...]  # (the channel's line id, quantity shipped)
    carrier: str
    tracking: str | None
    shipped_at: datetime
    reference: str  # orderhub's id of the shipment: a channel that asks for a package reference gets this


CANCEL_REASONS = ("out_of_stock", "customer_request", "fraud", "address", "other")


@dataclass(frozen=True)
class CancelNotice:
    """Tell the channel that lines of its order will not ship (``reason`` one of CANCEL_REASONS)."""

    order_ref: str
    lines: tuple[tuple[str, int], ...]
    reason: str


REFUND_REASONS = ("returned", "damaged")


@dataclass(frozen=True)
class RefundNotice:
    """Tell the channel to refund the buyer for units of its order that came back (``reason`` one of
    REFUND_REASONS: ``damaged`` when they came back unsellable)."""

    order_ref: str
    lines: tuple[tuple[str, int], ...]  # (the channel's line id, units returned)
    amount: Decimal  # what the buyer gets back, in ``currency``
    currency: str
    reason: str
    reference: str  # orderhub's id of the return (``return-<id>``): the channel's idempotency key where it has one
    line_amounts: tuple[tuple[str, Decimal], ...] = ()  # ``amount`` split over the lines (it sums to ``amount``)
    note: str | None = None  # why, in the words of whoever recorded the return

    def amount_of(self, line: str) -> Decimal:
        return next((a for ref, a in self.line_amounts if ref == line), Decimal("0"))


class ChannelRefused(Exception):
    """The channel refused the operation for good (an unknown line, an order in the wrong state): it goes to
    the error log for a person, not round again."""


class BatchCancels(Protocol):
    """An order channel that takes many orders' cancellations in one call (Amazon's acknowledgement feed): the
    sender hands it every cancellation it has for the account at once."""

    def cancel_many(self, notices: Sequence[CancelNotice]) -> list[ChannelRefused | None]:
        """Per notice: None (cancelled, now or before) or why the channel refused it. Raises
        ChannelUnavailable when none is known to be taken."""
        ...


class OrderChannel(Protocol):
    """The operations orderhub performs on one account's orders. Each raises ChannelUnavailable (try again
    later) or ChannelRefused (for a person); doing one twice must be harmless (the channel's idempotency)."""

    def acknowledge(self, order_ref: str) -> None: ...

    def confirm_shipment(self, notice: ShipmentNotice) -> None: ...

    def cancel_lines(self, notice: CancelNotice) -> None: ...

    def refund(self, notice: RefundNotice) -> None:
        """Refund the buyer. A channel with no refund through its API raises ChannelRefused saying where a
        person does it (the channel's seller portal)."""
        ...


@dataclass(frozen=True)
class ConsentNotice:
    """A person's marketing consent to set on the channel's customer ``customer_ref`` (its id there)."""

    customer_ref: str
    purpose: str  # domain/customers.py PURPOSES: those the kind holds (adapters/channels.py consent_purposes)
    state: str  # granted | pending | withdrawn | not_given
    occurred_at: datetime
    opt_in_level: str | None = None
    reference: str = ""  # what makes it one operation: a repeat must be harmless


@dataclass(frozen=True)
class ErasureNotice:
    """Ask the channel to erase its customer ``customer_ref``: orderhub erased the person."""

    customer_ref: str
    reference: str


class CustomerChannel(Protocol):
    """What orderhub tells one account about its customers. Each raises ChannelUnavailable (try again later) or
    ChannelRefused (for a person); doing one twice must be harmless."""

    def update_consent(self, notice: ConsentNotice) -> None: ...

    def request_erasure(self, notice: ErasureNotice) -> None: ...

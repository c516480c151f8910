"""What the pipeline needs of a sales channel: its records, read as orderhub's canonical ones.

Every channel (Shopify, a marketplace, a social shop, a store's POS) stores what it sends in the inbox
under a topic of its own. Its :class:`Translator` turns one record into one canonical record, and the
processor applies that by its type alone: no part of the pipeline asks which channel a record came from.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

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

# What one inbox record can say, in orderhub's terms.
Inbound = (Order | OrderEdit | Refund | Transaction | Product | ProductDeletion | InventoryLevel | CustomerRedaction
           | CustomerDataRequest | ShopRedaction | AppUninstalled | JobSignal)


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

"""What the pipeline needs of a sales channel: its records, read as orderhub's canonical ones.

Every channel (Shopify, a marketplace, a social shop, a store's POS) stores what it sends in the inbox
under a topic of its own. Its :class:`Translator` turns one record into one canonical record, and the
processor applies that by its type alone: no part of the pipeline asks which channel a record came from.
"""

from __future__ import annotations

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

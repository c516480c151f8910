"""Stock out to the channels: what each account lists, and the latest quantity orderhub wants each listing
to show. The outbox of stock is keyed by listing, so a burst of movements of one SKU is one pending value
(the latest), not a queue of every change; a value waits until its channel takes it."""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Integer, PrimaryKeyConstraint, String, Table, Text

from orderhub.adapters.store.schema.base import metadata
from orderhub.adapters.store.types import UTCDateTime

# A SKU an account sells (location '' : the account as a whole; else the channel's warehouse id).
channel_listings = Table(
    "channel_listings",
    metadata,
    Column("account_id", Integer, ForeignKey("shops.id", ondelete="CASCADE"), nullable=False),
    Column("sku", String(255), nullable=False),
    Column("location", String(100), nullable=False, server_default=""),
    Column("channel_ref", String(255)),  # the channel's own id of the listing (ASIN, product id, item id)
    Column("listed_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("account_id", "sku", "location"),
)

# The latest quantity for each listing (wanted), and what the channel last took (sent).
channel_stock = Table(
    "channel_stock",
    metadata,
    Column("account_id", Integer, ForeignKey("shops.id", ondelete="CASCADE"), nullable=False),
    Column("sku", String(255), nullable=False),
    Column("location", String(100), nullable=False, server_default=""),
    Column("wanted", Integer, nullable=False),
    Column("version", Integer, nullable=False, server_default="1"),  # bumped with each new wanted value
    Column("changed_at", UTCDateTime, nullable=False),
    Column("sent", Integer),
    Column("sent_version", Integer),
    Column("sent_at", UTCDateTime),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("available_at", UTCDateTime, nullable=False),
    Column("last_error", Text),
    PrimaryKeyConstraint("account_id", "sku", "location"),
)

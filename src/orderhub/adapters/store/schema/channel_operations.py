"""Operations orderhub owes a channel on its orders (a shipment to confirm, lines to cancel), written in the
transaction of the change that caused them and sent by the channel-operations sender."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, ForeignKey, Index, Integer, String, Table, Text, UniqueConstraint

from orderhub.adapters.store.schema.base import BigId, metadata
from orderhub.adapters.store.types import UTCDateTime

channel_operations = Table(
    "channel_operations",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("account_id", Integer, ForeignKey("shops.id", ondelete="CASCADE"), nullable=False),
    # The order it is about; None for what is about a person (their consent, their erasure: customer_id).
    Column("order_id", BigInteger, ForeignKey("orders.id", ondelete="CASCADE")),
    Column("customer_id", BigInteger),  # the identity (customers.id) a consent or erasure is sent for
    Column("kind", String(16), nullable=False),  # ship | cancel | refund | consent | erase
    Column("reference", String(100), nullable=False),  # what makes it one operation (the shipment, the units)
    Column("payload", Text, nullable=False),  # the notice, as JSON
    Column("status", String(16), nullable=False),  # pending | done | failed (in the error log)
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("available_at", UTCDateTime, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("done_at", UTCDateTime),
    Column("last_error", Text),
    UniqueConstraint("account_id", "kind", "reference"),
    Index("ix_channel_operations_due", "status", "available_at"),
)

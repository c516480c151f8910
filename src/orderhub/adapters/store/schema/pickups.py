"""Tables of pickup in store (buy online, pick up in store): one pickup per order collected at a store, and the
customer e-mails about it waiting to be sent.

The order carries the customer's choice (``orders.pickup_facility_id``); the facility may set how many days a
ready order waits (``facilities.pickup_days``, else ORDERHUB_PICKUP_DAYS)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, ForeignKey, Index, Integer, String, Table, Text, UniqueConstraint

from orderhub.adapters.store.schema.base import BigId, metadata
from orderhub.adapters.store.types import UTCDateTime

# One per order picked up in store. The verification code is never stored: only its salted scrypt hash
# (``code_hash``, with ``code_salt``), checked in constant time; wrong tries lock the pickup at a limit.
pickups = Table(
    "pickups",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("order_id", BigInteger, ForeignKey("orders.id", ondelete="CASCADE"), nullable=False),
    Column("facility_id", Integer, ForeignKey("facilities.id"), nullable=False),
    Column("status", String(16), nullable=False),  # waiting | ready | collected | expired | cancelled
    Column("ready_at", UTCDateTime),
    Column("ready_by", String(100)),
    Column("collect_by", UTCDateTime),  # ready_at + the store's (or the default) pickup days
    Column("code_salt", String(32)),  # hex
    Column("code_hash", String(128)),  # hex scrypt of the code
    Column("failed_attempts", Integer, nullable=False, server_default="0"),
    Column("locked_at", UTCDateTime),  # too many wrong codes: a manager resets it
    Column("reminded_at", UTCDateTime),
    Column("collected_at", UTCDateTime),
    Column("collected_by", String(100)),
    Column("closed_at", UTCDateTime),  # expired or cancelled
    Column("note", Text),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("order_id"),
    Index("ix_pickups_store", "facility_id", "status", "collect_by"),
)

# A customer e-mail about a pickup, written in the transaction that changed the pickup, sent by a job with
# retries. The ready e-mail carries the code: its body is kept only until it is sent.
pickup_mails = Table(
    "pickup_mails",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("pickup_id", BigInteger, ForeignKey("pickups.id", ondelete="CASCADE"), nullable=False),
    Column("order_id", BigInteger, nullable=False),
    Column("kind", String(16), nullable=False),  # ready | reminder | cancelled
    Column("recipient", String(320)),
    Column("locale", String(16), nullable=False),
    Column("subject", Text),
    Column("body_text", Text),  # cleared once sent (the ready e-mail holds the code)
    Column("body_html", Text),
    Column("status", String(16), nullable=False),  # pending | sent | failed
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("available_at", UTCDateTime, nullable=False),
    Column("last_error", Text),
    Column("created_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime),
    Index("ix_pickup_mails_pending", "status", "available_at", "id"),
)

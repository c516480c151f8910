"""Tables of stores and their POS terminals: devices enrolled per store, the one-time codes that enrol
them, the sales they synced (one row per sale, beside the order it made) and the store oversells that late
sales revealed."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, ForeignKey, Index, Integer, String, Table, Text, UniqueConstraint

from orderhub.adapters.store.schema.base import BigId, metadata
from orderhub.adapters.store.types import Money, UTCDateTime

# A terminal of one store. Its credential is stored hashed (SHA-256 of a 256-bit random token): a leaked
# table cannot sync sales.
pos_devices = Table(
    "pos_devices",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("facility_id", Integer, ForeignKey("facilities.id"), nullable=False),
    Column("name", String(100), nullable=False),
    Column("token_hash", String(64), unique=True),
    Column("status", String(16), nullable=False),  # active | revoked
    Column("version", String(64)),  # the POS software's version, as the device reports it
    Column("enrolled_at", UTCDateTime, nullable=False),
    Column("last_seen_at", UTCDateTime),  # any call with its credential
    Column("last_sync_at", UTCDateTime),  # the last batch of sales it sent
    Column("queue_length", Integer),  # sales waiting on the device, as it reported them
    Column("queue_oldest_at", UTCDateTime),  # the device's clock: when its oldest waiting sale was made
    Column("last_sequence", BigInteger),  # the highest sale sequence number received from it
    Column("sales", BigInteger, nullable=False, server_default="0"),  # sales received from it (each once)
    Column("revoked_at", UTCDateTime),
    Column("revoked_by", String(100)),
    UniqueConstraint("facility_id", "name"),
)

# A one-time code that enrols one device into one store; stored hashed, used once, expires.
pos_enrolment_codes = Table(
    "pos_enrolment_codes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("facility_id", Integer, ForeignKey("facilities.id"), nullable=False),
    Column("code_hash", String(64), nullable=False, unique=True),
    Column("created_by", String(100), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("used_at", UTCDateTime),
    Column("device_id", Integer),  # the device it enrolled
)

# One row per store sale received (whatever its outcome), for the store's day and the late-sync report.
store_sales = Table(
    "store_sales",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("inbox_id", BigInteger, nullable=False, unique=True),
    Column("facility_id", Integer, ForeignKey("facilities.id"), nullable=False),
    Column("device_id", Integer, ForeignKey("pos_devices.id")),
    Column("sale_ref", String(100), nullable=False),  # the device's id of the sale
    Column("sequence", BigInteger),
    Column("order_id", BigInteger, ForeignKey("orders.id", ondelete="SET NULL")),
    Column("device_time", UTCDateTime),  # when the device's clock says it was sold
    Column("sold_at", UTCDateTime, nullable=False),  # the time orderhub counts it at (device time, unless flagged)
    Column("recorded_at", UTCDateTime, nullable=False),  # when orderhub recorded it
    Column("delay_seconds", Integer, nullable=False, server_default="0"),  # recorded_at - device time (>= 0)
    Column("units_sold", Integer, nullable=False, server_default="0"),
    Column("units_returned", Integer, nullable=False, server_default="0"),
    Column("total", Money, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("flags", String(200), nullable=False, server_default=""),  # comma-separated: clock_future, ...
    Index("ix_store_sales_day", "facility_id", "sold_at"),
    Index("ix_store_sales_device", "device_id", "sequence"),
)

# A late store sale took a store's stock below what online orders had reserved there.
store_variances = Table(
    "store_variances",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("facility_id", Integer, ForeignKey("facilities.id"), nullable=False),
    Column("sku", String(255), nullable=False),
    Column("kind", String(16), nullable=False),  # oversell
    Column("short", Integer, nullable=False),  # units promised online that the store no longer had
    Column("on_hand_after", Integer, nullable=False),
    Column("reserved_before", Integer, nullable=False),
    Column("rebrokered", Integer, nullable=False, server_default="0"),  # units sent elsewhere
    Column("parked", Integer, nullable=False, server_default="0"),  # units waiting for stock, with the reason
    Column("store_sale_id", BigInteger),
    Column("order_id", BigInteger),  # the store sale's order
    Column("note", Text),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_store_variances_facility", "facility_id", "created_at"),
)

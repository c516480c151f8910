"""Tables of planning data retailers send as files: inventory thresholds, purchase orders, and the
files imported (so that a file is never applied twice, and a run that stopped resumes after its last row)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Date, ForeignKey, Index, Integer, String, Table, UniqueConstraint

from orderhub.adapters.store.schema.base import metadata
from orderhub.adapters.store.types import UTCDateTime

# Units a channel holds back of the products a selector matches (the most specific selector wins:
# sku, then category (the product type), then tag). Tags and categories are stored in lower case.
inventory_thresholds = Table(
    "inventory_thresholds",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("selector_kind", String(16), nullable=False),  # sku | category | tag
    Column("selector_value", String(255), nullable=False),
    Column("channel_code", String(32), ForeignKey("channels.code", ondelete="CASCADE"), nullable=False),
    Column("threshold", Integer, nullable=False),
    Column("updated_by", String(100), nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    # Named: the conventional name is longer than PostgreSQL's 63 characters.
    UniqueConstraint("selector_kind", "selector_value", "channel_code", name="uq_inventory_thresholds_selector"),
)

# Stock a supplier is to deliver to a facility: what pre-order promises are made from.
purchase_orders = Table(
    "purchase_orders",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("po_number", String(64), nullable=False, unique=True),
    Column("supplier", String(255)),
    Column("facility_id", Integer, ForeignKey("facilities.id"), nullable=False),
    Column("status", String(16), nullable=False),  # open | received | cancelled
    Column("updated_by", String(100), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

# One line per SKU of a purchase order.
purchase_order_lines = Table(
    "purchase_order_lines",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("purchase_order_id", Integer, ForeignKey("purchase_orders.id", ondelete="CASCADE"), nullable=False),
    Column("sku", String(255), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("received_quantity", Integer, nullable=False, server_default="0"),
    Column("expected_date", Date),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("purchase_order_id", "sku"),
    Index("ix_purchase_order_lines_sku", "sku"),
)

# A file a job read from SFTP, by name and content: reading (lines_done rows handled so far) or done.
imported_files = Table(
    "imported_files",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("job", String(100), nullable=False),
    Column("name", String(255), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),  # reading | done
    Column("lines_done", Integer, nullable=False, server_default="0"),  # the last file line handled
    Column("run_id", BigInteger),  # the run that read it (last)
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime),
    UniqueConstraint("job", "name", "sha256"),
)

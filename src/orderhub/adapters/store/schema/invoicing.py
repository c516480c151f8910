"""Tables of invoicing completed orders in the POS/ERP (Retail Pro): where each order is in the
feed → transform → Order-to-Invoice pipeline, the transfer slips of orders fulfilled from several
stores, and every call made to the service."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, ForeignKey, Index, Integer, String, Table, Text, UniqueConstraint

from orderhub.adapters.store.schema.base import BigId, metadata
from orderhub.adapters.store.types import UTCDateTime

# One row per order that entered the pipeline. An order without a row (or failed) is fed again.
order_invoices = Table(
    "order_invoices",
    metadata,
    Column("order_id", BigInteger, ForeignKey("orders.id", ondelete="CASCADE"), primary_key=True),
    # feeding (being written to a feed) | fed | sending | invoiced | failed (fed again) | rejected (a person must act)
    Column("status", String(16), nullable=False),
    Column("feed_file", String(255)),  # the feed that last carried it
    Column("feed_run_id", BigInteger),
    Column("fed_at", UTCDateTime),
    # Pinned at the first call, so that a retry asks for the same invoice whatever changed since.
    Column("invoicing_store", String(32)),
    Column("order_no", String(32)),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("sid", String(40)),  # Retail Pro's id of the invoice
    Column("document_number", BigInteger),
    Column("error", Text),
    Column("field", String(100)),  # the field at fault, for a rejected order
    Column("invoiced_at", UTCDateTime),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_order_invoices_status", "status", "order_id"),
)

# The slips that move an order's quantities from the other stores that fulfilled it to the invoicing store.
invoice_transfers = Table(
    "invoice_transfers",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("order_id", BigInteger, ForeignKey("orders.id", ondelete="CASCADE"), nullable=False),
    Column("from_store", String(32), nullable=False),
    Column("to_store", String(32), nullable=False),
    Column("slip_no", String(32), nullable=False),
    Column("body", Text, nullable=False),  # JSON: the slip as sent
    Column("status", String(16), nullable=False),  # pending | done | failed | rejected
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("sid", String(40)),
    Column("error", Text),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("order_id", "from_store"),
    Index("ix_invoice_transfers_status", "status", "id"),
)

# Every request orderhub made to Retail Pro for an order, with the answer: the invoicing log.
invoice_calls = Table(
    "invoice_calls",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("order_id", BigInteger, nullable=False),
    Column("run_id", BigInteger),
    Column("document", String(16), nullable=False),  # invoice | transfer
    Column("outcome", String(16), nullable=False),  # created | duplicate | rejected | unavailable
    Column("method", String(8), nullable=False),
    Column("url", String(500), nullable=False),
    Column("request", Text, nullable=False),
    Column("status", Integer),
    Column("response", Text),
    Column("error", Text),
    Column("elapsed_ms", Integer, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Index("ix_invoice_calls_order", "order_id", "id"),
    Index("ix_invoice_calls_outcome", "outcome", "id"),
)

"""Tables of an order's money beyond its lines: the discounts applied to it, and its refunds and edits."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, ForeignKey, Index, Integer, String, Table, Text, UniqueConstraint

from orderhub.adapters.store.schema.base import BigId, metadata
from orderhub.adapters.store.types import Money, UTCDateTime

# Shopify's discount applications of an order, in its order (``position`` is the index its
# allocations point at), with what each took off the lines and the shipping.
order_discounts = Table(
    "order_discounts",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("order_id", BigInteger, ForeignKey("orders.id", ondelete="CASCADE"), nullable=False),
    Column("position", Integer, nullable=False),
    Column("type", String(32), nullable=False),  # discount_code | automatic | manual | script
    Column("code", String(255)),
    Column("title", String(255)),
    Column("description", Text),
    Column("value", Money, nullable=False),  # a percentage or an amount, as value_type says
    Column("value_type", String(16), nullable=False),
    Column("target_type", String(16), nullable=False),  # line_item | shipping_line
    Column("target_selection", String(16)),
    Column("allocation_method", String(16)),
    Column("allocated", Money, nullable=False),
    UniqueConstraint("order_id", "position"),
)

# Refunds reference the order by Shopify id so they may arrive before the order does.
refunds = Table(
    "refunds",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("shop_id", Integer, ForeignKey("shops.id"), nullable=False),
    Column("shopify_id", String(40), nullable=False),
    Column("order_shopify_id", String(40), nullable=False),
    Column("note", Text),
    Column("amount", Money, nullable=False),
    Column("currency", String(3)),
    Column("lines", Text, nullable=False),  # JSON: [{line_item_id, quantity, subtotal, restock_type}]
    Column("adjustments", Text, nullable=False, server_default="[]"),  # JSON: [{kind, amount, tax, reason}]
    Column("source_created_at", UTCDateTime, nullable=False),
    # created_at | processed_at | transaction | notification: where source_created_at came from
    Column("time_source", String(16), nullable=False, server_default="created_at"),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("shop_id", "shopify_id"),
    Index("ix_refunds_order", "shop_id", "order_shopify_id"),
)

# Order edits (orders/edited) are deltas; kept so an edit that beats its order is not lost.
order_edits = Table(
    "order_edits",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("shop_id", Integer, ForeignKey("shops.id"), nullable=False),
    Column("shopify_id", String(40), nullable=False),
    Column("order_shopify_id", String(40), nullable=False),
    Column("changes", Text, nullable=False),  # JSON: {"additions": [...], "removals": [...]}
    Column("source_created_at", UTCDateTime, nullable=False),
    Column("applied_at", UTCDateTime),
    UniqueConstraint("shop_id", "shopify_id"),
    Index("ix_order_edits_order", "shop_id", "order_shopify_id"),
)

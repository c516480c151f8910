"""Tables of pre-selling: the pre-order and backorder catalogues, and the promise changes customers are told of."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Date, ForeignKey, Index, String, Table

from orderhub.adapters.store.schema.base import BigId, metadata
from orderhub.adapters.store.types import UTCDateTime

# SKUs sold ahead of stock: as a pre-order (never in stock, or tagged so) or a backorder. Kept by the
# job refresh-presell-catalogue; a SKU leaves when it is in stock again or nothing is on the way.
presell_catalogue = Table(
    "presell_catalogue",
    metadata,
    Column("sku", String(255), primary_key=True),
    Column("kind", String(16), nullable=False),  # preorder | backorder
    Column("since", UTCDateTime, nullable=False),  # when it entered the catalogue (as this kind)
    Column("next_expected", Date),  # the soonest expected date of its open purchase orders
    Column("updated_at", UTCDateTime, nullable=False),
)

# A waiting unit's promise that moved later or was lost (promise_after NULL): what the customer must be
# told. notified_at is set once the customer was mailed (job notify-promise-changes).
promise_changes = Table(
    "promise_changes",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("unit_id", BigInteger, ForeignKey("order_units.id", ondelete="CASCADE"), nullable=False),
    Column("order_id", BigInteger, ForeignKey("orders.id", ondelete="CASCADE"), nullable=False),
    Column("sku", String(255)),
    Column("promise_before", Date),
    Column("promise_after", Date),
    Column("actor", String(100), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("notified_at", UTCDateTime),
    Index("ix_promise_changes_pending", "notified_at", "order_id"),
    Index("ix_promise_changes_unit", "unit_id"),
)

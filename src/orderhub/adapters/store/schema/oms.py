"""Tables of the order management system: facilities, inventory, units, fulfilment,
workflows, routing, the event outbox and outbound webhook subscriptions."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from orderhub.adapters.store.schema.base import BigId, metadata
from orderhub.adapters.store.types import Money, UTCDateTime

# -- facilities and channels ---------------------------------------------------------------------

facilities = Table(
    "facilities",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(64), nullable=False, unique=True),
    Column("name", String(255), nullable=False),
    Column("kind", String(16), nullable=False),  # warehouse | store | dropship
    Column("address1", String(255)),
    Column("city", String(255)),
    Column("province", String(255)),
    Column("zip", String(32)),
    Column("country_code", String(2)),
    Column("latitude", Float),
    Column("longitude", Float),
    Column("daily_capacity", Integer),  # orders per day; NULL = unlimited
    Column("ship_from_store", Boolean, nullable=False, server_default="0"),
    Column("sequence", Integer, nullable=False, server_default="0"),  # for the "facility sequence" sort
    Column("active", Boolean, nullable=False, server_default="1"),
    Column("created_at", UTCDateTime, nullable=False),
    # The facility's store code in the POS/ERP (Retail Pro); NULL: the same as ``code``.
    Column("pos_store_code", String(32)),
    # Units of every SKU a store keeps back from online selling (ship from store, pickup): online orders and
    # the channels see its stock less this (or less the SKU's own safety stock, when that is higher).
    Column("online_safety_stock", Integer, nullable=False, server_default="0"),
    Column("timezone", String(64)),  # IANA name: a store's day (today's sales) is its local day; NULL = UTC
    Column("pickup_days", Integer),  # days a ready pickup order waits at this store; NULL = ORDERHUB_PICKUP_DAYS
)

facility_groups = Table(
    "facility_groups",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(64), nullable=False, unique=True),
    Column("name", String(255), nullable=False),
)

facility_group_members = Table(
    "facility_group_members",
    metadata,
    Column("group_id", Integer, ForeignKey("facility_groups.id", ondelete="CASCADE"), primary_key=True),
    Column("facility_id", Integer, ForeignKey("facilities.id", ondelete="CASCADE"), primary_key=True),
)

# Orders allocated to a facility per (UTC) day, counted against its daily capacity.
facility_daily_load = Table(
    "facility_daily_load",
    metadata,
    Column("facility_id", Integer, ForeignKey("facilities.id"), primary_key=True),
    Column("day", String(10), primary_key=True),  # YYYY-MM-DD
    Column("orders", Integer, nullable=False),
)

# A sales channel sees ATP minus its threshold, and only from its facility groups (if any).
channels = Table(
    "channels",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(32), nullable=False, unique=True),
    Column("name", String(255), nullable=False),
    Column("threshold", Integer, nullable=False, server_default="0"),
    # the last N units of every SKU go on this channel only: every other channel shows N fewer
    Column("last_units", Integer, nullable=False, server_default="0"),
)

channel_facility_groups = Table(
    "channel_facility_groups",
    metadata,
    Column("channel_id", Integer, ForeignKey("channels.id", ondelete="CASCADE"), primary_key=True),
    Column("group_id", Integer, ForeignKey("facility_groups.id", ondelete="CASCADE"), primary_key=True),
)

# -- inventory -------------------------------------------------------------------------------------

inventory = Table(
    "inventory",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("sku", String(255), nullable=False),
    Column("facility_id", Integer, ForeignKey("facilities.id"), nullable=False),
    Column("on_hand", Integer, nullable=False, server_default="0"),
    Column("reserved", Integer, nullable=False, server_default="0"),
    Column("safety_stock", Integer, nullable=False, server_default="0"),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("sku", "facility_id"),
    CheckConstraint("reserved >= 0", name="ck_inventory_reserved_non_negative"),
    CheckConstraint("safety_stock >= 0", name="ck_inventory_safety_stock_non_negative"),
)

# Append-only: every change to on hand or reserved, with why and who.
inventory_ledger = Table(
    "inventory_ledger",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("sku", String(255), nullable=False),
    Column("facility_id", Integer, nullable=False),
    # received | sold | reserved | released | shipped | returned | damaged | cycle_count | shopify_sync | adjusted
    Column("reason", String(24), nullable=False),
    Column("on_hand_before", Integer, nullable=False),
    Column("on_hand_after", Integer, nullable=False),
    Column("reserved_before", Integer, nullable=False),
    Column("reserved_after", Integer, nullable=False),
    Column("order_id", BigInteger),
    Column("unit_id", BigInteger),
    Column("actor", String(100), nullable=False),
    Column("note", Text),
    Column("at", UTCDateTime, nullable=False),
    Index("ix_inventory_ledger_sku", "sku", "facility_id", "id"),
    Index("ix_inventory_ledger_order", "order_id"),
)

# -- order units: one row per unit of an order line, the grain of brokering and fulfilment ------------

order_units = Table(
    "order_units",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("order_id", BigInteger, ForeignKey("orders.id", ondelete="CASCADE"), nullable=False),
    Column("item_id", BigInteger, ForeignKey("order_items.id", ondelete="CASCADE"), nullable=False),
    Column("seq", Integer, nullable=False),  # 1..quantity within the line
    Column("sku", String(255)),
    # created | approved | brokered | picked | packed | shipped | completed | cancelled | returned | rejected
    Column("status", String(16), nullable=False),
    # brokering | preorder_parking | backorder_parking | rejected_parking | unfillable; NULL once brokered
    Column("queue", String(24)),
    Column("facility_id", Integer, ForeignKey("facilities.id")),
    Column("ship_group", String(64), nullable=False, server_default="default"),
    Column("price", Money, nullable=False),
    Column("shipment_id", BigInteger),
    Column("return_id", BigInteger),
    Column("rejected_facilities", Text, nullable=False, server_default="[]"),  # JSON ids
    Column("auto_cancel_at", UTCDateTime),
    Column("reason", Text),  # why cancelled / rejected / parked
    # What a unit sold ahead of stock is promised (pre-order/backorder jobs), and when it was first promised.
    Column("promise_date", Date),
    Column("promised_at", UTCDateTime),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("item_id", "seq"),
    Index("ix_order_units_order", "order_id"),
    Index("ix_order_units_queue", "queue", "order_id"),
)

shipments = Table(
    "shipments",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("order_id", BigInteger, ForeignKey("orders.id", ondelete="CASCADE"), nullable=False),
    Column("facility_id", Integer, ForeignKey("facilities.id"), nullable=False),
    Column("status", String(16), nullable=False),  # packed | shipped
    Column("carrier", String(100)),
    Column("tracking_number", String(255)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("shipped_at", UTCDateTime),
    Index("ix_shipments_order", "order_id"),
)

returns = Table(
    "returns",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("order_id", BigInteger, ForeignKey("orders.id", ondelete="CASCADE"), nullable=False),
    Column("reason", Text),
    Column("disposition", String(16), nullable=False),  # restock | damaged
    Column("facility_id", Integer, ForeignKey("facilities.id")),
    Column("refund_amount", Money, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("actor", String(100), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_returns_order", "order_id"),
)

payment_authorizations = Table(
    "payment_authorizations",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("order_id", BigInteger, ForeignKey("orders.id", ondelete="CASCADE"), nullable=False),
    Column("gateway", String(32), nullable=False),  # gateway | channel (already taken by Shopify)
    Column("reference", String(100)),  # the gateway's authorization id
    Column("amount", Money, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("status", String(16), nullable=False),  # authorized | captured | voided | declined
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_payment_authorizations_order", "order_id"),
)

# -- workflows with compensation -------------------------------------------------------------------

workflows = Table(
    "workflows",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("kind", String(32), nullable=False),  # place_order
    Column("order_id", BigInteger, nullable=False),
    # running | compensating | completed | compensated | failed
    Column("status", String(16), nullable=False),
    Column("step", Integer, nullable=False, server_default="0"),  # next step to run (or to compensate)
    Column("context", Text, nullable=False, server_default="{}"),  # JSON: what steps did, for compensation
    Column("error", Text),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("available_at", UTCDateTime, nullable=False),
    Column("locked_until", UTCDateTime),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("kind", "order_id"),
    Index("ix_workflows_claim", "status", "available_at", "id"),
)

workflow_steps = Table(
    "workflow_steps",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("workflow_id", BigInteger, ForeignKey("workflows.id", ondelete="CASCADE"), nullable=False),
    Column("step", String(32), nullable=False),
    Column("action", String(16), nullable=False),  # run | compensate
    Column("outcome", String(16), nullable=False),  # ok | failed | retry
    Column("detail", Text),
    Column("at", UTCDateTime, nullable=False),
    Index("ix_workflow_steps_workflow", "workflow_id", "id"),
)

# -- brokering configuration -------------------------------------------------------------------------

routing_runs = Table(
    "routing_runs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("active", Boolean, nullable=False, server_default="1"),
    Column("created_at", UTCDateTime, nullable=False),
)

routings = Table(
    "routings",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("run_id", Integer, ForeignKey("routing_runs.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(100), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("active", Boolean, nullable=False, server_default="1"),
    Column("config", Text, nullable=False),  # JSON: filters, exclusions, sort
    UniqueConstraint("run_id", "name"),
)

routing_rules = Table(
    "routing_rules",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("routing_id", Integer, ForeignKey("routings.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(100), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("active", Boolean, nullable=False, server_default="1"),
    Column("config", Text, nullable=False),  # JSON: inventory filters, sorts, split policy, action
    UniqueConstraint("routing_id", "name"),
)

# -- domain events and outbound webhooks -----------------------------------------------------------

# Written in the same transaction as the change; published by a worker only after commit.
outbox = Table(
    "outbox",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("event_type", String(64), nullable=False),  # order.created, inventory.changed, ...
    Column("ordering_key", String(100), nullable=False),  # events with one key are delivered in order
    Column("order_id", BigInteger),
    Column("payload", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("fanned_out_at", UTCDateTime),
    Index("ix_outbox_pending", "fanned_out_at", "id"),
    Index("ix_outbox_order", "order_id", "id"),
)

subscriptions = Table(
    "subscriptions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("url", String(1000), nullable=False),
    Column("events", Text, nullable=False),  # comma-separated patterns: order.*, inventory.changed
    Column("secret", Text, nullable=False),  # whsec_..., encrypted; never printed after creation
    Column("description", String(255)),
    Column("rate_per_second", Float, nullable=False),
    Column("max_attempts", Integer, nullable=False),
    Column("timeout_seconds", Float, nullable=False),
    Column("enabled", Boolean, nullable=False, server_default="1"),
    Column("created_at", UTCDateTime, nullable=False),
)

subscription_deliveries = Table(
    "subscription_deliveries",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("subscription_id", Integer, ForeignKey("subscriptions.id", ondelete="CASCADE"), nullable=False),
    Column("outbox_id", BigInteger, nullable=False),
    Column("ordering_key", String(100), nullable=False),
    Column("status", String(16), nullable=False),  # pending | sending | delivered | failed | dismissed
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("available_at", UTCDateTime, nullable=False),
    Column("locked_by", String(100)),
    Column("locked_until", UTCDateTime),
    Column("last_status", Integer),
    Column("last_error", Text),
    Column("history", Text, nullable=False, server_default="[]"),  # JSON: every attempt
    Column("created_at", UTCDateTime, nullable=False),
    Column("delivered_at", UTCDateTime),
    UniqueConstraint("subscription_id", "outbox_id"),
    Index("ix_subscription_deliveries_claim", "status", "available_at", "id"),
    Index("ix_subscription_deliveries_key", "subscription_id", "ordering_key", "id"),
)

# -- reconciliation ---------------------------------------------------------------------------------

reconciliations = Table(
    "reconciliations",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("shop_id", Integer, ForeignKey("shops.id"), nullable=False),
    Column("since", UTCDateTime, nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime),
    Column("summary", Text, nullable=False, server_default="{}"),  # JSON counts
    Column("actor", String(100), nullable=False),
)

reconciliation_findings = Table(
    "reconciliation_findings",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("reconciliation_id", BigInteger, ForeignKey("reconciliations.id", ondelete="CASCADE"),
           nullable=False),
    Column("order_shopify_id", String(40), nullable=False),
    Column("kind", String(16), nullable=False),  # missing | extra | mismatch | unacknowledged
    Column("diff", Text, nullable=False),  # JSON: field -> [orderhub, source]
    Column("action", String(32), nullable=False),  # reingested | error_logged | reported
    Index("ix_reconciliation_findings_run", "reconciliation_id"),
)

"""The one place that owns orderhub's schema. Alembic migrations record its history.

Tables live in several modules, by concern; import them from here.
"""

from orderhub.adapters.store.schema.base import BigId, metadata
from orderhub.adapters.store.schema.channel_operations import channel_operations
from orderhub.adapters.store.schema.channel_stock import channel_listings, channel_stock
from orderhub.adapters.store.schema.console import (
    console_sessions,
    console_sign_in_limits,
    console_sign_ins,
    console_users,
)
from orderhub.adapters.store.schema.customer_profiles import (
    customer_access_log,
    customer_consents,
    customer_match_rules,
    customer_merges,
    customer_profiles,
    customer_separations,
)
from orderhub.adapters.store.schema.ingestion import (
    api_tokens,
    customers,
    deliveries,
    destinations,
    error_log,
    inbox,
    inventory_levels,
    job_state,
    order_addresses,
    order_events,
    order_items,
    order_shipping_lines,
    orders,
    privacy_requests,
    products,
    rate_buckets,
    shops,
    variants,
)
from orderhub.adapters.store.schema.invoicing import invoice_calls, invoice_transfers, order_invoices
from orderhub.adapters.store.schema.jobs import job_chains, job_run_files, job_run_logs, job_runs, job_schedules
from orderhub.adapters.store.schema.oms import (
    channel_facility_groups,
    channels,
    facilities,
    facility_daily_load,
    facility_group_members,
    facility_groups,
    inventory,
    inventory_ledger,
    order_units,
    outbox,
    payment_authorizations,
    reconciliation_findings,
    reconciliations,
    returns,
    routing_rules,
    routing_runs,
    routings,
    shipments,
    subscription_deliveries,
    subscriptions,
    workflow_steps,
    workflows,
)
from orderhub.adapters.store.schema.order_money import order_discounts, order_edits, refunds
from orderhub.adapters.store.schema.pickups import pickup_mails, pickups
from orderhub.adapters.store.schema.planning import (
    imported_files,
    inventory_thresholds,
    purchase_order_lines,
    purchase_orders,
)
from orderhub.adapters.store.schema.presell import presell_catalogue, promise_changes
from orderhub.adapters.store.schema.stores import pos_devices, pos_enrolment_codes, store_sales, store_variances
from orderhub.adapters.store.schema.traffic import traffic_minutes

__all__ = [
    "customer_access_log", "customer_consents", "customer_match_rules", "customer_merges", "customer_profiles",
    "customer_separations",
    "pos_devices", "pos_enrolment_codes", "store_sales", "store_variances",
    "BigId", "metadata", "channel_listings", "channel_operations", "channel_stock",
    "console_sessions", "console_sign_in_limits", "console_sign_ins", "console_users", "traffic_minutes",
    "api_tokens", "customers", "deliveries", "destinations", "error_log", "inbox", "inventory_levels",
    "job_runs", "job_state", "order_addresses", "order_edits", "order_events", "order_items",
    "order_discounts", "order_shipping_lines", "orders", "privacy_requests", "products", "rate_buckets", "refunds",
    "shops", "variants",
    "job_chains", "job_run_files", "job_run_logs", "job_schedules",
    "channel_facility_groups", "channels", "facilities", "facility_daily_load", "facility_group_members",
    "facility_groups", "inventory", "inventory_ledger", "order_units", "outbox", "payment_authorizations",
    "reconciliation_findings", "reconciliations", "returns", "routing_rules", "routing_runs", "routings",
    "shipments", "subscription_deliveries", "subscriptions", "workflow_steps", "workflows",
    "imported_files", "inventory_thresholds", "purchase_order_lines", "purchase_orders",
    "presell_catalogue", "promise_changes", "pickups", "pickup_mails",
    "invoice_calls", "invoice_transfers", "order_invoices",
]

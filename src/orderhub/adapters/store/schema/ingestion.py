"""Tables of the ingestion pipeline: shops, tokens, inbox, destinations, error log and the order store."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from orderhub.adapters.store.schema.base import BigId, RawBody, metadata
from orderhub.adapters.store.types import Money, UTCDateTime

shops = Table(
    "shops",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("domain", String(255), nullable=False, unique=True),
    # The kind of channel the account is an account of (adapters/channels.py: shopify, amazon, ...): its
    # records are read by that kind's translator. A row of this table is an account of any channel kind;
    # Shopify's came first. (The sales channel an account sells through, for ATP, is another thing.)
    Column("kind", String(16), nullable=False, server_default="shopify"),
    # The app's API secret: signs webhooks. Never printed or logged. Encrypted, as is the access
    # token (adapters/store/secrets.py): Text, as a sealed value is longer than the secret.
    Column("webhook_secret", Text),  # Shopify's; other kinds keep theirs in credentials
    Column("admin_url", String(500)),
    Column("access_token", Text),
    # No fixed default: a shop added without one gets the newest stable version of the day (shops.add).
    Column("api_version", String(16)),
    # Other kinds: what the account is (marketplace id, endpoints, ...) as JSON, and its secrets as
    # encrypted JSON (never printed or logged); the sales channel it sells through (channels.code).
    Column("settings", Text),
    Column("credentials", Text),
    Column("sales_channel", String(32)),
    Column("status", String(16), nullable=False, server_default="active"),
    Column("created_at", UTCDateTime, nullable=False),
    Column("uninstalled_at", UTCDateTime),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(100), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("scopes", String(200), nullable=False),
    Column("role", String(16), nullable=False, server_default="admin"),  # admin | operator | viewer
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_used_at", UTCDateTime),
    Column("revoked_at", UTCDateTime),
    # One token per name, so `orderhub token revoke NAME` means exactly one (revoked ones keep theirs).
    Index("ix_api_tokens_name", "name", unique=True),
)

# Every inbound message, stored before it is acknowledged.
inbox = Table(
    "inbox",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("shop_id", Integer, ForeignKey("shops.id"), nullable=False),
    Column("source", String(16), nullable=False),  # webhook | eventbridge | poll
    Column("topic", String(100), nullable=False),
    # Content identity: the same order version from webhook and poll is one record. A Shopify webhook's is
    # derived by the worker (services/identify.py), so the door answers without parsing the body: NULL until then,
    # and for good on a delivery found to repeat a record already stored.
    Column("identity", String(300)),
    Column("webhook_id", String(100)),
    Column("event_id", String(100)),
    Column("api_version", String(16)),
    Column("triggered_at", UTCDateTime),
    Column("received_at", UTCDateTime, nullable=False),
    Column("payload", RawBody, nullable=False),
    # pending | processing | done | failed | unsupported
    Column("status", String(16), nullable=False),
    Column("outcome", String(32)),  # applied | stale | unchanged | recorded ...
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("available_at", UTCDateTime, nullable=False),
    Column("processed_at", UTCDateTime),
    Column("last_error", Text),
    # No unique key on the webhook id: Shopify's are random UUIDs, and a redelivery is a repeat of the record
    # holding its identity, found by the worker like any other (services/identify.py).
    Index("uq_inbox_shop_id_identity", "shop_id", "identity", unique=True,  # only records with an identity
          sqlite_where=text("identity IS NOT NULL"), postgresql_where=text("identity IS NOT NULL")),
    Index("ix_inbox_claim", "status", "available_at", "id"),
)

destinations = Table(
    "destinations",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("kind", String(16), nullable=False),  # store | http
    Column("url", String(1000)),
    Column("secret", Text),  # encrypted (adapters/store/secrets.py)
    Column("rate_per_second", Float, nullable=False),
    Column("burst", Float, nullable=False),
    Column("max_attempts", Integer, nullable=False),
    Column("timeout_seconds", Float, nullable=False, server_default="10"),
    Column("backoff_base_seconds", Float, nullable=False, server_default="1"),
    Column("backoff_max_seconds", Float, nullable=False, server_default="300"),
    Column("enabled", Boolean, nullable=False, server_default="1"),
    Column("created_at", UTCDateTime, nullable=False),
)

# Shared token buckets: one row per destination, updated under a row lock by every process.
rate_buckets = Table(
    "rate_buckets",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("tokens", Float, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    # Set from a destination's 429 Retry-After: nobody sends before then.
    Column("paused_until", UTCDateTime),
)

# Outbox: canonical events to HTTP destinations, written with the change that caused them.
deliveries = Table(
    "deliveries",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("destination_id", Integer, ForeignKey("destinations.id"), nullable=False),
    Column("inbox_id", BigInteger, nullable=False),
    Column("event_id", String(64), nullable=False),
    Column("topic", String(100), nullable=False),
    Column("payload", Text, nullable=False),
    Column("status", String(16), nullable=False),  # pending | sending | done | failed
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("available_at", UTCDateTime, nullable=False),
    Column("locked_by", String(100)),
    Column("locked_until", UTCDateTime),
    Column("last_status", Integer),
    Column("last_error", Text),
    Column("history", Text, nullable=False, server_default="[]"),  # JSON: every attempt
    Column("created_at", UTCDateTime, nullable=False),
    Column("delivered_at", UTCDateTime),
    UniqueConstraint("destination_id", "inbox_id"),
    Index("ix_deliveries_claim", "destination_id", "status", "available_at", "id"),
)

# Records that could not be processed, for a person to fix, retry or dismiss. Never deleted.
error_log = Table(
    "error_log",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("record_type", String(16), nullable=False),  # inbox | delivery
    Column("record_id", BigInteger, nullable=False),
    Column("shop_id", Integer, ForeignKey("shops.id")),
    Column("topic", String(100), nullable=False),
    Column("source", String(32), nullable=False),
    # validation | destination_rejected | retries_exhausted | processing_error
    Column("kind", String(32), nullable=False),
    Column("status", String(16), nullable=False),  # open | retrying | resolved | dismissed
    Column("error", Text, nullable=False),
    Column("field", String(300)),
    Column("payload", Text, nullable=False),
    Column("attempts", Text, nullable=False),  # JSON list of {at, error, kind}
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("resolved_at", UTCDateTime),
    Column("dismissed_by", String(100)),
    Column("dismissed_reason", Text),
    Column("job_run_id", BigInteger),  # the job run that recorded it, if a job did
    UniqueConstraint("record_type", "record_id"),
    Index("ix_error_log_status", "status", "created_at"),
    Index("ix_error_log_job_run", "job_run_id"),
)

customers = Table(
    "customers",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("shop_id", Integer, ForeignKey("shops.id"), nullable=False),
    Column("shopify_id", String(40), nullable=False),
    Column("email", String(320)),
    Column("first_name", String(255)),
    Column("last_name", String(255)),
    Column("phone", String(64)),
    Column("source_updated_at", UTCDateTime),
    Column("redacted_at", UTCDateTime),
    # A row is one identity of a person: how one channel account knows them (domain/customers.py). It belongs
    # to one profile, linked by the keys its kind's rules allow (normalised e-mail, E.164 phone, loyalty id).
    Column("profile_id", BigInteger),
    Column("email_key", String(320)),
    Column("phone_key", String(32)),
    Column("loyalty_key", String(100)),
    Column("linked_by", String(32)),  # new | email | phone | loyalty | merge | unmerge | split
    Column("deleted_at", UTCDateTime),  # the channel deleted its customer (orderhub keeps the orders)
    UniqueConstraint("shop_id", "shopify_id"),
    Index("ix_customers_profile", "profile_id"),
    Index("ix_customers_email_key", "email_key"),
    Index("ix_customers_phone_key", "phone_key"),
    Index("ix_customers_loyalty_key", "loyalty_key"),
)

orders = Table(
    "orders",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("shop_id", Integer, ForeignKey("shops.id"), nullable=False),
    Column("shopify_id", String(40), nullable=False),
    Column("name", String(100)),
    Column("number", String(40)),
    Column("email", String(320)),
    Column("customer_id", BigInteger),
    # As Shopify last said: open | cancelled | closed, and its payment and fulfilment words.
    Column("source_status", String(16), nullable=False),
    Column("source_financial_status", String(32)),
    Column("source_fulfillment_status", String(32)),
    # orderhub's own, authoritative lifecycle (see orderhub.domain.lifecycle).
    Column("status", String(16), nullable=False, server_default="created"),
    Column("payment_status", String(24), nullable=False, server_default="pending"),
    Column("fulfillment_status", String(24), nullable=False, server_default="unfulfilled"),
    Column("held_from", String(16)),  # the status a held order returns to when released
    Column("status_reason", Text),  # why held, rejected, or not approved
    Column("channel", String(32), nullable=False, server_default="online"),
    Column("shipping_method", String(100)),
    Column("priority", Integer, nullable=False, server_default="0"),
    Column("ship_by", UTCDateTime),
    Column("promise_date", UTCDateTime),
    Column("origin_facility_id", Integer),
    # Pickup in store: the facility the customer collects at, and the channel's reference of that location.
    Column("pickup_facility_id", Integer, ForeignKey("facilities.id")),
    Column("pickup_location", String(64)),
    Column("customer_locale", String(16)),  # the language the customer bought in (e-mails), when known
    Column("approved_at", UTCDateTime),
    Column("lifecycle_version", Integer, nullable=False, server_default="0"),
    Column("currency", String(3), nullable=False),
    Column("subtotal_price", Money, nullable=False),
    Column("total_discounts", Money, nullable=False),
    Column("total_tax", Money, nullable=False),
    Column("total_shipping", Money, nullable=False),
    Column("total_price", Money, nullable=False),
    # Shopify's other figures, so an order's totals can be shown adding up (see domain.order_totals).
    Column("taxes_included", Boolean, nullable=False, server_default="0"),
    # "channel": the channel ships it from its own stock (never reserved or brokered here); and the latest
    # delivery the channel promised the buyer (its latest ship date is ship_by, above).
    Column("fulfilled_by", String(16)),
    Column("deliver_by", UTCDateTime),
    Column("total_line_items_price", Money),
    Column("total_tip", Money, nullable=False, server_default="0"),
    Column("total_duties", Money, nullable=False, server_default="0"),
    Column("total_additional_fees", Money, nullable=False, server_default="0"),
    Column("presentment_currency", String(3)),  # what the customer paid in, when not the shop's currency
    Column("presentment_total_price", Money),
    Column("tags", Text, nullable=False, server_default=""),
    Column("note", Text),
    Column("cancel_reason", String(64)),
    Column("cancelled_at", UTCDateTime),
    Column("closed_at", UTCDateTime),
    Column("source_created_at", UTCDateTime, nullable=False),
    # The Shopify updated_at of the version stored: older events never overwrite it.
    Column("source_updated_at", UTCDateTime, nullable=False),
    Column("version", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    # Its customer's personal data was erased (a person's erasure, a channel's redaction, the retention purge):
    # what is left is the record the law keeps, pseudonymised.
    Column("personal_data_erased_at", UTCDateTime),
    UniqueConstraint("shop_id", "shopify_id"),
    Index("ix_orders_name", "shop_id", "name"),
    Index("ix_orders_customer", "customer_id"),  # a person's orders across channels (their profile's identities)
    Index("ix_orders_personal_data", "personal_data_erased_at", "updated_at"),
    # One per filter of the order lists, each ending in the id the lists are ordered by (newest first), so a
    # page of a rare status reads only its own rows. The search index: schema/search.py.
    Index("ix_orders_status", "status", "id"),
    Index("ix_orders_payment_status", "payment_status", "id"),
    Index("ix_orders_channel", "channel", "id"),
    Index("ix_orders_shop", "shop_id", "id"),
    # The creation day's (day, id): an expression index, outside MetaData (schema/order_days.py, migration 0030).
)

order_items = Table(
    "order_items",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("order_id", BigInteger, ForeignKey("orders.id", ondelete="CASCADE"), nullable=False),
    Column("shopify_id", String(40), nullable=False),
    Column("sku", String(255)),
    Column("title", String(500), nullable=False),
    Column("variant_title", String(500)),
    Column("product_shopify_id", String(40)),
    Column("variant_shopify_id", String(40)),
    Column("quantity", Integer, nullable=False),
    Column("current_quantity", Integer, nullable=False),
    Column("fulfillable_quantity", Integer, nullable=False),
    Column("source_fulfillment_status", String(32)),
    Column("price", Money, nullable=False),
    Column("total_discount", Money, nullable=False),
    Column("tax", Money, nullable=False),
    Column("requires_shipping", Boolean, nullable=False),
    UniqueConstraint("order_id", "shopify_id"),
    # The quantity an order list shows for each order, read from the index alone (migration 0028).
    Index("ix_order_items_quantity", "order_id", "current_quantity"),
)

order_addresses = Table(
    "order_addresses",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("order_id", BigInteger, ForeignKey("orders.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(16), nullable=False),  # billing | shipping
    Column("name", String(255)),
    Column("first_name", String(255)),
    Column("last_name", String(255)),
    Column("company", String(255)),
    Column("address1", String(255)),
    Column("address2", String(255)),
    Column("city", String(255)),
    Column("province", String(255)),
    Column("province_code", String(16)),
    Column("zip", String(32)),
    Column("country", String(255)),
    Column("country_code", String(2)),
    Column("phone", String(64)),
    Column("latitude", Float),
    Column("longitude", Float),
    UniqueConstraint("order_id", "kind"),
)

order_shipping_lines = Table(
    "order_shipping_lines",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("order_id", BigInteger, ForeignKey("orders.id", ondelete="CASCADE"), nullable=False),
    Column("shopify_id", String(40), nullable=False),
    Column("title", String(255), nullable=False),
    Column("code", String(255)),
    Column("price", Money, nullable=False),
    Column("discounted_price", Money, nullable=False),
    Index("ix_order_shipping_lines_order", "order_id"),
)

# The order's timeline: every inbound event and every lifecycle decision, with who and why.
order_events = Table(
    "order_events",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("shop_id", Integer, ForeignKey("shops.id"), nullable=False),
    Column("order_shopify_id", String(40), nullable=False),
    Column("inbox_id", BigInteger),
    Column("kind", String(32), nullable=False),
    Column("detail", Text, nullable=False),
    Column("actor", String(100)),  # who or which job; NULL for inbound events
    Column("at", UTCDateTime, nullable=False),
    Index("ix_order_events_order", "shop_id", "order_shopify_id", "id"),
    Index("ix_order_events_inbox", "inbox_id"),
)

products = Table(
    "products",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("shop_id", Integer, ForeignKey("shops.id"), nullable=False),
    Column("shopify_id", String(40), nullable=False),
    Column("title", String(500)),
    Column("handle", String(255)),
    Column("vendor", String(255)),
    Column("product_type", String(255)),
    Column("status", String(16)),
    Column("tags", Text, nullable=False, server_default=""),
    Column("source_updated_at", UTCDateTime, nullable=False),
    Column("deleted_at", UTCDateTime),
    UniqueConstraint("shop_id", "shopify_id"),
)

variants = Table(
    "variants",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("shop_id", Integer, ForeignKey("shops.id"), nullable=False),
    Column("product_shopify_id", String(40), nullable=False),
    Column("shopify_id", String(40), nullable=False),
    Column("sku", String(255)),
    Column("title", String(500)),
    Column("price", Money),
    Column("barcode", String(255)),
    Column("inventory_item_id", String(40)),
    Column("deleted_at", UTCDateTime),
    UniqueConstraint("shop_id", "shopify_id"),
    Index("ix_variants_sku", "shop_id", "sku"),
)

inventory_levels = Table(
    "inventory_levels",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("shop_id", Integer, ForeignKey("shops.id"), nullable=False),
    Column("inventory_item_id", String(40), nullable=False),
    Column("location_id", String(40), nullable=False),
    Column("available", Integer),
    Column("source_updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("shop_id", "inventory_item_id", "location_id"),
)

# Privacy requests and what was done: a channel's (customers/data_request, customers/redact, shop/redact) and
# orderhub's own (a person's export or erasure, the retention purge).
privacy_requests = Table(
    "privacy_requests",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("shop_id", Integer, ForeignKey("shops.id")),  # None: asked in orderhub (console, API, CLI)
    Column("kind", String(32), nullable=False),  # customers/redact | ... | export | erase | retention
    Column("customer_shopify_id", String(40)),
    Column("inbox_id", BigInteger, unique=True),  # the channel's request, when a channel asked
    Column("profile_id", BigInteger),
    Column("actor", String(100)),
    Column("result", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

# Watermarks and other small per-job state (e.g. last polled updated_at per shop).
job_state = Table(
    "job_state",
    metadata,
    Column("job", String(100), primary_key=True),
    Column("shop_id", Integer, primary_key=True),
    Column("key", String(100), primary_key=True),
    Column("value", Text, nullable=False),
)

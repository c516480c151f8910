"""Tables of the unified customer: profiles (one per person), the merges that joined them and the pairs a person
kept apart, the rules that say which keys link each channel kind's identities, marketing consent as a history
with provenance, and the record of who read whose data.

The identities themselves are ``customers`` rows (schema/ingestion.py), each pointing at its profile."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, ForeignKey, Index, Integer, String, Table, Text

from orderhub.adapters.store.schema.base import BigId, metadata
from orderhub.adapters.store.types import UTCDateTime

customer_profiles = Table(
    "customer_profiles",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    # Merged into another profile: its identities moved there (customer_merges says which); kept for the audit
    # trail and for an unmerge to bring back.
    Column("merged_into", BigInteger),
    # Erased: personal data gone everywhere orderhub held it; the pseudonym names the person in what the law
    # keeps (invoices), and nothing links it back.
    Column("erased_at", UTCDateTime),
    Column("pseudonym", String(40)),
    Index("ix_customer_profiles_merged_into", "merged_into"),
)

# One merge of ``merged_id`` into ``kept_id``: by a rule (the key that matched) or by a person, with the
# identities that moved, so an unmerge puts back exactly those.
customer_merges = Table(
    "customer_merges",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("kept_id", BigInteger, ForeignKey("customer_profiles.id"), nullable=False),
    Column("merged_id", BigInteger, ForeignKey("customer_profiles.id"), nullable=False),
    Column("moved", Text, nullable=False),  # JSON: {"identities": [...], "consents": [...]} that moved
    Column("rule", String(32)),  # email | phone | loyalty (linking), None: a person
    Column("actor", String(100), nullable=False),
    Column("reason", Text),
    Column("created_at", UTCDateTime, nullable=False),
    Column("undone_at", UTCDateTime),
    Column("undone_by", String(100)),
    Column("undo_reason", Text),
    Index("ix_customer_merges_kept", "kept_id"),
    Index("ix_customer_merges_merged", "merged_id"),
)

# Two profiles a person said are not one person (an unmerge, a split): rules never merge them again.
customer_separations = Table(
    "customer_separations",
    metadata,
    Column("low_id", BigInteger, primary_key=True),
    Column("high_id", BigInteger, primary_key=True),
    Column("actor", String(100), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

# Which keys link the identities of one channel kind (domain/customers.py DEFAULT_RULES until set).
customer_match_rules = Table(
    "customer_match_rules",
    metadata,
    Column("kind", String(16), primary_key=True),
    Column("key", String(16), primary_key=True),  # email | phone | loyalty
    Column("enabled", Boolean, nullable=False),
    Column("updated_by", String(100), nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

# Marketing consent: every change, where it came from and when; the newest per (purpose, scope) is what holds.
customer_consents = Table(
    "customer_consents",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("profile_id", BigInteger, ForeignKey("customer_profiles.id"), nullable=False),
    Column("identity_id", BigInteger),  # the identity the change came with (a channel's customer), if any
    Column("purpose", String(32), nullable=False),
    Column("scope", String(255), nullable=False),  # an account's name, or * for every channel
    Column("state", String(16), nullable=False),  # granted | pending | withdrawn | not_given
    Column("source", String(16), nullable=False),  # shopify | pos | console | api | cli | ...
    Column("source_account_id", Integer, ForeignKey("shops.id", ondelete="SET NULL")),
    Column("actor", String(100)),
    Column("opt_in_level", String(32)),
    Column("note", Text),
    Column("inbox_id", BigInteger),  # the inbox record that carried it
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("recorded_at", UTCDateTime, nullable=False),
    Index("ix_customer_consents_profile", "profile_id", "purpose", "scope", "occurred_at"),
)

# Every read of a person's data in the console and the API: who, when, what, how.
customer_access_log = Table(
    "customer_access_log",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("profile_id", BigInteger, nullable=False),
    Column("actor", String(100), nullable=False),
    Column("via", String(16), nullable=False),  # console | api | cli
    Column("what", String(64), nullable=False),  # profile | orders | consent | export | erase | search | order
    Column("detail", String(255)),
    Column("at", UTCDateTime, nullable=False),
    Index("ix_customer_access_profile", "profile_id", "at"),
)

__all__ = ["customer_access_log", "customer_consents", "customer_match_rules", "customer_merges",
           "customer_profiles", "customer_separations"]

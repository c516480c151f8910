"""Counts per minute of what flows through orderhub, for the console's dashboard: webhooks received
per topic, inbox records processed per topic, deliveries made per destination.

Writers add to their own shard's row (one per process id modulo SHARDS), so concurrent batches
on PostgreSQL never queue on one row's lock; readers sum the shards.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Integer, PrimaryKeyConstraint, String, Table

from orderhub.adapters.store.schema.base import metadata
from orderhub.adapters.store.types import UTCDateTime

traffic_minutes = Table(
    "traffic_minutes",
    metadata,
    Column("minute", UTCDateTime, nullable=False),  # the minute's start, UTC
    Column("series", String(16), nullable=False),  # received | processed | delivered
    Column("name", String(100), nullable=False),  # the topic, or the destination
    Column("shard", Integer, nullable=False),
    Column("count", BigInteger, nullable=False),
    PrimaryKeyConstraint("minute", "series", "name", "shard"),
)

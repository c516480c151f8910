"""Tables of the job manager: schedules, runs with their logs and files, and chains."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from orderhub.adapters.store.schema.base import BigId, metadata
from orderhub.adapters.store.types import UTCDateTime

# When a job runs for a shop (scope = shop id) or for the hub (scope 0).
job_schedules = Table(
    "job_schedules",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("job", String(100), nullable=False),
    Column("shop_id", Integer, ForeignKey("shops.id", ondelete="CASCADE")),
    Column("scope", Integer, nullable=False, server_default="0"),
    Column("expression", String(100), nullable=False),  # hourly, a cron expression, every 90s
    Column("timezone", String(64), nullable=False, server_default="UTC"),
    Column("start_at", UTCDateTime, nullable=False),
    Column("enabled", Boolean, nullable=False, server_default="1"),
    Column("skip_next", Boolean, nullable=False, server_default="0"),
    Column("params", Text, nullable=False, server_default="{}"),
    # Overrides of the job's policy (NULL: the job's own).
    Column("missed_policy", String(16)),
    Column("allow_overlap", Boolean),
    Column("timeout_seconds", Integer),
    Column("max_retries", Integer),
    Column("next_run_at", UTCDateTime, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("job", "scope"),
    Index("ix_job_schedules_due", "enabled", "next_run_at"),
)

# Every run: queued (by a tick, a person, a chain or a retry), then running on one node, then done.
job_runs = Table(
    "job_runs",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("job", String(100), nullable=False),
    Column("shop_id", Integer, ForeignKey("shops.id")),
    Column("scope", Integer, nullable=False, server_default="0"),
    Column("schedule_id", Integer),
    Column("tick_at", UTCDateTime),  # the schedule's tick it runs for: one run per tick, on any number of nodes
    # queued | running | succeeded | failed | timed_out | cancelled | skipped
    Column("status", String(16), nullable=False),
    Column("trigger", String(16), nullable=False),  # manual | schedule | chain | retry | backfill | signal
    Column("attempt", Integer, nullable=False, server_default="1"),
    Column("parent_run_id", BigInteger),  # the run that chained or retried into this one
    Column("params", Text, nullable=False),
    Column("stats", Text, nullable=False, server_default="{}"),
    Column("read_count", Integer, nullable=False, server_default="0"),
    Column("processed_count", Integer, nullable=False, server_default="0"),
    Column("skipped_count", Integer, nullable=False, server_default="0"),
    Column("failed_count", Integer, nullable=False, server_default="0"),
    Column("error", Text),  # why it failed, in one line
    Column("input_file", String(500)),
    Column("node", String(100)),
    # Set while running unless overlapping runs are allowed: at most one running run per key.
    Column("exclusive_key", String(140)),
    Column("queued_at", UTCDateTime),
    Column("available_at", UTCDateTime),
    Column("started_at", UTCDateTime),
    Column("heartbeat_at", UTCDateTime),
    Column("deadline_at", UTCDateTime),
    Column("finished_at", UTCDateTime),
    # Progress while it runs (written about once a second): done of total (None: not known) units.
    Column("progress_done", BigInteger),
    Column("progress_total", BigInteger),
    Column("progress_unit", String(32)),
    Column("progress_at", UTCDateTime),
    Index("ix_job_runs_job", "job", "started_at"),
    Index("ix_job_runs_claim", "status", "available_at", "id"),
    Index("ix_job_runs_tick", "schedule_id", "tick_at", unique=True),
    Index("ix_job_runs_exclusive", "exclusive_key", unique=True,
          sqlite_where=text("status = 'running'"), postgresql_where=text("status = 'running'")),
)

job_run_logs = Table(
    "job_run_logs",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("run_id", BigInteger, ForeignKey("job_runs.id", ondelete="CASCADE"), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("level", String(8), nullable=False),
    Column("message", Text, nullable=False),
    Index("ix_job_run_logs_run", "run_id", "id"),
)

# Files a run read or produced: its input, and the records it could not process (to download).
job_run_files = Table(
    "job_run_files",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("run_id", BigInteger, ForeignKey("job_runs.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(16), nullable=False),  # input | failed | output
    Column("name", String(255), nullable=False),
    Column("content", LargeBinary, nullable=False),
    Column("size", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("run_id", "kind", "name"),
)

# Run the downstream job after the upstream one succeeds or finishes (for the same shop), after a delay.
job_chains = Table(
    "job_chains",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("upstream_job", String(100), nullable=False),
    Column("downstream_job", String(100), nullable=False),
    Column("delay_seconds", Integer, nullable=False, server_default="0"),
    Column("params", Text, nullable=False, server_default="{}"),
    Column("enabled", Boolean, nullable=False, server_default="1"),
    Column("created_at", UTCDateTime, nullable=False),
    # succeeded: only after a successful run; finished: after any run (a report of what failed)
    Column("trigger_on", String(16), nullable=False, server_default="succeeded"),
    UniqueConstraint("upstream_job", "downstream_job"),
)

"""Tables of the web console: its users, their sessions, the sign-in attempts, and the counters
that throttle guessing. Passwords and session tokens are stored only as hashes."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, ForeignKey, Index, Integer, String, Table

from orderhub.adapters.store.schema.base import BigId, metadata
from orderhub.adapters.store.types import UTCDateTime

console_users = Table(
    "console_users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("username", String(64), nullable=False),  # as typed, shown
    Column("username_key", String(64), nullable=False, unique=True),  # casefolded: "Ana" and "ana" are one user
    Column("password_hash", String(255), nullable=False),  # argon2id, with its parameters
    Column("role", String(16), nullable=False),  # admin | operator | viewer
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("last_sign_in_at", UTCDateTime),
    Column("disabled_at", UTCDateTime),  # set: cannot sign in, and its sessions end
)

# A signed-in browser. The cookie holds a random token; the row holds its SHA-256.
console_sessions = Table(
    "console_sessions",
    metadata,
    Column("id", String(64), primary_key=True),  # sha256 hex of the cookie's token
    Column("user_id", Integer, ForeignKey("console_users.id", ondelete="CASCADE"), nullable=False),
    Column("csrf_token", String(64), nullable=False),  # every form of this session carries it
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_seen_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("ip", String(64)),
    Column("user_agent", String(255)),
    Index("ix_console_sessions_user", "user_id"),
)

# Every sign-in attempt, kept for the record (the throttle counts in console_sign_in_limits).
console_sign_ins = Table(
    "console_sign_ins",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False),
    Column("username_key", String(64), nullable=False),
    Column("ip", String(64), nullable=False),
    Column("ok", Boolean, nullable=False),
    Index("ix_console_sign_ins_user", "username_key", "at"),
    Index("ix_console_sign_ins_ip", "ip", "at"),
)

# Sign-in throttle counters, one row per key ("pair:<user>|<address>", "addr:<address>",
# "user:<user>"): a password check is reserved here, by a conditional UPDATE, before it is made,
# so concurrent attempts in any number of processes cannot pass more checks than the limit.
console_sign_in_limits = Table(
    "console_sign_in_limits",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("window_start", UTCDateTime, nullable=False),
    Column("count", Integer, nullable=False),  # checks reserved in the window (failed or under way)
    Column("last_check_at", UTCDateTime),  # the account-wide slow lane: the last check it let through
)

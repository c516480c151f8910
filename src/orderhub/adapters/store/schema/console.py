"""Tables of the web console: its users, their sessions and the sign-in attempts that throttle
guessing. Passwords and session tokens are stored only as hashes."""

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

# Every sign-in attempt: failures in a recent window throttle a username and an address.
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

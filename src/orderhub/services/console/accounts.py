"""Who may use the web console: users with a role, passwords hashed with Argon2id, sessions
behind a random cookie token, and sign-in throttled (:mod:`.throttle`) with a cap on parallel
password checks (:mod:`.password_checks`).

Roles are those of the API tokens (:data:`orderhub.adapters.store.tokens.ROLES`): a viewer
reads, an operator also acts on orders, jobs and the error log, an admin also changes the
configuration (routing rules, schedules, webhook subscriptions, users).
"""

from __future__ import annotations

import hashlib
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Connection

from orderhub.adapters.store import console_users
from orderhub.adapters.store.db import Database
from orderhub.adapters.store.tokens import ROLES, allows
from orderhub.clock import utcnow
from orderhub.services.console import password_checks, throttle

MIN_PASSWORD = 12
MAX_PASSWORD = 1024  # hashing a megabyte of "password" is work an attacker should not get for free
MAX_USERNAME = 64
THROTTLE_WINDOW = throttle.WINDOW
MAX_FAILURES_PER_PAIR = throttle.MAX_FAILURES_PER_PAIR  # one address, one username
MAX_FAILURES_PER_ADDRESS = throttle.MAX_FAILURES_PER_ADDRESS  # one address, whatever name it tries

# Text direction overrides would let one username pass for another on screen (emoji joiners are fine).
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")

_hasher = PasswordHasher()  # Argon2id with the library's current (RFC 9106) parameters
# Verified against when the username is unknown, so that the answer takes as long as for a known one.
_UNKNOWN_USER_HASH = _hasher.hash(secrets.token_urlsafe(16))


class AccountError(ValueError):
    """A user cannot be added or changed as asked (the message says why)."""


class SignInRefused(Exception):
    def __init__(self, message: str, retry_after: int | None = None, busy: bool = False) -> None:
        super().__init__(message)
        self.retry_after = retry_after  # seconds, when throttled or busy
        self.busy = busy  # too many password checks under way: nothing was checked


@dataclass(frozen=True)
class SignedIn:
    """A session that was just opened: ``token`` goes in the cookie and nowhere else."""

    token: str
    csrf_token: str
    username: str
    role: str


@dataclass(frozen=True)
class Session:
    """The signed-in user of a request."""

    session_id: str
    user_id: int
    username: str
    role: str
    csrf_token: str

    def may(self, needed: str) -> bool:
        return allows(self.role, needed)


def check_username(username: str) -> str:
    name = unicodedata.normalize("NFC", username.strip())
    if not name:
        raise AccountError("a username must not be empty")
    if len(name) > MAX_USERNAME:
        raise AccountError(f"a username has at most {MAX_USERNAME} characters; {name[:20]!r}... has {len(name)}")
    if any(unicodedata.category(c) in ("Cc", "Zl", "Zp") or c in _BIDI_CONTROLS for c in name):
        raise AccountError(f"username {name!r} holds a control character")
    return name


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"a password needs at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise AccountError(f"a password has at most {MAX_PASSWORD} characters")


def check_role(role: str) -> str:
    if role not in ROLES:
        raise AccountError(f"unknown role {role!r}; choose from {', '.join(ROLES)}")
    return role


def add_user(db: Database, username: str, password: str, role: str) -> int:
    name, _ = check_username(username), check_role(role)
    check_password(password)
    digest = _hasher.hash(password)
    with db.write() as conn:
        try:
            return console_users.add(conn, name, digest, role, utcnow())
        except console_users.UserExists as exc:
            raise AccountError(str(exc)) from None


def _user(conn: Connection, username: str) -> Any:
    row = console_users.by_username(conn, username)
    if row is None:
        raise AccountError(f"no user {username!r}")
    return row


def set_password(db: Database, username: str, password: str) -> None:
    """A new password; every session of the user ends."""
    check_password(password)
    digest = _hasher.hash(password)
    with db.write() as conn:
        row = _user(conn, username)
        console_users.change(conn, row.id, utcnow(), password_hash=digest)
        console_users.end_sessions_of(conn, row.id)


def set_role(db: Database, username: str, role: str) -> None:
    check_role(role)
    with db.write() as conn:
        row = _user(conn, username)
        console_users.change(conn, row.id, utcnow(), role=role)


def set_disabled(db: Database, username: str, disabled: bool) -> None:
    """A disabled user cannot sign in, and is signed out everywhere."""
    with db.write() as conn:
        row = _user(conn, username)
        now = utcnow()
        console_users.change(conn, row.id, now, disabled_at=now if disabled else None)
        if disabled:
            console_users.end_sessions_of(conn, row.id)


def _session_id(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _verify(digest: str, password: str) -> bool:
    try:
        return _hasher.verify(digest, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def sign_in(db: Database, username: str, password: str, *, ip: str, user_agent: str | None,
            idle: timedelta, parallel_checks: int = password_checks.DEFAULT_PARALLEL) -> SignedIn:
    """A new session for the user, or :class:`SignInRefused` (the same message whether the
    username or the password was wrong).

    The check is reserved before it is made (:func:`throttle.admit`), so concurrent attempts
    cannot pass more checks than the limits; at most ``parallel_checks`` run in this process.
    """
    name = unicodedata.normalize("NFC", username.strip())[:MAX_USERNAME]
    key = throttle.name_key(console_users.username_key(name))
    ip = (ip or "unknown")[:64]
    now = utcnow()
    try:
        ticket = throttle.admit(db, key, ip, now)
    except throttle.Throttled as held:
        raise SignInRefused(str(held), retry_after=held.retry_after) from None
    try:
        with db.read() as conn:
            row = console_users.by_username(conn, name)
        digest = row.password_hash if row is not None else _UNKNOWN_USER_HASH
        ok = len(password) <= MAX_PASSWORD and password_checks.run(lambda: _verify(digest, password),
                                                                    parallel_checks)
    except password_checks.Busy:
        throttle.settle(db, ticket, ok=None)
        raise SignInRefused("the console is busy checking other sign-ins; try again in a moment",
                            retry_after=2, busy=True) from None
    except BaseException:
        throttle.settle(db, ticket, ok=None)
        raise
    ok = ok and row is not None and row.disabled_at is None
    throttle.settle(db, ticket, ok=ok)
    with db.write() as conn:
        console_users.record_attempt(conn, key, ip, ok, now)
        if not ok:
            signed = None
        else:
            token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
            console_users.add_session(conn, _session_id(token), row.id, csrf, now, now + idle, ip, user_agent)
            changes: dict[str, Any] = {"last_sign_in_at": now}
            if _hasher.check_needs_rehash(row.password_hash):  # parameters moved on since it was hashed
                changes["password_hash"] = _hasher.hash(password)
            console_users.change(conn, row.id, now, **changes)
            signed = SignedIn(token, csrf, row.username, row.role)
    if signed is None:
        raise SignInRefused("wrong username or password")
    return signed


def session(db: Database, token: str | None, *, idle: timedelta, longest: timedelta,
            now: datetime | None = None) -> Session | None:
    """The live session of a cookie token, its idle time extended; None when there is none (or
    it expired, or the user was disabled)."""
    if not token or len(token) > 128:
        return None
    now = now or utcnow()
    sid = _session_id(token)
    with db.read() as conn:
        row = console_users.session(conn, sid)
    if row is None:
        return None
    if row.expires_at <= now or row.created_at + longest <= now or row.disabled_at is not None:
        with db.write() as conn:
            console_users.end_session(conn, sid)
        return None
    if now - row.last_seen_at >= timedelta(minutes=1):  # at most a write a minute per session
        with db.write() as conn:
            console_users.touch_session(conn, sid, now, min(now + idle, row.created_at + longest))
    return Session(sid, row.user_id, row.username, row.role, row.csrf_token)


def sign_out(db: Database, token: str | None) -> None:
    if token and len(token) <= 128:
        with db.write() as conn:
            console_users.end_session(conn, _session_id(token))

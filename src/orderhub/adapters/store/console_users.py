"""The web console's users, sessions and sign-in attempts (rows only; the rules are in
:mod:`orderhub.services.console.accounts`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from orderhub.adapters.store.schema import console_sessions, console_sign_ins, console_users


class UserExists(ValueError):
    pass


def username_key(username: str) -> str:
    """What makes two usernames the same user: case and compatibility forms folded."""
    return username.casefold()


def add(conn: Connection, username: str, password_hash: str, role: str, now: datetime) -> int:
    try:
        with conn.begin_nested():
            return int(conn.execute(insert(console_users).values(
                username=username, username_key=username_key(username), password_hash=password_hash, role=role,
                created_at=now, updated_at=now).returning(console_users.c.id)).scalar_one())
    except IntegrityError:
        raise UserExists(f"user {username!r} exists already") from None


def by_username(conn: Connection, username: str) -> Any:
    return conn.execute(select(console_users).where(console_users.c.username_key == username_key(username))).first()


def by_id(conn: Connection, user_id: int) -> Any:
    return conn.execute(select(console_users).where(console_users.c.id == user_id)).first()


def all_users(conn: Connection) -> list[Any]:
    return list(conn.execute(select(console_users).order_by(console_users.c.username_key)))


def change(conn: Connection, user_id: int, now: datetime, **values: Any) -> None:
    """Set columns of a user (password_hash, role, disabled_at, last_sign_in_at)."""
    conn.execute(update(console_users).where(console_users.c.id == user_id).values(updated_at=now, **values))


# -- sign-in attempts ----------------------------------------------------------------------------------------

def record_attempt(conn: Connection, key: str, ip: str, ok: bool, now: datetime) -> None:
    conn.execute(insert(console_sign_ins).values(at=now, username_key=key, ip=ip, ok=ok))


def forget_attempts_before(conn: Connection, before: datetime) -> int:
    return conn.execute(delete(console_sign_ins).where(console_sign_ins.c.at < before)).rowcount or 0


# -- sessions ------------------------------------------------------------------------------------------------

def add_session(conn: Connection, session_id: str, user_id: int, csrf_token: str, now: datetime,
                expires_at: datetime, ip: str | None, user_agent: str | None) -> None:
    conn.execute(insert(console_sessions).values(
        id=session_id, user_id=user_id, csrf_token=csrf_token, created_at=now, last_seen_at=now,
        expires_at=expires_at, ip=ip, user_agent=(user_agent or "")[:255] or None))


def session(conn: Connection, session_id: str) -> Any:
    """The session with its user's name, role and state; None when there is none."""
    s, u = console_sessions.c, console_users.c
    return conn.execute(
        select(s.id, s.user_id, s.csrf_token, s.created_at, s.last_seen_at, s.expires_at, u.username, u.role,
               u.disabled_at)
        .select_from(console_sessions.join(console_users, u.id == s.user_id)).where(s.id == session_id)).first()


def touch_session(conn: Connection, session_id: str, now: datetime, expires_at: datetime) -> None:
    conn.execute(update(console_sessions).where(console_sessions.c.id == session_id)
                 .values(last_seen_at=now, expires_at=expires_at))


def end_session(conn: Connection, session_id: str) -> None:
    conn.execute(delete(console_sessions).where(console_sessions.c.id == session_id))


def end_sessions_of(conn: Connection, user_id: int) -> int:
    return conn.execute(delete(console_sessions).where(console_sessions.c.user_id == user_id)).rowcount or 0


def end_expired_sessions(conn: Connection, now: datetime) -> int:
    return conn.execute(delete(console_sessions).where(console_sessions.c.expires_at < now)).rowcount or 0

"""Bearer tokens for the admin API and the EventBridge receiver. Only hashes are stored."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import Connection, insert, select, update

from orderhub.adapters.store.schema import api_tokens
from orderhub.clock import utcnow

SCOPES = ("api", "eventbridge")
# Each role may do what the ones after it may, and more.
ROLES = ("admin", "operator", "viewer")


def allows(role: str, needed: str) -> bool:
    """admin ⊇ operator ⊇ viewer."""
    return ROLES.index(role) <= ROLES.index(needed)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create(conn: Connection, name: str, scopes: tuple[str, ...] = ("api",), role: str = "admin") -> str:
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown:
        raise ValueError(f"unknown scope(s) {', '.join(unknown)}; choose from {', '.join(SCOPES)}")
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; choose from {', '.join(ROLES)}")
    token = "oh_" + secrets.token_urlsafe(32)
    conn.execute(insert(api_tokens).values(name=name, token_hash=_hash(token), scopes=",".join(scopes),
                                           role=role, created_at=utcnow()))
    return token


def identify(conn: Connection, token: str, scope: str) -> tuple[str, str] | None:
    """(name, role) of the token when it exists, is not revoked and carries the scope; else None.

    The look-up is by SHA-256 of the token, so timing reveals nothing of the token itself.
    """
    row = conn.execute(select(api_tokens.c.name, api_tokens.c.role, api_tokens.c.scopes).where(
        api_tokens.c.token_hash == _hash(token), api_tokens.c.revoked_at.is_(None))).first()
    return (row.name, row.role) if row is not None and scope in row.scopes.split(",") else None


def check(conn: Connection, token: str, scope: str) -> bool:
    return identify(conn, token, scope) is not None


def revoke(conn: Connection, name: str) -> int:
    return int(conn.execute(update(api_tokens).where(api_tokens.c.name == name, api_tokens.c.revoked_at.is_(None))
                            .values(revoked_at=utcnow())).rowcount)


def list_tokens(conn: Connection) -> list[dict[str, object]]:
    rows = conn.execute(select(api_tokens.c.name, api_tokens.c.scopes, api_tokens.c.role, api_tokens.c.created_at,
                               api_tokens.c.revoked_at).order_by(api_tokens.c.id))
    return [r._asdict() for r in rows]

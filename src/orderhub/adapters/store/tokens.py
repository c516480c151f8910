"""Bearer tokens for the admin API and the EventBridge receiver. Only hashes are stored."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from sqlalchemy import Connection, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

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
    name = name.strip()
    if not name:
        raise ValueError("a token needs a name (--name), e.g. the system or person that uses it")
    taken = conn.execute(select(api_tokens.c.id).where(api_tokens.c.name == name)).first()
    if taken is not None:
        raise NameTaken(name, int(taken.id))
    token = "oh_" + secrets.token_urlsafe(32)
    try:
        with conn.begin_nested():
            conn.execute(insert(api_tokens).values(name=name, token_hash=_hash(token), scopes=",".join(scopes),
                                                   role=role, created_at=utcnow()))
    except IntegrityError:  # created by another process since the check above
        raise NameTaken(name, None) from None
    return token


class NameTaken(ValueError):
    """Token names are unique (revoked tokens keep theirs), so a name always means one token."""

    def __init__(self, name: str, token_id: int | None) -> None:
        which = f"a token named {name!r}" + (f" (id {token_id})" if token_id is not None else "")
        super().__init__(f"{which} exists already; choose another name, or revoke that one and create "
                         "a token under a new name")
        self.name, self.token_id = name, token_id


def identify(conn: Connection, token: str, scope: str) -> tuple[str, str] | None:
    """(name, role) of the token when it exists, is not revoked and carries the scope; else None.

    The look-up is by SHA-256 of the token, so timing reveals nothing of the token itself.
    """
    row = conn.execute(select(api_tokens.c.name, api_tokens.c.role, api_tokens.c.scopes).where(
        api_tokens.c.token_hash == _hash(token), api_tokens.c.revoked_at.is_(None))).first()
    return (row.name, row.role) if row is not None and scope in row.scopes.split(",") else None


def check(conn: Connection, token: str, scope: str) -> bool:
    return identify(conn, token, scope) is not None


_COLUMNS = (api_tokens.c.id, api_tokens.c.name, api_tokens.c.scopes, api_tokens.c.role, api_tokens.c.created_at,
            api_tokens.c.revoked_at)


def find(conn: Connection, ref: str) -> dict[str, Any]:
    """The one token ``ref`` names: its id, or its name. LookupError when none or two (an id that is
    another token's name) match."""
    ref = ref.strip()
    by_id = api_tokens.c.id == int(ref) if ref.isdigit() and len(ref) < 16 else None
    where = api_tokens.c.name == ref if by_id is None else or_(by_id, api_tokens.c.name == ref)
    rows = conn.execute(select(*_COLUMNS).where(where).order_by(api_tokens.c.id)).all()
    if not rows:
        raise LookupError(f"no token {ref!r} (by id or name); `orderhub token list` shows them")
    if len(rows) > 1:
        first, second = rows[0], rows[1]
        raise LookupError(f"ambiguous: {ref!r} is token {first.id}'s id and token {second.id}'s name; give token "
                          f"{first.id}'s name ({first.name!r}) or token {second.id}'s id ({second.id}) instead")
    return rows[0]._asdict()


def revoke(conn: Connection, ref: str) -> dict[str, Any]:
    """Revoke the one token ``ref`` names (id or name); returns it. ValueError when already revoked."""
    found = find(conn, ref)
    if found["revoked_at"] is not None:
        raise ValueError(f"token {found['id']} ({found['name']}) was revoked already, at "
                         f"{found['revoked_at']:%Y-%m-%d %H:%M:%S}Z")
    found["revoked_at"] = utcnow()
    conn.execute(update(api_tokens).where(api_tokens.c.id == found["id"]).values(revoked_at=found["revoked_at"]))
    return found


def list_tokens(conn: Connection) -> list[dict[str, Any]]:
    return [r._asdict() for r in conn.execute(select(*_COLUMNS).order_by(api_tokens.c.id))]

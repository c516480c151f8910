"""Channel accounts of every kind (a Shopify shop, an Amazon seller account in a marketplace, a Walmart
seller, a TikTok shop): what each one is, its secrets (encrypted, never printed or logged), the sales
channel it sells through, and whether orderhub works with it. Shopify's own look-ups stay in shops.py."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import Connection, insert, select, update

from orderhub.adapters.store import secrets as secret_box
from orderhub.adapters.store.schema import shops
from orderhub.clock import utcnow

STATUSES = ("active", "disabled")


@dataclass(frozen=True)
class Account:
    id: int
    kind: str
    name: str
    status: str
    sales_channel: str | None
    settings: dict[str, Any]
    credentials: dict[str, str] = field(repr=False, default_factory=dict)

    def __repr__(self) -> str:  # secrets never reach logs or tracebacks
        return f"Account(id={self.id}, kind={self.kind!r}, name={self.name!r}, status={self.status!r})"

    def public(self) -> dict[str, Any]:
        """What may be shown: everything but the secrets, which are named only."""
        return {"id": self.id, "kind": self.kind, "name": self.name, "status": self.status,
                "sales_channel": self.sales_channel, "settings": self.settings,
                "credentials": sorted(self.credentials)}


def _account(conn: Connection, row: Any, *, secrets: bool) -> Account:
    if row.kind == "shopify":  # Shopify's columns, read the same way for every listing
        settings = {"api_version": row.api_version, "admin_url": row.admin_url}
        held = {"webhook_secret": "", **({"access_token": ""} if row.access_token else {})}
        return Account(row.id, row.kind, row.domain, row.status, row.sales_channel,
                       {k: v for k, v in settings.items() if v}, held)
    credentials: dict[str, str] = {}
    if row.credentials:
        if secrets:
            sealed = secret_box.decrypt(conn, "shops.credentials", row.credentials, f"{row.kind} account {row.domain}")
            credentials = orjson.loads(sealed or "{}")
        else:
            credentials = dict.fromkeys(orjson.loads(row.settings or "{}").get("_secrets", []), "")
    settings = {k: v for k, v in orjson.loads(row.settings or "{}").items() if k != "_secrets"}
    return Account(row.id, row.kind, row.domain, row.status, row.sales_channel, settings, credentials)


def add(conn: Connection, kind: str, name: str, settings: dict[str, Any], credentials: dict[str, str], *,
        sales_channel: str | None = None) -> Account:
    """Add an account of ``kind`` (not shopify: shops.add), or replace the settings and secrets of one."""
    name = name.strip().lower()
    if not name or len(name) > 255:
        raise ValueError("an account needs a name of 1 to 255 characters")
    existing = conn.execute(select(shops.c.id, shops.c.kind).where(shops.c.domain == name)).first()
    if existing is not None and existing.kind != kind:
        raise ValueError(f"{name} is the name of a {existing.kind} account already; pick another name")
    # The names of the secrets stay beside the settings, so a listing says which are set without decrypting.
    values = dict(kind=kind, settings=orjson.dumps({**settings, "_secrets": sorted(credentials)}).decode(),
                  credentials=secret_box.encrypt(conn, "shops.credentials", orjson.dumps(credentials).decode()),
                  sales_channel=sales_channel, status="active")
    if existing is None:
        conn.execute(insert(shops).values(domain=name, created_at=utcnow(), **values))
    else:
        conn.execute(update(shops).where(shops.c.id == existing.id).values(**values))
    found = get(conn, name)
    assert found is not None
    return found


def get(conn: Connection, name: str, *, secrets: bool = True) -> Account | None:
    row = conn.execute(select(shops).where(shops.c.domain == name.strip().lower())).first()
    return None if row is None else _account(conn, row, secrets=secrets)


def by_id(conn: Connection, account_id: int, *, secrets: bool = True) -> Account | None:
    row = conn.execute(select(shops).where(shops.c.id == account_id)).first()
    return None if row is None else _account(conn, row, secrets=secrets)


def to_work(conn: Connection, kind: str, title: str, name: str | None) -> list[Account]:
    """The account of ``kind`` a job names (any status: a person asked for it), else every active one of the
    kind; secrets read. Raises ValueError when the name is no ``title`` account."""
    if name:
        found = get(conn, name)
        if found is None or found.kind != kind:
            raise ValueError(f"no {title} account {name}; `orderhub channel list` shows the accounts")
        return [found]
    listed = [a for a in all_accounts(conn, kind) if a.status == "active"]
    return [a for a in (by_id(conn, a.id) for a in listed) if a is not None]


def all_accounts(conn: Connection, kind: str | None = None) -> list[Account]:
    """Every account (of ``kind``), by name; secrets are named, not read."""
    stmt = select(shops).order_by(shops.c.kind, shops.c.domain)
    if kind:
        stmt = stmt.where(shops.c.kind == kind)
    return [_account(conn, r, secrets=False) for r in conn.execute(stmt)]


def set_status(conn: Connection, name: str, status: str) -> Account:
    """Disable an account (orderhub stops reading from and writing to it) or enable it again."""
    if status not in STATUSES:
        raise ValueError(f"an account is {' or '.join(STATUSES)}, not {status!r}")
    done = conn.execute(update(shops).where(shops.c.domain == name.strip().lower(), shops.c.status != "uninstalled")
                        .values(status=status))
    found = get(conn, name, secrets=False)
    if found is None:
        raise LookupError(f"no channel account {name}; `orderhub channel list` shows them")
    if not done.rowcount:
        raise ValueError(f"{found.kind} account {found.name} is uninstalled; add it again to use it")
    return found


def update_settings(conn: Connection, name: str, changes: dict[str, Any]) -> Account:
    """Change some settings of an account (not a Shopify shop), keeping its other settings and its secrets."""
    row = conn.execute(select(shops.c.id, shops.c.kind, shops.c.settings).where(
        shops.c.domain == name.strip().lower())).first()
    if row is None:
        raise LookupError(f"no channel account {name}; `orderhub channel list` shows them")
    if row.kind == "shopify":
        raise ValueError(f"{name} is a Shopify shop; `orderhub shop` changes shops")
    settings = {**orjson.loads(row.settings or "{}"), **changes}
    conn.execute(update(shops).where(shops.c.id == row.id).values(settings=orjson.dumps(settings).decode()))
    found = get(conn, name, secrets=False)
    assert found is not None
    return found

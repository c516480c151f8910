"""Shops (the Shopify stores orderhub listens to) and their credentials: the accounts of kind shopify
(other kinds of account live in the same table, see accounts.py)."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, insert, select, update

from orderhub.adapters.shopify import api_versions
from orderhub.adapters.store import secrets as secret_box
from orderhub.adapters.store.db import Database
from orderhub.adapters.store.schema import shops
from orderhub.clock import utcnow


@dataclass(frozen=True)
class Shop:
    id: int
    domain: str
    webhook_secret: str = field(repr=False)
    admin_url: str | None
    access_token: str | None = field(repr=False)
    api_version: str
    status: str

    def __repr__(self) -> str:  # secrets never reach logs or tracebacks
        return f"Shop(id={self.id}, domain={self.domain!r}, status={self.status!r})"


log = logging.getLogger(__name__)


def _shop(conn: Connection, row: Any) -> Shop:
    """A shop with its credentials decrypted (the store keeps them encrypted, see secrets.py)."""
    record = f"shop {row.domain}"
    secret = secret_box.decrypt(conn, "shops.webhook_secret", row.webhook_secret, record)
    token = secret_box.decrypt(conn, "shops.access_token", row.access_token, record)
    assert secret is not None
    return Shop(id=row.id, domain=row.domain, webhook_secret=secret, admin_url=row.admin_url,
                access_token=token, api_version=row.api_version, status=row.status)


def add(conn: Connection, domain: str, secret: str, admin_url: str | None = None,
        access_token: str | None = None, api_version: str | None = None) -> Shop:
    """Add a shop, or update the credentials of one already added.

    A new shop without ``api_version`` gets the newest stable Shopify API version of the day;
    an invalid version raises :class:`api_versions.InvalidVersion` (a ValueError).
    """
    domain = domain.strip().lower()
    values: dict[str, Any] = dict(webhook_secret=secret_box.encrypt(conn, "shops.webhook_secret", secret),
                                  admin_url=admin_url,
                                  access_token=secret_box.encrypt(conn, "shops.access_token", access_token),
                                  status="active", uninstalled_at=None)
    if api_version:
        values["api_version"] = api_versions.parse(api_version)
    existing = by_domain(conn, domain)
    taken = conn.execute(select(shops.c.kind).where(shops.c.domain == domain, ~SHOPIFY)).scalar_one_or_none()
    if taken is not None:
        raise ValueError(f"{domain} is the name of a {taken} account; a shop needs a name of its own")
    if existing is None:
        values.setdefault("api_version", api_versions.newest_stable(utcnow().date()))
        conn.execute(insert(shops).values(domain=domain, created_at=utcnow(), **values))
    else:
        if admin_url is None:
            values.pop("admin_url")
        if access_token is None:
            values.pop("access_token")
        conn.execute(update(shops).where(shops.c.id == existing.id).values(**values))
    shop = by_domain(conn, domain)
    assert shop is not None
    return shop


def set_api_version(conn: Connection, domain: str, api_version: str) -> Shop | None:
    """Move a shop to another Admin API version (validated); None when there is no such shop."""
    version = api_versions.parse(api_version)
    done = conn.execute(update(shops).where(shops.c.domain == domain.strip().lower()).values(api_version=version))
    return by_domain(conn, domain) if done.rowcount else None


SHOPIFY = shops.c.kind == "shopify"


def by_domain(conn: Connection, domain: str) -> Shop | None:
    row = conn.execute(select(shops).where(shops.c.domain == domain.strip().lower(), SHOPIFY)).first()
    return None if row is None else _shop(conn, row)


def kind_of(conn: Connection, shop_id: int) -> str:
    """The kind of channel the account belongs to (shopify, ...); no credentials are read."""
    found = conn.execute(select(shops.c.kind).where(shops.c.id == shop_id)).scalar_one_or_none()
    if found is None:
        raise LookupError(f"no account {shop_id}")
    return str(found)


def name_of(conn: Connection, shop_id: int) -> str | None:
    """The account's name (a shop's domain), whatever its kind; no credentials are read."""
    return conn.execute(select(shops.c.domain).where(shops.c.id == shop_id)).scalar_one_or_none()


def by_id(conn: Connection, shop_id: int) -> Shop | None:
    row = conn.execute(select(shops).where(shops.c.id == shop_id, SHOPIFY)).first()
    return None if row is None else _shop(conn, row)


def all_shops(conn: Connection) -> list[Shop]:
    return [_shop(conn, r) for r in conn.execute(select(shops).where(SHOPIFY).order_by(shops.c.domain))]


def readable_shops(conn: Connection) -> list[Shop]:
    """Every shop whose credentials decrypt; the others are logged (no secret) and left out."""
    found = []
    for row in conn.execute(select(shops).where(SHOPIFY).order_by(shops.c.domain)):
        try:
            found.append(_shop(conn, row))
        except secret_box.SecretKeyError as exc:
            log.error("shop %s is left out: %s", row.domain, exc)
    return found


class ShopCache:
    """Shop look-ups for the webhook hot path, refreshed every few seconds.

    A miss is looked up at once, so a shop added a moment ago is found.
    """

    def __init__(self, db: Database, ttl_seconds: float = 5.0) -> None:
        self.db = db
        self.ttl = ttl_seconds
        self._by_domain: dict[str, Shop] = {}
        self._loaded = 0.0
        self._lock = threading.Lock()

    def _reload(self) -> None:
        with self.db.read() as conn:
            found = {s.domain: s for s in readable_shops(conn)}
        with self._lock:
            self._by_domain = found
            self._loaded = time.monotonic()

    def get(self, domain: str) -> Shop | None:
        domain = domain.lower()
        if time.monotonic() - self._loaded > self.ttl:
            self._reload()
        shop = self._by_domain.get(domain)
        if shop is None and time.monotonic() - self._loaded > 0.5:
            self._reload()
            shop = self._by_domain.get(domain)
        return shop

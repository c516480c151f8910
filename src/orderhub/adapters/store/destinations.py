"""Destinations: where processed records go, each with its own intake rate and retry policy."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, insert, select, update

from orderhub.adapters.store import secrets as secret_box
from orderhub.adapters.store.schema import destinations
from orderhub.clock import utcnow

STORE = "store"  # the built-in order store


@dataclass(frozen=True)
class Destination:
    id: int
    name: str
    kind: str  # store | http
    url: str | None
    secret: str | None = field(repr=False)
    rate_per_second: float
    burst: float
    max_attempts: int
    timeout_seconds: float
    backoff_base_seconds: float
    backoff_max_seconds: float
    enabled: bool

    @property
    def bucket(self) -> str:
        return f"destination:{self.name}"

    def __repr__(self) -> str:
        return f"Destination(name={self.name!r}, kind={self.kind!r}, url={self.url!r})"


def _dest(conn: Connection, row: Any) -> Destination:
    values = {k: getattr(row, k) for k in Destination.__dataclass_fields__}
    values["secret"] = secret_box.decrypt(conn, "destinations.secret", row.secret, f"destination {row.name}")
    return Destination(**values)


DEFAULTS: dict[str, Any] = dict(rate_per_second=500.0, burst=500.0, max_attempts=8, timeout_seconds=10.0,
                                backoff_base_seconds=1.0, backoff_max_seconds=300.0)


def ensure_store(conn: Connection) -> Destination:
    found = get(conn, STORE)
    if found is not None:
        return found
    conn.execute(insert(destinations).values(name=STORE, kind="store", enabled=True,
                                             created_at=utcnow(), **DEFAULTS))
    found = get(conn, STORE)
    assert found is not None
    return found


def add_http(conn: Connection, name: str, url: str, secret: str, **settings: Any) -> Destination:
    if get(conn, name) is not None:
        raise ValueError(f"destination {name!r} already exists; change it with `orderhub destination set`")
    values = DEFAULTS | {k: v for k, v in settings.items() if v is not None}
    if "burst" not in settings or settings["burst"] is None:
        values["burst"] = max(1.0, values["rate_per_second"])
    conn.execute(insert(destinations).values(name=name, kind="http", url=url, enabled=True,
                                             secret=secret_box.encrypt(conn, "destinations.secret", secret),
                                             created_at=utcnow(), **values))
    found = get(conn, name)
    assert found is not None
    return found


def change(conn: Connection, name: str, **settings: Any) -> Destination:
    values = {k: v for k, v in settings.items() if v is not None}
    if get(conn, name) is None:
        raise LookupError(f"no destination named {name!r}; see `orderhub destination list`")
    if values:
        conn.execute(update(destinations).where(destinations.c.name == name).values(**values))
    found = get(conn, name)
    assert found is not None
    return found


def get(conn: Connection, name: str) -> Destination | None:
    row = conn.execute(select(destinations).where(destinations.c.name == name)).first()
    return None if row is None else _dest(conn, row)


def all_destinations(conn: Connection) -> list[Destination]:
    return [_dest(conn, r) for r in conn.execute(select(destinations).order_by(destinations.c.id))]


def http_destinations(conn: Connection) -> list[Destination]:
    return [d for d in all_destinations(conn) if d.kind == "http" and d.enabled]

"""A shop's own source names and the channel each one stands for, set by an operator
(``orderhub shop source-channel``) and kept in the shop's ``settings`` JSON under ``source_channels``.

Shopify names a sales channel app's orders by a key of the shop's (the app's id, or one of its handles);
only the operator knows that, say, ``3890849`` is the shop's Instagram sales. The processor applies the
mapping to every order it reads from then on (services/source_channels.py)."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import Connection, select, update

from orderhub.adapters.store.schema import shops
from orderhub.domain import sales_channels

SETTING = "source_channels"


def _settings(raw: str | None) -> dict[str, Any]:
    try:
        found = orjson.loads(raw or "{}")
    except orjson.JSONDecodeError:
        return {}
    return found if isinstance(found, dict) else {}


def _mapping(settings: dict[str, Any]) -> dict[str, str]:
    found = settings.get(SETTING)
    if not isinstance(found, dict):
        return {}
    return {str(k): str(v) for k, v in found.items() if isinstance(v, str)}


def of_account(conn: Connection, account_id: int) -> dict[str, str]:
    """The account's mapping, source name -> channel code (empty when none is set)."""
    raw = conn.execute(select(shops.c.settings).where(shops.c.id == account_id)).scalar_one_or_none()
    return _mapping(_settings(raw))


def of_shop(conn: Connection, domain: str) -> dict[str, str]:
    """A shop's mapping by its domain; LookupError naming the shop when there is no such shop."""
    row = _row(conn, domain)
    return _mapping(_settings(row.settings))


def _row(conn: Connection, domain: str) -> Any:
    row = conn.execute(select(shops.c.id, shops.c.settings).where(
        shops.c.domain == domain.strip().lower(), shops.c.kind == "shopify")).first()
    if row is None:
        raise LookupError(f"no shop {domain}; `orderhub shop list` shows the shops")
    return row


def set_channel(conn: Connection, domain: str, source_name: str, channel: str | None) -> dict[str, str]:
    """Map ``source_name`` to ``channel`` on the shop (None removes it); returns the shop's mapping.
    A ValueError says what is wrong with the source name or the code; LookupError when there is no shop,
    or (removing) when the source name is not mapped."""
    row = _row(conn, domain)
    source = sales_channels.check_source(source_name)
    settings = _settings(row.settings)
    mapping = _mapping(settings)
    if channel is None:
        if source not in mapping:
            raise LookupError(f"shop {domain} has no channel for the source name {source}; "
                              f"`orderhub shop show {domain}` lists them")
        del mapping[source]
    else:
        mapping[source] = sales_channels.check_code(channel)
    settings[SETTING] = dict(sorted(mapping.items()))
    conn.execute(update(shops).where(shops.c.id == row.id).values(settings=orjson.dumps(settings).decode()))
    return dict(settings[SETTING])


def channels_in_use(conn: Connection) -> set[str]:
    """Channel codes orders can carry besides the built-in ones: the kinds of the marketplace accounts and
    every code a shop's mapping names (what the order filters offer)."""
    found: set[str] = set()
    for row in conn.execute(select(shops.c.kind, shops.c.settings)):
        if row.kind != "shopify":
            found.add(row.kind)
        else:
            found.update(_mapping(_settings(row.settings)).values())
    return found

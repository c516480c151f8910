"""The order timeline: what happened to an order, when, by whom, and why."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Connection, select

from orderhub.adapters.store import bulk
from orderhub.adapters.store.schema import order_events, orders
from orderhub.clock import utcnow


@dataclass(frozen=True)
class Entry:
    order_id: int  # orderhub's id
    kind: str  # approved, brokered, held, cancelled, shipped, brokering, placement_failed, ...
    detail: dict[str, Any]
    actor: str


def add(conn: Connection, entries: Sequence[Entry], *, keys: Mapping[int, tuple[int, str]] | None = None) -> None:
    """Append entries for orders in orderhub (keyed like inbound events, by shop and Shopify id).

    ``keys`` (order id -> (shop id, Shopify id)), from rows the caller holds already, saves reading them."""
    if not entries:
        return
    keys = dict(keys or {})
    ids = sorted({e.order_id for e in entries} - keys.keys())
    if ids:
        keys |= {r.id: (r.shop_id, r.shopify_id) for r in conn.execute(
            select(orders.c.id, orders.c.shop_id, orders.c.shopify_id).where(orders.c.id.in_(ids)))}
    now = utcnow()
    dumps = orjson.dumps
    bulk.insert_tuples(conn, order_events, _COLUMNS, [
        (*keys[e.order_id], e.kind, dumps(e.detail, default=str).decode(), e.actor, now) for e in entries])


_COLUMNS = ("shop_id", "order_shopify_id", "kind", "detail", "actor", "at")  # inbox_id: none, entries are ours

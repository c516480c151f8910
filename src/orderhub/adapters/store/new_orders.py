"""Storing many orders orderhub has never seen, a handful of statements per batch.

Most inbox records in a busy shop are first versions of new orders. For them the
per-record path of :mod:`order_store` (look, upsert, replace children, reapply
edits) reduces to plain inserts, so they are written together: one executemany
per table. The result is row for row what :func:`order_store.apply_order` writes
for a new order; anything else (a known order, one with edits waiting) is left to it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, bindparam, insert, select

from orderhub.adapters.store import bulk, identities, order_store
from orderhub.adapters.store.db import each_shop
from orderhub.adapters.store.schema import (
    order_addresses,
    order_discounts,
    order_edits,
    order_events,
    order_items,
    order_shipping_lines,
    orders,
)
from orderhub.clock import utcnow
from orderhub.domain.model import Order

Key = tuple[int, str]  # (shop id, Shopify order id)


@dataclass(frozen=True)
class NewOrder:
    shop_id: int
    order: Order
    inbox_id: int

    @property
    def key(self) -> Key:
        return self.shop_id, self.order.shopify_id


# Built once (building a statement costs more than running it); the ids expand at execution.
_KNOWN = tuple(select(column).where(table.c.shop_id == bindparam("shop"),
                                    column.in_(bindparam("ids", expanding=True))).distinct()
               for table, column in ((orders, orders.c.shopify_id), (order_edits, order_edits.c.order_shopify_id)))


def unknown(conn: Connection, keys: Sequence[Key]) -> set[Key]:
    """The keys of orders not stored yet and with no edit waiting for them."""
    wanted = set(keys)
    for stmt in _KNOWN:
        wanted -= {(shop_id, r[0]) for shop_id, r in each_shop(conn, stmt, keys)}
    return wanted


def insert_all(conn: Connection, batch: Sequence[NewOrder]) -> dict[Key, int]:
    """Insert these new orders with their customers, lines, addresses, shipping lines and timeline.

    Raises (and the caller's savepoint rolls back) if any of them exists after all,
    e.g. another process stored it since :func:`unknown` looked."""
    if not batch:
        return {}
    now = utcnow()
    customer_ids = _customers(conn, batch)
    rows = [dict.fromkeys(order_store.OPTIONAL_ORDER_VALUES) | order_store.order_values(n.order)
            | dict.fromkeys(order_store.LOCATION_VALUES)
            | order_store.location_values(conn, n.order) | {
        "shop_id": n.shop_id, "shopify_id": n.order.shopify_id, "version": 1, "created_at": now, "updated_at": now,
        "customer_id": identities.buyer_id(customer_ids, n.shop_id, n.order)}
        for n in batch]  # one insert of many rows: every row names the same columns
    # The rows come back named by (shop, channel id), so their order does not matter: asking for it would make
    # SQLite take one INSERT per order; without it the batch is one statement.
    inserted = conn.execute(insert(orders).returning(orders.c.id, orders.c.shop_id, orders.c.shopify_id), rows)
    pks = {(r.shop_id, r.shopify_id): r.id for r in inserted}
    children = (
        (order_items, order_store.item_rows),
        (order_addresses, order_store.address_rows),
        (order_shipping_lines, order_store.shipping_line_rows),
        (order_discounts, order_store.discount_rows),
    )
    for table, make in children:  # one statement a table, its rows not processed by SQLAlchemy one by one
        bulk.insert_rows(conn, table, [row for n in batch for row in make(pks[n.key], n.order)])
    bulk.insert_rows(conn, order_events, [
        {"shop_id": n.shop_id, "order_shopify_id": n.order.shopify_id, "inbox_id": n.inbox_id, "kind": "created",
         "detail": order_store.event_json(order_store.stored_detail(n.order, 0)), "at": now} for n in batch])
    return pks


def _customers(conn: Connection, batch: Sequence[NewOrder]) -> dict[Key, int]:
    """Store the batch's buyers (the newest order's details win), linked to profiles, and return their ids."""
    return identities.store(conn, identities.order_rows(conn, [(n.shop_id, n.order) for n in batch]))

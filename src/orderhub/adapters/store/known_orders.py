"""Storing newer versions of many known orders, a handful of statements per batch.

After first versions, most records of a busy shop are later versions of orders orderhub
holds: paid, tagged, fulfilled. For them the per-record path of :mod:`order_store` (lock,
compare, upsert the buyer, update, replace the children, reapply edits, add to the timeline)
runs the same statements for every order; here they run once per batch, one per table.
The result is row for row what :func:`order_store.apply_order` writes; what this module
cannot write the same way (an order whose data was erased, edits still to reapply) the
caller leaves to that function.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, select, update

from orderhub.adapters.store import bulk, identities, order_store
from orderhub.adapters.store.db import each_shop, upsert_many
from orderhub.adapters.store.schema import (
    order_addresses,
    order_discounts,
    order_edits,
    order_events,
    order_items,
    order_shipping_lines,
    order_units,
    orders,
    refunds,
)
from orderhub.clock import utcnow
from orderhub.domain import sales_channels
from orderhub.domain.model import Freshness, Order, Refund, freshness

Key = tuple[int, str]  # (shop id, channel order id)

_LOCKED = (orders.c.id, orders.c.shop_id, orders.c.shopify_id, orders.c.source_updated_at, orders.c.customer_id,
           orders.c.personal_data_erased_at, orders.c.status, orders.c.source_status)


@dataclass(frozen=True)
class Version:
    """A version of a stored order (``stored``: its row as locked) that an inbox record brings."""

    stored: Any
    order: Order
    inbox_id: int

    @property
    def fresh(self) -> Freshness:
        return freshness(self.stored.source_updated_at, self.order.updated_at)


# Built once: building a statement costs more than running it. Run once per shop among the keys (``each_shop``).
_SHOP, _IDS = bindparam("shop"), bindparam("ids", expanding=True)
_LOCK = select(*_LOCKED).where(orders.c.shop_id == _SHOP, orders.c.shopify_id.in_(_IDS)).order_by(orders.c.id)
_LOCK_PG = _LOCK.with_for_update()
_EDITS = (select(order_edits.c.order_shopify_id, func.max(order_edits.c.source_created_at))
          .where(order_edits.c.shop_id == _SHOP, order_edits.c.order_shopify_id.in_(_IDS))
          .group_by(order_edits.c.order_shopify_id))
_REFUNDS = select(refunds.c.shopify_id).where(refunds.c.shop_id == _SHOP, refunds.c.shopify_id.in_(_IDS))
_STORED = select(orders.c.id, orders.c.shopify_id, orders.c.currency).where(orders.c.shop_id == _SHOP,
                                                                            orders.c.shopify_id.in_(_IDS))


def lock(conn: Connection, keys: Iterable[Key]) -> dict[Key, Any]:
    """The stored orders among these keys, locked until the transaction ends (in id order, so two processes
    locking overlapping batches wait for each other instead of deadlocking)."""
    stmt = _LOCK_PG if conn.dialect.name == "postgresql" else _LOCK
    return {(shop_id, r.shopify_id): r for shop_id, r in each_shop(conn, stmt, keys)}


def latest_edits(conn: Connection, keys: Iterable[Key]) -> dict[Key, datetime]:
    """When the newest edit recorded for each of these orders was made (orders with none left out)."""
    return {(shop_id, r[0]): r[1] for shop_id, r in each_shop(conn, _EDITS, keys)}


def stored_refunds(conn: Connection, refund_keys: Iterable[Key]) -> set[Key]:
    """Which of these (shop, refund id) refunds are kept already."""
    return {(shop_id, r[0]) for shop_id, r in each_shop(conn, _REFUNDS, refund_keys)}


def stored(conn: Connection, keys: Iterable[Key]) -> dict[Key, Any]:
    """The id and currency of each of these orders that is stored (not locked: for refunds, which change no
    order row)."""
    return {(shop_id, r.shopify_id): r for shop_id, r in each_shop(conn, _STORED, keys)}


def keep_refunds(conn: Connection, kept: Sequence[tuple[int, Refund, int, str | None]]) -> None:
    """Keep refunds not kept before, ``(shop, refund, inbox id, its order's currency)`` each, and note each on its
    order's timeline, as :func:`order_store.apply_refund` does one by one."""
    if kept:
        bulk.insert_rows(conn, refunds, [order_store.refund_row(shop_id, refund) for shop_id, refund, _, _ in kept])
        now = utcnow()
        bulk.insert_rows(conn, order_events, [{
            "shop_id": shop_id, "order_shopify_id": refund.order_id, "inbox_id": inbox_id, "kind": "refunded",
            "detail": order_store.event_json(order_store.refund_detail(refund, refund.currency or currency)),
            "at": now} for shop_id, refund, inbox_id, currency in kept])


def ignore_all(conn: Connection, versions: Sequence[Version]) -> None:
    """Versions no newer than what is stored: each noted on its order's timeline, nothing changed."""
    if versions:
        now = utcnow()
        bulk.insert_rows(conn, order_events, [{
            "shop_id": v.stored.shop_id, "order_shopify_id": v.order.shopify_id, "inbox_id": v.inbox_id,
            "kind": f"ignored_{v.fresh.value}", "at": now,
            "detail": order_store.event_json({"incoming_updated_at": v.order.updated_at.isoformat(),
                                           "stored_updated_at": v.stored.source_updated_at.isoformat()})}
            for v in versions])


_UPDATE = update(orders).where(orders.c.id == bindparam("pk")).values(version=orders.c.version + 1)


def update_all(conn: Connection, versions: Sequence[Version]) -> None:
    """Store these newer versions (one per order, none of an order whose personal data was erased, none with an
    edit newer than itself): buyers, order rows, lines, addresses, shipping lines, discounts and timeline."""
    if not versions:
        return
    now = utcnow()
    customer_ids = identities.store(conn, identities.order_rows(conn, [(v.stored.shop_id, v.order)
                                                                      for v in versions]))
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
    for v in sorted(versions, key=lambda v: v.stored.id):  # in lock order
        values = order_store.order_values(v.order) | order_store.location_values(conn, v.order) | {
            "customer_id": identities.buyer_id(customer_ids, v.stored.shop_id, v.order), "updated_at": now,
            "pk": v.stored.id}
        if sales_channels.is_guess(v.order.channel, v.order.source_name, v.order.channel_information):
            del values["channel"]  # what was known of it before stays
        groups[tuple(values)].append(values)
    for rows in groups.values():  # the rows of a group name the same columns: one executemany each
        conn.execute(_UPDATE, rows)
    _replace_children(conn, versions)
    bulk.insert_rows(conn, order_events, [
        {"shop_id": v.stored.shop_id, "order_shopify_id": v.order.shopify_id, "inbox_id": v.inbox_id,
         "kind": "updated", "detail": order_store.event_json(order_store.stored_detail(v.order, 0)), "at": now}
        for v in versions])


_LINES = select(order_items.c.id, order_items.c.order_id, order_items.c.shopify_id).where(
    order_items.c.order_id.in_(bindparam("ids", expanding=True)))
_CLEARED = {t.name: delete(t).where(t.c.order_id.in_(bindparam("ids", expanding=True)))
            for t in (order_shipping_lines, order_discounts)}  # an order's rows there are written again whole


def _replace_children(conn: Connection, versions: Sequence[Version]) -> None:
    """What :func:`order_store.apply_order` does to each order's children, for all of them at once."""
    pks = sorted(v.stored.id for v in versions)
    items = [row for v in versions for row in order_store.item_rows(v.stored.id, v.order)]
    # Items are upserted by line id (not deleted) so state attached to them survives updates.
    upsert_many(conn, order_items, items, keys=("order_id", "shopify_id"),
                update=[k for k in items[0] if k not in ("order_id", "shopify_id")] if items else [])
    wanted = {(v.stored.id, item.shopify_id) for v in versions for item in v.order.items}
    gone = [r.id for r in conn.execute(_LINES, {"ids": pks}) if (r.order_id, r.shopify_id) not in wanted]
    if gone:
        # A line that left the order but has units in fulfilment is kept at quantity 0, so the order management
        # side cancels its units and releases their stock; others are deleted.
        kept = sorted({r[0] for r in conn.execute(
            select(order_units.c.item_id).where(order_units.c.item_id.in_(gone)))})
        if kept:
            conn.execute(update(order_items).where(order_items.c.id.in_(kept))
                         .values(current_quantity=0, fulfillable_quantity=0))
        if deleted := sorted(set(gone) - set(kept)):
            conn.execute(delete(order_items).where(order_items.c.id.in_(deleted)))
    addresses = [row for v in versions for row in order_store.address_rows(v.stored.id, v.order)]
    upsert_many(conn, order_addresses, addresses, keys=("order_id", "kind"), update=order_store.ADDRESS_FIELDS)
    for kind in ("shipping", "billing"):
        said = {a["order_id"] for a in addresses if a["kind"] == kind}
        if unsaid := [pk for pk in pks if pk not in said]:
            conn.execute(delete(order_addresses).where(order_addresses.c.kind == kind,
                                                       order_addresses.c.order_id.in_(unsaid)))
    for table, make in ((order_shipping_lines, order_store.shipping_line_rows),
                        (order_discounts, order_store.discount_rows)):
        conn.execute(_CLEARED[table.name], {"ids": pks})
        bulk.insert_rows(conn, table, [row for v in versions for row in make(v.stored.id, v.order)])


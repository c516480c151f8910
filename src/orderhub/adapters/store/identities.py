"""Storing the identities orders and customer records name (``customers`` rows), with their linking keys, and
linking those that are new or whose keys changed (adapters/store/customer_links.py).

An identity already linked whose keys did not change costs no more than before profiles existed: one read of the
batch's identities before the upsert tells which need linking."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, select, update

from orderhub.adapters.store import customer_links
from orderhub.adapters.store.db import each_shop, upsert_many
from orderhub.adapters.store.schema import customers
from orderhub.domain.customers import ERASED_PREFIX, FALLBACK_RULE, Keys, Node, identity_of, keys_of, region_of
from orderhub.domain.model import Customer, Order

Key = tuple[int, str]  # (account id, the channel's id of the person)

UPDATE = ("email", "first_name", "last_name", "phone", "source_updated_at", *customer_links.KEY_COLUMNS)


def guard(excluded: Any) -> Any:
    """A redacted customer stays redacted; otherwise the newest record wins."""
    return and_(customers.c.redacted_at.is_(None),
                customers.c.source_updated_at.is_(None) | (customers.c.source_updated_at <= excluded.source_updated_at))


def row(account_id: int, person: Customer, at: datetime, *, region: str | None, rule: frozenset[str],
        phone: str | None = None) -> dict[str, Any]:
    """The identity's row: what the channel says of the person, and its keys under its kind's ``rule``
    (``phone``: the number to key by when the person record has none, e.g. the order's billing phone)."""
    return dict(shop_id=account_id, shopify_id=person.shopify_id, email=person.email,
                first_name=person.first_name, last_name=person.last_name, phone=person.phone,
                source_updated_at=at) | customer_links.key_values(keys_of(person, region=region, rule=rule,
                                                                          phone=phone))


def order_rows(conn: Connection, orders: Sequence[tuple[int, Order]]) -> dict[Key, dict[str, Any]]:
    """The identity row of each order's buyer (its customer, or the guest who checked out), the newest order's
    details winning when one buyer is on several."""
    rules = customer_links.account_rules(conn, (account for account, _ in orders))
    newest: dict[Key, dict[str, Any]] = {}
    for account, order in orders:
        person = identity_of(order)
        if person is None:
            continue
        address = order.billing_address or order.shipping_address
        r = row(account, person, order.updated_at, region=region_of(order), rule=rules.get(account, FALLBACK_RULE),
                phone=address.phone if address else None)
        known = newest.get((account, person.shopify_id))
        if known is None:
            newest[(account, person.shopify_id)] = r
        elif known["source_updated_at"] <= r["source_updated_at"]:
            newest[(account, person.shopify_id)] = _filled(r, known)
        else:
            newest[(account, person.shopify_id)] = _filled(known, r)
    return newest


# What an order says of its buyer is what it says, not all there is: a till that scans only the loyalty card says
# nothing of the e-mail address the customer gave last time. Details an order leaves out are kept (a channel's
# own customer record, which says everything, replaces them: :func:`store` with ``replace``).
_DETAILS = (("email", "email_key"), ("phone", "phone_key"), ("first_name", None), ("last_name", None),
            (None, "loyalty_key"))


def _filled(newer: dict[str, Any], older: Any) -> dict[str, Any]:
    """``newer`` with the details it leaves out taken from ``older`` (a row, or a stored identity)."""
    get = older.get if isinstance(older, dict) else lambda k: getattr(older, k)
    out = dict(newer)
    for detail, key in _DETAILS:
        said = out[detail] if detail else out[key]
        if said is None:
            if detail:
                out[detail] = get(detail)
            if key:
                out[key] = get(key)
    return out


# Built once (every batch of orders stores its buyers): the ids expand at execution. One shop at a time, so
# the unique key's index is used for both columns (a pair IN (VALUES ...) used it for the shop alone on SQLite,
# reading every identity of the shop).
_OF_SHOP = and_(customers.c.shop_id == bindparam("shop"), customers.c.shopify_id.in_(bindparam("ids", expanding=True)))
_BEFORE = select(customers.c.id, customers.c.shop_id, customers.c.shopify_id, customers.c.profile_id,
                 *(customers.c[c] for c in customer_links.KEY_COLUMNS), customers.c.email, customers.c.phone,
                 customers.c.first_name, customers.c.last_name, customers.c.redacted_at,
                 customers.c.source_updated_at).where(_OF_SHOP)
_IDS = select(customers.c.id, customers.c.shop_id, customers.c.shopify_id).where(_OF_SHOP)


def _read(conn: Connection, stmt: Any, keys: Iterable[Key]) -> list[Any]:
    """``stmt`` for these (shop, channel id) keys: one statement per shop among them."""
    return [r for _, r in each_shop(conn, stmt, keys)]


def store(conn: Connection, rows: dict[Key, dict[str, Any]], *, replace: bool = False) -> dict[Key, int]:
    """Upsert these identities (keeping the details a row leaves out, unless ``replace``), link the new ones and
    those whose keys changed, and return their ids."""
    if not rows:
        return {}
    before = {(r.shop_id, r.shopify_id): r for r in _read(conn, _BEFORE, rows)}
    erased = [r.id for r in before.values() if r.redacted_at is not None]
    if erased:
        # The person was erased and is buying again: that is someone new to orderhub. The erased identity
        # gives up the channel's id (its orders stay with it, on the erased profile) and a new one is made.
        conn.execute(update(customers).where(customers.c.id == bindparam("p_id")).values(
            shopify_id=bindparam("p_name")), [{"p_id": i, "p_name": f"{ERASED_PREFIX}{i}"} for i in erased])
        before = {key: r for key, r in before.items() if r.redacted_at is None}
    if not replace:
        rows = {key: _filled(r, before[key]) if key in before else r for key, r in rows.items()}
    # Linked before they are written: a new identity is inserted with its profile (not inserted, then moved), and
    # what linking needs of the others is handed over, not read back. A row older than the one stored changes
    # nothing (the guard): the stored keys stand.
    # Written in key order: two processes storing overlapping buyers lock them in the same order, so one waits
    # for the other instead of both deadlocking (PostgreSQL).
    new = sorted(key for key in rows if key not in before)
    unstored = {key: -(i + 1) for i, key in enumerate(new)}
    nodes = [Node(unstored[key], None, _keys(rows[key])) for key in new]
    for key, r in before.items():
        written = r.source_updated_at is None or r.source_updated_at <= rows[key]["source_updated_at"]
        keys = _keys(rows[key]) if written else _keys(r._mapping)
        if r.profile_id is None or keys != _keys(r._mapping):
            nodes.append(Node(r.id, r.profile_id, keys))
    assigned, _report = customer_links.assign(conn, nodes)
    if new:
        # Inserted with their profile; should another process have inserted one since, its details are updated
        # and the profile it linked it to stays.
        upsert_many(conn, customers, [rows[key] | dict(zip(("profile_id", "linked_by"), assigned[unstored[key]],
                                                                strict=True)) for key in new],
                    keys=("shop_id", "shopify_id"), update=UPDATE, where=guard)
    if before:
        upsert_many(conn, customers, [rows[key] for key in sorted(before)], keys=("shop_id", "shopify_id"),
                    update=UPDATE, where=guard)
    ids = {key: r.id for key, r in before.items()}
    if new:
        ids |= {(r.shop_id, r.shopify_id): r.id for r in _read(conn, _IDS, new)}
    return ids


def _keys(row: Any) -> Keys:
    return Keys(row["email_key"], row["phone_key"], row["loyalty_key"])


def buyer_id(ids: dict[Key, int], account_id: int, order: Order) -> int | None:
    """The id of the order's buyer among ``ids`` (as :func:`store` returns them); None when it names nobody."""
    person = identity_of(order)
    return None if person is None else ids.get((account_id, person.shopify_id))


def store_one(conn: Connection, account_id: int, order: Order) -> int | None:
    """Store the buyer of one order; its id (None when the order names nobody)."""
    rows = order_rows(conn, [(account_id, order)])
    return next(iter(store(conn, rows).values()), None)

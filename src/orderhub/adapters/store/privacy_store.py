"""What a channel's privacy request names, as stored: its customer (by the channel's id, else by e-mail), the
orders it lists, every identity and order of an account (shop/redact); and an account's uninstall. What is done
with them is services/privacy/channel_requests.py."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select, update

from orderhub.adapters.store.schema import customers, orders, shops


def find_customer(conn: Connection, account_id: int, customer_ref: str | None, email: str | None) -> Any:
    """The account's identity the request names: by the channel's id of the customer, else by e-mail (case
    aside); None when orderhub has none."""
    c = customers.c
    if customer_ref:
        return conn.execute(select(customers).where(c.shop_id == account_id, c.shopify_id == customer_ref)).first()
    if email:
        return conn.execute(select(customers).where(c.shop_id == account_id,
                                                    func.lower(c.email) == email.strip().lower())
                            .order_by(c.id)).first()
    return None


def listed_orders(conn: Connection, account_id: int, order_refs: Sequence[str]) -> list[int]:
    """orderhub's ids of the account's orders with these channel ids (those it has)."""
    if not order_refs:
        return []
    return sorted(conn.execute(select(orders.c.id).where(orders.c.shop_id == account_id,
                                                         orders.c.shopify_id.in_(list(order_refs)))).scalars())


def order_batches(conn: Connection, account_id: int, size: int = 500) -> Iterator[list[int]]:
    """Every order of the account, ``size`` ids at a time."""
    after = 0
    while True:
        ids = list(conn.execute(select(orders.c.id).where(orders.c.shop_id == account_id, orders.c.id > after)
                                .order_by(orders.c.id).limit(size)).scalars())
        if not ids:
            return
        yield ids
        after = ids[-1]


def identities_of_account(conn: Connection, account_id: int) -> list[int]:
    return sorted(conn.execute(select(customers.c.id).where(customers.c.shop_id == account_id)).scalars())


def mark_uninstalled(conn: Connection, shop_id: int, at: datetime) -> str:
    done = conn.execute(update(shops).where(shops.c.id == shop_id, shops.c.status != "uninstalled").values(
        status="uninstalled", uninstalled_at=at)).rowcount
    return "applied" if done else "unchanged"

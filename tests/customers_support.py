"""Helpers for tests of customer profiles: accounts of several channel kinds and orders whose buyers are linked
to profiles as orders are stored."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, select

from orderhub.adapters.shopify import translate
from orderhub.adapters.store import accounts, order_store, shops
from orderhub.adapters.store.schema import customers, orders, refunds
from orderhub.bootstrap import Hub
from tests.support import order_payload


def add_account(hub: Hub, kind: str, name: str) -> int:
    with hub.db.write() as conn:
        if kind == "shopify":
            return shops.add(conn, name, "s3cret").id
        return accounts.add(conn, kind, name, {}, {}).id


def add_order(hub: Hub, account_id: int, number: int, *, customer: int | None, email: str | None = None,
              phone: str | None = None, first: str = "Zoë", last: str = "Ångström", total: str = "38.20",
              currency: str = "EUR", channel: str = "online", cancelled: bool = False,
              created: str = "2026-11-23T09:59:00-05:00") -> int:
    """Store one order of ``account_id`` (the orderhub id back); ``customer``: the channel's id of the buyer
    (None: a guest checkout)."""
    buyer = None if customer is None else {"id": customer, "email": email, "first_name": first,
                                           "last_name": last, "phone": phone}
    payload = order_payload(number, email=email, customer=buyer, currency=currency, created_at=created,
                            updated_at=created, total_price=total,
                            **({"cancelled_at": created, "cancel_reason": "customer"} if cancelled else {}))
    order = dataclasses.replace(translate.order(payload), channel=channel)
    with hub.db.write() as conn:
        order_store.apply_order(conn, account_id, order, None)
        return int(conn.execute(select(orders.c.id).where(orders.c.shop_id == account_id,
                                                           orders.c.shopify_id == str(number))).scalar_one())


def refund(hub: Hub, account_id: int, number: int, amount: str, refund_id: int) -> None:
    at = datetime(2026, 11, 24, tzinfo=timezone.utc)
    with hub.db.write() as conn:
        conn.execute(insert(refunds).values(shop_id=account_id, shopify_id=str(refund_id),
                                            order_shopify_id=str(number), amount=Decimal(amount), currency=None,
                                            lines="[]", source_created_at=at, created_at=at))


def profile_of_order(hub: Hub, order_id: int) -> int:
    with hub.db.read() as conn:
        return int(conn.execute(select(customers.c.profile_id).join(orders, orders.c.customer_id == customers.c.id)
                                .where(orders.c.id == order_id)).scalar_one())


def identity_of_order(hub: Hub, order_id: int) -> int:
    with hub.db.read() as conn:
        return int(conn.execute(select(orders.c.customer_id).where(orders.c.id == order_id)).scalar_one())


def scene(hub: Hub) -> dict[str, Any]:
    """Zoë on three channels: her Shopify customer (e-mail and phone), an Amazon buyer with the same phone (the
    marketplace links by phone only) and a store's POS customer with another e-mail and no phone - a profile of
    her own until someone merges it; plus Ann, someone else."""
    shop = add_account(hub, "shopify", "zoe-shop.myshopify.com")
    amazon = add_account(hub, "amazon", "amazon-eu")
    pos = add_account(hub, "pos", "store-pos")
    web = add_order(hub, shop, 5001, customer=71, email="Zoe@Example.com", phone="+49 151 23456789",
                    total="38.20", created="2026-10-01T10:00:00+00:00")
    web2 = add_order(hub, shop, 5002, customer=71, email="zoe@example.com", phone="+49 151 23456789",
                     total="10.00", cancelled=True, created="2026-10-02T10:00:00+00:00")
    market = add_order(hub, amazon, 5003, customer=72, email="abc@marketplace.amazon.de", phone="+4915123456789",
                       total="5000", currency="JPY", channel="amazon", first="Zoe", last="A.",
                       created="2026-10-03T10:00:00+00:00")
    till = add_order(hub, pos, 5004, customer=73, email="zoe.a@example.org", total="12.50", channel="pos",
                     first="Zoë", last="Å.", created="2026-10-04T10:00:00+00:00")
    other = add_order(hub, shop, 5005, customer=74, email="ann@example.com", first="Ann", last="Other",
                      total="7.00", created="2026-10-05T10:00:00+00:00")
    refund(hub, shop, 5001, "8.20", 9001)
    return {"shop": shop, "amazon": amazon, "pos": pos, "web": web, "web2": web2, "market": market, "till": till,
            "other": other, "zoe": profile_of_order(hub, web), "till_profile": profile_of_order(hub, till),
            "ann": profile_of_order(hub, other)}

"""Shopify's privacy requests and uninstalls, applied to the order store: redaction and data requests.

customers/redact and shop/redact erase personal data where orderhub keeps it (customers, the orders'
e-mail, note and addresses); customers/data_request compiles what is held. Each request is recorded
once, by the inbox record that carried it.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, select, update

from orderhub.adapters.store.db import upsert
from orderhub.adapters.store.order_store import to_json
from orderhub.adapters.store.schema import customers, order_addresses, orders, privacy_requests, shops
from orderhub.clock import utcnow
from orderhub.domain import money
from orderhub.domain.model import Address, CustomerDataRequest, CustomerRedaction

REDACTED = "[redacted]"


def _customer_filter(shop_id: int, customer_id: str | None, email: str | None) -> Any:
    cond = customers.c.shop_id == shop_id
    if customer_id:
        return and_(cond, customers.c.shopify_id == customer_id)
    return and_(cond, customers.c.email == email)


def _order_rows_for(conn: Connection, shop_id: int, customer_pk: int | None, order_ids: tuple[str, ...]) -> list[Any]:
    cond = orders.c.shopify_id.in_(order_ids) if order_ids else None
    if customer_pk is not None:
        cond = orders.c.customer_id == customer_pk if cond is None else (cond | (orders.c.customer_id == customer_pk))
    if cond is None:
        return []
    return conn.execute(select(orders).where(orders.c.shop_id == shop_id, cond)).all()


def redact_customer(conn: Connection, shop_id: int, req: CustomerRedaction, inbox_id: int) -> dict[str, Any]:
    """customers/redact: erase personal data of the customer and the listed orders."""
    customer = conn.execute(select(customers.c.id).where(
        _customer_filter(shop_id, req.customer_id, req.email))).first()
    customer_pk = customer.id if customer else None
    order_rows = _order_rows_for(conn, shop_id, customer_pk, req.order_ids)
    now = utcnow()
    if customer_pk is not None:
        conn.execute(update(customers).where(customers.c.id == customer_pk).values(
            email=None, first_name=REDACTED, last_name=REDACTED, phone=None, redacted_at=now))
    _redact_orders(conn, [r.id for r in order_rows])
    result = {"customer_found": customer_pk is not None, "orders_redacted": sorted(r.shopify_id for r in order_rows)}
    _record_privacy(conn, shop_id, "customers/redact", req.customer_id, inbox_id, result)
    return result


def _redact_orders(conn: Connection, order_pks: list[int]) -> None:
    if not order_pks:
        return
    conn.execute(update(orders).where(orders.c.id.in_(order_pks)).values(email=None, note=None))
    blank = {f.name: None for f in dataclasses.fields(Address)}
    conn.execute(update(order_addresses).where(order_addresses.c.order_id.in_(order_pks)).values(
        **blank | {"name": REDACTED}))


def customer_data(conn: Connection, shop_id: int, req: CustomerDataRequest, inbox_id: int) -> dict[str, Any]:
    """customers/data_request: compile what orderhub holds, for the merchant to send on."""
    customer = conn.execute(select(customers).where(_customer_filter(shop_id, req.customer_id, req.email))).first()
    order_rows = _order_rows_for(conn, shop_id, customer.id if customer else None, req.order_ids)
    result = {
        "data_request_id": req.request_id,
        "customer": None if customer is None else {
            "id": customer.shopify_id, "email": customer.email, "first_name": customer.first_name,
            "last_name": customer.last_name, "phone": customer.phone},
        "orders": [{"id": o.shopify_id, "name": o.name, "email": o.email,
                    "total_price": money.show(o.total_price, o.currency), "currency": o.currency,
                    "created_at": o.source_created_at.isoformat()} for o in order_rows],
    }
    _record_privacy(conn, shop_id, "customers/data_request", req.customer_id, inbox_id, result)
    return result


def redact_shop(conn: Connection, shop_id: int, inbox_id: int) -> dict[str, Any]:
    """shop/redact: erase all customer personal data held for the shop."""
    now = utcnow()
    n_customers = conn.execute(update(customers).where(customers.c.shop_id == shop_id).values(
        email=None, first_name=REDACTED, last_name=REDACTED, phone=None, redacted_at=now)).rowcount
    order_pks = list(conn.execute(select(orders.c.id).where(orders.c.shop_id == shop_id)).scalars())
    _redact_orders(conn, order_pks)
    result = {"customers_redacted": n_customers, "orders_redacted": len(order_pks)}
    _record_privacy(conn, shop_id, "shop/redact", None, inbox_id, result)
    return result


def _record_privacy(conn: Connection, shop_id: int, kind: str, customer_id: str | None, inbox_id: int,
                    result: dict[str, Any]) -> None:
    upsert(conn, privacy_requests, dict(shop_id=shop_id, kind=kind, customer_shopify_id=customer_id,
                                        inbox_id=inbox_id, result=to_json(result), created_at=utcnow()),
           keys=("inbox_id",))


def mark_uninstalled(conn: Connection, shop_id: int, at: datetime) -> str:
    done = conn.execute(update(shops).where(shops.c.id == shop_id, shops.c.status != "uninstalled").values(
        status="uninstalled", uninstalled_at=at)).rowcount
    return "applied" if done else "unchanged"

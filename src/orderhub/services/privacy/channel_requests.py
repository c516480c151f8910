"""A channel's privacy requests, through the same code as a person's: Shopify's ``customers/redact`` (the
customer and the orders it lists, on that shop), ``customers/data_request`` (what orderhub holds of them there,
kept as the request's result for the merchant to send on) and ``shop/redact`` (every customer of the shop, 48
hours after it uninstalled the app). Each is recorded once, by the inbox record that carried it, and applied in
the processor's transaction. They reach the database only: a channel asks about its own records, and the files
on SFTP are rewritten by a person's erasure or the retention purge."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from orderhub.adapters.store import privacy_rows as rows
from orderhub.adapters.store import privacy_store
from orderhub.adapters.store.schema import inbox, orders
from orderhub.domain import money
from orderhub.domain.model import CustomerDataRequest, CustomerRedaction
from orderhub.services.privacy.erase import erase_scoped, record
from orderhub.services.privacy.locate import Scope, locate
from orderhub.services.privacy.scrub import Person

CHANNEL = "shopify"  # the actor of a channel's requests in privacy_requests


def _scope(conn: Connection, account_id: int, customer_ref: str | None, email: str | None,
           order_refs: tuple[str, ...], inbox_id: int, *, search: bool) -> tuple[Any, Scope]:
    identity = privacy_store.find_customer(conn, account_id, customer_ref, email)
    listed = privacy_store.listed_orders(conn, account_id, order_refs)
    return identity, Scope(identity_ids=(identity.id,) if identity is not None else (), order_ids=tuple(listed),
                           account_id=account_id, search=search, extra=Person.of(emails=[email]),
                           inbox_ids=(inbox_id,))


def redact_customer(conn: Connection, account_id: int, req: CustomerRedaction, inbox_id: int) -> dict[str, Any]:
    """customers/redact: the customer's personal data, and their listed orders', go from what this shop sent."""
    identity, scope = _scope(conn, account_id, req.customer_id, req.email, req.order_ids, inbox_id, search=True)
    report = erase_scoped(conn, scope, kind="customers/redact")
    refs = [r.shopify_id for r in rows.read(conn, orders, set(_order_ids(conn, scope)), ["shopify_id"])]
    result = {"customer_found": identity is not None, "orders_redacted": sorted(refs), "rows": report.rows}
    record(conn, "customers/redact", actor=CHANNEL, result=result, shop_id=account_id, customer_ref=req.customer_id,
           inbox_id=inbox_id)
    return result


def _order_ids(conn: Connection, scope: Scope) -> set[int]:
    ids = set(scope.order_ids)
    if scope.identity_ids:
        ids |= rows.keys_in(conn, orders, "customer_id", scope.identity_ids)
    return ids


def customer_data(conn: Connection, account_id: int, req: CustomerDataRequest, inbox_id: int) -> dict[str, Any]:
    """customers/data_request: what orderhub holds of the customer on this shop, for the merchant to send on."""
    customer, scope = _scope(conn, account_id, req.customer_id, req.email, req.order_ids, inbox_id, search=False)
    located = locate(conn, scope)
    order_rows = rows.read(conn, orders, located.linked["orders"],
                           ["shopify_id", "name", "email", "total_price", "currency", "source_created_at"])
    result = {
        "data_request_id": req.request_id,
        "customer": None if customer is None else {
            "id": customer.shopify_id, "email": customer.email, "first_name": customer.first_name,
            "last_name": customer.last_name, "phone": customer.phone},
        "orders": [{"id": o.shopify_id, "name": o.name, "email": o.email,
                    "total_price": money.show(o.total_price, o.currency), "currency": o.currency,
                    "created_at": o.source_created_at.isoformat()} for o in order_rows],
        "held": located.counts(),
    }
    record(conn, "customers/data_request", actor=CHANNEL, result=result, shop_id=account_id,
           customer_ref=req.customer_id, inbox_id=inbox_id)
    return result


def redact_shop(conn: Connection, account_id: int, inbox_id: int) -> dict[str, Any]:
    """shop/redact: every customer's personal data held for the shop goes, a batch of orders, identities and
    records at a time (by field names: a whole shop's values are not one person's)."""
    identities = privacy_store.identities_of_account(conn, account_id)
    n_orders = 0
    for batch in privacy_store.order_batches(conn, account_id):
        erase_scoped(conn, Scope(order_ids=tuple(batch), search=False, values=False), kind="shop/redact")
        n_orders += len(batch)
    for part in rows.chunks(identities):
        erase_scoped(conn, Scope(identity_ids=tuple(part), search=False, values=False), kind="shop/redact")
    for keys in rows.key_batches(conn, inbox, where=inbox.c.shop_id == account_id):
        erase_scoped(conn, Scope(inbox_ids=tuple(keys), search=False, values=False), kind="shop/redact")
    result = {"customers_redacted": len(identities), "orders_redacted": n_orders}
    record(conn, "shop/redact", actor=CHANNEL, result=result, shop_id=account_id, inbox_id=inbox_id)
    return result

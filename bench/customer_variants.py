"""The designs bench/customers.py measures the processor with, set up in the bench's own child process only
(nothing here changes what orderhub ships).

* ``linked``: orderhub as it is: every order's buyer (its customer, or the guest who checked out) is stored as an
  identity with its keys and linked to a profile (adapters/store/identities.py, customer_links.assign).
* ``baseline``: the customer storage orderhub had before profiles, restored in this process: the order's
  customer object only (guests store nothing), no keys, no read of the identities before the upsert, no linking
  - one upsert of the batch's customers, as new_orders._customers did, and one read of their ids (written as
  identities.store reads new ones: one statement for all the batch's accounts, where the old code read per
  account).
* ``nolink``: diagnostic, between the two: identities and their keys as orderhub stores them, but
  ``customer_links.assign`` links nothing (what linking itself costs, beyond the keys and the guest identities).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, select, tuple_

VARIANTS = ("baseline", "nolink", "linked")

# What an order's customer updated before profiles (order_store.CUSTOMER_UPDATE then).
_PRE_PROFILE_UPDATE = ("email", "first_name", "last_name", "phone", "source_updated_at")


def _pre_profile_rows(conn: Connection, orders: Sequence[tuple[int, Any]]) -> dict[tuple[int, str], dict[str, Any]]:
    """new_orders._customers before profiles: the newest order's details of each customer object."""
    newest: dict[tuple[int, str], dict[str, Any]] = {}
    for account, order in orders:
        c = order.customer
        if c is None:
            continue
        row = dict(shop_id=account, shopify_id=c.shopify_id, email=c.email, first_name=c.first_name,
                   last_name=c.last_name, phone=c.phone, source_updated_at=order.updated_at)
        known = newest.get((account, c.shopify_id))
        if known is None or known["source_updated_at"] <= row["source_updated_at"]:
            newest[(account, c.shopify_id)] = row
    return newest


def _pre_profile_store(conn: Connection, rows: dict[tuple[int, str], dict[str, Any]]) -> dict[tuple[int, str], int]:
    """Upsert the customers as before profiles and read their ids (one statement, as identities.store does)."""
    from orderhub.adapters.store import identities
    from orderhub.adapters.store.schema import customers

    if not rows:
        return {}
    identities.upsert_many(conn, customers, list(rows.values()), keys=("shop_id", "shopify_id"),
                           update=_PRE_PROFILE_UPDATE, where=identities.guard)
    return {(r.shop_id, r.shopify_id): r.id for r in conn.execute(
        select(customers.c.id, customers.c.shop_id, customers.c.shopify_id).where(
            tuple_(customers.c.shop_id, customers.c.shopify_id).in_(list(rows))))}


def apply(variant: str) -> None:
    """Set this process up as ``variant``."""
    from orderhub.adapters.store import customer_links, identities

    if variant == "linked":
        return
    if variant == "nolink":
        customer_links.assign = lambda conn, nodes: (
            {n.identity: (None, None) for n in nodes if n.identity < 0}, customer_links.LinkReport())
        return
    if variant == "baseline":
        identities.order_rows = _pre_profile_rows
        identities.store = _pre_profile_store
        return
    raise ValueError(f"unknown variant {variant!r}: one of {', '.join(VARIANTS)}")

"""The designs bench/customers.py measures the processor with, set up in the bench's own child process only
(nothing here changes what orderhub ships).

* ``linked``: orderhub as it is: every order's buyer (its customer, or the guest who checked out) is stored as an
  identity with its keys and linked to a profile (adapters/store/identities.py, customer_links.link).
* ``baseline``: the customer storage orderhub had before profiles, restored in this process: the order's
  customer object only (guests store nothing), no keys, no read of the identities before the upsert, no linking
  - one upsert of the batch's customers, as new_orders._customers did, and one read of their ids (written as
  identities.store reads new ones: one statement for all the batch's accounts, where the old code read per
  account).
* ``nolink``: diagnostic, between the two: identities and their keys as orderhub stores them, but
  ``customer_links.link`` does nothing (what linking itself costs, beyond the keys and the guest identities).
* ``linked+oneinsert``, ``linked+rulesonce``, ``linked+both``: diagnostic, ``linked`` with the changes proposed
  in docs/explanation/benchmarks.md made in this process (:func:`one_insert_for_new_profiles`,
  :func:`rules_read_once`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, select, tuple_

VARIANTS = ("baseline", "nolink", "linked")
DIAGNOSTIC = ("linked+oneinsert", "linked+rulesonce", "linked+both")

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


def one_insert_for_new_profiles() -> None:
    """Proposed change 1, measured: customer_links._apply inserts the batch's new profiles with
    ``returning(..., sort_by_parameter_order=True)``, which SQLAlchemy can only honour on SQLite by sending one
    INSERT per row (half a statement per record here). New profiles are alike (two timestamps), so which id goes to
    which group does not matter: without the ordering the batch is one statement. This is _apply with that one
    change."""
    from sqlalchemy import bindparam, insert, update

    from orderhub.adapters.store import customer_links as cl
    from orderhub.adapters.store.schema import customer_profiles, customers
    from orderhub.clock import utcnow
    from orderhub.domain.customers import Link

    def _apply(conn: Connection, plan: list[Link], report: cl.LinkReport) -> None:
        now = utcnow()
        new = [link for link in plan if link.profile is None]
        if new:
            made = conn.execute(insert(customer_profiles).returning(customer_profiles.c.id),
                                [{"created_at": now, "updated_at": now} for _ in new]).scalars().all()
            plan = [Link(made[new.index(link)], link.identities) if link.profile is None else link for link in plan]
            report.new_profiles += len(new)
        for link in plan:
            for absorbed in link.absorbed:
                report.merges.append(cl.merge(conn, link.profile or 0, absorbed, actor=cl.RULES_ACTOR, rule=link.rule,
                                              reason=f"the same {link.rule} as an identity of profile {link.profile}"))
        moves = [{"p_id": link.profile, "p_rule": rule, "p_identity": identity}
                 for link in plan for identity, rule in link.identities]
        if moves:
            conn.execute(update(customers).where(customers.c.id == bindparam("p_identity")).values(
                profile_id=bindparam("p_id"), linked_by=bindparam("p_rule")), moves)
            report.linked += len(moves)
        touched = sorted({link.profile for link in plan if link.profile is not None})
        conn.execute(update(customer_profiles).where(customer_profiles.c.id.in_(touched)).values(updated_at=now))

    cl._apply = _apply


def rules_read_once() -> None:
    """Proposed change 2, measured: ``account_rules`` reads the match rules and the accounts' kinds (two
    statements) for every batch and again for every order on the per-record path. Here they are read once per
    process, as reading them once per processor batch would cost (rules change by hand, rarely)."""
    from orderhub.adapters.store import customer_links as cl

    read = cl.account_rules
    held: dict[int, frozenset[str]] = {}

    def account_rules(conn: Connection, account_ids: Any) -> dict[int, frozenset[str]]:
        ids = set(account_ids)
        if not ids <= held.keys():
            held.update(read(conn, ids))
        return {i: held[i] for i in ids if i in held}

    cl.account_rules = account_rules


def apply(variant: str) -> None:
    """Set this process up as ``variant``."""
    from orderhub.adapters.store import customer_links, identities

    if variant == "linked":
        return
    if variant.startswith("linked+") and variant in DIAGNOSTIC:
        if variant in ("linked+oneinsert", "linked+both"):
            one_insert_for_new_profiles()
        if variant in ("linked+rulesonce", "linked+both"):
            rules_read_once()
        return
    if variant == "nolink":
        customer_links.link = lambda conn, identity_ids: customer_links.LinkReport()
        return
    if variant == "baseline":
        identities.order_rows = _pre_profile_rows
        identities.store = _pre_profile_store
        return
    raise ValueError(f"unknown variant {variant!r}: one of {', '.join(VARIANTS + DIAGNOSTIC)}")

"""Applying a channel's news of one of its customers (domain/customers.py CustomerUpdate): the identity is stored
and linked to its profile, and the consent it carries is recorded (and owed to the other channels that hold it).
A deleted customer is marked so - orderhub keeps the orders and the person's other identities."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import Connection, select, update

from orderhub.adapters.store import customer_links, identities
from orderhub.adapters.store.schema import customers
from orderhub.domain.customers import FALLBACK_RULE, CustomerUpdate
from orderhub.services import consent

if TYPE_CHECKING:
    from orderhub.services.inbound import Result, Source


def apply(conn: Connection, source: Source, news: CustomerUpdate) -> Result:
    from orderhub.services.inbound import Result

    account = source.account_id
    key = (account, news.customer.shopify_id)
    if news.deleted:
        done = conn.execute(update(customers).where(
            customers.c.shop_id == account, customers.c.shopify_id == news.customer.shopify_id,
            customers.c.deleted_at.is_(None)).values(deleted_at=news.updated_at)).rowcount
        return Result("applied" if done else "unchanged")
    known = None if not news.partial else conn.execute(select(customers.c.id).where(
        customers.c.shop_id == account, customers.c.shopify_id == news.customer.shopify_id)).first()
    if known is not None:
        identity = int(known.id)
    else:
        rule = customer_links.account_rules(conn, [account]).get(account, FALLBACK_RULE)
        row = identities.row(account, news.customer, news.updated_at, region=news.region, rule=rule)
        if news.partial:
            row["source_updated_at"] = None  # any record of the customer replaces what a partial one said
        identity = identities.store(conn, {key: row}, replace=not news.partial)[key]
    row = conn.execute(select(customers.c.profile_id, customers.c.redacted_at).where(customers.c.id == identity)).one()
    if row.redacted_at is not None or row.profile_id is None:
        return Result("unchanged")  # an erased person stays erased
    recorded = [consent.record(conn, row.profile_id, change, identity_id=identity, source_account_id=account,
                               inbox_id=source.inbox_id) for change in news.consents]
    return Result("applied" if any(r.consent_id for r in recorded) else "recorded")

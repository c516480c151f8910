"""Recording a person's marketing consent, wherever it was changed (a channel's customer webhook, a store's POS,
the console, the API, the CLI), and owing the change to the channels that hold that preference.

A change is sent, as a channel operation written in the same transaction, to every account where the person has
an identity, whose channel kind holds the purpose (adapters/channels.py consent_purposes), which the change's
scope covers, and where the consent in force changes. It is never sent to a channel that does not keep the
preference, to an account the person has no identity on, or back to the identity that told orderhub of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, select

from orderhub.adapters import channels
from orderhub.adapters.store import channel_operations, consents
from orderhub.adapters.store.schema import customers, shops
from orderhub.domain.customers import EVERYWHERE, ConsentChange, ConsentRecord, effective

OPERATION = "consent"


@dataclass
class Recorded:
    consent_id: int | None  # None: nothing new (the state in force already, or this very change again)
    sent_to: list[str] = field(default_factory=list)  # the accounts the change is owed to


def record(conn: Connection, profile_id: int, change: ConsentChange, *, identity_id: int | None = None,
           source_account_id: int | None = None, inbox_id: int | None = None) -> Recorded:
    """Keep ``change`` in the profile's history and owe it to the channels it concerns."""
    rows = consents.history(conn, profile_id)
    before = consents.records(rows)
    if any(r.purpose == change.purpose and r.scope == change.scope and r.state == change.state
           and r.occurred_at == change.occurred_at for r in rows):
        return Recorded(None)  # the same news twice (a webhook and a poll of one change)
    source_account = _account_name(conn, source_account_id)
    if source_account is not None and effective(before, change.purpose, source_account) == change.state:
        return Recorded(None)  # a channel repeating what is in force for it (an echo of orderhub's own update)
    consent_id = consents.add(conn, profile_id, change, identity_id=identity_id,
                              source_account_id=source_account_id, inbox_id=inbox_id)
    after = [*before, ConsentRecord(consent_id, change.purpose, change.scope, change.state, change.occurred_at)]
    sent_to: list[str] = []
    for ident in _holders(conn, profile_id, change.purpose):
        if change.scope not in (EVERYWHERE, ident.domain) or ident.id == identity_id:
            continue
        state = effective(after, change.purpose, ident.domain)
        if state == effective(before, change.purpose, ident.domain):
            continue
        channel_operations.enqueue(
            conn, ident.shop_id, None, OPERATION, f"consent:{ident.id}:{change.purpose}:{consent_id}",
            {"customer_ref": ident.shopify_id, "purpose": change.purpose, "state": state,
             "occurred_at": change.occurred_at.isoformat(), "opt_in_level": change.opt_in_level},
            customer_id=ident.id)
        sent_to.append(ident.domain)
    return Recorded(consent_id, sent_to)


def _account_name(conn: Connection, account_id: int | None) -> str | None:
    if account_id is None:
        return None
    return conn.execute(select(shops.c.domain).where(shops.c.id == account_id)).scalar_one_or_none()


def _holders(conn: Connection, profile_id: int, purpose: str) -> list[Any]:
    """The profile's live identities on accounts whose kind holds ``purpose``."""
    rows = conn.execute(select(customers.c.id, customers.c.shop_id, customers.c.shopify_id, shops.c.domain,
                               shops.c.kind)
                        .join(shops, shops.c.id == customers.c.shop_id)
                        .where(customers.c.profile_id == profile_id, customers.c.deleted_at.is_(None),
                               customers.c.redacted_at.is_(None), shops.c.status == "active")).all()
    return [r for r in rows if purpose in channels.consent_purposes(r.kind)]

"""Marketing consent as kept: every change with its provenance (schema/customer_profiles.py customer_consents)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, insert, select

from orderhub.adapters.store.schema import customer_consents, shops
from orderhub.clock import utcnow
from orderhub.domain.customers import ConsentChange, ConsentRecord

c = customer_consents.c


def history(conn: Connection, profile_id: int) -> list[Any]:
    """Every change of the profile's consent, oldest first, with the name of the account it came from."""
    return conn.execute(select(customer_consents, shops.c.domain.label("source_account"))
                        .outerjoin(shops, shops.c.id == c.source_account_id)
                        .where(c.profile_id == profile_id).order_by(c.occurred_at, c.id)).all()


def records(rows: list[Any]) -> list[ConsentRecord]:
    return [ConsentRecord(r.id, r.purpose, r.scope, r.state, r.occurred_at) for r in rows]


def add(conn: Connection, profile_id: int, change: ConsentChange, *, identity_id: int | None,
        source_account_id: int | None, inbox_id: int | None) -> int:
    return conn.execute(insert(customer_consents).values(
        profile_id=profile_id, identity_id=identity_id, purpose=change.purpose, scope=change.scope,
        state=change.state, source=change.source, source_account_id=source_account_id, actor=change.actor,
        opt_in_level=change.opt_in_level, note=change.note, inbox_id=inbox_id, occurred_at=change.occurred_at,
        recorded_at=utcnow()).returning(c.id)).scalar_one()

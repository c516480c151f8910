"""The scheduled routing run: broker approved orders whose units wait in a queue.

Orders are taken in batches; each batch is decided (pure), then reserved and recorded
in one transaction. Units that find no facility stay in (or move to) their queues and
are tried again on the next run. ``dry_run`` shows the decisions and changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, select

from orderhub.adapters.store.db import Database
from orderhub.adapters.store.schema import order_units, orders
from orderhub.services import brokering, fulfilment

BATCH = 200


def waiting_orders(conn: Connection, *, after_id: int, limit: int, queues: Sequence[str] | None = None) -> list[int]:
    """Approved, brokered or partly fulfilled orders (not held) with units waiting in a queue (one of
    ``queues``, if given)."""
    stmt = (select(order_units.c.order_id).join(orders, orders.c.id == order_units.c.order_id)
            .where(order_units.c.status == "approved", order_units.c.facility_id.is_(None),
                   order_units.c.order_id > after_id,
                   orders.c.status.not_in(("held", "created", "cancelled", "rejected"))))
    if queues is not None:
        stmt = stmt.where(order_units.c.queue.in_(list(queues)))
    return [r.order_id for r in conn.execute(
        stmt.group_by(order_units.c.order_id).order_by(order_units.c.order_id).limit(limit))]


def run(db: Database, *, actor: str, dry_run: bool = False, batch: int = BATCH,
        queues: Sequence[str] | None = None) -> dict[str, Any]:
    summary: dict[str, Any] = {"orders": 0, "units_brokered": 0, "units_parked": 0, "dry_run": dry_run}
    previews: list[Any] = []
    after = 0
    while True:
        with (db.read() if dry_run else db.write()) as conn:
            ids = waiting_orders(conn, after_id=after, limit=batch, queues=queues)
            if not ids:
                break
            after = ids[-1]
            summary["orders"] += len(ids)
            if dry_run:
                previews += brokering.preview(conn, ids)["decisions"]
                continue
            result, candidates = brokering.decide(conn, ids, statuses=("approved",))
            outcomes = brokering.apply(conn, result, candidates, actor=actor, waiting_status="approved",
                                       brokered_status="brokered")
            for order_id, out in outcomes.items():
                summary["units_brokered"] += len(out.reserved)
                summary["units_parked"] += len(out.parked)
                if out.reserved:
                    order = conn.execute(select(orders).where(orders.c.id == order_id)).one()
                    fulfilment.refresh(conn, order, fulfilment.Ctx(actor, "routing run"))
    if dry_run:
        summary["decisions"] = previews
    return summary

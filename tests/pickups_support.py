"""Helpers for tests of pickups as a store sees them: the store BOS01 with pickup orders in every open state (and
one cancelled before it was ready), made through the same services the counter uses."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import update

from orderhub.adapters.store import inventory_store
from orderhub.adapters.store.schema import pickups as pickups_table
from orderhub.bootstrap import Hub
from orderhub.clock import utcnow
from orderhub.domain.inventory import LedgerReason
from orderhub.domain.pickup import MAX_ATTEMPTS
from orderhub.services import fulfilment, pickups
from orderhub.services.fulfilment import Ctx
from tests.integration.test_pickups import CLERK, make_ready, pickup_order
from tests.support import BIG_ID

STATES = ("waiting", "ready", "overdue", "locked", "cancelled")


@dataclass(frozen=True)
class Counter:
    """Order ids by state: waiting (placed, not picked), ready (``code`` is its verification code), overdue
    (ready past its collect-by date), locked (ready, locked by wrong codes; ``locked_code`` is its code) and
    cancelled (before it was ready: no longer open)."""

    ids: dict[str, int]
    code: str
    locked_code: str


def pickups_in_every_state(hub: Hub, oms: Any) -> Counter:
    """``oms`` as tests.integration.test_pickups's fixture makes it (the store BOS01 is ``oms.store``)."""
    with hub.db.write() as conn:
        inventory_store.set_on_hand(conn, "SKU-1", oms.store, 10, reason=LedgerReason.RECEIVED, actor="test")
    ids = {state: pickup_order(hub, oms, order_id=BIG_ID + 100 * n, quantity=1) for n, state in enumerate(STATES)}
    ready = make_ready(hub, ids["ready"])
    make_ready(hub, ids["overdue"])
    locked = make_ready(hub, ids["locked"])
    with hub.db.write() as conn:
        conn.execute(update(pickups_table).where(pickups_table.c.order_id == ids["overdue"]).values(
            collect_by=utcnow() - timedelta(hours=1)))
        fulfilment.cancel(conn, ids["cancelled"], Ctx(CLERK, "the customer changed their mind"))
    for _ in range(MAX_ATTEMPTS):
        with hub.db.write() as conn:
            pickups.collect(conn, ids["locked"], "WRONG-CODE", actor=CLERK)
    return Counter(ids, ready.code, locked.code)

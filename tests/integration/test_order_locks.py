"""An order's records are applied by one worker at a time: those of an order another worker is applying wait
for a later batch instead of waiting on its rows (PostgreSQL; SQLite has one writer at a time)."""

from __future__ import annotations

from sqlalchemy import select

from orderhub.adapters.store import order_locks
from orderhub.adapters.store.schema import inbox, orders
from orderhub.bootstrap import Hub
from orderhub.services.process import Processor
from tests.support import BIG_ID, add_shop, order_payload, put


def test_the_records_of_an_order_another_worker_holds_wait_for_a_later_batch(hub: Hub) -> None:
    shop = add_shop(hub)
    put(hub, "orders/create", order_payload(BIG_ID), shop_id=shop.id)
    put(hub, "orders/create", order_payload(BIG_ID + 1000), shop_id=shop.id)
    put(hub, "orders/updated", order_payload(BIG_ID, updated_at="2026-11-23T12:00:00-05:00", note="später ⏰"),
        shop_id=shop.id)
    processor = Processor(hub.db, batch_size=10)
    if hub.db.engine.dialect.name == "postgresql":
        other = hub.db.engine.connect()  # another worker, in the middle of applying the first order
        try:
            with other.begin():
                assert order_locks.try_lock(other, {(shop.id, str(BIG_ID))}) == {(shop.id, str(BIG_ID))}
                done, _ = processor.run_once()
                with hub.db.read() as conn:
                    stored = set(conn.execute(select(orders.c.shopify_id)).scalars())
                    pending = conn.execute(select(inbox.c.topic).where(inbox.c.status == "pending")).scalars().all()
                assert done == 1 and stored == {str(BIG_ID + 1000)}
                assert sorted(pending) == ["orders/create", "orders/updated"]  # both records of the held order
        finally:
            other.close()
    else:  # one writer at a time: every order is this writer's
        with hub.db.write() as conn:
            keys = {(shop.id, str(BIG_ID)), (shop.id, str(BIG_ID + 1000))}
            assert order_locks.try_lock(conn, keys) == keys
    while processor.run_once()[0]:
        pass
    with hub.db.read() as conn:
        assert conn.execute(select(orders.c.note).where(orders.c.shopify_id == str(BIG_ID))).scalar() == "später ⏰"
        assert set(conn.execute(select(inbox.c.status)).scalars()) == {"done"}

"""Refunds of Amazon orders: an order imported from the SP-API simulator, shipped and returned in orderhub, owes
Amazon a refund that the SP-API cannot take as JSON, so it waits in the error log naming Seller Central (and
nothing is sent to Amazon); retrying it from there asks again."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from orderhub.adapters.store import error_log, facilities
from orderhub.adapters.store.schema import orders
from orderhub.bootstrap import Hub
from orderhub.services import errors, fulfilment
from orderhub.services import inventory as inventory_service
from orderhub.services.channel_ops import send_once
from orderhub.services.jobs.amazon_jobs import import_orders
from tests.e2e.test_amazon_orders import Sim, add_account, running_simulator
from tests.oms_support import place
from tests.support import drain

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def amazon_sim() -> Iterator[Sim]:
    with running_simulator() as sim:
        yield sim


def test_a_returned_amazon_order_is_refunded_by_a_person_in_seller_central(hub: Hub, amazon_sim: Sim) -> None:
    account = add_account(hub, amazon_sim)
    with hub.db.write() as conn:
        facilities.add(conn, "WH-US", "Lager 🏭", "warehouse")
        inventory_service.adjust(conn, "MUG-CAFE", "WH-US", actor="test", reason="received", delta=10)
    amazon_ref = amazon_sim.post("/_sim/orders", {"orders": [{"lines": [{"sku": "MUG-CAFE", "quantity": 2}]}]}
                                 )["order_ids"][0]
    amazon_sim.later()
    import_orders(hub, account, {})
    drain(hub)
    place(hub)
    with hub.db.write() as conn:
        order_id = int(conn.execute(select(orders.c.id).where(orders.c.shopify_id == amazon_ref)).scalar_one())
        ctx = fulfilment.Ctx("test")
        fulfilment.pick(conn, order_id, ctx)
        fulfilment.pack(conn, order_id, ctx, carrier="UPS", tracking_number="1Z999AA10123456784")
        fulfilment.ship(conn, order_id, ctx)
    assert send_once(hub).done == 1 and len(amazon_sim.get("/_sim/shipments")["shipments"]) == 1
    with hub.db.write() as conn:
        _status, rid = fulfilment.return_units(conn, order_id, fulfilment.Ctx("service desk", "zu klein 👕"),
                                               quantity=1)
    before = len(amazon_sim.get("/_sim/requests")["requests"])
    report = send_once(hub)
    [refused] = report.refused
    assert f"order {amazon_ref} was not refunded on Amazon" in refused and "Seller Central" in refused
    assert f"return-{rid}" in refused
    assert len(amazon_sim.get("/_sim/requests")["requests"]) == before  # Amazon was asked nothing
    with hub.db.read() as conn:
        [entry] = error_log.list_entries(conn, error_log.ErrorFilter(status="open"))
    assert (entry.kind, entry.topic) == ("channel_refused", "amazon/refund")
    errors.retry(hub.db, entry.id)
    assert len(send_once(hub).refused) == 1

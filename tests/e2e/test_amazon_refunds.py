"""Refunds of Amazon orders: an order imported from the SP-API simulator, shipped and returned in orderhub, is
refunded on Amazon through the order adjustment feed (the returned item, Principal and Tax); a repeat is known by
orderhub's id of the return, and a refund Amazon refuses in its report waits in the error log."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from decimal import Decimal

import pytest
from sqlalchemy import select

from orderhub.adapters.amazon.channel import order_channel
from orderhub.adapters.store import facilities
from orderhub.adapters.store.schema import channel_operations, orders, returns
from orderhub.bootstrap import Hub
from orderhub.clock import utcnow
from orderhub.domain.channels import ChannelRefused, RefundNotice, ShipmentNotice
from orderhub.services import fulfilment
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


def test_a_returned_amazon_order_is_refunded_through_the_order_adjustment_feed(hub: Hub, amazon_sim: Sim) -> None:
    amazon_sim.post("/_sim/config", {"feed_queue_seconds": 0, "feed_processing_seconds": 0})
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
        refund = conn.execute(select(returns.c.refund_amount, returns.c.currency).where(returns.c.id == rid)).one()
    assert send_once(hub).done == 1
    [item] = amazon_sim.get(f"/_sim/orders/{amazon_ref}")["items"]
    [taken] = amazon_sim.get("/_sim/refunds")["refunds"]
    assert (taken["order_id"], taken["order_item_id"], taken["adjustment_id"], taken["reason"]) == (
        amazon_ref, item["OrderItemId"], f"return-{rid}", "CustomerReturn")
    components = {k: Decimal(v) for k, v in taken["components"].items()}
    assert sum(components.values()) == Decimal(refund.refund_amount) and taken["currency"] == refund.currency
    paid_tax = Decimal(item["ItemTax"]["Amount"])
    assert components.get("Tax", Decimal("0")) <= paid_tax and components["Principal"] > 0
    [feed] = [f for f in amazon_sim.get("/_sim/feeds")["feeds"] if f["feedType"] == "POST_PAYMENT_ADJUSTMENT_DATA"]
    assert feed["report"]["results"] == []

    # The same refund again (a retry after a lost answer): Amazon knows the adjustment by its id.
    with hub.db.write() as conn:
        conn.execute(channel_operations.update().values(status="pending", available_at=utcnow()))
    send_once(hub)
    assert len(amazon_sim.get("/_sim/refunds")["refunds"]) == 1


def test_a_refund_amazon_refuses_in_its_report_is_refused_with_amazons_reason(hub: Hub, amazon_sim: Sim) -> None:
    amazon_sim.post("/_sim/config", {"feed_queue_seconds": 0, "feed_processing_seconds": 0})
    account = add_account(hub, amazon_sim)
    view = amazon_sim.post("/_sim/orders", {"orders": [{"lines": [{"sku": "MUG-CAFE", "quantity": 1}]}]}
                           )["orders"][0]
    ref, item = view["order"]["AmazonOrderId"], view["items"][0]
    channel = order_channel(account, hub, sleep=lambda s: None)
    too_much = Decimal(item["ItemPrice"]["Amount"]) + Decimal(item["ItemTax"]["Amount"]) + 1
    notice = RefundNotice(ref, ((item["OrderItemId"], 1),), too_much, "USD", "returned", "return-77",
                          ((item["OrderItemId"], too_much),))
    with pytest.raises(ChannelRefused, match=r"Amazon refused the POST_PAYMENT_ADJUSTMENT_DATA feed \d+: 18004: "
                                             r"Nothing of order item \d+ has shipped"):
        channel.refund(notice)
    channel.confirm_shipment(ShipmentNotice(ref, ((item["OrderItemId"], 1),), "UPS", "1Z1", datetime(
        2026, 12, 7, tzinfo=timezone.utc), "SHP-1"))
    with pytest.raises(ChannelRefused, match=r"18005: The (Principal|Tax) refund of item \d+ .* exceeds the amount"):
        channel.refund(notice)
    assert amazon_sim.get("/_sim/refunds")["refunds"] == []

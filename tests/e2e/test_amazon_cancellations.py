"""Cancellations of Amazon orders, end to end against the SP-API simulator: an order imported, units cancelled in
orderhub for lack of stock, and the channel-operations sender cancelling the items on Amazon through the order
acknowledgement feed (NoInventory); a partial cancel, a repeat, Amazon down and a refusal in the report."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import pytest
from sqlalchemy import select

from orderhub.adapters.amazon.channel import order_channel
from orderhub.adapters.store import accounts, error_log, facilities
from orderhub.adapters.store.schema import channel_operations, order_items, orders
from orderhub.bootstrap import Hub
from orderhub.clock import utcnow
from orderhub.domain.channels import CancelNotice, ChannelRefused, ShipmentNotice
from orderhub.services import errors, fulfilment
from orderhub.services import inventory as inventory_service
from orderhub.services.channel_ops import send_once
from orderhub.services.jobs.amazon_jobs import import_orders
from tests.e2e.test_amazon_orders import Sim, add_account, running_simulator
from tests.oms_support import place
from tests.support import drain

pytestmark = pytest.mark.timeout(180)
OUT_OF_STOCK = fulfilment.Ctx("test", "out of stock: the viral mug sold out")
SHIPPED = datetime(2026, 12, 7, 9, 30, tzinfo=timezone.utc)


@pytest.fixture
def amazon_sim() -> Iterator[Sim]:
    with running_simulator() as sim:
        sim.post("/_sim/config", {"feed_queue_seconds": 0, "feed_processing_seconds": 0})
        yield sim


def imported(hub: Hub, sim: Sim, lines: list[dict[str, Any]]) -> tuple[str, int]:
    """An Amazon order with ``lines`` imported and placed in orderhub: (Amazon's id, orderhub's id)."""
    with hub.db.read() as conn:
        account = accounts.get(conn, "amazon-us")
    if account is None:
        account = add_account(hub, sim)
        with hub.db.write() as conn:
            facilities.add(conn, "WH-US", "Lager 🏭", "warehouse")
    with hub.db.write() as conn:
        inventory_service.adjust(conn, "MUG-CAFE", "WH-US", actor="test", reason="received", delta=1)
    ref = sim.post("/_sim/orders", {"orders": [{"lines": lines}]})["order_ids"][0]
    sim.later()
    import_orders(hub, account, {})
    drain(hub)
    place(hub)
    with hub.db.read() as conn:
        return ref, int(conn.execute(select(orders.c.id).where(orders.c.shopify_id == ref)).scalar_one())


def line_of(hub: Hub, order_id: int, sku: str) -> int:
    with hub.db.read() as conn:
        return int(conn.execute(select(order_items.c.id).where(order_items.c.order_id == order_id,
                                                               order_items.c.sku == sku)).scalar_one())


def due_now(hub: Hub) -> None:
    """The operations waiting for a retry may go now (the backoff has passed)."""
    with hub.db.write() as conn:
        conn.execute(channel_operations.update().values(available_at=utcnow()))


def items_of(sim: Sim, ref: str) -> dict[str, str]:
    return {i["SellerSKU"]: i["OrderItemId"] for i in sim.get(f"/_sim/orders/{ref}")["items"]}


def test_an_order_cancelled_for_lack_of_stock_is_cancelled_on_amazon_with_no_inventory(hub: Hub,
                                                                                       amazon_sim: Sim) -> None:
    ref, order_id = imported(hub, amazon_sim, [{"sku": "MUG-CAFE", "quantity": 2},
                                               {"sku": "TEA-MATCHA-50", "quantity": 1}])
    with hub.db.write() as conn:
        fulfilment.cancel(conn, order_id, OUT_OF_STOCK)
    assert send_once(hub).done == 1
    shown = amazon_sim.get(f"/_sim/orders/{ref}")
    assert shown["order"]["OrderStatus"] == "Canceled" and shown["cancel_reason"] == "NoInventory"
    assert sorted((c["quantity_cancelled"], c["cancel_reason"]) for c in shown["cancellations"]) == [
        (1, "NoInventory"), (2, "NoInventory")]
    assert [i["QuantityOrdered"] for i in shown["items"]] == [0, 0]
    [feed] = amazon_sim.get("/_sim/feeds")["feeds"]
    assert (feed["feedType"], feed["processingStatus"], feed["report"]["results"]) == (
        "POST_ORDER_ACKNOWLEDGEMENT_DATA", "DONE", [])
    deliveries = [r for r in amazon_sim.get("/_sim/requests")["requests"] if r["operation"] == "createFeed"]
    assert len(deliveries) == 1


def test_the_cancellations_of_one_round_go_in_one_feed_and_a_refused_one_fails_alone(hub: Hub,
                                                                                    amazon_sim: Sim) -> None:
    placed = [imported(hub, amazon_sim, [{"sku": "MUG-CAFE", "quantity": 1}]) for _ in range(3)]
    shipped_ref = placed[2][0]
    with hub.db.read() as conn:
        account = accounts.get(conn, "amazon-us")
    assert account is not None
    mug = items_of(amazon_sim, shipped_ref)["MUG-CAFE"]  # shipped from Seller Central meanwhile
    order_channel(account, hub, sleep=lambda s: None).confirm_shipment(
        ShipmentNotice(shipped_ref, ((mug, 1),), "UPS", "1Z999AA10123456784", SHIPPED, "SHP-9"))
    with hub.db.write() as conn:
        for _ref, order_id in placed:
            fulfilment.cancel(conn, order_id, OUT_OF_STOCK)
    report = send_once(hub)
    assert (report.done, len(report.refused)) == (2, 1) and "has shipped" in report.refused[0]
    for ref, _order_id in placed[:2]:
        assert amazon_sim.get(f"/_sim/orders/{ref}")["order"]["OrderStatus"] == "Canceled"
    [feed] = amazon_sim.get("/_sim/feeds")["feeds"]  # one feed, a message per order
    assert feed["feedType"] == "POST_ORDER_ACKNOWLEDGEMENT_DATA" and feed["report"]["results"] == []
    assert feed["report"]["messages_processed"] == 2
    with hub.db.read() as conn:
        [entry] = error_log.list_entries(conn, error_log.ErrorFilter())
    assert shipped_ref in entry.error


def test_a_partial_cancel_cancels_one_item_and_a_repeat_sends_nothing(hub: Hub, amazon_sim: Sim) -> None:
    ref, order_id = imported(hub, amazon_sim, [{"sku": "MUG-CAFE", "quantity": 1},
                                               {"sku": "TEA-MATCHA-50", "quantity": 2}])
    with hub.db.write() as conn:
        fulfilment.cancel(conn, order_id, OUT_OF_STOCK, item_id=line_of(hub, order_id, "TEA-MATCHA-50"), quantity=2)
    assert send_once(hub).done == 1
    shown = amazon_sim.get(f"/_sim/orders/{ref}")
    assert shown["order"]["OrderStatus"] == "Unshipped" and shown["order"]["NumberOfItemsUnshipped"] == 1
    by_sku = {i["SellerSKU"]: i for i in shown["items"]}
    assert (by_sku["TEA-MATCHA-50"]["QuantityOrdered"], by_sku["MUG-CAFE"]["QuantityOrdered"]) == (0, 1)
    assert [(c["quantity_cancelled"], c["cancel_reason"]) for c in shown["cancellations"]] == [(2, "NoInventory")]
    version = shown["version"]

    # The same cancellation again (a lost answer, a retry from the error log): Amazon shows it done already.
    account = add_account(hub, amazon_sim, name="amazon-again")
    tea = by_sku["TEA-MATCHA-50"]["OrderItemId"]
    order_channel(account, hub, sleep=lambda s: None).cancel_lines(CancelNotice(ref, ((tea, 2),), "out_of_stock"))
    assert len(amazon_sim.get("/_sim/feeds")["feeds"]) == 1
    assert amazon_sim.get(f"/_sim/orders/{ref}")["version"] == version


def test_amazon_down_keeps_the_cancellation_for_later(hub: Hub, amazon_sim: Sim) -> None:
    ref, order_id = imported(hub, amazon_sim, [{"sku": "MUG-CAFE", "quantity": 2}])
    amazon_sim.post("/_sim/failures", {"operation": "createFeed", "outcome": "error", "status": 503, "times": 4})
    with hub.db.write() as conn:
        fulfilment.cancel(conn, order_id, OUT_OF_STOCK)
    report = send_once(hub)
    assert (report.done, report.later, report.refused) == (0, 1, [])
    assert amazon_sim.get(f"/_sim/orders/{ref}")["order"]["OrderStatus"] == "Unshipped"
    due_now(hub)
    assert send_once(hub).done == 1
    assert amazon_sim.get(f"/_sim/orders/{ref}")["order"]["OrderStatus"] == "Canceled"


def test_an_error_in_amazons_processing_report_refuses_the_cancellation(hub: Hub, amazon_sim: Sim) -> None:
    amazon_sim.post("/_sim/config", {"feed_queue_seconds": 30, "feed_processing_seconds": 60})
    account = add_account(hub, amazon_sim)
    ref = amazon_sim.post("/_sim/orders", {"orders": [{"lines": [{"sku": "MUG-CAFE", "quantity": 1}]}]}
                          )["order_ids"][0]
    mug = items_of(amazon_sim, ref)["MUG-CAFE"]
    channel = order_channel(account, hub, sleep=lambda s: None)

    def sleep(seconds: float) -> None:  # while the feed waits in Amazon's queue, the item ships
        if amazon_sim.get(f"/_sim/orders/{ref}")["order"]["OrderStatus"] == "Unshipped":
            channel.confirm_shipment(ShipmentNotice(ref, ((mug, 1),), "UPS", "1Z999AA10123456784", SHIPPED, "SHP-1"))
        amazon_sim.later(seconds)

    channel.feeds.sleep = sleep  # the feed's polls wait on the simulator's clock
    with pytest.raises(ChannelRefused) as refused:
        channel.cancel_lines(CancelNotice(ref, ((mug, 1),), "out_of_stock"))
    [feed] = amazon_sim.get("/_sim/feeds")["feeds"]
    assert str(refused.value) == (
        f"amazon account amazon-us: order {ref}: Amazon refused the POST_ORDER_ACKNOWLEDGEMENT_DATA feed "
        f"{feed['feedId']}: 18003: The order {ref} is Shipped; it cannot be cancelled after it shipped.")
    assert [(r["message_id"], r["result_code"], r["code"]) for r in feed["report"]["results"]] == [
        (1, "Error", 18003)]


def test_a_cancellation_amazon_cannot_take_waits_in_the_error_log_and_can_be_retried(hub: Hub,
                                                                                      amazon_sim: Sim) -> None:
    ref, order_id = imported(hub, amazon_sim, [{"sku": "MUG-CAFE", "quantity": 3}])
    with hub.db.write() as conn:  # one unit of three: Amazon cancels whole items only
        fulfilment.cancel(conn, order_id, OUT_OF_STOCK, item_id=line_of(hub, order_id, "MUG-CAFE"), quantity=1)
    report = send_once(hub)
    [refused] = report.refused
    assert "orderhub cancelled 1 of the 3 unshipped unit(s)" in refused and "Seller Central" in refused
    assert amazon_sim.get("/_sim/feeds")["feeds"] == []
    with hub.db.read() as conn:
        [entry] = error_log.list_entries(conn, error_log.ErrorFilter(status="open"))
    assert (entry.kind, entry.topic) == ("channel_refused", "amazon/cancel")
    errors.retry(hub.db, entry.id)
    assert len(send_once(hub).refused) == 1

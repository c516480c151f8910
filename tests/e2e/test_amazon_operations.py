"""Operations on Amazon orders against the SP-API simulator: shipment confirmations (twice harmless, also when
Amazon's answer is lost) and acknowledgement (nothing to send). Cancellations: test_amazon_cancellations.py."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone

import pytest

from orderhub.adapters.amazon.channel import order_channel
from orderhub.bootstrap import Hub
from orderhub.domain.channels import ChannelRefused, ShipmentNotice
from tests.e2e.test_amazon_orders import Sim, add_account, running_simulator

pytestmark = pytest.mark.timeout(180)
SHIPPED = datetime(2026, 12, 7, 9, 30, tzinfo=timezone.utc)


@pytest.fixture
def amazon_sim() -> Iterator[Sim]:
    with running_simulator() as sim:
        yield sim



def an_order(sim: Sim, **spec: object) -> dict[str, object]:
    lines = [{"sku": "MUG-CAFE", "quantity": 2}, {"sku": "TEA-MATCHA-50", "quantity": 1}]
    return sim.post("/_sim/orders", {"orders": [{"lines": lines, **spec}]})["orders"][0]


def notice(view: dict, lines: list[tuple[int, int]], reference: str = "SHP-1", carrier: str = "UPS") -> ShipmentNotice:
    items = view["items"]
    return ShipmentNotice(order_ref=view["order"]["AmazonOrderId"], carrier=carrier, tracking="1Z999AA10123456784",
                          lines=tuple((items[i]["OrderItemId"], q) for i, q in lines), shipped_at=SHIPPED,
                          reference=reference)


def test_a_shipment_is_confirmed_with_lines_carrier_and_tracking_and_twice_is_harmless(hub: Hub,
                                                                                      amazon_sim: Sim) -> None:
    account = add_account(hub, amazon_sim)
    view = an_order(amazon_sim)
    channel = order_channel(account, hub, sleep=lambda s: None)
    first = notice(view, [(0, 2)])
    channel.confirm_shipment(first)
    channel.confirm_shipment(first)  # again: Amazon refuses, the items show it shipped, so it stands as done
    shipments = amazon_sim.get("/_sim/shipments")["shipments"]
    assert len(shipments) == 1
    s = shipments[0]
    assert (s["package_reference_id"], s["carrier_code"], s["tracking_number"], s["ship_date"]) == (
        "SHP-1", "UPS", "1Z999AA10123456784", "2026-12-07T09:30:00Z")
    assert s["items"] == [{"order_item_id": view["items"][0]["OrderItemId"], "quantity": 2}]
    order_id = view["order"]["AmazonOrderId"]
    assert amazon_sim.get(f"/_sim/orders/{order_id}")["order"]["OrderStatus"] == "PartiallyShipped"

    channel.confirm_shipment(notice(view, [(1, 1)], reference="SHP-2", carrier="Österreichische Post 📮"))
    last = amazon_sim.get("/_sim/shipments")["shipments"][-1]
    assert (last["carrier_code"], last["carrier_name"]) == ("Other", "Österreichische Post 📮")
    assert amazon_sim.get(f"/_sim/orders/{order_id}")["order"]["OrderStatus"] == "Shipped"


@pytest.mark.parametrize("drop", [False, True], ids=["answer-500", "connection-dropped"])
def test_a_lost_answer_is_tried_again_and_the_shipment_recorded_once(hub: Hub, amazon_sim: Sim, drop: bool) -> None:
    account = add_account(hub, amazon_sim)
    view = an_order(amazon_sim)
    amazon_sim.post("/_sim/failures", {"operation": "confirmShipment", "outcome": "lost", "status": 500,
                                       "drop": drop})
    order_channel(account, hub, sleep=lambda s: None).confirm_shipment(notice(view, [(0, 2), (1, 1)]))
    assert len(amazon_sim.get("/_sim/shipments")["shipments"]) == 1
    calls = [r for r in amazon_sim.get("/_sim/requests")["requests"] if r["operation"] == "confirmShipment"]
    assert [r.get("fault") for r in calls] == ["lost", None]  # applied, answer lost; the retry found it done
    assert amazon_sim.get(f"/_sim/orders/{view['order']['AmazonOrderId']}")["order"]["OrderStatus"] == "Shipped"


def test_confirmations_amazon_refuses_for_good_name_the_account_and_operation(hub: Hub, amazon_sim: Sim) -> None:
    account = add_account(hub, amazon_sim)
    channel = order_channel(account, hub, sleep=lambda s: None)
    view = an_order(amazon_sim)
    unknown_line = ShipmentNotice(order_ref=view["order"]["AmazonOrderId"], lines=(("99999999999999", 1),),
                                  carrier="UPS", tracking="1Z1", shipped_at=SHIPPED, reference="SHP-9")
    with pytest.raises(ChannelRefused, match=r"^amazon account amazon-us, confirmShipment: 400 InvalidInput: .*has "
                                             r"no item 99999999999999"):
        channel.confirm_shipment(unknown_line)
    afn = an_order(amazon_sim, fulfillment_channel="AFN")
    with pytest.raises(ChannelRefused, match="fulfilled by Amazon"):
        channel.confirm_shipment(notice(afn, [(0, 1)]))
    with pytest.raises(ChannelRefused, match="has no tracking number"):
        channel.confirm_shipment(ShipmentNotice(order_ref=view["order"]["AmazonOrderId"], lines=(("1", 1),),
                                                carrier="UPS", tracking=None, shipped_at=SHIPPED, reference="SHP-8"))
    assert amazon_sim.get("/_sim/shipments")["shipments"] == []


def test_acknowledge_sends_nothing(hub: Hub, amazon_sim: Sim) -> None:
    account = add_account(hub, amazon_sim)
    view = an_order(amazon_sim)
    order_id = str(view["order"]["AmazonOrderId"])
    channel = order_channel(account, hub)
    before = len(amazon_sim.get("/_sim/requests")["requests"])
    channel.acknowledge(order_id)
    channel.acknowledge(order_id)
    assert len(amazon_sim.get("/_sim/requests")["requests"]) == before
    assert amazon_sim.get(f"/_sim/orders/{order_id}")["order"]["OrderStatus"] == "Unshipped"

"""The simulator's XML order feeds: the order acknowledgement and order adjustment feeds parsed, validated as
Amazon's XSDs and help pages say, applied to the orders, and answered with Amazon's XML processing report; hostile
documents (a DTD, entities, too large, too deep) are refused before anything is expanded."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from decimal import Decimal

import pytest

from orderhub.simulators.amazon import defaults
from orderhub.simulators.amazon.lifecycle import confirm_shipment
from orderhub.simulators.amazon.order_feeds import ACKNOWLEDGEMENT_FEED, ADJUSTMENT_FEED
from orderhub.simulators.amazon.samples import load
from orderhub.simulators.amazon.simulator import Simulator
from orderhub.simulators.amazon.xml_feeds import FeedRefused, parse

SELLER = defaults.DEFAULT_SELLER_ID
US = defaults.DEFAULT_MARKETPLACE_ID


@pytest.fixture
def sim() -> Simulator:
    return Simulator(frozen_clock=True, seed=3)


def envelope(message_type: str, *bodies: str, merchant: str = SELLER) -> bytes:
    messages = "".join(f"<Message><MessageID>{n}</MessageID>{body}</Message>" for n, body in enumerate(bodies, 1))
    return (f'<?xml version="1.0" encoding="UTF-8"?><AmazonEnvelope><Header><DocumentVersion>1.01</DocumentVersion>'
            f"<MerchantIdentifier>{merchant}</MerchantIdentifier></Header><MessageType>{message_type}</MessageType>"
            f"{messages}</AmazonEnvelope>").encode()


def cancel(order_id: str, *items: tuple[str, str]) -> str:
    lines = "".join(f"<Item><AmazonOrderItemCode>{code}</AmazonOrderItemCode><CancelReason>{reason}</CancelReason>"
                    "</Item>" for code, reason in items)
    return (f"<OrderAcknowledgement><AmazonOrderID>{order_id}</AmazonOrderID><StatusCode>Failure</StatusCode>{lines}"
            "</OrderAcknowledgement>")


def refund(order_id: str, code: str, adjustment_id: str, principal: str, currency: str = "USD") -> str:
    return (f"<OrderAdjustment><AmazonOrderID>{order_id}</AmazonOrderID><ActionType>Refund</ActionType><AdjustedItem>"
            f"<AmazonOrderItemCode>{code}</AmazonOrderItemCode><MerchantAdjustmentItemID>{adjustment_id}"
            "</MerchantAdjustmentItemID><AdjustmentReason>CustomerReturn</AdjustmentReason><ItemPriceAdjustments>"
            f'<Component><Type>Principal</Type><Amount currency="{currency}">{principal}</Amount></Component>'
            "</ItemPriceAdjustments><Quantity>1</Quantity></AdjustedItem></OrderAdjustment>")


def run(sim: Simulator, feed_type: str, content: bytes) -> ET.Element:
    """Submit, let the simulated time pass, and read back the processing report (checked against the XSD)."""
    doc = sim.feeds.new_document(SELLER, "text/xml; charset=UTF-8", content)
    feed = sim.feeds.create(SELLER, feed_type, [US], doc.document_id)
    sim.clock.advance(100)
    done = sim.feeds.feed(feed.feed_id)
    assert done is not None and done.status == "DONE" and done.result_document_id
    result = sim.feeds.document(done.result_document_id)
    assert result is not None and result.content is not None
    root = parse(result.content, 1_000_000)
    assert_report_shape(root)
    return root


def assert_report_shape(root: ET.Element) -> None:
    """The report's elements are those of ProcessingReport.xsd, in its order (samples/order_feeds_xsd.json)."""
    rules = load("order_feeds_xsd.json")["ProcessingReport"]
    assert [c.tag for c in root] == ["Header", "MessageType", "Message"]
    assert root.findtext("MessageType") == "ProcessingReport"
    report = root.find("Message/ProcessingReport")
    assert report is not None
    tags = [c.tag for c in report]
    head = [t for t in tags if t != "Result"]
    assert head == [t for t in rules["sequence"] if t in head] and tags == head + ["Result"] * tags.count("Result")
    assert report.findtext("StatusCode") in rules["StatusCode"]
    processing = report.find("ProcessingSummary")
    assert processing is not None and [c.tag for c in processing] == rules["ProcessingSummary"]
    for result in report.findall("Result"):
        assert [c.tag for c in result][:4] == rules["Result"]["sequence"][:4]
        assert result.findtext("ResultCode") in rules["Result"]["ResultCode"]


def summary(root: ET.Element) -> tuple[int, int, int]:
    s = root.find("Message/ProcessingReport/ProcessingSummary")
    assert s is not None
    return (int(s.findtext("MessagesProcessed") or -1), int(s.findtext("MessagesSuccessful") or -1),
            int(s.findtext("MessagesWithError") or -1))


def errors(root: ET.Element) -> list[tuple[int, int, str]]:
    return [(int(r.findtext("MessageID") or -1), int(r.findtext("ResultMessageCode") or -1),
             r.findtext("ResultDescription") or "") for r in root.findall("Message/ProcessingReport/Result")]


def test_an_acknowledgement_with_failure_cancels_the_items_and_a_repeat_changes_nothing(sim: Simulator) -> None:
    order = sim.create_order(SELLER, {"lines": [{"sku": "MUG-CAFE", "quantity": 2},
                                                {"sku": "TEA-MATCHA-50", "quantity": 1}]})
    mug, tea = (i.order_item_id for i in order.items)
    report = run(sim, ACKNOWLEDGEMENT_FEED, envelope("OrderAcknowledgement",
                                                      cancel(order.amazon_order_id, (tea, "NoInventory"))))
    assert summary(report) == (1, 1, 0) and errors(report) == []
    after = sim.orders.get(order.amazon_order_id)
    assert after is not None and after.status == "Unshipped" and after.version == 2
    assert [(i.quantity, i.quantity_cancelled, i.cancel_reason) for i in after.items] == [
        (2, 0, None), (0, 1, "NoInventory")]

    repeat = cancel(order.amazon_order_id, (tea, "NoInventory"))
    run(sim, ACKNOWLEDGEMENT_FEED, envelope("OrderAcknowledgement", repeat))
    again = sim.orders.get(order.amazon_order_id)
    assert again is not None and again.version == 2  # nothing changed

    rest = cancel(order.amazon_order_id, (mug, "BuyerCanceled"))
    run(sim, ACKNOWLEDGEMENT_FEED, envelope("OrderAcknowledgement", rest))
    done = sim.orders.get(order.amazon_order_id)
    assert done is not None and (done.status, done.cancel_reason) == ("Canceled", "BuyerCanceled")


def test_unknown_orders_foreign_items_shipped_orders_and_bad_values_are_errors_in_the_report(sim: Simulator) -> None:
    order = sim.create_order(SELLER, {"lines": [{"sku": "MUG-CAFE", "quantity": 1}]})
    shipped = sim.create_order(SELLER, {"lines": [{"sku": "MUG-CAFE", "quantity": 1}], "status": "Shipped"})
    code = order.items[0].order_item_id
    report = run(sim, ACKNOWLEDGEMENT_FEED, envelope(
        "OrderAcknowledgement",
        cancel("111-0000000-0000000", (code, "NoInventory")),
        cancel(order.amazon_order_id, ("12345678901234", "NoInventory")),
        cancel(shipped.amazon_order_id, (shipped.items[0].order_item_id, "NoInventory")),
        cancel(order.amazon_order_id, (code, "SoldOut")),
        cancel(order.amazon_order_id, ("12ab", "NoInventory"))))
    assert summary(report) == (5, 0, 5)
    found = errors(report)
    assert [(m, c) for m, c, _ in found] == [(1, 18001), (2, 18002), (3, 18003), (4, 5002), (5, 5002)]
    assert "111-0000000-0000000 was not found" in found[0][2] and "is Shipped" in found[2][2]
    assert "CancelReason 'SoldOut' is not one of NoInventory" in found[3][2]
    untouched = sim.orders.get(order.amazon_order_id)
    assert untouched is not None and untouched.status == "Unshipped" and untouched.version == 1
    item_codes = [r.findtext("AdditionalInfo/AmazonOrderItemCode") for r in report.iter("Result")]
    assert item_codes[1] == "12345678901234"


def test_an_adjustment_refunds_once_per_adjustment_id_and_never_more_than_was_paid(sim: Simulator) -> None:
    placed = sim.create_order(SELLER, {"lines": [{"sku": "MUG-CAFE", "quantity": 1}]})
    item = placed.items[0]
    order = sim.orders.change(placed.amazon_order_id, lambda o: confirm_shipment(
        o, [{"orderItemId": item.order_item_id, "quantity": 1}]), "OrderStatusChange", "shipped")
    item_price = item.item_price
    first = run(sim, ADJUSTMENT_FEED, envelope("OrderAdjustment", refund(order.amazon_order_id, item.order_item_id,
                                                                         "return-1", "5.00")))
    assert errors(first) == []
    again = run(sim, ADJUSTMENT_FEED, envelope("OrderAdjustment", refund(order.amazon_order_id, item.order_item_id,
                                                                         "return-1", "5.00")))
    assert errors(again) == []
    after = sim.orders.get(order.amazon_order_id)
    assert after is not None and [r["components"] for r in after.items[0].refunds] == [{"Principal": "5.00"}]
    assert after.version == order.version  # a refund is no new version of the order

    too_much = run(sim, ADJUSTMENT_FEED, envelope("OrderAdjustment", refund(
        order.amazon_order_id, item.order_item_id, "return-2", str(item_price))))
    [(_m, code, text)] = errors(too_much)
    assert code == 18005 and "exceeds the amount that can be refunded" in text
    bad = run(sim, ADJUSTMENT_FEED, envelope(
        "OrderAdjustment", refund(order.amazon_order_id, item.order_item_id, "return-3", "1.001"),
        refund(order.amazon_order_id, item.order_item_id, "return-4", "1.00", currency="EUR")))
    assert [c for _m, c, _t in errors(bad)] == [5002, 5002]
    assert Decimal(sum(Decimal(r["components"]["Principal"]) for r in after.items[0].refunds)) == Decimal("5.00")


@pytest.mark.parametrize("content, says", [
    (b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
     b"<AmazonEnvelope>&b;</AmazonEnvelope>", "DOCTYPE"),
    (b'<?xml version="1.0"?><!DOCTYPE r SYSTEM "http://127.0.0.1:1/x.dtd"><AmazonEnvelope/>', "DOCTYPE"),
    (b"<a>" * 40 + b"</a>" * 40, "nested too deeply"),
    (b"<AmazonEnvelope><Header>", "XML Parsing Error at Line 1"),
    (b"<AmazonEnvelope>" + b" " * 2_000_001 + b"</AmazonEnvelope>", "bytes; at most"),
], ids=["entities", "external-dtd", "deep", "broken", "huge"])
def test_hostile_or_broken_documents_are_refused_before_anything_is_expanded(content: bytes, says: str) -> None:
    with pytest.raises(FeedRefused, match=says):
        parse(content, 2_000_000)


def test_a_document_amazon_cannot_read_is_reported_as_message_0(sim: Simulator) -> None:
    report = run(sim, ACKNOWLEDGEMENT_FEED, b'<!DOCTYPE x [<!ENTITY e "x">]><AmazonEnvelope>&e;</AmazonEnvelope>')
    assert summary(report) == (0, 0, 0)
    [(message, code, text)] = errors(report)
    assert (message, code) == (0, 5000) and "DOCTYPE" in text
    other = run(sim, ADJUSTMENT_FEED, envelope("OrderAdjustment", "<OrderAdjustment/>", merchant="A2SOMEONEELSE"))
    assert [(m, c) for m, c, _t in errors(other)] == [(0, 5001)]

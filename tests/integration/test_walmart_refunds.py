"""Refunds back to Walmart: an order imported from the Walmart simulator, shipped and returned in orderhub, is
refunded on Walmart with Refund Order Lines; a repeat sends nothing, Walmart down waits, a refusal waits for a
person in the error log."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select, update

from orderhub.adapters.store import channel_operations, error_log, facilities
from orderhub.adapters.store.schema import order_items, orders
from orderhub.adapters.walmart import client as walmart_client
from orderhub.adapters.walmart import orders as walmart_orders
from orderhub.adapters.walmart.channel import order_channel
from orderhub.domain.channels import RefundNotice
from orderhub.services import errors, fulfilment, order_sync
from orderhub.services import inventory as inventory_service
from orderhub.services.channel_ops import send_once
from orderhub.services.jobs import walmart_jobs
from orderhub.simulators.walmart.schema_check import check
from tests.integration import test_walmart_support as support
from tests.integration.test_walmart_support import Walmart
from tests.oms_support import place
from tests.support import drain

walmart_url, walmart = support.walmart_url, support.walmart  # the simulator and the account, as fixtures


def _shipped_order(w: Walmart) -> tuple[str, int]:
    """A Walmart order in orderhub, placed and shipped (Walmart told): its purchase order id and orderhub id."""
    hub = w.hub
    with hub.db.write() as conn:
        facilities.add(conn, "WH-US", "Lager Ost 🏭", "warehouse")
        for sku in ("WM-MUG-CAFE", "WM-TEA-MATCHA"):
            inventory_service.adjust(conn, sku, "WH-US", actor="test", reason="received", delta=10)
    po = w.order(lines=[{"sku": "WM-MUG-CAFE", "quantity": 3, "unitPrice": "12.50"},
                        {"sku": "WM-TEA-MATCHA", "quantity": 1, "unitPrice": "42.00"}])
    walmart_jobs.import_orders(hub, w.account, {})
    drain(hub)
    place(hub)
    with hub.db.write() as conn:
        order_id = int(conn.execute(select(orders.c.id).where(orders.c.shopify_id == po)).scalar_one())
        ctx = fulfilment.Ctx("test")
        fulfilment.pick(conn, order_id, ctx)
        fulfilment.pack(conn, order_id, ctx, carrier="UPS", tracking_number="1Z999AA10123456784")
        fulfilment.ship(conn, order_id, ctx)
    assert send_once(hub).done == 1
    assert len(w.operations("shipment", po)) == 1
    return po, order_id


def _item(w: Walmart, order_id: int, line: str) -> int:
    with w.hub.db.read() as conn:
        return int(conn.execute(select(order_items.c.id).where(order_items.c.order_id == order_id,
                                                               order_items.c.shopify_id == line)).scalar_one())


def _return(w: Walmart, order_id: int, line: str, quantity: int, reason: str, **options: Any) -> int:
    with w.hub.db.write() as conn:
        _status, rid = fulfilment.return_units(conn, order_id, fulfilment.Ctx("service desk", reason),
                                               item_id=_item(w, order_id, line), quantity=quantity, **options)
    return rid


def _line(w: Walmart, po: str, number: str) -> dict[str, Any]:
    """The line as Walmart's getAnOrder shows it."""
    order = walmart_orders.get_order(order_channel(w.account, w.hub).client, po)
    return next(ln for ln in order["orderLines"]["orderLine"] if ln["lineNumber"] == number)


def _due_now(w: Walmart) -> None:
    with w.hub.db.write() as conn:
        conn.execute(update(channel_operations.ops).values(available_at=datetime(2000, 1, 1, tzinfo=UTC)))


def test_a_return_is_refunded_on_walmart_with_its_lines_amount_and_tax_and_a_repeat_sends_nothing(
        walmart: Walmart) -> None:
    po, order_id = _shipped_order(walmart)
    rid = _return(walmart, order_id, "1", 2, "Kundin: Henkel abgebrochen ☕")
    assert send_once(walmart.hub).done == 1
    [refund] = walmart.operations("refund", po)
    # two of three mugs at 12.50; the tax on that share of the line's price goes back with it
    assert [(ln["lineNumber"], ln["chargeType"], Decimal(ln["amount"]), Decimal(ln["tax"]), ln["currency"],
             ln["reason"]) for ln in refund["lines"]] == [
        ("1", "PRODUCT", Decimal("-25"), Decimal("-2"), "USD", "Customer returned item")]
    assert refund["lines"][0]["comments"] == f"return-{rid}: Kundin: Henkel abgebrochen ☕"
    shown = _line(walmart, po, "1")["refund"]
    assert shown["refundComments"].startswith(f"return-{rid}")
    assert [c["charge"]["chargeAmount"] for c in shown["refundCharges"]["refundCharge"]] == [
        {"currency": "USD", "amount": -25}]

    # The same operation again (a retry after the answer was lost): Walmart shows it refunded, nothing is sent.
    with walmart.hub.db.write() as conn:
        conn.execute(update(channel_operations.ops).where(channel_operations.ops.c.kind == "refund")
                     .values(status="pending"))
    _due_now(walmart)
    assert send_once(walmart.hub).done == 1
    assert len(walmart.operations("refund", po)) == 1

    # A second return of the same line is a refund of its own.
    _return(walmart, order_id, "1", 1, "damaged in transit", damaged=True, refund=Decimal("5.00"))
    assert send_once(walmart.hub).done == 1
    second = walmart.operations("refund", po)[-1]
    assert [(Decimal(ln["amount"]), Decimal(ln["tax"]), ln["reason"]) for ln in second["lines"]] == [
        (Decimal("-5"), Decimal("-0.4"), "DamagedItem")]


def test_a_return_over_two_lines_is_split_by_what_the_units_cost(walmart: Walmart) -> None:
    po, order_id = _shipped_order(walmart)
    with walmart.hub.db.write() as conn:
        fulfilment.return_units(conn, order_id, fulfilment.Ctx("service desk", "changed her mind"),
                                refund=Decimal("50.00"))  # every shipped unit: 3 x 12.50 + 42.00 = 79.50, 50 back
    assert send_once(walmart.hub).done == 1
    [refund] = walmart.operations("refund", po)
    amounts = {ln["lineNumber"]: Decimal(ln["amount"]) for ln in refund["lines"]}
    assert amounts == {"1": Decimal("-23.58"), "2": Decimal("-26.42")} and sum(amounts.values()) == Decimal("-50.00")


def test_walmart_down_hears_the_refund_later(walmart: Walmart, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(walmart_client.WalmartClient, "backoff", staticmethod(lambda attempt: 0.0))
    po, order_id = _shipped_order(walmart)
    _return(walmart, order_id, "2", 1, "wrong size")
    walmart.fail(operation="refundOrderLines", status=503, times=3)
    report = send_once(walmart.hub)
    assert report.later == 1 and walmart.operations("refund", po) == []
    walmart.control("DELETE", "failures")
    _due_now(walmart)
    assert send_once(walmart.hub).done == 1
    [refund] = walmart.operations("refund", po)
    assert Decimal(refund["lines"][0]["amount"]) == Decimal("-42")


def test_a_lost_answer_is_not_refunded_twice(walmart: Walmart) -> None:
    po, order_id = _shipped_order(walmart)
    _return(walmart, order_id, "2", 1, "wrong size")
    walmart.fail(operation="refundOrderLines", outcome="lost", status=502)
    assert send_once(walmart.hub).done == 1  # read again after the lost answer: refunded, so done
    assert len(walmart.operations("refund", po)) == 1


def test_a_refund_walmart_refuses_waits_in_the_error_log_and_can_be_retried(walmart: Walmart) -> None:
    po, order_id = _shipped_order(walmart)
    _return(walmart, order_id, "2", 1, "goodwill", refund=Decimal("99.00"))  # more than the 42.00 charged
    report = send_once(walmart.hub)
    assert len(report.refused) == 1 and f"refund of order {po}" in report.refused[0]
    assert "would exceed what was charged" in report.refused[0]
    with walmart.hub.db.read() as conn:
        [entry] = error_log.list_entries(conn, error_log.ErrorFilter(status="open"))
    assert (entry.record_type, entry.kind, entry.topic) == ("channel_op", "channel_refused", "walmart/refund")
    errors.retry(walmart.hub.db, entry.id)
    assert len(send_once(walmart.hub).refused) == 1  # tried again at once; Walmart still refuses it
    assert walmart.operations("refund", po) == []


def test_a_refund_of_a_line_walmart_does_not_have_is_refused(walmart: Walmart) -> None:
    po = walmart.order(lines=[{"sku": "WM-TEA-MATCHA", "quantity": 1}], status="Acknowledged")
    notice = RefundNotice(po, (("9", 1),), Decimal("1.00"), "USD", "returned", "return-1", (("9", Decimal("1.00")),))
    with pytest.raises(Exception, match=f"purchase order {po} has no line 9"):
        order_channel(walmart.account, walmart.hub).refund(notice)


def test_the_refund_body_orderhub_sends_is_walmarts_published_model(walmart: Walmart,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[Any] = []
    real = walmart_client.WalmartClient.call

    def keep(self: Any, operation: str, *args: Any, **kwargs: Any) -> Any:
        if operation == "refundOrderLines":
            sent.append(kwargs["json"])
        return real(self, operation, *args, **kwargs)

    monkeypatch.setattr(walmart_client.WalmartClient, "call", keep)
    po, order_id = _shipped_order(walmart)
    _return(walmart, order_id, "1", 3, "Umtausch")
    assert send_once(walmart.hub).done == 1
    [body] = sent
    assert check(body, "orders", "OrderRefund_json", strict=True) == []
    assert body["orderRefund"]["purchaseOrderId"] == po


def test_a_return_refunded_with_nothing_owes_walmart_nothing(walmart: Walmart) -> None:
    po, order_id = _shipped_order(walmart)
    _return(walmart, order_id, "2", 1, "kept as a goodwill gesture", refund=Decimal("0"))
    assert send_once(walmart.hub).done == 0 and walmart.operations("refund", po) == []


def test_a_refund_the_channel_made_itself_is_not_told_back(walmart: Walmart) -> None:
    po, order_id = _shipped_order(walmart)
    with walmart.hub.db.write() as conn:  # as order_sync records a refund the channel reported
        fulfilment.return_units(conn, order_id, fulfilment.Ctx(order_sync.ACTOR, "refund 77 on the channel"),
                                item_id=_item(walmart, order_id, "2"), quantity=1)
    assert send_once(walmart.hub).done == 0 and walmart.operations("refund", po) == []


def test_a_line_refunded_by_another_return_is_not_taken_for_this_one() -> None:
    line = {"refund": {"refundComments": "return-12: wrong size"}}
    assert walmart_orders._refunded_by(line, "return-12") and not walmart_orders._refunded_by(line, "return-1")

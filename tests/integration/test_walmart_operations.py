"""Operations on Walmart orders and the failure paths, against the Walmart simulator's recorded operations."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from orderhub.adapters.store import accounts, job_store
from orderhub.adapters.store.schema import inbox
from orderhub.adapters.walmart import client as walmart_client
from orderhub.adapters.walmart.channel import order_channel
from orderhub.adapters.walmart.client import WalmartAuthError
from orderhub.clock import utcnow
from orderhub.domain.channels import CancelNotice, ChannelRefused, ChannelUnavailable, ShipmentNotice
from orderhub.services.jobs import walmart_jobs
from orderhub.simulators.walmart.defaults import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
from tests.integration import test_walmart_support as support
from tests.integration.test_walmart_support import Walmart

walmart_url, walmart = support.walmart_url, support.walmart  # the simulator and the account, as fixtures


def _shipment(po: str, lines: tuple[tuple[str, int], ...], tracking: str = "1Z999AA10123456784") -> ShipmentNotice:
    return ShipmentNotice(order_ref=po, lines=lines, carrier="ups", tracking=tracking,
                          shipped_at=utcnow() - timedelta(hours=1), reference="SHP-1")


def test_acknowledge_ship_and_cancel_are_recorded_once_even_when_done_twice(walmart: Walmart) -> None:
    po = walmart.order(lines=[{"sku": "WM-MUG-CAFE", "quantity": 3}, {"sku": "WM-SOAP-LAV", "quantity": 1}])
    channel = order_channel(walmart.account, walmart.hub)
    channel.acknowledge(po)
    channel.acknowledge(po)
    assert len(walmart.operations("acknowledgement", po)) == 1
    channel.confirm_shipment(_shipment(po, (("1", 2),)))
    channel.confirm_shipment(_shipment(po, (("1", 2),)))  # the same shipment again: nothing more shipped
    [shipment] = walmart.operations("shipment", po)
    assert [(ln["lineNumber"], ln["quantity"], ln["carrier"], ln["trackingNumber"]) for ln in shipment["lines"]] == [
        ("1", 2, "UPS", "1Z999AA10123456784")]
    channel.cancel_lines(CancelNotice(po, (("1", 1), ("2", 1)), "out_of_stock"))
    channel.cancel_lines(CancelNotice(po, (("1", 1), ("2", 1)), "out_of_stock"))
    [cancellation] = walmart.operations("cancellation", po)
    assert [(ln["lineNumber"], ln["quantity"], ln["reason"]) for ln in cancellation["lines"]] == [
        ("1", 1, "SELLER_CANCEL_OUT_OF_STOCK"), ("2", 1, "SELLER_CANCEL_OUT_OF_STOCK")]


def test_a_lost_answer_is_not_sent_twice(walmart: Walmart) -> None:
    po = walmart.order(lines=[{"sku": "WM-TEA-MATCHA", "quantity": 2}], status="Acknowledged")
    channel = order_channel(walmart.account, walmart.hub)
    walmart.fail(operation="shippingUpdates", outcome="lost", status=502)
    channel.confirm_shipment(_shipment(po, (("1", 2),), tracking="TRK-LOST-1"))
    assert len(walmart.operations("shipment", po)) == 1
    walmart.fail(operation="cancelOrderLines", outcome="lost", drop=True)
    other = walmart.order(lines=[{"sku": "WM-TEA-MATCHA", "quantity": 2}], status="Acknowledged")
    channel.cancel_lines(CancelNotice(other, (("1", 2),), "customer_request"))
    [cancellation] = walmart.operations("cancellation", other)
    assert cancellation["lines"][0]["reason"] == "CUSTOMER_REQUESTED_SELLER_TO_CANCEL"


def test_an_unknown_line_is_refused_for_a_person(walmart: Walmart) -> None:
    po = walmart.order(lines=[{"sku": "WM-TEA-MATCHA", "quantity": 1}], status="Acknowledged")
    with pytest.raises(ChannelRefused, match=f"purchase order {po} has no line 7"):
        order_channel(walmart.account, walmart.hub).confirm_shipment(_shipment(po, (("7", 1),)))


def test_a_refused_key_names_the_account_and_operation_never_the_secret(walmart: Walmart) -> None:
    with walmart.hub.db.write() as conn:
        wrong = accounts.add(conn, "walmart", "walmart-wrong", {"client_id": DEFAULT_CLIENT_ID,
                                                                "endpoint": walmart.url},
                             {"client_secret": "not-the-secret-🔑"})
        wrong = accounts.by_id(conn, wrong.id)
    assert wrong is not None
    with pytest.raises(WalmartAuthError) as failure:
        walmart_jobs.import_orders(walmart.hub, wrong, {})
    text = str(failure.value)
    assert "walmart account walmart-wrong" in text and "tokenAPI" in text
    assert "not-the-secret" not in text and DEFAULT_CLIENT_SECRET not in text


def test_server_errors_and_timeouts_lose_nothing_and_keep_the_watermark(walmart: Walmart,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    hub = walmart.hub
    monkeypatch.setattr(walmart_client.WalmartClient, "backoff", staticmethod(lambda attempt: 0.0))
    walmart.order(lines=[{"sku": "WM-MUG-CAFE", "quantity": 1}])
    walmart.fail(operation="getAllOrders", times=10, status=503)
    with pytest.raises(ChannelUnavailable, match="walmart account walmart-us: Walmart answered 503 on getAllOrders"):
        walmart_jobs.import_orders(hub, walmart.account, {})
    with hub.db.read() as conn:
        assert conn.execute(select(inbox.c.identity)).scalars().all() != []  # the released page was stored
        assert job_store.time_watermark(conn, walmart_jobs.IMPORT, walmart.account.id, "lastModified") is None
    walmart.control("DELETE", "failures")
    walmart.fail(operation="getAllReleasedOrders", outcome="timeout", seconds=1.0, times=10)
    monkeypatch.setattr(walmart_client, "DEFAULT_TIMEOUT", 0.2)
    with pytest.raises(ChannelUnavailable, match="timed out on getAllReleasedOrders"):
        walmart_jobs.import_orders(hub, walmart.account, {})
    time.sleep(1.1)  # the simulator's held answers end (504) here, not in the request log of the next test
    walmart.control("DELETE", "failures")
    result = walmart_jobs.import_orders(hub, walmart.account, {})
    assert result["duplicates"] >= 1 and result["watermark"] is not None


def test_throttling_gives_the_replenishment_time_and_pauses_the_shared_bucket(walmart: Walmart) -> None:
    walmart.control("POST", "throttle", {"operation": "getAllReleasedOrders", "limit": 1, "period": 3600})
    walmart_jobs.import_orders(walmart.hub, walmart.account, {})
    with pytest.raises(ChannelUnavailable) as throttled:
        walmart_jobs.import_orders(walmart.hub, walmart.account, {})
    assert throttled.value.retry_after is not None and 3000 < throttled.value.retry_after <= 3600
    assert "Walmart throttled getAllReleasedOrders (429)" in str(throttled.value)
    with pytest.raises(ChannelUnavailable, match="orderhub's rate limit for getAllReleasedOrders is used up"):
        walmart_jobs.import_orders(walmart.hub, walmart.account, {})  # the bucket waits: Walmart is not asked
    sent = [r for r in walmart.control("GET", "requests")["requests"] if r["operation"] == "getAllReleasedOrders"]
    assert [r["status"] for r in sent] in ([200, 429], [404, 429])

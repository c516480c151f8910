"""Operations back to the channel: a shipment or a cancellation in orderhub owes the order's channel a notice,
written with the change, sent after it, kept while the channel is down, parked in the error log when the
channel refuses it, and never owed for what the channel did itself."""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select, update

from orderhub.adapters import channels
from orderhub.adapters.store import accounts, channel_operations, error_log, facilities
from orderhub.adapters.store.schema import orders
from orderhub.adapters.store.schema import shops as shops_table
from orderhub.bootstrap import Hub
from orderhub.domain.channels import CancelNotice, ChannelRefused, ChannelUnavailable, Inbound, ShipmentNotice
from orderhub.domain.model import Address, Order
from orderhub.services import errors, fulfilment
from orderhub.services import inventory as inventory_service
from orderhub.services.channel_notices import cancel_reason
from orderhub.services.channel_ops import send_once
from tests.integration.test_channel_layer import MarketTranslator, _store
from tests.oms_support import place
from tests.support import drain


class PaidMarket(MarketTranslator):
    def translate(self, topic: str, payload: Any, notified_at: datetime) -> Inbound:
        order = super().translate(topic, payload, notified_at)
        assert isinstance(order, Order)
        return replace(order, financial_status="paid", cancelled_at=notified_at if payload.get("cancelled") else None,
                       shipping_address=Address(name="Zoë Ørsted 🦋", address1="Torvet 1", city="Aarhus", zip="8000",
                                                country_code="DK"))


class FakeOrders:
    """The channel's side: what it was told, and switches to be down or refuse."""

    def __init__(self) -> None:
        self.shipments: list[ShipmentNotice] = []
        self.cancellations: list[CancelNotice] = []
        self.down = False
        self.refuse: str | None = None

    def _check(self) -> None:
        if self.down:
            raise ChannelUnavailable("connection refused")
        if self.refuse:
            raise ChannelRefused(self.refuse)

    def acknowledge(self, order_ref: str) -> None:
        self._check()

    def confirm_shipment(self, notice: ShipmentNotice) -> None:
        self._check()
        self.shipments.append(notice)

    def cancel_lines(self, notice: CancelNotice) -> None:
        self._check()
        self.cancellations.append(notice)


@pytest.fixture
def market(hub: Hub, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[int, FakeOrders]]:
    fake = FakeOrders()
    module = types.ModuleType("tests_market_channel")
    module.TRANSLATOR = PaidMarket()  # type: ignore[attr-defined]
    module.order_channel = lambda account, hub: fake  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "tests_market_channel", module)
    monkeypatch.setitem(channels._MODULES, "testmarket", "tests_market_channel")
    with hub.db.write() as conn:
        facilities.add(conn, "WH-1", "Lager 🏭", "warehouse")
        inventory_service.adjust(conn, "MUG-1", "WH-1", actor="test", reason="received", delta=10)
        account = accounts.add(conn, "walmart", "market-eu", {}, {})
        conn.execute(update(shops_table).where(shops_table.c.id == account.id).values(kind="testmarket"))
    yield account.id, fake


def _order(hub: Hub, account: int, ref: str, qty: int = 3, **extra: Any) -> int:
    _store(hub, account, "market/order", {"id": ref, "updated": "2026-12-07T10:00:00+00:00", "price": "4.00",
                                          "sku": "MUG-1", "qty": qty, **extra}, f"{ref}@1")
    drain(hub)
    place(hub)
    with hub.db.read() as conn:
        return int(conn.execute(select(orders.c.id).where(orders.c.shopify_id == ref)).scalar_one())


def _walk(hub: Hub, order_id: int) -> None:
    ctx = fulfilment.Ctx("test")
    with hub.db.write() as conn:
        fulfilment.pick(conn, order_id, ctx)
        fulfilment.pack(conn, order_id, ctx, carrier="DHL", tracking_number="JD014600003828")
        fulfilment.ship(conn, order_id, ctx)


def test_a_shipment_is_confirmed_on_the_channel_once(hub: Hub, market: tuple[int, FakeOrders]) -> None:
    account, fake = market
    order_id = _order(hub, account, "M-1")
    _walk(hub, order_id)
    assert send_once(hub).done == 1 and send_once(hub).done == 0
    [notice] = fake.shipments
    assert (notice.order_ref, notice.lines, notice.carrier, notice.tracking) == \
        ("M-1", (("M-1-1", 3),), "DHL", "JD014600003828")
    assert notice.reference.startswith("shipment-")


def test_a_channel_that_is_down_hears_later_and_a_refusal_waits_for_a_person(
        hub: Hub, market: tuple[int, FakeOrders]) -> None:
    account, fake = market
    order_id = _order(hub, account, "M-2")
    _walk(hub, order_id)
    fake.down = True
    assert send_once(hub).later == 1 and fake.shipments == []
    fake.down, fake.refuse = False, "line M-2-1 is already shipped"
    with hub.db.write() as conn:  # due again now, not after the backoff
        conn.execute(update(channel_operations.ops).values(available_at=datetime(2000, 1, 1, tzinfo=UTC)))
    report = send_once(hub)
    assert report.refused == ["testmarket account market-eu: ship of order M-2: line M-2-1 is already shipped"]
    with hub.db.read() as conn:
        [entry] = error_log.list_entries(conn, error_log.ErrorFilter(status="open"))
    assert entry.record_type == "channel_op" and entry.kind == "channel_refused"
    fake.refuse = None
    errors.retry(hub.db, entry.id)
    assert send_once(hub).done == 1 and len(fake.shipments) == 1


def test_cancelled_units_are_cancelled_on_the_channel_with_its_reason(hub: Hub, market: tuple[int, FakeOrders]) -> None:
    account, fake = market
    order_id = _order(hub, account, "M-3", qty=2)
    with hub.db.write() as conn:
        fulfilment.cancel(conn, order_id, fulfilment.Ctx("ops", "out of stock at every facility"))
    send_once(hub)
    assert fake.cancellations == [CancelNotice("M-3", (("M-3-1", 2),), "out_of_stock")]


def test_what_the_channel_cancelled_itself_is_not_told_back(hub: Hub, market: tuple[int, FakeOrders]) -> None:
    account, fake = market
    _order(hub, account, "M-4")
    _store(hub, account, "market/order", {"id": "M-4", "updated": "2026-12-07T11:00:00+00:00", "price": "4.00",
                                          "sku": "MUG-1", "qty": 3, "cancelled": True}, "M-4@2")
    drain(hub)
    with hub.db.read() as conn:
        assert conn.execute(select(orders.c.status).where(orders.c.shopify_id == "M-4")).scalar_one() == "cancelled"
    assert send_once(hub).done == 0 and fake.cancellations == []


def test_a_channel_owes_only_the_operations_its_kind_takes(hub: Hub, market: tuple[int, FakeOrders],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    account, fake = market
    module = sys.modules["tests_market_channel"]
    monkeypatch.setattr(module, "OPERATIONS", frozenset({"refund"}), raising=False)
    order_id = _order(hub, account, "M-6")
    _walk(hub, order_id)
    cancelled = _order(hub, account, "M-7")
    with hub.db.write() as conn:
        fulfilment.cancel(conn, cancelled, fulfilment.Ctx("ops", "customer asked"))
    with hub.db.read() as conn:
        assert conn.execute(select(channel_operations.ops)).all() == []  # nothing shipped or cancelled is owed
    assert send_once(hub).done == 0 and fake.shipments == [] and fake.cancellations == []

    # One owed before the kind stopped taking it is refused for a person, not sent.
    monkeypatch.setattr(module, "OPERATIONS", frozenset({"ship", "cancel", "refund"}))
    _walk(hub, _order(hub, account, "M-8"))
    monkeypatch.setattr(module, "OPERATIONS", frozenset({"refund"}))
    report = send_once(hub)
    assert report.refused == ["testmarket account market-eu: ship of order M-8: testmarket takes no ship through "
                              "channel operations"] and fake.shipments == []


def test_reasons_in_the_channels_terms() -> None:
    assert [cancel_reason(t) for t in ("Out of stock", "suspected fraud", "customer asked", None, "damaged")] == \
        ["out_of_stock", "fraud", "customer_request", "other", "other"]


def test_an_account_waiting_on_its_channel_holds_up_no_other_account(
        hub: Hub, market: tuple[int, FakeOrders], monkeypatch: pytest.MonkeyPatch) -> None:
    import threading
    import time

    from orderhub.services.channel_loops import OperationsSender

    account, fake = market
    release = threading.Event()

    class SlowOrders(FakeOrders):  # an Amazon feed waiting minutes for Amazon
        def cancel_lines(self, notice: CancelNotice) -> None:
            release.wait(30)
            super().cancel_lines(notice)

    slow = SlowOrders()
    with hub.db.write() as conn:
        slow_account = accounts.add(conn, "walmart", "market-slow", {}, {}).id
        conn.execute(update(shops_table).where(shops_table.c.id == slow_account).values(kind="testmarket"))
        inventory_service.adjust(conn, "MUG-1", "WH-1", actor="test", reason="received", delta=10)
    sys.modules["tests_market_channel"].order_channel = (  # type: ignore[attr-defined]
        lambda acc, hub: slow if acc.id == slow_account else fake)
    waiting, quick = _order(hub, slow_account, "S-1"), _order(hub, account, "Q-1")
    with hub.db.write() as conn:
        fulfilment.cancel(conn, waiting, fulfilment.Ctx("test", "out of stock"))
        fulfilment.cancel(conn, quick, fulfilment.Ctx("test", "out of stock"))
    sender = OperationsSender(hub)
    try:
        for _ in range(100):  # the worker's loop, while the slow channel still holds its call
            done, wait = sender.step()
            if fake.cancellations:
                break
            time.sleep(wait or 0.05)
        assert [n.order_ref for n in fake.cancellations] == ["Q-1"] and slow.cancellations == []
    finally:
        release.set()
    for _ in range(100):
        done, wait = sender.step()
        if slow.cancellations:
            break
        time.sleep(wait or 0.05)
    assert [n.order_ref for n in slow.cancellations] == ["S-1"]


def test_the_send_channel_operations_job_sends_what_is_owed_for_one_account(
        hub: Hub, market: tuple[int, FakeOrders]) -> None:
    from orderhub.services.jobs.runner import JobFailed, run_job

    account, fake = market
    _walk(hub, _order(hub, account, "M-9"))
    with pytest.raises(JobFailed, match="no channel account nobody"):
        run_job(hub, "send-channel-operations", None, {"account": "nobody"})
    _run_id, stats = run_job(hub, "send-channel-operations", None, {"account": "market-eu"})
    assert (stats["done"], stats["later"], stats["refused"]) == (1, 0, 0)
    assert [n.order_ref for n in fake.shipments] == ["M-9"]

"""Refunds back to TikTok Shop: an order imported from the TikTok simulator, shipped and returned in orderhub, is
refunded with a seller-initiated Create Return (type REFUND) under the return's idempotency key; a repeat or
a retry after a lost answer refunds nothing twice, TikTok down waits, a refusal waits for a person."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select, update

from orderhub.adapters.store import channel_operations, error_log, facilities
from orderhub.adapters.store.accounts import Account
from orderhub.adapters.store.schema import order_items, orders
from orderhub.adapters.tiktok import api
from orderhub.adapters.tiktok import channel as tiktok_channel
from orderhub.adapters.tiktok.operations import TIKTOK_REFUND_REASONS, TikTokOrders
from orderhub.bootstrap import Hub
from orderhub.services import errors, fulfilment
from orderhub.services import inventory as inventory_service
from orderhub.services.channel_ops import send_once
from orderhub.services.jobs.tiktok_jobs import import_orders
from tests.integration.test_tiktok_support import Sim, fast_client
from tests.oms_support import place
from tests.support import drain

pytest_plugins = ("tests.integration.test_tiktok_support",)

TWO_SKUS = [{"seller_sku": "MUG-CAFE-WHT", "quantity": 2}, {"seller_sku": "SERUM-30", "quantity": 1}]


@pytest.fixture(autouse=True)
def quick_channel(monkeypatch: pytest.MonkeyPatch) -> None:
    """The sender's TikTok channel backs off for hundredths of a second and tries twice."""
    monkeypatch.setattr(tiktok_channel, "order_channel",
                        lambda account, hub: TikTokOrders(fast_client(account, hub, max_attempts=2)))


def _shipped_order(hub: Hub, account: Account, tt: Sim) -> tuple[dict[str, Any], int]:
    with hub.db.write() as conn:
        facilities.add(conn, "WH-US", "Lager 🏭", "warehouse")
        for sku in ("MUG-CAFE-WHT", "SERUM-30"):
            inventory_service.adjust(conn, sku, "WH-US", actor="test", reason="received", delta=10)
    placed = tt.order(lines=TWO_SKUS)
    import_orders(hub, account, {}, client=fast_client(account, hub))
    drain(hub)
    place(hub)
    with hub.db.write() as conn:
        order_id = int(conn.execute(select(orders.c.id).where(orders.c.shopify_id == placed["id"])).scalar_one())
        ctx = fulfilment.Ctx("test")
        fulfilment.pick(conn, order_id, ctx)
        fulfilment.pack(conn, order_id, ctx, carrier="UPS", tracking_number="1Z999AA10123456784")
        fulfilment.ship(conn, order_id, ctx)
    assert send_once(hub).done == 1 and len(tt.operations("shipment")) == 1
    return placed, order_id


def _return(hub: Hub, order_id: int, sku: str, quantity: int, **options: Any) -> int:
    with hub.db.write() as conn:
        item = conn.execute(select(order_items.c.id).where(order_items.c.order_id == order_id,
                                                           order_items.c.sku == sku)).scalar_one()
        _status, rid = fulfilment.return_units(conn, order_id, fulfilment.Ctx("service desk", "zu groß 👕"),
                                               item_id=item, quantity=quantity, **options)
    return rid


def _price(placed: dict[str, Any], sku: str) -> Decimal:
    return Decimal(next(i["sale_price"] for i in placed["line_items"] if i["seller_sku"] == sku))


def _due_again(hub: Hub) -> None:
    with hub.db.write() as conn:
        conn.execute(update(channel_operations.ops).where(channel_operations.ops.c.kind == "refund")
                     .values(status="pending", available_at=datetime(2000, 1, 1, tzinfo=UTC)))


def test_a_return_is_refunded_on_tiktok_for_its_units_and_amount_and_a_repeat_refunds_nothing(
        hub: Hub, account: Account, tt: Sim) -> None:
    placed, order_id = _shipped_order(hub, account, tt)
    mug_units = [i["id"] for i in placed["line_items"] if i["seller_sku"] == "MUG-CAFE-WHT"]
    rid = _return(hub, order_id, "MUG-CAFE-WHT", 1)
    assert send_once(hub).done == 1
    [refund] = tt.operations("refund")
    assert (refund["order_id"], refund["currency"], Decimal(refund["refund_total"])) == (
        placed["id"], "USD", _price(placed, "MUG-CAFE-WHT"))
    assert len(refund["line_item_ids"]) == 1 and refund["line_item_ids"][0] in mug_units
    [shown] = api.order_returns(fast_client(account, hub), placed["id"])
    assert (shown["role"], shown["return_type"], shown["return_status"], shown["return_reason"]) == (
        "SELLER", "REFUND", "RETURN_OR_REFUND_REQUEST_SUCCESS", TIKTOK_REFUND_REASONS["returned"])
    assert [i["order_line_item_id"] for i in shown["return_line_items"]] == refund["line_item_ids"]
    [created] = tt.operations("return")
    assert created["idempotency_key"] == f"return-{rid}" and len(tt.requests("createReturn")) == 1

    _due_again(hub)  # the same refund once more: TikTok answers it by its key
    assert send_once(hub).done == 1
    assert len(tt.operations("refund")) == 1 and len(tt.requests("createReturn")) == 2

    _return(hub, order_id, "MUG-CAFE-WHT", 1)  # the other mug: a refund of its own, for the other unit
    assert send_once(hub).done == 1
    assert sorted(u for r in tt.operations("refund") for u in r["line_item_ids"]) == sorted(mug_units)


def test_a_lost_answer_is_sent_again_under_the_same_key_and_refunds_once(hub: Hub, account: Account,
                                                                         tt: Sim) -> None:
    placed, order_id = _shipped_order(hub, account, tt)
    _return(hub, order_id, "SERUM-30", 1)
    tt.fail(operation="createReturn", outcome="lost", status=503, times=1)
    assert send_once(hub).done == 1
    assert len(tt.operations("refund")) == 1 and len(tt.requests("createReturn")) == 2


def test_tiktok_down_hears_the_refund_later(hub: Hub, account: Account, tt: Sim) -> None:
    placed, order_id = _shipped_order(hub, account, tt)
    _return(hub, order_id, "SERUM-30", 1)
    tt.fail(operation="createReturn", status=503, times=2)
    assert send_once(hub).later == 1 and tt.operations("refund") == []
    _due_again(hub)
    assert send_once(hub).done == 1
    [refund] = tt.operations("refund")
    assert Decimal(refund["refund_total"]) == _price(placed, "SERUM-30")


def test_a_refund_tiktok_refuses_waits_in_the_error_log_and_can_be_retried(hub: Hub, account: Account,
                                                                           tt: Sim) -> None:
    placed, order_id = _shipped_order(hub, account, tt)
    _return(hub, order_id, "SERUM-30", 1, refund=Decimal("999.00"))  # more than the serum cost
    report = send_once(hub)
    [refused] = report.refused
    assert f"refund of order {placed['id']}" in refused and "exceeds the refundable amount" in refused
    with hub.db.read() as conn:
        [entry] = error_log.list_entries(conn, error_log.ErrorFilter(status="open"))
    assert (entry.kind, entry.topic) == ("channel_refused", "tiktok/refund")
    errors.retry(hub.db, entry.id)
    assert len(send_once(hub).refused) == 1 and tt.operations("refund") == []

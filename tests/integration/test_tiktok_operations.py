"""orderhub's operations on TikTok orders, checked against the simulator's record of what was done: shipping,
cancelling lines, answering buyers' cancellation requests; each done twice, and after a lost answer."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from orderhub.adapters.store.accounts import Account
from orderhub.adapters.tiktok import translate
from orderhub.adapters.tiktok.operations import TIKTOK_CANCEL_REASONS, TikTokOrders, should_approve
from orderhub.bootstrap import Hub
from orderhub.domain.channels import CancelNotice, ChannelRefused, ChannelUnavailable, ShipmentNotice
from tests.integration.test_tiktok_support import Sim, fast_client

pytest_plugins = ("tests.integration.test_tiktok_support",)

UPS = "6617675021119438850"
TWO_SKUS = [{"seller_sku": "MUG-CAFE-WHT", "quantity": 2}, {"seller_sku": "SERUM-30", "quantity": 1}]


@pytest.fixture
def ops(hub: Hub, account: Account) -> TikTokOrders:
    return TikTokOrders(fast_client(account, hub))


def _lines(placed: dict[str, object]) -> list[tuple[str, int]]:
    return [(i.shopify_id, i.quantity) for i in translate.order(placed).items]


def _ship(order_id: str, lines: list[tuple[str, int]], tracking: str | None = "1Z999AA10123456784") -> ShipmentNotice:
    return ShipmentNotice(order_ref=order_id, lines=tuple(lines), carrier="UPS", tracking=tracking,
                          shipped_at=datetime.now(timezone.utc), reference="shipment-1")


def test_a_shipment_ships_the_packages_of_its_lines_once(tt: Sim, ops: TikTokOrders) -> None:
    placed = tt.order(lines=TWO_SKUS)
    ops.acknowledge(placed["id"])  # TikTok has none: nothing is sent
    notice = _ship(placed["id"], _lines(placed))
    ops.confirm_shipment(notice)
    ops.confirm_shipment(notice)  # again: harmless
    shipments = tt.operations("shipment")
    assert len(shipments) == 1
    assert (shipments[0]["tracking_number"], shipments[0]["shipping_provider_id"], shipments[0]["quantities"]) == (
        "1Z999AA10123456784", UPS, {"MUG-CAFE-WHT": 2, "SERUM-30": 1})
    assert tt.control("GET", f"/orders/{placed['id']}")["status"] == "AWAITING_COLLECTION"
    with pytest.raises(ChannelRefused, match="shipped already with tracking 1Z999AA10123456784"):
        ops.confirm_shipment(_ship(placed["id"], _lines(placed), tracking="OTHER-1"))


@pytest.mark.parametrize("drop", [False, True])
def test_a_shipment_whose_answer_was_lost_is_done_once(tt: Sim, ops: TikTokOrders, drop: bool) -> None:
    placed = tt.order()
    tt.fail(operation="shipPackage", outcome="lost", status=503, drop=drop, times=1)
    ops.confirm_shipment(_ship(placed["id"], _lines(placed)))
    assert len(tt.operations("shipment")) == 1
    # The order, read again after the lost answer, shows the package shipped: it is not sent again.
    assert [r.get("fault") for r in tt.requests("shipPackage")] == ["lost"]


def test_a_shipment_that_splits_a_package_or_names_no_known_line_is_refused(tt: Sim, ops: TikTokOrders) -> None:
    placed = tt.order(lines=TWO_SKUS)  # one package holds all three units
    with pytest.raises(ChannelRefused, match="TikTok ships whole packages"):
        ops.confirm_shipment(_ship(placed["id"], _lines(placed)[:1]))
    with pytest.raises(ChannelRefused, match="has no line 123"):
        ops.confirm_shipment(_ship(placed["id"], [("123", 1)]))
    with pytest.raises(ChannelRefused, match="carrier 'Pigeon' is not a shipping provider"):
        ops.confirm_shipment(ShipmentNotice(placed["id"], tuple(_lines(placed)), "Pigeon", "T-1",
                                            datetime.now(timezone.utc), "s-2"))
    split = tt.order(lines=TWO_SKUS, packages=[[0], [1]])
    ops.confirm_shipment(_ship(split["id"], _lines(split)[1:]))  # the serum's own package
    assert tt.operations("shipment")[0]["quantities"] == {"SERUM-30": 1}
    assert tt.control("GET", f"/orders/{split['id']}")["status"] == "PARTIALLY_SHIPPING"
    assert len(tt.operations("shipment")) == 1


def test_cancelling_lines_cancels_the_units_once_with_tiktok_s_reason(tt: Sim, ops: TikTokOrders) -> None:
    placed = tt.order(lines=[{"seller_sku": "MUG-CAFE-WHT", "quantity": 3}, {"seller_sku": "SERUM-30", "quantity": 1}])
    mug = _lines(placed)[0][0]
    notice = CancelNotice(placed["id"], ((mug, 2),), "out_of_stock")
    ops.cancel_lines(notice)
    ops.cancel_lines(notice)  # again: the two units are cancelled already
    cancels = tt.operations("cancellation")
    assert len(cancels) == 1 and cancels[0]["reason"] == TIKTOK_CANCEL_REASONS["out_of_stock"]
    assert len(cancels[0]["line_item_ids"]) == 2
    order = translate.order(tt.control("GET", f"/orders/{placed['id']}"))
    assert [(i.quantity, i.current_quantity) for i in order.items] == [(3, 1), (1, 1)]
    assert order.status.value == "open"
    tt.fail(operation="cancelOrder", outcome="lost", status=500, times=1)
    ops.cancel_lines(CancelNotice(placed["id"], ((mug, 3),), "customer_request"))  # the third mug, answer lost
    assert sum(len(c["line_item_ids"]) for c in tt.operations("cancellation")) == 3
    with pytest.raises(ChannelRefused, match="is not one of"):
        ops.cancel_lines(CancelNotice(placed["id"], ((mug, 1),), "because"))


def test_buyers_cancellation_requests_are_approved_or_rejected_once(tt: Sim, ops: TikTokOrders) -> None:
    first, second = tt.order(), tt.order()
    approve_id = tt.event(first["id"], "buyer_cancel")["cancel_id"]
    reject_id = tt.event(second["id"], "buyer_cancel", reason="Changed my mind 🙃")["cancel_id"]
    ops.approve_cancellation(first["id"], approve_id)
    ops.approve_cancellation(first["id"], approve_id)  # approved already: nothing more
    tt.fail(operation="rejectCancellation", outcome="lost", status=502, times=1)
    ops.reject_cancellation(second["id"], reject_id)
    ops.reject_cancellation(second["id"], reject_id)
    assert [op["cancel_id"] for op in tt.operations("cancellation_approved")] == [approve_id]
    assert [op["cancel_id"] for op in tt.operations("cancellation_rejected")] == [reject_id]
    assert tt.control("GET", f"/orders/{first['id']}")["status"] == "CANCELLED"
    assert tt.control("GET", f"/orders/{second['id']}")["status"] == "AWAITING_SHIPMENT"
    with pytest.raises(ChannelRefused, match="only a pending request can be approved"):
        ops.approve_cancellation(second["id"], reject_id)


def test_the_rule_approves_while_nothing_is_picked() -> None:
    assert should_approve(has_picked_units=False) is True
    assert should_approve(has_picked_units=True) is False


def test_operations_say_when_tiktok_is_unavailable(tt: Sim, ops: TikTokOrders, hub: Hub, account: Account) -> None:
    placed = tt.order()
    tt.fail(operation="getOrderDetail", outcome="error", status=503, times=20)
    with pytest.raises(ChannelUnavailable, match=f"TikTok account {account.name}: getOrderDetail failed at TikTok"):
        TikTokOrders(fast_client(account, hub, max_attempts=2)).confirm_shipment(_ship(placed["id"], _lines(placed)))
    assert tt.operations("shipment") == []

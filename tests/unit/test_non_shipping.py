"""Lines that need no shipping (gift cards, digital goods): the pure rules that keep them out of
brokering and approval's SKU check, and how an order's statuses follow its units around them."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from orderhub.domain.approval import DELIVERED_BY_CHANNEL, ApprovalFacts, UnitFacts, evaluate, unit_on_approval
from orderhub.domain.brokering import NO_SHIPPING, Facility, OrderToBroker, Unit, broker, ships
from orderhub.domain.lifecycle import (
    IllegalTransition,
    check_order,
    check_unit,
    fulfillment_status_from_units,
    order_status_from_units,
)
from orderhub.domain.routing import parse_run

ADDRESS = {"address1": "Straße 1", "city": "Berlin", "country_code": "DE"}


def facts(*units: UnitFacts, known: tuple[str, ...] = ("SKU-1",)) -> ApprovalFacts:
    return ApprovalFacts(status="created", payment_status="paid", needs_shipping=True, shipping_address=ADDRESS,
                         units=units, known_skus=known)


def test_a_gift_card_without_a_sku_passes_the_sku_rule() -> None:
    assert evaluate(facts(UnitFacts("SKU-1"), UnitFacts(None, ships=False))) == []


def test_a_gift_card_with_a_sku_orderhub_does_not_know_passes_the_sku_rule() -> None:
    assert evaluate(facts(UnitFacts("GIFT-25", ships=False))) == []


def test_a_unit_that_ships_without_a_known_sku_still_fails() -> None:
    [failure] = evaluate(facts(UnitFacts(None), UnitFacts("GIFT-25", ships=False), UnitFacts("NOPE")))
    assert str(failure) == "sku: unknown SKU(s): (no SKU), NOPE"


def test_approval_completes_what_needs_no_shipping_and_queues_the_rest() -> None:
    assert unit_on_approval(ships=False, has_facility=False, queue=None) == ("completed", None, DELIVERED_BY_CHANNEL)
    assert unit_on_approval(ships=True, has_facility=True, queue=None) == ("brokered", None, None)
    assert unit_on_approval(ships=True, has_facility=False, queue=None) == ("approved", "brokering", None)
    assert unit_on_approval(ships=True, has_facility=False, queue="backorder_parking") == (
        "approved", "backorder_parking", None)


def test_only_units_that_need_no_shipping_skip_brokering() -> None:
    assert not ships(NO_SHIPPING)
    assert ships("default") and ships("fragile")


def test_brokering_refuses_a_unit_that_needs_no_shipping() -> None:
    now = datetime(2026, 11, 23, tzinfo=UTC)
    card = Unit(id=7, sku="GIFT-25", ship_group=NO_SHIPPING, price=Decimal("25"))
    order = OrderToBroker(id=1, name="#1001", channel="online", queue="brokering", units=(card,), order_date=now)
    warehouse = Facility(id=1, code="WH", kind="warehouse", latitude=None, longitude=None, groups=frozenset(),
                         daily_capacity=None, orders_today=0, ship_from_store=False)
    run = parse_run({"name": "r", "routings": [{"name": "all", "rules": [{"name": "any"}]}]})
    with pytest.raises(ValueError, match="order #1001 unit 7 needs no shipping"):
        broker(run, [order], [warehouse], {("GIFT-25", 1): 5}, now)


def test_a_unit_that_needs_no_shipping_completes_from_created_and_can_be_returned() -> None:
    check_unit("unit 1", "created", "completed")
    check_unit("unit 1", "completed", "returned")
    with pytest.raises(IllegalTransition):
        check_unit("unit 1", "completed", "cancelled")


@pytest.mark.parametrize(("units", "status", "fulfilment"), [
    # A gift card and a physical unit: the order follows the physical one; the card counts as
    # delivered, as in Shopify, which fulfils gift cards when the order is paid.
    (["approved", "completed"], "approved", "partially_fulfilled"),
    (["brokered", "completed"], "brokered", "partially_fulfilled"),
    (["shipped", "completed"], "shipped", "fulfilled"),
    (["returned", "completed"], "completed", "partially_returned"),
    (["cancelled", "completed"], "completed", "fulfilled"),
    (["completed", "completed"], "completed", "fulfilled"),
])
def test_an_order_with_a_gift_card_follows_its_other_units(units: list[str], status: str, fulfilment: str) -> None:
    assert order_status_from_units(units) == status
    assert fulfillment_status_from_units(units) == fulfilment


@pytest.mark.parametrize("current", ["approved", "brokered", "picked", "packed"])
def test_an_order_whose_units_to_ship_are_cancelled_completes_with_its_gift_card(current: str) -> None:
    check_order("order #1001", current, "completed")

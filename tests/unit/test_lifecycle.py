"""The order and unit state machines."""

from __future__ import annotations

import pytest

from orderhub.domain.lifecycle import (
    IllegalTransition,
    OrderStatus,
    UnitStatus,
    check_order,
    check_unit,
    fulfillment_status_from_units,
    order_status_from_units,
)


def test_units_move_forward_through_fulfilment() -> None:
    path = ["created", "approved", "brokered", "picked", "packed", "shipped", "completed", "returned"]
    for current, target in zip(path, path[1:], strict=False):
        check_unit("unit 1", current, target)


def test_illegal_moves_name_the_record_and_the_options() -> None:
    with pytest.raises(IllegalTransition) as exc:
        check_unit("order #1001 unit 7 (SKU 👕)", "created", "shipped")
    assert "order #1001 unit 7 (SKU 👕): cannot go from created to shipped" in str(exc.value)
    assert "approved" in str(exc.value)
    with pytest.raises(IllegalTransition, match="nothing \\(final\\)"):
        check_order("order #1002", "cancelled", "approved")
    with pytest.raises(IllegalTransition):
        check_order("order #1003", "shipped", "cancelled")


def test_every_status_has_a_transition_entry() -> None:
    from orderhub.domain.lifecycle import ORDER_TRANSITIONS, UNIT_TRANSITIONS

    assert set(UNIT_TRANSITIONS) == set(UnitStatus)
    assert set(ORDER_TRANSITIONS) == set(OrderStatus)


@pytest.mark.parametrize(("units", "status", "fulfilment"), [
    (["approved", "brokered"], "approved", "unfulfilled"),
    (["brokered", "picked"], "brokered", "unfulfilled"),
    (["shipped", "packed"], "packed", "partially_fulfilled"),
    (["shipped", "cancelled"], "shipped", "fulfilled"),
    (["cancelled", "cancelled"], "cancelled", "unfulfilled"),
    (["rejected"], "rejected", "unfulfilled"),
    (["returned", "shipped"], "shipped", "partially_returned"),
    (["returned", "returned", "cancelled"], "returned", "returned"),
    (["completed", "completed"], "completed", "fulfilled"),
])
def test_order_status_follows_its_least_advanced_live_unit(units: list[str], status: str, fulfilment: str) -> None:
    assert order_status_from_units(units) == status
    assert fulfillment_status_from_units(units) == fulfilment

"""Available to promise, channel views and first-come-first-served grants."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orderhub.domain.inventory import Position, channel_atp, grant_in_order


def test_atp_is_on_hand_less_reserved_and_safety_stock_never_below_zero() -> None:
    assert Position(on_hand=10, reserved=3, safety_stock=2).atp == 5
    assert Position(on_hand=2, reserved=3, safety_stock=0).atp == 0


def test_channel_sees_atp_minus_threshold_from_its_facilities_only() -> None:
    positions = [(1, Position(10, 2)), (2, Position(5, 0)), (3, Position(100, 0))]
    assert channel_atp(positions, threshold=0) == 113
    assert channel_atp(positions, threshold=3, facilities=frozenset({1, 2})) == 10
    assert channel_atp(positions, threshold=50, facilities=frozenset({1})) == 0


def test_grants_are_whole_in_arrival_order_and_smaller_later_ones_may_fit() -> None:
    assert grant_in_order(5, [2, 4, 3, 1]) == [2, 0, 3, 0]
    assert grant_in_order(0, [1]) == [0]
    with pytest.raises(ValueError, match="positive"):
        grant_in_order(5, [0])


@given(st.integers(-5, 50), st.lists(st.integers(1, 10), max_size=30))
def test_grants_never_exceed_what_is_available(available: int, quantities: list[int]) -> None:
    grants = grant_in_order(available, quantities)
    assert sum(grants) <= max(0, available)
    assert all(g in (0, q) for g, q in zip(grants, quantities, strict=True))

"""Pre-order and backorder rules: what is sold ahead, and what each waiting unit is promised."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from orderhub.domain.presell import (
    Presell,
    PromiseChange,
    Supply,
    Waiting,
    changed_promises,
    presell_kind,
    promise_dates,
    releasable,
)

TODAY = date(2026, 11, 23)
T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
DEC = Supply(3, date(2026, 12, 5), "PO-1")
JAN = Supply(2, date(2027, 1, 10), "PO-2")


def waiting(n: int) -> list[Waiting]:
    return [Waiting(unit_id=100 + k, placed_at=T0 + timedelta(minutes=k)) for k in range(n)]


def test_what_is_sold_ahead_of_stock_and_how() -> None:
    assert presell_kind(atp=0, incoming=[DEC], ever_stocked=False) is Presell.PREORDER  # a launch
    assert presell_kind(atp=0, incoming=[DEC], ever_stocked=True) is Presell.BACKORDER
    assert presell_kind(atp=0, incoming=[DEC], ever_stocked=True, tags=frozenset({"pre-order"})) is Presell.PREORDER
    assert presell_kind(atp=4, incoming=[DEC], ever_stocked=True) is None  # in stock
    assert presell_kind(atp=0, incoming=[], ever_stocked=True) is None  # nothing coming
    assert presell_kind(atp=0, incoming=[Supply(5, None)], ever_stocked=True) is None  # no date to promise
    assert (Presell.PREORDER.queue, Presell.BACKORDER.tag) == ("preorder_parking", "backorder")


def test_units_are_promised_first_come_first_served() -> None:
    got = promise_dates(waiting(7), atp=1, incoming=[JAN, DEC], today=TODAY)
    assert list(got.values()) == [TODAY, DEC.expected, DEC.expected, DEC.expected, JAN.expected, JAN.expected, None]


def test_a_late_purchase_order_moves_promises_and_says_who_waits_longer() -> None:
    before = promise_dates(waiting(4), atp=0, incoming=[DEC, JAN], today=TODAY)
    late = Supply(3, date(2026, 12, 20), "PO-1")
    after = promise_dates(waiting(4), atp=0, incoming=[late, JAN], today=TODAY)
    changes = changed_promises(before, after)
    assert changes == [PromiseChange(u, date(2026, 12, 5), date(2026, 12, 20)) for u in (100, 101, 102)]
    assert all(c.later for c in changes)
    assert not PromiseChange(1, date(2026, 12, 20), date(2026, 12, 5)).later


def test_a_unit_is_released_when_its_date_has_come_and_stock_is_there() -> None:
    assert releasable(TODAY, atp_covers=True, today=TODAY)
    assert not releasable(TODAY, atp_covers=False, today=TODAY)
    assert not releasable(TODAY + timedelta(days=1), atp_covers=True, today=TODAY)
    assert not releasable(None, atp_covers=True, today=TODAY)


@given(st.integers(0, 30), st.integers(-5, 10), st.lists(st.integers(0, 10), max_size=5))
def test_no_supply_is_promised_twice(units: int, atp: int, quantities: list[int]) -> None:
    incoming = [Supply(q, TODAY + timedelta(days=7 * (i + 1)), f"PO-{i}") for i, q in enumerate(quantities)]
    got = promise_dates(waiting(units), atp=atp, incoming=incoming, today=TODAY)
    for s in incoming:
        assert sum(1 for d in got.values() if d == s.expected) <= s.quantity
    assert sum(1 for d in got.values() if d == TODAY) == min(units, max(0, atp))
    promised = [d for d in got.values() if d is not None]
    assert promised == sorted(promised)  # nobody who ordered later is promised earlier

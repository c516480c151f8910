"""Discounts read as Shopify sends them, and an order's figures adding up (or the figure that does not, named)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orderhub.adapters.shopify import translate
from orderhub.domain.errors import InvalidRecord
from orderhub.domain.money import show
from orderhub.domain.order_totals import reconcile
from tests.support import add_up, order_payload


def test_a_line_discount_is_the_sum_of_its_allocations_not_total_discount() -> None:
    order = translate.order(order_payload())
    line = order.items[1]
    assert line.total_discount == Decimal("2.50")  # total_discount says 0.00, as Shopify leaves it
    assert [(a.amount, a.application_index) for a in line.discount_allocations] == [(Decimal("2.50"), 0)]
    (code,) = order.discount_applications
    assert (code.type, code.code, code.value, code.value_type, code.allocation_method) == (
        "discount_code", "WELCOME🦋", Decimal("2.50"), "fixed_amount", "one")
    assert order.allocated(0) == Decimal("2.50") and order.line_discounts == Decimal("2.50")
    reconcile(order)


def test_a_body_without_allocations_keeps_its_total_discount() -> None:
    p = order_payload()
    line = p["line_items"][1]
    del line["discount_allocations"]
    line["total_discount"] = "2.50"
    del p["discount_applications"]
    assert translate.order(p).items[1].total_discount == Decimal("2.50")


def test_a_free_shipping_code_is_a_shipping_discount_counted_in_the_order_discounts() -> None:
    p = order_payload()
    # Shopify has been seen to leave discounted_price at the full price beside the allocation.
    p["shipping_lines"][0] |= {"discounted_price": "5.00",
                               "discount_allocations": [{"amount": "5.00", "discount_application_index": 1}]}
    p["discount_applications"].append({"type": "discount_code", "code": "FREESHIP", "value": "100.0",
                                       "value_type": "percentage", "target_type": "shipping_line",
                                       "target_selection": "all", "allocation_method": "each"})
    p |= {"total_discounts": "7.50", "total_price": "33.20"}  # 27.50 + 0.00 shipping + 5.70 tax
    order = translate.order(p)
    assert order.shipping_lines[0].discounted_price == Decimal("0.00")
    assert order.total_shipping == Decimal("0.00") and order.shipping_discounts == Decimal("5.00")
    assert order.total_discounts == Decimal("7.50") and order.allocated(1) == Decimal("5.00")
    reconcile(order)


def test_taxes_included_are_not_added_to_the_total() -> None:
    p = order_payload(taxes_included=True)
    assert Decimal(p["total_price"]) == Decimal("27.50") + Decimal("5.00")
    reconcile(translate.order(p))


@pytest.mark.parametrize("change, field, says", [
    ({"subtotal_price": "30.00"}, "subtotal_price",
     "30.00 EUR does not add up: line items 30.00 EUR less line discounts 2.50 EUR come to 27.50 EUR"),
    ({"total_price": "40.70"}, "total_price", "come to 38.20 EUR"),
    ({"total_discounts": "0.00"}, "total_discounts", "line discounts 2.50 EUR and shipping discounts 0.00 EUR"),
    ({"total_line_items_price": "31.00"}, "total_line_items_price", "prices times quantities come to 30.00 EUR"),
])
def test_a_figure_that_does_not_add_up_is_named(change: dict[str, Any], field: str, says: str) -> None:
    p = order_payload()
    p.update(change)
    with pytest.raises(InvalidRecord) as err:
        reconcile(translate.order(p))
    assert err.value.field == field and says in str(err.value)


def test_an_allocation_pointing_at_no_application_is_named() -> None:
    p = order_payload()
    p["line_items"][1]["discount_allocations"][0]["discount_application_index"] = 3
    with pytest.raises(InvalidRecord) as err:
        translate.order(p)
    assert err.value.field == "line_items[1].discount_allocations[0].discount_application_index"


def test_tips_and_duties_are_part_of_the_total() -> None:
    p = order_payload(total_tip_received="3.00",
                      original_total_duties_set={"shop_money": {"amount": "4.00", "currency_code": "EUR"}})
    p["total_price"] = "45.20"
    order = translate.order(p)
    assert (order.total_tip, order.total_duties) == (Decimal("3.00"), Decimal("4.00"))
    reconcile(order)
    with pytest.raises(InvalidRecord, match="duties 4.00 EUR"):
        reconcile(translate.order(p | {"total_price": "41.20"}))


@given(prices=st.lists(st.decimals("0.01", "999.99", places=2), min_size=1, max_size=5),
       percent=st.integers(0, 100))
def test_any_order_shopify_would_make_adds_up(prices: list[Decimal], percent: int) -> None:
    lines = []
    for i, price in enumerate(prices):
        cut = (price * percent / 100).quantize(Decimal("0.01"))
        lines.append({"id": i + 1, "title": "t", "quantity": i + 1, "price": str(price), "total_discount": "0.00",
                      "discount_allocations": [{"amount": str(cut * (i + 1)), "discount_application_index": 0}]})
    p = add_up(order_payload(line_items=lines))
    reconcile(translate.order(p))


@pytest.mark.parametrize("amount, currency, shown", [
    (Decimal("20.0000"), "USD", "20.00"), (Decimal("1500"), "JPY", "1500"), (Decimal("1.5"), "KWD", "1.500"),
    (Decimal("0.125"), "EUR", "0.125"),
])
def test_money_is_shown_with_its_currency_decimals(amount: Decimal, currency: str, shown: str) -> None:
    assert show(amount, currency) == shown

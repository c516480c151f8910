"""Amounts as text: the currency's decimals, exact, never an exponent (money.show and money.to_json)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import orjson
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from orderhub.adapters.payments import PaymentGateway
from orderhub.adapters.shopify import translate
from orderhub.adapters.store.order_store import to_json
from orderhub.domain import money
from tests.support import order_payload

CURRENCIES = ["USD", "EUR", "JPY", "KRW", "KWD", "BHD", "CLF", None, "XXX"]


def _fraction(text: str) -> str:
    return text.partition(".")[2]


@given(amount=st.decimals(allow_nan=False, allow_infinity=False, min_value=Decimal("-1e16"),
                          max_value=Decimal("1e16")),
       currency=st.sampled_from(CURRENCIES))
@example(amount=Decimal("1E+2"), currency="USD")
@example(amount=Decimal("100.00").normalize(), currency="JPY")
@example(amount=Decimal("20.0000"), currency="USD")
@example(amount=Decimal("1.5E-7"), currency="KWD")
@example(amount=Decimal("-0.0000"), currency="EUR")
@example(amount=Decimal("0E-10"), currency="JPY")
@example(amount=Decimal("12345678901234567890.123456789012345678"), currency="USD")
def test_show_is_exact_has_the_currency_decimals_and_no_exponent(amount: Decimal, currency: str | None) -> None:
    shown = money.show(amount, currency)
    assert Decimal(shown) == amount  # the same value back, nothing rounded away
    assert "e" not in shown.lower() and "," not in shown and not shown.startswith("+")
    places = money.decimals(currency)
    fraction = _fraction(shown)
    if len(fraction) > places:
        assert fraction.endswith(tuple("123456789")), shown  # more decimals only for digits that are not zero
    else:
        assert len(fraction) == places, shown
    sign, digits, exponent = amount.as_tuple()
    assert isinstance(exponent, int)
    padded = Decimal((sign, (*digits, 0, 0, 0, 0), exponent - 4))  # as NUMERIC(20,4) gives it back: more zeros
    assert money.show(padded, currency) == shown
    if len(digits) < 28:  # normalize() rounds to the context's 28 digits
        assert money.show(amount.normalize(), currency) == shown  # as the shortest text gives it back
    assert not (amount == 0 and shown.startswith("-"))


@pytest.mark.parametrize("amount, currency, shown", [
    (Decimal("20.0000"), "USD", "20.00"), (Decimal("20"), "USD", "20.00"), (Decimal("2E+1"), "USD", "20.00"),
    (Decimal("1500.0000"), "JPY", "1500"), (Decimal("1.5E+3"), "JPY", "1500"), (Decimal("1500.5"), "JPY", "1500.5"),
    (Decimal("1.25"), "KWD", "1.250"), (Decimal("0"), "USD", "0.00"), (Decimal("-0.0000"), "USD", "0.00"),
    (Decimal("0E+3"), "KWD", "0.000"), (Decimal("-2.5"), "EUR", "-2.50"), (Decimal("0.125"), "EUR", "0.125"),
    ("23.8", "usd", "23.80"), (7, "CLF", "7.0000"),
])
def test_show_examples(amount: Decimal, currency: str, shown: str) -> None:
    assert money.show(amount, currency) == shown


def test_show_refuses_what_is_not_an_amount() -> None:
    with pytest.raises(ValueError, match="not an amount"):
        money.show(Decimal("NaN"), "USD")


@pytest.mark.parametrize("value, shown", [(Decimal("10.0000"), "10"), (Decimal("12.50"), "12.5"),
                                          (Decimal("1E+2"), "100"), (Decimal("0.0"), "0")])
def test_a_number_that_is_not_money_is_shown_exactly_without_padding(value: Decimal, shown: str) -> None:
    assert money.number(value) == shown


def test_to_json_shows_each_amount_in_the_currency_beside_it() -> None:
    payload = {"currency": "JPY", "total_price": Decimal("2120.0000"), "quantity": 3, "rate": 0.08,
               "presentment_currency": "KWD", "presentment_total_price": Decimal("6.5"),
               "items": [{"price": Decimal("1500.0000")}],
               "refunds": [{"currency": "USD", "amount": Decimal("5")}],
               "discounts": [{"value_type": "percentage", "value": Decimal("10.0000"), "allocated": Decimal("150")},
                             {"value_type": "fixed_amount", "value": Decimal("150"), "allocated": Decimal("150")}]}
    assert money.to_json(payload, None) == {
        "currency": "JPY", "total_price": "2120", "quantity": 3, "rate": 0.08, "presentment_currency": "KWD",
        "presentment_total_price": "6.500", "items": [{"price": "1500"}],
        "refunds": [{"currency": "USD", "amount": "5.00"}],
        "discounts": [{"value_type": "percentage", "value": "10", "allocated": "150"},
                      {"value_type": "fixed_amount", "value": "150", "allocated": "150"}]}
    assert money.to_json([Decimal("1")], "KWD") == ["1.000"]  # no currency of its own: the one given


def test_an_outbound_order_event_shows_its_amounts_in_the_order_currency() -> None:
    """The canonical order sent to HTTP destinations: Shopify's "1500.00" for a JPY order is "1500";
    a percentage discount keeps its value as a number."""
    payload = order_payload(currency="JPY", line_items=[
        {"id": 11, "sku": "SKU-1", "title": "茶", "quantity": 1, "price": "1500.00",
         "discount_allocations": [{"amount": "150.00", "discount_application_index": 0}],
         "tax_lines": [{"price": "108.00", "rate": 0.08, "title": "消費税"}]}],
        shipping_lines=[{"id": 12, "title": "Yamato", "price": "500.00", "discounted_price": "500.00"}],
        discount_codes=[], discount_applications=[
            {"type": "automatic", "title": "10 %", "value": "10.0", "value_type": "percentage",
             "target_type": "line_item", "target_selection": "all", "allocation_method": "across"}])
    data = orjson.loads(to_json({"type": "order.created", "data": translate.order(payload)}))["data"]
    assert (data["total_price"], data["subtotal_price"], data["total_tax"], data["total_shipping"]) == (
        "1958", "1350", "108", "500")
    assert data["items"][0]["price"] == "1500" and data["items"][0]["total_discount"] == "150"
    assert data["shipping_lines"][0]["discounted_price"] == "500"
    assert data["discount_applications"][0]["value"] == "10"


@pytest.mark.parametrize("amount, currency, sent", [(Decimal("23.8000"), "EUR", "23.80"),
                                                    (Decimal("1500.0000"), "JPY", "1500"),
                                                    (Decimal("1.25"), "KWD", "1.250")])
def test_the_payment_gateway_is_asked_for_the_amount_in_its_currency_decimals(amount: Decimal, currency: str,
                                                                               sent: str) -> None:
    """An order total as PostgreSQL's NUMERIC(20,4) gives it back is authorized as its currency writes it."""
    bodies: list[dict[str, Any]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        bodies.append(orjson.loads(request.content))
        return httpx.Response(200, json={"id": "auth_1", "status": "authorized", "amount": sent,
                                         "currency": currency, "reference": "#1001"})

    with PaymentGateway("http://gateway.test", "key", client=httpx.Client(transport=httpx.MockTransport(answer))
                        ) as gateway:
        gateway.authorize("#1001", amount, currency, idempotency_key="k-1")
    assert bodies == [{"amount": sent, "currency": currency, "reference": "#1001"}]

"""How a return's refund is put to a channel: its amount shared over the lines in the currency's decimals, and
the reason in the channels' terms."""

from __future__ import annotations

from decimal import Decimal

from orderhub.domain.channels import REFUND_REASONS, RefundNotice
from orderhub.services.channel_notices import refund_reason, split_amount


def test_the_amount_is_shared_by_what_the_units_cost_and_sums_to_the_whole() -> None:
    shares = split_amount(Decimal("10.00"), "EUR", [("1", Decimal("1")), ("2", Decimal("1")), ("3", Decimal("1"))])
    assert shares == (("1", Decimal("3.33")), ("2", Decimal("3.33")), ("3", Decimal("3.34")))
    assert split_amount(Decimal("1000"), "JPY", [("a", Decimal("1")), ("b", Decimal("2"))]) == (
        ("a", Decimal("333")), ("b", Decimal("667")))
    assert split_amount(Decimal("1.000"), "KWD", [("a", Decimal("2")), ("b", Decimal("1"))]) == (
        ("a", Decimal("0.666")), ("b", Decimal("0.334")))
    # Free units (a gift): shared evenly; one line takes it all; no line, nothing.
    assert split_amount(Decimal("5.00"), "USD", [("a", Decimal("0")), ("b", Decimal("0"))]) == (
        ("a", Decimal("2.50")), ("b", Decimal("2.50")))
    assert split_amount(Decimal("7.77"), "USD", [("a", Decimal("3"))]) == (("a", Decimal("7.77")),)
    assert split_amount(Decimal("7.77"), "USD", []) == ()


def test_reasons_and_amounts_of_a_notice() -> None:
    assert [refund_reason(t, d) for t, d in (("changed her mind", "restock"), (None, "damaged"),
                                             ("Defective zipper", "restock"), ("arrived damaged 📦", None))] == [
        "returned", "damaged", "damaged", "damaged"]
    assert set(REFUND_REASONS) == {"returned", "damaged"}
    notice = RefundNotice("PO-1", (("1", 2),), Decimal("4.00"), "USD", "returned", "return-3",
                          (("1", Decimal("4.00")),))
    assert (notice.amount_of("1"), notice.amount_of("2")) == (Decimal("4.00"), Decimal("0"))

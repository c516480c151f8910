"""Shopify's discounts as its REST bodies carry them, read into the canonical model.

An order lists its ``discount_applications`` (codes, automatic, manual and script discounts,
in order); each line and shipping line lists the ``discount_allocations`` that fell on it,
pointing at an application by its index. A line's discount is the sum of its allocations:
Shopify leaves the older ``total_discount`` at "0.00" for discounts that come from
applications, so it is read only from bodies that carry no allocations at all.
"""

from __future__ import annotations

from decimal import Decimal

from orderhub.adapters.fields import Fields
from orderhub.domain.errors import InvalidRecord
from orderhub.domain.model import DiscountAllocation, DiscountApplication


def allocations(f: Fields) -> tuple[DiscountAllocation, ...]:
    return tuple(DiscountAllocation(amount=a.shop_amount("amount", required=True),
                                    application_index=a.int("discount_application_index"))
                 for a in f.objs("discount_allocations"))


def line_discount(f: Fields, allocated: tuple[DiscountAllocation, ...]) -> Decimal:
    """The sum of the line's allocations; ``total_discount`` only where Shopify sent no allocations."""
    if "discount_allocations" in f.data and f.data["discount_allocations"] is not None:
        return sum((a.amount for a in allocated), Decimal("0"))
    return f.shop_amount("total_discount")


def applications(f: Fields) -> tuple[DiscountApplication, ...]:
    # Kinds are kept as Shopify names them, known or not: the amounts are in the allocations.
    return tuple(DiscountApplication(
        index=index, type=a.str("type", required=True, max_len=32) or "", value=a.money("value", required=True),
        value_type=a.str("value_type", required=True, max_len=16) or "",
        target_type=a.str("target_type", required=True, max_len=16) or "",
        target_selection=a.str("target_selection", max_len=16),
        allocation_method=a.str("allocation_method", max_len=16),
        code=a.str("code"), title=a.str("title"), description=a.str("description", max_len=5000))
        for index, a in enumerate(f.objs("discount_applications", max_items=250)))


def check_allocations(paths_and_allocations: list[tuple[str, tuple[DiscountAllocation, ...]]],
                      applied: tuple[DiscountApplication, ...]) -> None:
    """Every allocation points at one of the order's applications (when the order lists them)."""
    if not applied:
        return
    for path, allocated in paths_and_allocations:
        for j, a in enumerate(allocated):
            if a.application_index is not None and not 0 <= a.application_index < len(applied):
                raise InvalidRecord(f"{path}.discount_allocations[{j}].discount_application_index",
                                    f"points at discount application {a.application_index}, but the order "
                                    f"lists {len(applied)}")


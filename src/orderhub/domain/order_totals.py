"""An order's figures must add up, the way Shopify defines them, before orderhub keeps it.

- the lines' prices times quantities, less every discount allocated to the lines, is the subtotal;
- the subtotal, plus shipping after its discounts, plus tax (unless the prices include it), plus
  tips, duties and additional fees, is the total;
- the order's discounts are the lines' and the shipping's allocations together.

An order whose figures do not add up goes to the error log naming the figure and the sum it
should have been, rather than being stored with money that is silently wrong.
"""

from __future__ import annotations

from decimal import Decimal

from orderhub.domain.errors import InvalidRecord
from orderhub.domain.model import Order
from orderhub.domain.money import with_currency as _m


def reconcile(order: Order) -> None:
    """Raise :class:`InvalidRecord` naming the first figure that does not add up."""
    c = order.currency
    lines_total = sum((i.price * i.quantity for i in order.items), Decimal("0"))
    line_discounts = order.line_discounts
    if order.total_line_items_price is not None and order.total_line_items_price != lines_total:
        raise InvalidRecord("total_line_items_price", (
            f"{_m(order.total_line_items_price, c)} does not add up: the lines' prices times quantities come to "
            f"{_m(lines_total, c)}"))
    subtotal = lines_total - line_discounts
    if order.subtotal_price != subtotal:
        raise InvalidRecord("subtotal_price", (
            f"{_m(order.subtotal_price, c)} does not add up: line items {_m(lines_total, c)} less line discounts "
            f"{_m(line_discounts, c)} come to {_m(subtotal, c)}"))
    discounts = line_discounts + order.shipping_discounts
    if order.total_discounts != discounts:
        raise InvalidRecord("total_discounts", (
            f"{_m(order.total_discounts, c)} does not add up: line discounts {_m(line_discounts, c)} and shipping "
            f"discounts {_m(order.shipping_discounts, c)} come to {_m(discounts, c)}"))
    tax = Decimal("0") if order.taxes_included else order.total_tax
    parts = [("subtotal", order.subtotal_price), ("shipping", order.total_shipping), ("tax", tax),
             ("tips", order.total_tip), ("duties", order.total_duties),
             ("additional fees", order.total_additional_fees)]
    total = sum((amount for _, amount in parts), Decimal("0"))
    if order.total_price != total:
        named = " + ".join(f"{name} {_m(amount, c)}" for name, amount in parts if amount or name == "subtotal")
        included = " (tax is included in the prices)" if order.taxes_included else ""
        raise InvalidRecord("total_price", (
            f"{_m(order.total_price, c)} does not add up: {named} come to {_m(total, c)}{included}"))


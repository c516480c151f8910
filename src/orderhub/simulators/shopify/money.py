"""Money as Shopify's REST payloads carry it: decimal strings and shop/presentment money sets.

Also keeps an order's totals consistent with its lines, both at creation and
after edits and refunds (the ``current_*`` totals).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from orderhub.simulators.shopify.locales import RATES_PER_USD

CENT = Decimal("0.01")
ZERO = Decimal(0)


def dec(value: Any) -> Decimal:
    return Decimal(str(value))


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def fmt(value: Decimal) -> str:
    """REST amounts: strings with two decimals, "12.50"."""
    return f"{cents(value):.2f}"


def convert(amount: Decimal, from_currency: str, to_currency: str) -> Decimal:
    """At the simulator's fixed rates; currencies it does not know convert one to one."""
    if from_currency == to_currency:
        return amount
    rate_from = dec(RATES_PER_USD.get(from_currency, "1"))
    rate_to = dec(RATES_PER_USD.get(to_currency, "1"))
    return cents(amount / rate_from * rate_to)


def money_set(amount: Decimal, shop_currency: str, presentment_currency: str) -> dict[str, Any]:
    return {"shop_money": {"amount": fmt(amount), "currency_code": shop_currency},
            "presentment_money": {"amount": fmt(convert(amount, shop_currency, presentment_currency)),
                                  "currency_code": presentment_currency}}


def discount(line: dict[str, Any]) -> Decimal:
    """A line's (or shipping line's) discount: the sum of its allocations, as Shopify reports it (its
    ``total_discount`` stays "0.00" when the discount comes from a discount application)."""
    allocations = line.get("discount_allocations")
    if allocations:
        return sum((dec(a["amount"]) for a in allocations), ZERO)
    return dec(line.get("total_discount") or "0")


def line_taxes(line: dict[str, Any], shop_currency: str, presentment_currency: str, included: bool = False) -> None:
    """Recompute a line's tax lines from its price, quantity and discount. Where prices include the tax,
    the tax is the part of the discounted price that the rate makes up, as Shopify works it out."""
    taxable = dec(line["price"]) * line["quantity"] - discount(line)
    for tax in line["tax_lines"]:
        rate = dec(tax["rate"])
        tax["price"] = fmt(taxable * rate / (1 + rate) if included else taxable * rate)
        tax["price_set"] = money_set(dec(tax["price"]), shop_currency, presentment_currency)


def _share(line: dict[str, Any]) -> Decimal:
    """The part of a line still on the order (after removals and refunds)."""
    quantity = line["quantity"]
    return dec(line["current_quantity"]) / dec(quantity) if quantity else ZERO


def recompute_totals(order: dict[str, Any]) -> None:
    """Set every order total (and its money set) from the lines and shipping lines."""
    shop_cur, pres_cur = order["currency"], order["presentment_currency"]
    lines = order["line_items"]
    shipping_lines = [s for s in order["shipping_lines"] if not s.get("is_removed")]
    line_items_price = sum((dec(li["price"]) * li["quantity"] for li in lines), ZERO)
    line_discounts = sum((discount(li) for li in lines), ZERO)
    shipping_discounts = sum((discount(s) for s in shipping_lines), ZERO)
    shipping_tax = sum((dec(t["price"]) for s in shipping_lines for t in s.get("tax_lines") or []), ZERO)
    tax = sum((dec(t["price"]) for li in lines for t in li["tax_lines"]), ZERO) + shipping_tax
    shipping = sum((dec(s["discounted_price"]) for s in shipping_lines), ZERO)
    tip = dec(order.get("total_tip_received") or "0")
    added_tax = ZERO if order.get("taxes_included") else tax
    current_items = sum((dec(li["price"]) * li["current_quantity"] for li in lines), ZERO)
    current_discounts = sum((cents(discount(li) * _share(li)) for li in lines), ZERO)
    current_tax = sum((cents(dec(t["price"]) * _share(li)) for li in lines for t in li["tax_lines"]), ZERO)
    current_tax += shipping_tax
    current_added_tax = ZERO if order.get("taxes_included") else current_tax
    totals = {
        "total_line_items_price": line_items_price,
        # Shopify's order discounts are the lines' and the shipping's together; the subtotal is the lines'.
        "total_discounts": line_discounts + shipping_discounts,
        "subtotal_price": line_items_price - line_discounts,
        "total_tax": tax,
        "total_price": line_items_price - line_discounts + added_tax + shipping + tip,
        "current_subtotal_price": current_items - current_discounts,
        "current_total_discounts": current_discounts + shipping_discounts,
        "current_total_tax": current_tax,
        "current_total_price": current_items - current_discounts + current_added_tax + shipping + tip,
    }
    for key, amount in totals.items():
        order[key] = fmt(amount)
        order[f"{key}_set"] = money_set(amount, shop_cur, pres_cur)
    # Before its discounts, as Shopify's total_shipping_price_set is.
    order["total_shipping_price_set"] = money_set(shipping + shipping_discounts, shop_cur, pres_cur)

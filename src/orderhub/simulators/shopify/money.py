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


def line_taxes(line: dict[str, Any], shop_currency: str, presentment_currency: str) -> None:
    """Recompute a line's tax lines from its price, quantity and discount."""
    taxable = dec(line["price"]) * line["quantity"] - dec(line["total_discount"])
    for tax in line["tax_lines"]:
        tax["price"] = fmt(taxable * dec(tax["rate"]))
        tax["price_set"] = money_set(dec(tax["price"]), shop_currency, presentment_currency)


def _share(line: dict[str, Any]) -> Decimal:
    """The part of a line still on the order (after removals and refunds)."""
    quantity = line["quantity"]
    return dec(line["current_quantity"]) / dec(quantity) if quantity else ZERO


def recompute_totals(order: dict[str, Any]) -> None:
    """Set every order total (and its money set) from the lines and shipping lines."""
    shop_cur, pres_cur = order["currency"], order["presentment_currency"]
    lines = order["line_items"]
    line_items_price = sum((dec(li["price"]) * li["quantity"] for li in lines), ZERO)
    discounts = sum((dec(li["total_discount"]) for li in lines), ZERO)
    tax = sum((dec(t["price"]) for li in lines for t in li["tax_lines"]), ZERO)
    shipping = sum((dec(s["discounted_price"]) for s in order["shipping_lines"]), ZERO)
    current_items = sum((dec(li["price"]) * li["current_quantity"] for li in lines), ZERO)
    current_discounts = sum((cents(dec(li["total_discount"]) * _share(li)) for li in lines), ZERO)
    current_tax = sum((cents(dec(t["price"]) * _share(li)) for li in lines for t in li["tax_lines"]), ZERO)
    totals = {
        "total_line_items_price": line_items_price,
        "total_discounts": discounts,
        "subtotal_price": line_items_price - discounts,
        "total_tax": tax,
        "total_price": line_items_price - discounts + tax + shipping,
        "current_subtotal_price": current_items - current_discounts,
        "current_total_discounts": current_discounts,
        "current_total_tax": current_tax,
        "current_total_price": current_items - current_discounts + current_tax + shipping,
    }
    for key, amount in totals.items():
        order[key] = fmt(amount)
        order[f"{key}_set"] = money_set(amount, shop_cur, pres_cur)
    order["total_shipping_price_set"] = money_set(shipping, shop_cur, pres_cur)

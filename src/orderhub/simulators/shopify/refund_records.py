"""A refund of an order, recorded as Shopify keeps it: the REST Refund resource the refunds/create webhook carries
(https://shopify.dev/docs/api/admin-rest/latest/resources/refund: refund_line_items with subtotal, total_tax and the
line, transactions of kind refund with their parent_id, order_adjustments, duties), kept on the order's
``refunds``; the order's line quantities, financial status and totals follow.

What a line's units are worth is its price less their share of its discount, plus their share of its taxes where
prices leave taxes out: what Shopify's suggested refund for them comes to.
"""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

from orderhub.simulators.shopify import payments
from orderhub.simulators.shopify.clock import rest_time
from orderhub.simulators.shopify.money import ZERO, cents, dec, discount, fmt, money_set, recompute_totals
from orderhub.simulators.shopify.store import Shop, Store, gid

Event = tuple[str, dict[str, Any]]
RESTOCKING = ("return", "cancel", "legacy_restock")


def worth(order: dict[str, Any], line: dict[str, Any], quantity: int) -> tuple[Decimal, Decimal]:
    """(subtotal, tax) of ``quantity`` units of ``line``."""
    part = Decimal(quantity) / line["quantity"]
    subtotal = cents(dec(line["price"]) * quantity - discount(line) * part)
    tax = sum((cents(dec(t["price"]) * part) for t in line["tax_lines"]), ZERO)
    return subtotal, tax


def due(order: dict[str, Any], line: dict[str, Any], quantity: int) -> Decimal:
    """What the buyer paid for ``quantity`` units of ``line`` (taxes in the subtotal where prices include them)."""
    subtotal, tax = worth(order, line, quantity)
    return subtotal if order.get("taxes_included") else subtotal + tax


def record(store: Store, shop: Shop, order: dict[str, Any], lines: list[tuple[dict[str, Any], int, str, int | None]],
           given: list[tuple[dict[str, Any] | None, Decimal]], *, note: str | None) -> list[Event]:
    """One refund of ``(line, quantity, restock type, location id)`` each, giving back ``(parent transaction or None,
    amount)`` each; call under the store's lock. Fires refunds/create then orders/updated."""
    stamp = rest_time(store.clock.after(order.get("updated_at")), shop.tz)
    order["updated_at"] = stamp
    currencies = (order["currency"], order["presentment_currency"])
    entries = []
    for line, quantity, restock_type, location_id in lines:
        subtotal, tax = worth(order, line, quantity)
        line["current_quantity"] -= quantity
        line["fulfillable_quantity"] = max(0, line["fulfillable_quantity"] - quantity)
        entries.append({
            "id": store.next_id("refund_line_item"), "line_item_id": line["id"], "quantity": quantity,
            "restock_type": restock_type, "location_id": location_id if restock_type in RESTOCKING else None,
            "subtotal": fmt(subtotal), "subtotal_set": money_set(subtotal, *currencies),
            "total_tax": fmt(tax), "total_tax_set": money_set(tax, *currencies), "line_item": copy.deepcopy(line)})
    transactions = [payments.add(store, shop, order, "refund", amount, stamp=stamp,
                                 parent_id=None if parent is None else parent["id"]) for parent, amount in given]
    refund_id = store.next_id("refund")
    refund = {
        "id": refund_id, "admin_graphql_api_id": gid("Refund", refund_id), "order_id": order["id"],
        "created_at": stamp, "processed_at": stamp, "note": note,
        "restock": any(e["restock_type"] in RESTOCKING for e in entries), "user_id": None,
        "refund_line_items": entries, "transactions": copy.deepcopy(transactions),
        "order_adjustments": [], "duties": []}
    order["refunds"].append(copy.deepcopy(refund))
    came, went = payments.paid_total(shop, order)
    # Refunded: nothing left on the order, or all it was paid went back (paid in full: an edit that added to it
    # after payment leaves it owing, not refunded).
    all_back = came >= dec(order["total_price"]) and went >= came > 0
    refunded_all = all(li["current_quantity"] <= 0 for li in order["line_items"]) or all_back
    order["financial_status"] = "refunded" if refunded_all else "partially_refunded"
    recompute_totals(order)
    return [("refunds/create", refund), ("orders/updated", copy.deepcopy(order))]

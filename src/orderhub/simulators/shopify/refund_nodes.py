"""An order's refunds as GraphQL ``Refund`` objects (``Order.refunds``), from the REST refunds it keeps.

Each refund has its ``refundLineItems`` (the line refunded, the quantity, Shopify's
``restockType`` - RETURN, CANCEL, NO_RESTOCK or LEGACY_RESTOCK - where it was restocked,
and the subtotal and tax) and its ``transactions`` (kind REFUND, status SUCCESS, the
amount), so a client polling orders sees what a ``refunds/create`` webhook carries.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from orderhub.simulators.shopify import discount_nodes
from orderhub.simulators.shopify.money import ZERO, dec, money_set
from orderhub.simulators.shopify.pagination import SortKey, connection
from orderhub.simulators.shopify.store import gid


def _by_id(item: dict[str, Any]) -> SortKey:
    return (item["id"], item["id"])


_bag = discount_nodes.bag

def _refund_line(order: dict[str, Any], rest: dict[str, Any]) -> dict[str, Any]:
    from orderhub.simulators.shopify.inventory_nodes import location
    from orderhub.simulators.shopify.resolvers import _line_item  # the order's line, as the orders query shows it

    restock_type = str(rest.get("restock_type") or "no_restock")
    location_id = rest.get("location_id")
    price = money_set(dec(rest["line_item"]["price"]), order["currency"], order["presentment_currency"])
    return {"id": gid("RefundLineItem", rest["id"]), "lineItem": _line_item(rest["line_item"], order),
            "quantity": rest["quantity"], "restockType": restock_type.upper(),
            "restocked": restock_type in ("return", "cancel", "legacy_restock"),
            "location": None if location_id is None else lambda info: location(info.context.shop, location_id),
            "priceSet": _bag(price), "subtotalSet": _bag(rest["subtotal_set"]),
            "totalTaxSet": _bag(rest["total_tax_set"])}


def _transaction(order: dict[str, Any], rest: dict[str, Any]) -> dict[str, Any]:
    amount = money_set(dec(rest["amount"]), order["currency"], order["presentment_currency"])
    return {"id": gid("OrderTransaction", rest["id"]), "kind": str(rest["kind"]).upper(),
            "status": str(rest["status"]).upper(), "amountSet": _bag(amount), "gateway": rest.get("gateway"),
            "createdAt": rest["created_at"], "processedAt": rest.get("processed_at"),
            "parentTransaction": lambda info: _parent(info, order, rest.get("parent_id"))}


def _parent(info: Any, order: dict[str, Any], parent_id: int | None) -> dict[str, Any] | None:
    from orderhub.simulators.shopify import payments

    shop = info.context.shop
    parent = next((t for t in shop.transactions.get(order["id"], []) if t["id"] == parent_id), None)
    return None if parent is None else payments.node(shop, order, parent)


def refund_node(order: dict[str, Any], rest: dict[str, Any]) -> dict[str, Any]:
    """A Refund of ``order`` (REST shape) from one of its REST refunds."""
    lines, transactions = rest["refund_line_items"], rest["transactions"]
    refunded = sum((dec(t["amount"]) for t in transactions if t.get("status") == "success"), ZERO)
    return {
        "__typename": "Refund", "id": gid("Refund", rest["id"]), "legacyResourceId": rest["id"],
        "createdAt": rest["created_at"], "updatedAt": rest.get("processed_at") or rest["created_at"],
        "note": rest.get("note"),
        "totalRefundedSet": _bag(money_set(Decimal(refunded), order["currency"], order["presentment_currency"])),
        "refundLineItems": lambda _info, first=None, after=None: connection(
            lines, _by_id, first=first, after=after, field_name="refundLineItems",
            node=lambda line: _refund_line(order, line)),
        "transactions": lambda _info, first=None, after=None: connection(
            transactions, _by_id, first=first, after=after, field_name="transactions",
            node=lambda t: _transaction(order, t)),
    }


def refund_nodes(order: dict[str, Any], first: int | None) -> list[dict[str, Any]]:
    """``Order.refunds(first:)``: the order's refunds, oldest first."""
    refunds = [refund_node(order, r) for r in order.get("refunds") or []]
    return refunds if first is None else refunds[:first]

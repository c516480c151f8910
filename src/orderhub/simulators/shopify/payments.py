"""An order's transactions (the money that came in and went back), kept per shop as Shopify's REST Transaction
records, and shown as GraphQL ``OrderTransaction`` objects (``Order.transactions``, ``parentTransaction``).

A paid order has a SALE of its total; an authorized one an AUTHORIZATION, which paying CAPTUREs (its parent). A
refund is a REFUND whose parent is the SALE or CAPTURE it gives money back from, and none gives back more than its
parent still holds. Shapes: the REST Transaction resource (https://shopify.dev/docs/api/admin-rest/latest/resources/
transaction: id, order_id, kind, gateway, status, amount, currency, parent_id, created_at, processed_at) and the
GraphQL OrderTransaction object (https://shopify.dev/docs/api/admin-graphql/latest/objects/OrderTransaction). The
simulator keeps amounts in the shop's currency, as its refunds/create bodies carry them.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from orderhub.simulators.shopify import discount_nodes
from orderhub.simulators.shopify.clock import rest_time
from orderhub.simulators.shopify.money import ZERO, dec, fmt, money_set
from orderhub.simulators.shopify.store import Shop, Store, gid

PAYMENTS = ("sale", "capture")  # what a refund gives money back from


def _gateway(order: dict[str, Any]) -> str:
    return (order.get("payment_gateway_names") or ["manual"])[0]


def add(store: Store, shop: Shop, order: dict[str, Any], kind: str, amount: Decimal, *,
        parent_id: int | None = None, stamp: str | None = None) -> dict[str, Any]:
    """Record a successful transaction of ``order``; returns it (REST shape)."""
    transaction_id = store.next_id("transaction")
    stamp = stamp or rest_time(store.clock.now(), shop.tz)
    record = {"id": transaction_id, "admin_graphql_api_id": gid("OrderTransaction", transaction_id),
              "order_id": order["id"], "kind": kind, "status": "success", "amount": fmt(amount),
              "currency": order["currency"], "gateway": _gateway(order), "created_at": stamp, "processed_at": stamp,
              "parent_id": parent_id, "test": False}
    shop.transactions.setdefault(order["id"], []).append(record)
    return record


def paid(store: Store, shop: Shop, order: dict[str, Any]) -> None:
    """The money of a new order, or of one just paid: a SALE, or the CAPTURE of its AUTHORIZATION."""
    total = dec(order["total_price"])
    status = order["financial_status"]
    if status == "authorized":
        add(store, shop, order, "authorization", total, stamp=order["processed_at"])
    elif status == "paid":
        authorization = next((t for t in shop.transactions.get(order["id"], []) if t["kind"] == "authorization"),
                             None)
        if authorization is None:
            add(store, shop, order, "sale", total)
        else:
            add(store, shop, order, "capture", dec(authorization["amount"]), parent_id=authorization["id"])


def refundable(shop: Shop, order: dict[str, Any]) -> list[tuple[dict[str, Any], Decimal]]:
    """Each SALE or CAPTURE of the order with what it still holds (its amount less the refunds from it)."""
    transactions = shop.transactions.get(order["id"], [])
    out = []
    for t in transactions:
        if t["kind"] in PAYMENTS and t["status"] == "success":
            back = sum((dec(r["amount"]) for r in transactions
                        if r["kind"] == "refund" and r["status"] == "success" and r["parent_id"] == t["id"]), ZERO)
            out.append((t, dec(t["amount"]) - back))
    return out


def paid_total(shop: Shop, order: dict[str, Any]) -> tuple[Decimal, Decimal]:
    """(what came in, what went back) of the order."""
    transactions = shop.transactions.get(order["id"], [])
    came = sum((dec(t["amount"]) for t in transactions if t["kind"] in PAYMENTS and t["status"] == "success"), ZERO)
    went = sum((dec(t["amount"]) for t in transactions if t["kind"] == "refund" and t["status"] == "success"), ZERO)
    return came, went


def share(shop: Shop, order: dict[str, Any], amount: Decimal) -> list[tuple[dict[str, Any], Decimal]]:
    """``amount`` given back from the order's payments, oldest first, each up to what it holds."""
    out, left = [], amount
    for parent, holds in refundable(shop, order):
        take = min(left, holds)
        if take > 0:
            out.append((parent, take))
            left -= take
    return out


def node(shop: Shop, order: dict[str, Any], rest: dict[str, Any]) -> dict[str, Any]:
    """An OrderTransaction from a REST transaction of ``order``."""
    amount = money_set(dec(rest["amount"]), order["currency"], order["presentment_currency"])
    parent_id = rest.get("parent_id")
    parent = next((t for t in shop.transactions.get(order["id"], []) if t["id"] == parent_id), None)
    return {"__typename": "OrderTransaction", "id": gid("OrderTransaction", rest["id"]),
            "kind": str(rest["kind"]).upper(), "status": str(rest["status"]).upper(),
            "amountSet": discount_nodes.bag(amount), "gateway": rest.get("gateway"),
            "createdAt": rest["created_at"], "processedAt": rest.get("processed_at"),
            "parentTransaction": None if parent is None else lambda _info: node(shop, order, parent)}


def nodes(shop: Shop, order: dict[str, Any], first: int | None) -> list[dict[str, Any]]:
    """``Order.transactions(first:)``: the order's transactions, oldest first."""
    found = [node(shop, order, t) for t in shop.transactions.get(order["id"], [])]
    return found if first is None else found[:first]

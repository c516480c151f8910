"""``refundCreate`` and ``Order.suggestedRefund``: refunding an order through the Admin API, as Shopify does it.

From Shopify's reference (https://shopify.dev/docs/api/admin-graphql/latest/mutations/refundCreate, its published
example, and .../input-objects/RefundInput, .../input-objects/OrderTransactionInput, .../objects/SuggestedRefund,
.../objects/SuggestedOrderTransaction):

- ``refundCreate(input: RefundInput!)`` answers ``RefundCreatePayload { order refund userErrors { field message } }``;
  a refused input is a user error on the path of the field at fault (``["refundLineItems", "0", "quantity"]``) and
  changes nothing. ``UserError`` has no code; the messages are the simulator's (Shopify publishes none).
- ``currency`` must be the order's presentment currency, and is required where it differs from the shop's; the
  transactions' amounts are in it.
- A line refunds at most the units still on it (``currentQuantity``); a transaction is of kind REFUND, its parent a
  successful SALE or CAPTURE of the order, and it gives back at most what that parent still holds.
- ``notify`` would email the customer: the simulator sends no email.
- ``@idempotent(key:)`` (2026-01 on, required from 2026-04: https://shopify.dev/changelog/adding-idempotency-for-
  inventory-adjustments-and-refund-mutations, https://shopify.dev/changelog/making-idempotency-mandatory-for-
  inventory-adjustments-and-refund-mutations): a repeat with the same key and input answers the first refund.
- ``suggestedRefund(refundLineItems:)`` prices the lines (their discounted subtotal and taxes) and suggests a REFUND
  transaction from each payment that holds money, up to the amount: ``suggestedTransactions`` with the
  ``parentTransaction``, the ``gateway`` and what the payment still holds (``maximumRefundableSet``).

The refund is recorded on the order (``refunds``, ``refundLineItems``) and sent as refunds/create, in the REST
shape the simulator's other refunds have (refund_records.py).
"""

from __future__ import annotations

import copy
from decimal import Decimal, InvalidOperation
from typing import Any

from graphql import GraphQLError, GraphQLResolveInfo

from orderhub.adapters.shopify import api_versions
from orderhub.simulators.shopify import discount_nodes, idempotency, payments, refund_records
from orderhub.simulators.shopify.changes import fire
from orderhub.simulators.shopify.money import ZERO, convert, dec, money_set
from orderhub.simulators.shopify.refund_nodes import refund_node
from orderhub.simulators.shopify.resolvers import RequestContext, order_node, parse_gid
from orderhub.simulators.shopify.store import gid

_bag = discount_nodes.bag
RESTOCK_TYPES = {"RETURN": "return", "CANCEL": "cancel", "LEGACY_RESTOCK": "legacy_restock",
                 "NO_RESTOCK": "no_restock"}


class Refused(Exception):
    def __init__(self, field: list[str], message: str) -> None:
        super().__init__(message)
        self.field = field


def _line_id(raw: str, field: list[str]) -> int:
    try:
        return parse_gid(raw, "LineItem")
    except GraphQLError:
        raise Refused(field, "Line item does not exist") from None


def _lines(order: dict[str, Any], given: list[dict[str, Any]] | None,
           locations: list[int]) -> list[tuple[dict[str, Any], int, str, int | None]]:
    """The order's lines and quantities ``refundLineItems`` names, checked."""
    out: list[tuple[dict[str, Any], int, str, int | None]] = []
    by_id = {li["id"]: li for li in order["line_items"]}
    for i, item in enumerate(given or []):
        path = ["refundLineItems", str(i)]
        line = by_id.get(_line_id(item["lineItemId"], [*path, "lineItemId"]))
        if line is None:
            raise Refused([*path, "lineItemId"], "Line item does not exist")
        quantity = int(item["quantity"])
        already = sum(q for li, q, _, _ in out if li is line)
        if quantity <= 0 or quantity + already > line["current_quantity"]:
            raise Refused([*path, "quantity"], f"Quantity cannot refund more items than were purchased (line "
                                               f"{line['id']} has {line['current_quantity'] - already} to refund)")
        restock = RESTOCK_TYPES[item.get("restockType") or "NO_RESTOCK"]
        location = item.get("locationId")
        location_id = locations[0] if location is None else parse_gid(location, "Location")
        if restock != "no_restock" and location_id not in locations:
            raise Refused([*path, "locationId"], "Location does not exist")
        out.append((line, quantity, restock, location_id))
    return out


def _amount(raw: Any, field: list[str]) -> Decimal:
    try:
        value = Decimal(str(raw))
    except InvalidOperation:
        raise Refused(field, f"Amount {str(raw)[:40]!r} is not a number") from None
    if not value.is_finite() or value <= 0:
        raise Refused(field, "Amount must be greater than 0")
    return value


def _given(shop: Any, order: dict[str, Any], transactions: list[dict[str, Any]] | None,
           order_gid: str) -> list[tuple[dict[str, Any] | None, Decimal]]:
    """The money each transaction gives back (shop currency), from the payment it names, checked."""
    holds = {parent["id"]: (parent, left) for parent, left in payments.refundable(shop, order)}
    out: list[tuple[dict[str, Any] | None, Decimal]] = []
    for i, t in enumerate(transactions or []):
        path = ["transactions", str(i)]
        if t["orderId"] != order_gid:
            raise Refused([*path, "orderId"], "Transaction must belong to the order being refunded")
        if t["kind"] != "REFUND":
            raise Refused([*path, "kind"], f"Transaction kind must be REFUND, not {t['kind']}")
        amount = convert(_amount(t["amount"], [*path, "amount"]), order["presentment_currency"], order["currency"])
        raw_parent = t.get("parentId")
        parent_id = None
        if raw_parent is not None and raw_parent.startswith("gid://shopify/OrderTransaction/"):
            parent_id = parse_gid(raw_parent, "OrderTransaction")
        if parent_id not in holds:
            raise Refused([*path, "parentId"], "Parent transaction must be a successful sale or capture of the "
                                               "order")
        parent, left = holds[parent_id]
        if amount > left:
            raise Refused([*path, "amount"], f"Amount {t['amount']} is more than the {left} the parent transaction "
                                             "can still refund")
        holds[parent_id] = (parent, left - amount)
        out.append((parent, amount))
    return out


def _currency(order: dict[str, Any], given: str | None) -> None:
    presentment = order["presentment_currency"]
    if given is None and presentment != order["currency"]:
        raise Refused(["currency"], f"Currency is required: the order was paid in {presentment}")
    if given is not None and given != presentment:
        raise Refused(["currency"], f"Currency must be the order's presentment currency {presentment}")


def _refund_create(info: GraphQLResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
    ctx: RequestContext = info.context
    if api_versions.has("idempotency_required", ctx.api_version) and idempotency.key_of(info) is None:
        raise GraphQLError("The @idempotent directive is required for this mutation but was not provided.",
                           extensions={"code": "BAD_REQUEST"})

    def run() -> dict[str, Any]:
        with ctx.store.lock:
            order = ctx.shop.orders.get(parse_gid(input["orderId"], "Order"))
            try:
                if order is None:
                    raise Refused(["orderId"], "Order does not exist")
                _currency(order, input.get("currency"))
                lines = _lines(order, input.get("refundLineItems"), ctx.shop.locations)
                given = _given(ctx.shop, order, input.get("transactions"), input["orderId"])
                if not lines and not given:
                    raise Refused(["refundLineItems"], "A refund needs line items or transactions")
            except Refused as exc:
                return {"order": None, "refund": None, "userErrors": [{"field": exc.field, "message": str(exc)}]}
            events = refund_records.record(ctx.store, ctx.shop, order, lines, given, note=input.get("note"))
            rest = copy.deepcopy(order)
            answer = {"refund": refund_node(rest, rest["refunds"][-1]),
                      "order": order_node(rest, ctx.shop.sales_channels.get(rest["id"])), "userErrors": []}
        fire(ctx, events)
        return answer

    def mismatch(message: str) -> dict[str, Any]:
        return {"order": None, "refund": None, "userErrors": [{"field": None, "message": message}]}

    return idempotency.run_once(ctx.store, ctx.shop, info, {"input": input}, run, mismatch)


def suggested_refund(info: GraphQLResolveInfo, rest: dict[str, Any],
                     refundLineItems: list[dict[str, Any]] | None = None, refundShipping: bool | None = None,
                     shippingAmount: Any = None, suggestFullAmount: bool = False) -> dict[str, Any]:
    """``Order.suggestedRefund``: what the lines are worth, and the payments to give it back from (the shipping is
    not refunded: ``refundShipping`` and ``shippingAmount`` are taken and left aside)."""
    ctx: RequestContext = info.context
    currencies = (rest["currency"], rest["presentment_currency"])
    with ctx.store.lock:
        order = ctx.shop.orders.get(rest["id"], rest)
        if suggestFullAmount:
            refundLineItems = [{"lineItemId": gid("LineItem", li["id"]), "quantity": li["current_quantity"]}
                               for li in order["line_items"] if li["current_quantity"] > 0]
        try:
            lines = _lines(order, refundLineItems, ctx.shop.locations)
        except Refused as exc:
            raise GraphQLError(str(exc), extensions={"code": "BAD_REQUEST"}) from None
        worth = [refund_records.worth(order, line, q) for line, q, _, _ in lines]
        amount = sum((refund_records.due(order, line, q) for line, q, _, _ in lines), ZERO)
        refundable = payments.refundable(ctx.shop, order)
        suggested = []
        left = amount
        for parent, holds in refundable:
            take = min(left, holds)
            if take <= 0:
                continue
            left -= take
            suggested.append({"amountSet": _bag(money_set(take, *currencies)), "gateway": parent.get("gateway"),
                              "kind": "SUGGESTED_REFUND", "maximumRefundableSet": _bag(money_set(holds, *currencies)),
                              "parentTransaction": payments.node(ctx.shop, order, parent)})
        snapshot = copy.deepcopy(order)
    refund_lines = [{"id": None, "quantity": q, "restockType": restock.upper(), "restocked": False,
                     "location": None, "lineItem": _line_node(snapshot, line),
                     "priceSet": _bag(money_set(dec(line["price"]), *currencies)),
                     "subtotalSet": _bag(money_set(sub, *currencies)), "totalTaxSet": _bag(money_set(tax, *currencies))}
                    for (line, q, restock, _), (sub, tax) in zip(lines, worth, strict=True)]
    return {"amountSet": _bag(money_set(amount - max(left, ZERO), *currencies)),
            "subtotalSet": _bag(money_set(sum((s for s, _ in worth), ZERO), *currencies)),
            "totalTaxSet": _bag(money_set(sum((t for _, t in worth), ZERO), *currencies)),
            "maximumRefundableSet": _bag(money_set(sum((h for _, h in refundable), ZERO), *currencies)),
            "refundLineItems": refund_lines, "suggestedTransactions": suggested}


def _line_node(order: dict[str, Any], line: dict[str, Any]) -> dict[str, Any]:
    from orderhub.simulators.shopify.resolvers import _line_item

    return _line_item(next(li for li in order["line_items"] if li["id"] == line["id"]), order)


REFUND_MUTATIONS: dict[str, Any] = {"refundCreate": _refund_create}

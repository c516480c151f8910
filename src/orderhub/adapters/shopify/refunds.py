"""Refunding a Shopify order for units that came back to orderhub, with the Admin API's ``refundCreate``.

The shapes, as Shopify documents them:

- ``refundCreate(input: RefundInput!)`` answers ``RefundCreatePayload { refund order userErrors { field message } }``
  (https://shopify.dev/docs/api/admin-graphql/latest/mutations/refundCreate and its published example).
- ``RefundInput { orderId note notify currency refundLineItems transactions }``: ``currency`` is the order's
  presentment currency and the transactions' amounts are in it
  (https://shopify.dev/docs/api/admin-graphql/latest/input-objects/RefundInput);
  ``RefundLineItemInput { lineItemId quantity restockType }``; ``OrderTransactionInput { orderId gateway kind amount
  parentId }``, the parent being the SALE or CAPTURE the money came in by
  (https://shopify.dev/docs/api/admin-graphql/latest/input-objects/OrderTransactionInput).
- ``Order.suggestedRefund(refundLineItems:)`` answers ``SuggestedRefund { suggestedTransactions { gateway
  parentTransaction maximumRefundableSet } }``: which payments to refund against and how much each still holds
  (https://shopify.dev/docs/api/admin-graphql/latest/objects/SuggestedRefund, .../objects/SuggestedOrderTransaction).
- ``@idempotent(key:)`` on ``refundCreate`` from 2026-01, required from 2026-04
  (https://shopify.dev/changelog/adding-idempotency-for-inventory-adjustments-and-refund-mutations,
  https://shopify.dev/changelog/making-idempotency-mandatory-for-inventory-adjustments-and-refund-mutations).

orderhub already put the units back in its own stock and pushes its stock to Shopify itself, so lines are refunded
``NO_RESTOCK``. The refund's note begins ``orderhub return-<id>``: when the refund comes back (``refunds/create``,
the order's next version, ``import-returns``) it is known as the refund of a return orderhub recorded
(:func:`return_ref`), and on API versions without ``@idempotent`` a repeat finds it on the order and sends nothing.
"""

from __future__ import annotations

import re
from decimal import ROUND_DOWN, Decimal
from typing import Any

from orderhub.adapters.shopify.graphql import AdminClient, AuthError, GraphQLErrors, ShopifyError
from orderhub.domain import money
from orderhub.domain.channels import ChannelRefused, ChannelUnavailable, RefundNotice

_MARK = re.compile(r"^orderhub (return-\d{1,18})(?::|$)")
NOTE_LENGTH = 500  # of what a person wrote about the return, after the mark

_SET = "{ shopMoney { amount } presentmentMoney { amount } }"
ORDER_QUERY = """
query RefundOrder($id: ID!) {
  order(id: $id) { id name currencyCode presentmentCurrencyCode totalPriceSet %(set)s refunds { id note } }
}
""" % {"set": _SET}
SUGGESTION_QUERY = """
query RefundSuggestion($id: ID!, $lines: [RefundLineItemInput!]) {
  order(id: $id) {
    suggestedRefund(refundLineItems: $lines) {
      suggestedTransactions { gateway parentTransaction { id } maximumRefundableSet %(set)s }
    }
  }
}
""" % {"set": _SET}
_CREATE = "refundCreate(input: $input)%s { refund { id } userErrors { field message } }"
REFUND_CREATE = ("mutation RefundReturn($input: RefundInput!, $key: String!) { %s }"
                 % (_CREATE % " @idempotent(key: $key)"))
REFUND_CREATE_BEFORE_2026_01 = "mutation RefundReturn($input: RefundInput!) { %s }" % (_CREATE % "")


def refund_note(reference: str, note: str | None) -> str:
    """The refund's note: orderhub's mark (the return's reference), then why, as whoever recorded it said."""
    return f"orderhub {reference}" + (f": {note[:NOTE_LENGTH]}" if note else "")


def return_ref(note: str | None) -> str | None:
    """The return (``return-<id>``) a refund orderhub made in Shopify was for, read from its note; else None."""
    found = _MARK.match(note or "")
    return found.group(1) if found else None


def idempotency_key(order_ref: str, reference: str) -> str:
    """The same for every attempt at one return's refund, so Shopify answers a repeat with the first refund."""
    return f"orderhub-{order_ref}-{reference}"


def refund(client: AdminClient, notice: RefundNotice, *, notify: bool = True) -> str:
    """Refund the buyer for ``notice``; returns the id of Shopify's refund (made now, or before for this return).
    Raises ChannelRefused (a person must act) or ChannelUnavailable (try again later)."""
    order_gid = f"gid://shopify/Order/{notice.order_ref}"
    lines = [{"lineItemId": f"gid://shopify/LineItem/{line}", "quantity": quantity, "restockType": "NO_RESTOCK"}
             for line, quantity in notice.lines]
    order = _call(client, ORDER_QUERY, {"id": order_gid}, 10)["order"]
    if order is None:
        raise ChannelRefused(f"Shopify has no order {notice.order_ref}: refund {notice.reference} in Shopify admin "
                             "if the order moved, then dismiss this")
    name = order.get("name") or notice.order_ref
    made = next((r["id"] for r in order.get("refunds") or [] if return_ref(r.get("note")) == notice.reference), None)
    if made is not None:
        return str(made)  # made before (an answer lost on the way back)
    if notice.currency.upper() != order["currencyCode"]:
        raise ChannelRefused(f"Shopify order {name} is in {order['currencyCode']}, the refund of {notice.reference} "
                             f"in {notice.currency}: refund it in Shopify admin, then dismiss this")
    presentment = order["presentmentCurrencyCode"]
    amount = _in_presentment(notice.amount, order)
    suggestion = _call(client, SUGGESTION_QUERY, {"id": order_gid, "lines": lines}, 20)["order"]["suggestedRefund"]
    transactions = _transactions(order_gid, amount, presentment, suggestion["suggestedTransactions"])
    if transactions is None:
        raise ChannelRefused(f"Shopify order {name}: the refund of {notice.reference} "
                             f"({money.with_currency(amount, presentment)}) is more than Shopify can still refund "
                             "to the original payments; refund what is right in Shopify admin, then dismiss this")
    refund_input = {"orderId": order_gid, "note": refund_note(notice.reference, notice.note), "notify": notify,
                    "currency": presentment, "refundLineItems": lines, "transactions": transactions}
    if client.has("idempotent_directive"):
        query, variables = REFUND_CREATE, {"input": refund_input,
                                           "key": idempotency_key(notice.order_ref, notice.reference)}
    else:
        query, variables = REFUND_CREATE_BEFORE_2026_01, {"input": refund_input}
    result = _call(client, query, variables, 10)["refundCreate"]
    errors = result.get("userErrors") or []
    if errors or not result.get("refund"):
        said = "; ".join(f"{e.get('message')}" + (f" ({'.'.join(e['field'])})" if e.get("field") else "")
                         for e in errors) or "no refund and no reason"
        raise ChannelRefused(f"Shopify refused the refund of order {name} for {notice.reference}: {said[:500]}")
    return str(result["refund"]["id"])


def _call(client: AdminClient, query: str, variables: dict[str, Any], cost: float) -> Any:
    try:
        return client.execute(query, variables, expected_cost=cost)
    except GraphQLErrors as exc:
        if _throttled(exc.errors):
            raise ChannelUnavailable(f"Shopify throttled the refund: {exc}") from None
        raise ChannelRefused(f"Shopify refused the request: {exc}") from None
    except AuthError as exc:
        raise ChannelUnavailable(str(exc)) from None  # a new token is set; then it goes through
    except ShopifyError as exc:
        raise ChannelUnavailable(str(exc)) from None


def _throttled(errors: Any) -> bool:
    return isinstance(errors, list) and bool(errors) and all(
        isinstance(e, dict) and (e.get("extensions") or {}).get("code") == "THROTTLED" for e in errors)


def _in_presentment(amount: Decimal, order: dict[str, Any]) -> Decimal:
    """``amount`` (shop currency) in the order's presentment currency, at the rate the order was paid at."""
    shop, presentment = order["currencyCode"], order["presentmentCurrencyCode"]
    step = Decimal(1).scaleb(-money.decimals(presentment))
    if shop == presentment:
        return amount.quantize(step)
    total = order["totalPriceSet"]
    paid_shop, paid_presentment = Decimal(total["shopMoney"]["amount"]), Decimal(total["presentmentMoney"]["amount"])
    if paid_shop <= 0:
        raise ChannelRefused(f"Shopify order {order.get('name')} has no total to convert the refund by: refund it in "
                             "Shopify admin, then dismiss this")
    return (amount * paid_presentment / paid_shop).quantize(step, rounding=ROUND_DOWN)


def _transactions(order_gid: str, amount: Decimal, presentment: str,
                  suggested: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
    """``amount`` shared over the payments Shopify suggests refunding against, each up to what it still holds;
    None when they hold less."""
    out, left = [], amount
    for s in suggested:
        parent = (s.get("parentTransaction") or {}).get("id")
        holds = Decimal(((s.get("maximumRefundableSet") or {}).get("presentmentMoney") or {}).get("amount") or "0")
        take = min(left, holds)
        if parent is None or take <= 0:
            continue
        out.append({"orderId": order_gid, "gateway": s.get("gateway") or "manual", "kind": "REFUND",
                    "amount": money.show(take, presentment), "parentId": parent})
        left -= take
    return out if left <= 0 else None

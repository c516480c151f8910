"""Cancelling an order in Shopify with ``orderCancel``, in the form the API version takes.

From 2025-07 whether to refund is ``refundMethod: {originalPaymentMethodsRefund: ...}``;
``refund`` is deprecated for it
(https://shopify.dev/changelog/ordercancel-mutation-now-supports-refunds-to-store-credit).
Before, ``refund``. Errors are read from ``orderCancelUserErrors`` (``userErrors`` is deprecated).
"""

from __future__ import annotations

from typing import Any

from orderhub.adapters.shopify.graphql import AdminClient

_PAYLOAD = "job { id done } orderCancelUserErrors { code field message }"
ORDER_CANCEL = """
mutation CancelOrder($id: ID!, $reason: OrderCancelReason!, $refundMethod: OrderCancelRefundMethodInput,
                     $restock: Boolean!, $notify: Boolean, $note: String) {
  orderCancel(orderId: $id, reason: $reason, refundMethod: $refundMethod, restock: $restock, notifyCustomer: $notify,
              staffNote: $note) { %s }
}
""" % _PAYLOAD
ORDER_CANCEL_BEFORE_2025_07 = """
mutation CancelOrder($id: ID!, $reason: OrderCancelReason!, $refund: Boolean!, $restock: Boolean!,
                     $notify: Boolean, $note: String) {
  orderCancel(orderId: $id, reason: $reason, refund: $refund, restock: $restock, notifyCustomer: $notify,
              staffNote: $note) { %s }
}
""" % _PAYLOAD


def cancel(client: AdminClient, order_gid: str, *, reason: str, refund: bool, restock: bool, notify: bool,
           note: str | None) -> dict[str, Any]:
    """Ask Shopify to cancel the order: the ``orderCancel`` payload (``job``, ``orderCancelUserErrors``).

    ``reason`` is Shopify's OrderCancelReason (CUSTOMER, DECLINED, FRAUD, INVENTORY, OTHER, STAFF);
    ``refund`` refunds to the original payment methods.
    """
    variables: dict[str, Any] = {"id": order_gid, "reason": reason.upper(), "restock": restock, "notify": notify,
                                 "note": note}
    if client.has("order_cancel_refund_method"):
        variables["refundMethod"] = {"originalPaymentMethodsRefund": refund}
        query = ORDER_CANCEL
    else:
        variables["refund"] = refund
        query = ORDER_CANCEL_BEFORE_2025_07
    return client.execute(query, variables, expected_cost=10)["orderCancel"]  # type: ignore[no-any-return]

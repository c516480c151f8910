"""How an order moves through Amazon's statuses, by the seller's shipment confirmations and by Amazon.

- ``confirm_shipment``: an MFN order that is Unshipped or PartiallyShipped ships the given
  quantities of its items; it becomes PartiallyShipped, or Shipped when nothing is left.
- Events Amazon (or the buyer) causes, through ``POST /_sim/orders/{id}/events``:
  ``authorize`` (Pending -> Unshipped, payment authorised), ``release`` (PendingAvailability ->
  Pending, a pre-order's release date came), ``buyer_cancel`` (the buyer asks to cancel: the
  items carry ``BuyerRequestedCancel``, the status stays), ``cancel`` (Amazon or the seller
  cancels an order nothing of which has shipped), ``auto_cancel`` (Amazon cancels a Pending
  order whose payment was never authorised), ``ship`` (Amazon ships an AFN order),
  ``unfulfillable`` (an AFN order Amazon cannot fulfil), ``invoice_unconfirmed`` (a shipped
  order whose invoice the seller has not confirmed yet).

Orders v0 has no "delivered" status, so delivery is not an event here.
"""

from __future__ import annotations

from typing import Any

from orderhub.simulators.amazon.orders import Order

EVENTS = ("authorize", "release", "buyer_cancel", "cancel", "auto_cancel", "ship", "unfulfillable",
          "invoice_unconfirmed")


class LifecycleError(ValueError):
    """A change the order's status does not allow; the message says which and why."""


def _require(order: Order, allowed: tuple[str, ...], what: str) -> None:
    if order.status not in allowed:
        raise LifecycleError(f"Order {order.amazon_order_id} is {order.status}; {what} needs it to be "
                             f"{' or '.join(allowed)}.")


def apply_event(order: Order, event: str, reason: str | None = None) -> None:
    """Change ``order`` in place for ``event``; raises :class:`LifecycleError` when its status forbids it."""
    if event == "authorize":
        _require(order, ("Pending",), "authorize")
        order.status = "Unshipped"
    elif event == "release":
        _require(order, ("PendingAvailability",), "release")
        order.status = "Pending"
    elif event == "buyer_cancel":
        _require(order, ("Pending", "Unshipped", "PartiallyShipped"), "a buyer's cancellation request")
        for item in order.items:
            if item.unshipped > 0:
                item.buyer_cancel_reason = reason or "Changed my mind"
    elif event in ("cancel", "auto_cancel"):
        allowed = ("Pending", "PendingAvailability") if event == "auto_cancel" else \
            ("Pending", "PendingAvailability", "Unshipped")
        _require(order, allowed, event)
        order.status = "Canceled"
        order.cancel_reason = reason or ("PaymentNotAuthorized" if event == "auto_cancel" else "BuyerCanceled")
    elif event == "ship":
        if order.fulfillment_channel != "AFN":
            raise LifecycleError(f"Order {order.amazon_order_id} is MFN: the seller ships it with confirmShipment.")
        _require(order, ("Unshipped", "PartiallyShipped"), "ship")
        for item in order.items:
            item.quantity_shipped = item.quantity
        order.status = "Shipped"
    elif event == "unfulfillable":
        if order.fulfillment_channel != "AFN":
            raise LifecycleError(f"Order {order.amazon_order_id} is MFN; only AFN orders become Unfulfillable.")
        _require(order, ("Pending", "Unshipped"), "unfulfillable")
        order.status = "Unfulfillable"
    elif event == "invoice_unconfirmed":
        _require(order, ("Shipped",), "invoice_unconfirmed")
        order.status = "InvoiceUnconfirmed"
    else:
        raise LifecycleError(f"Unknown event {event!r}; expected one of {', '.join(EVENTS)}.")


def confirm_shipment(order: Order, lines: list[dict[str, Any]]) -> None:
    """Ship ``lines`` ([{orderItemId, quantity}]) of ``order``; raises :class:`LifecycleError` naming the problem."""
    if order.fulfillment_channel != "MFN":
        raise LifecycleError(f"Order {order.amazon_order_id} is fulfilled by Amazon (AFN); "
                             "only MFN orders take a shipment confirmation.")
    _require(order, ("Unshipped", "PartiallyShipped"), "a shipment confirmation")
    wanted: dict[str, int] = {}
    for line in lines:
        item = order.item(line["orderItemId"])
        if item is None:
            raise LifecycleError(f"Order {order.amazon_order_id} has no item {line['orderItemId']}.")
        quantity = line["quantity"]
        if quantity < 1:
            raise LifecycleError(f"Item {item.order_item_id}: quantity must be at least 1, got {quantity}.")
        wanted[item.order_item_id] = wanted.get(item.order_item_id, 0) + quantity
        if wanted[item.order_item_id] > item.unshipped:
            raise LifecycleError(f"Item {item.order_item_id} has {item.unshipped} unshipped; "
                                 f"cannot ship {wanted[item.order_item_id]}.")
    for item_id, quantity in wanted.items():
        item = order.item(item_id)
        assert item is not None
        item.quantity_shipped += quantity
    order.status = "Shipped" if all(i.unshipped == 0 for i in order.items) else "PartiallyShipped"

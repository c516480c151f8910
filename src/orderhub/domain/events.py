"""The catalogue of events orderhub sends out: every type, with what it means.

Two streams leave orderhub:

- **Subscription events** (the outbox): order management and inventory events, delivered to
  subscriptions (``orderhub subscription add``) as Standard Webhooks. The outbox refuses a type
  that is not in :data:`SUBSCRIPTION_EVENTS`.
- **Destination events**: the canonical form of each Shopify record the processor applied,
  forwarded to HTTP destinations (``orderhub destination add``). The processor refuses a type that
  is not in :data:`DESTINATION_EVENTS`.

A new event type is added here first, with its meaning; the documentation's events reference is
generated from these tables.
"""

from __future__ import annotations

SUBSCRIPTION_EVENTS: dict[str, str] = {
    "order.created": "A new order entered order management: written when its placement finishes, "
                     "together with order.placed.",
    "order.approved": "The order passed approval (payment and stock rules, or a person approved it): "
                      "its units may be brokered.",
    "order.brokered": "Every unit of the order that ships has a facility.",
    "order.completed": "Every unit of the order still live is completed (or needed no shipping: gift cards).",
    "order.placed": "The placement workflow finished for the order (the last of its placement events). "
                    "An order whose placement was compensated never emits it, or anything else.",
    "order.shipped": "Every unit of the order that ships has shipped.",
    "order.partially_shipped": "Some units of the order have shipped, others not yet.",
    "order.cancelled": "Nothing is left of the order: every unit is cancelled.",
    "order.returned": "Every unit of the order that was not cancelled came back.",
    "order.partially_returned": "Some shipped units of the order came back.",
    "order.held": "A person put the order on hold: it is not picked, packed or shipped until released.",
    "order.released": "The hold on the order was lifted.",
    "order.promise_changed": "The promise date of waiting pre-order or backorder units moved (a delivery "
                             "moved or ran short): which units, from which date to which.",
    "inventory.changed": "A SKU's position at a facility changed (receipt, count, reservation, release, "
                         "shipment, return): one event per SKU and facility per transaction, in order per SKU.",
}

DESTINATION_EVENTS: dict[str, str] = {
    "order.created": "Shopify reported an order orderhub did not have (any order topic, or a poll).",
    "order.updated": "Shopify reported a newer version of an order (orders/updated, orders/paid, "
                     "orders/cancelled, ...).",
    "order.edited": "An order edit was applied (orders/edited).",
    "order.transaction": "A payment transaction of an order (order_transactions/create).",
    "refund.created": "A refund was applied (refunds/create).",
    "store_sale.recorded": "A sale, return or exchange made on a store's POS terminal was recorded (pos/sale): "
                           "its lines, tenders, device and sequence.",
    "product.updated": "A new or newer version of a product (products/create, products/update).",
    "product.deleted": "A product was deleted in Shopify (products/delete).",
    "inventory_level.updated": "Shopify reported a new available quantity at a location "
                               "(inventory_levels/update).",
}


class UnknownEventType(ValueError):
    """An event type missing from the catalogue: add it (with its meaning) to orderhub.domain.events."""


def check_subscription_event(event_type: str) -> None:
    if event_type not in SUBSCRIPTION_EVENTS:
        raise UnknownEventType(f"event type {event_type!r} is not in the catalogue of subscription events; "
                               "add it to SUBSCRIPTION_EVENTS in orderhub/domain/events.py with its meaning")


def check_destination_event(event_type: str) -> None:
    if event_type not in DESTINATION_EVENTS:
        raise UnknownEventType(f"event type {event_type!r} is not in the catalogue of destination events; "
                               "add it to DESTINATION_EVENTS in orderhub/domain/events.py with its meaning")

"""The outbound events reference: every type of :mod:`orderhub.domain.events`, with an example body.

The examples are not written by hand: a sample record goes through the code that builds the real
bodies (the order summary of :mod:`orderhub.services.approval`, the inventory and promise payloads,
the outbox's serializer and the notifier's envelope for subscriptions; Shopify's own sample bodies
through the translator and the processor's envelope for destinations), so they show what is sent.

Anchors: a subscription event's is its type with dots and underscores as hyphens
(``events.md#order-partially-shipped``); a destination event's has ``destination-`` in front.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from orderhub.adapters import standard_webhooks
from orderhub.adapters.pos.channel import SALE_TOPIC, account_name
from orderhub.adapters.pos.channel import TRANSLATOR as POS_TRANSLATOR
from orderhub.adapters.shopify import translate
from orderhub.adapters.store import outbox
from orderhub.adapters.store.inventory_store import Change, changed_payload
from orderhub.adapters.store.presell_store import WaitingUnit
from orderhub.domain import lifecycle
from orderhub.domain.events import DESTINATION_EVENTS, SUBSCRIPTION_EVENTS
from orderhub.domain.inventory import LedgerReason, Position
from orderhub.domain.presell import PromiseChange
from orderhub.fidelity.fixtures import load as load_fixtures
from orderhub.reference.markdown import code, heading, json_block, table, text
from orderhub.services import approval, notify, presell, process
from orderhub.services.deliver import SIGNATURE_HEADER, signature

SENT_AT = datetime(2026, 11, 23, 18, 20, 5, tzinfo=UTC)
SHOP = "demo-store.myshopify.com"
EXAMPLE_SECRET = "whsec_" + base64.b64encode(b"an example secret, not a real one").decode()
ORDER_ID = 1042
FACILITY_ID = 3

# The units of the example order when each order event is written (the order's own status and
# fulfilment status follow from them, as orderhub derives them).
_UNITS_AT: dict[str, tuple[str, ...]] = {
    "order.created": ("brokered", "brokered"),
    "order.approved": ("approved", "approved"),
    "order.brokered": ("brokered", "brokered"),
    "order.completed": ("completed", "completed"),
    "order.placed": ("brokered", "brokered"),
    "order.shipped": ("shipped", "shipped"),
    "order.partially_shipped": ("shipped", "packed"),
    "order.cancelled": ("cancelled", "cancelled"),
    "order.returned": ("returned", "returned"),
    "order.partially_returned": ("returned", "shipped"),
    "order.held": ("brokered", "brokered"),
    "order.released": ("brokered", "brokered"),
}
_HELD = {"order.held"}


def anchor(event_type: str, prefix: str = "") -> str:
    return prefix + event_type.replace(".", "-").replace("_", "-")


def _order_summary(event_type: str) -> dict[str, Any]:
    statuses = _UNITS_AT[event_type]
    units = [SimpleNamespace(id=5001 + i, sku=f"SKU-{i + 1}", status=s,
                             facility_id=None if s in ("approved", "cancelled") else FACILITY_ID,
                             queue="brokering" if s == "approved" else None) for i, s in enumerate(statuses)]
    status = "held" if event_type in _HELD else lifecycle.order_status_from_units(statuses).value
    order = SimpleNamespace(id=ORDER_ID, domain=SHOP, shopify_id="5123456789012", name="#1001", status=status,
                            payment_status="paid", fulfillment_status=lifecycle.fulfillment_status_from_units(statuses),
                            currency="EUR", total_price=Decimal("38.20"), channel="online")
    return approval.summary(order, units)


def _inventory_changed() -> dict[str, Any]:
    change = Change("SKU-1", FACILITY_ID, before=Position(12, 2, 1), after=Position(12, 3, 1))
    return changed_payload(change, "WH-BER", LedgerReason.RESERVED)


def _promise_changed() -> dict[str, Any]:
    unit = WaitingUnit(id=5003, order_id=ORDER_ID, sku="PRE-7", queue="preorder_parking",
                       placed_at=datetime(2026, 11, 2, 9, 30, tzinfo=UTC), promise_date=date(2026, 12, 1),
                       promised_at=datetime(2026, 11, 2, 9, 31, tzinfo=UTC))
    moved = [(unit, PromiseChange(unit.id, date(2026, 12, 1), date(2026, 12, 15)))]
    detail = presell.change_detail(moved, (date(2026, 12, 1), date(2026, 12, 15)))
    return presell.promise_changed_payload(ORDER_ID, detail)


def subscription_payload(event_type: str) -> dict[str, Any]:
    """The ``data`` of an example event of this type, built by the code that builds the real ones."""
    if event_type == "inventory.changed":
        return _inventory_changed()
    if event_type == "order.promise_changed":
        return _promise_changed()
    return _order_summary(event_type)


def ordering_key(event_type: str) -> str:
    return "sku:<sku>" if event_type.startswith("inventory.") else "order:<order id>"


def subscription_body(event_type: str) -> bytes:
    """The example's body as a subscriber receives it: the notifier's envelope around the stored payload."""
    event = outbox.Event(event_type, subscription_payload(event_type), ordering_key(event_type))  # checks the type
    return notify.body(event_type, SENT_AT, outbox.serialize(event.payload))


def subscription_headers(body: bytes, outbox_id: int = 73) -> dict[str, str]:
    """The headers the notifier sends with ``body`` (signed with an example secret)."""
    return {"content-type": "application/json", "user-agent": notify.USER_AGENT,
            **standard_webhooks.headers(EXAMPLE_SECRET, notify.message_id(outbox_id), body,
                                        timestamp=int(SENT_AT.timestamp()))}


# Destination events: which of Shopify's sample bodies (orderhub/fidelity/shopify) each example is
# made from, and how the processor turns it into the canonical record.
_FROM_SAMPLE: dict[str, tuple[str, str, Callable[[Any], Any]]] = {
    "order.created": ("orders_create_official_sample", "orders/create", lambda p: translate.order(p, SENT_AT)),
    "order.updated": ("orders_create_official_sample", "orders/updated", lambda p: translate.order(p, SENT_AT)),
    "order.edited": ("orders_edited_official_sample", "orders/edited", translate.order_edit),
    "refund.created": ("refunds_create_official_sample", "refunds/create", lambda p: translate.refund(p, SENT_AT)),
    "product.updated": ("products_update_official_sample", "products/update", translate.product),
    "inventory_level.updated": ("inventory_levels_update_official_sample", "inventory_levels/update",
                                translate.inventory_level),
}
# Topics with no sample among the fixtures: the fields Shopify documents for them.
_TRANSACTION = {"id": 389404469, "order_id": 450789469, "kind": "capture", "status": "success",
                "amount": "38.20", "currency": "EUR", "gateway": "bogus",
                "created_at": "2026-11-23T13:20:01-05:00"}


# orderhub's own POS sync API: a sale as a terminal sends it (docs/how-to/pos-terminals.md).
_STORE_SALE = {"device": {"id": 7, "name": "till-1", "store": "BOS01"}, "received_at": "2026-11-23T18:20:03+00:00",
               "sale": {"id": "6f1c9a52-3b7e-4d7a-9d55-0c1f1e2a9b10", "sequence": 1041,
                        "device_time": "2026-11-23T13:19:40-05:00", "currency": "USD", "receipt": "BOS01-1-1041",
                        "lines": [{"sku": "TEE-M", "quantity": 2, "unit_price": "19.99", "discount": "4.00",
                                   "tax": "2.00", "title": "T-shirt 👕"}],
                        "tenders": [{"kind": "card", "amount": "37.98", "reference": "auth 81723"}],
                        "customer": {"loyalty_id": "L-99812"}}}


def destination_body(event_type: str) -> str:
    """The example's body as an HTTP destination receives it."""
    shop = SHOP
    if event_type == "store_sale.recorded":
        topic, shop = SALE_TOPIC, account_name("BOS01")
        data = POS_TRANSLATOR.translate(topic, _STORE_SALE, SENT_AT)
    elif event_type == "order.transaction":
        topic, data = "order_transactions/create", translate.transaction(_TRANSACTION)
    elif event_type == "product.deleted":
        topic, data = "products/delete", translate.product_deletion({"id": 788032119674292922}, SENT_AT)
    else:
        fixture, topic, convert = _FROM_SAMPLE[event_type]
        payload = next(f.payload for f in load_fixtures() if f.name == fixture)
        data = convert(payload)
    ev_id = process.event_id(f"example:{event_type}", 1)
    return process.envelope(ev_id, event_type, shop, topic, SENT_AT, data)


def _example(body: str | bytes, title: str = "Example body") -> str:
    block = json_block(json.loads(body)).replace("\n", "\n    ")
    return f'??? example "{title}"\n\n    {block}'


def _subscriptions() -> str:
    out = [heading(2, "Subscription events", "subscription-events"),
           "Sent to subscriptions (`orderhub subscription add`, `POST /api/subscriptions`) whose event "
           "patterns match the type. The body is a JSON object: " + code("type") + ", " + code("timestamp")
           + " (when the event was written) and " + code("data") + ".",
           table(["Type", "Meaning", "Ordering key"], [
               [f"[{code(t)}](#{anchor(t)})", text(d), code(ordering_key(t))]
               for t, d in SUBSCRIPTION_EVENTS.items()])]
    body = subscription_body("order.placed")
    out += [heading(3, "Delivery headers", "subscription-headers"),
            "Each delivery is a POST signed as Standard Webhooks sign them: " + code("webhook-id") +
            " (the same on every retry, and for every subscriber: deduplicate on it), " + code("webhook-timestamp")
            + " (Unix seconds when sent) and " + code("webhook-signature") + " (" + code("v1,") +
            " and the base64 HMAC-SHA256 of " + code("{webhook-id}.{webhook-timestamp}.{body}") + ", keyed with "
            "the base64-decoded part of the subscription's " + code("whsec_") + " secret). For the "
            + code("order.placed") + " example below (sent as compact JSON), signed with an example secret:",
            table(["Header", "Example"], [[code(k), code(v)] for k, v in subscription_headers(body).items()])]
    for event_type, meaning in SUBSCRIPTION_EVENTS.items():
        out += [heading(3, code(event_type), anchor(event_type)), text(meaning),
                f"Delivered in order with the other events of its key, {code(ordering_key(event_type))}.",
                _example(subscription_body(event_type))]
    return "\n\n".join(out)


def _destinations() -> str:
    body = destination_body("product.deleted")
    headers = {"Content-Type": "application/json", "X-Orderhub-Event-Id": json.loads(body)["id"],
               "X-Orderhub-Event-Type": "product.deleted", "X-Orderhub-Delivery-Attempt": "1",
               SIGNATURE_HEADER: signature("an example secret", body.encode())}
    out = [heading(2, "Destination events", "destination-events"),
           "Sent to HTTP destinations (`orderhub destination add`): each Shopify record orderhub applied, in "
           "canonical form. The body holds " + code("id") + " (stable for the record: deduplicate on it), "
           + code("type") + ", " + code("shop") + ", " + code("source_topic") + " (the Shopify topic), "
           + code("occurred_at") + " (when Shopify sent it) and " + code("data") + ". The examples are "
           "Shopify's own sample bodies as orderhub translates them.",
           table(["Type", "Meaning"], [[f"[{code(t)}](#{anchor(t, 'destination-')})", text(d)]
                                       for t, d in DESTINATION_EVENTS.items()]),
           heading(3, "Delivery headers", "destination-headers"),
           code(SIGNATURE_HEADER) + " is " + code("sha256=") + " and the hex HMAC-SHA256 of the body, keyed "
           "with the destination's secret. For the " + code("product.deleted") + " example below, with the "
           "secret " + code("an example secret") + " (sent as compact JSON):",
           table(["Header", "Example"], [[code(k), code(v)] for k, v in headers.items()])]
    for event_type, meaning in DESTINATION_EVENTS.items():
        out += [heading(3, code(event_type), anchor(event_type, "destination-")), text(meaning),
                _example(destination_body(event_type))]
    return "\n\n".join(out)


def reference() -> str:
    return _subscriptions() + "\n\n" + _destinations() + "\n"

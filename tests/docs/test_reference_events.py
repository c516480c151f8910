"""The event catalogue: emitters can only use catalogued types, and the events reference shows each
one with an example body built by the code that builds the real ones, signed as it would be sent."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from orderhub.adapters import standard_webhooks
from orderhub.adapters.store import outbox
from orderhub.domain.events import DESTINATION_EVENTS, SUBSCRIPTION_EVENTS, UnknownEventType
from orderhub.reference import events, markdown
from orderhub.services import deliver, process
from orderhub.services.fulfilment import EVENT_OF_STATUS

SRC = Path(__file__).resolve().parents[2] / "src" / "orderhub"
# The modules that write events: to the outbox (subscriptions) or to destinations.
EMITTERS = ["services/approval.py", "services/placement.py", "services/fulfilment.py", "services/presell.py",
            "services/process.py", "services/inbound.py", "adapters/store/inventory_store.py"]


def test_every_event_type_written_in_the_emitters_is_in_the_catalogue() -> None:
    literal = re.compile(r"\"((?:order|inventory|inventory_level|product|refund)\.[a-z_]+)\"")
    found = {name for path in EMITTERS for name in literal.findall((SRC / path).read_text(encoding="utf-8"))}
    assert {"order.placed", "order.held", "inventory.changed", "order.promise_changed", "product.deleted"} <= found
    unknown = found - SUBSCRIPTION_EVENTS.keys() - DESTINATION_EVENTS.keys()
    assert not unknown, f"event types missing from orderhub/domain/events.py: {sorted(unknown)}"
    assert set(EVENT_OF_STATUS.values()) <= SUBSCRIPTION_EVENTS.keys()


def test_an_event_type_outside_the_catalogue_is_refused() -> None:
    with pytest.raises(UnknownEventType, match="order.teleported"):
        outbox.Event("order.teleported", {}, "order:1", 1)
    with pytest.raises(UnknownEventType, match="product.renamed"):
        process.envelope("id", "product.renamed", "shop", "products/update", datetime.now(UTC), {})


def test_every_event_type_has_its_section_meaning_and_example() -> None:
    text = events.reference()
    for event_type, meaning in SUBSCRIPTION_EVENTS.items():
        assert f"### `{event_type}` {{#{events.anchor(event_type)}}}\n\n{markdown.text(meaning)}\n" in text
    for event_type, meaning in DESTINATION_EVENTS.items():
        assert f"### `{event_type}` {{#destination-{events.anchor(event_type)}}}\n\n{markdown.text(meaning)}\n" in text
    assert events.anchor("order.partially_shipped") == "order-partially-shipped"
    assert text.count('??? example "Example body"') == len(SUBSCRIPTION_EVENTS) + len(DESTINATION_EVENTS)


@pytest.mark.parametrize("event_type", list(SUBSCRIPTION_EVENTS))
def test_a_subscription_example_is_the_notifiers_body_with_headers_that_verify(event_type: str) -> None:
    body = events.subscription_body(event_type)
    sent = json.loads(body)
    assert sent["type"] == event_type and sent["timestamp"] == events.SENT_AT.isoformat()
    headers = events.subscription_headers(body)
    assert standard_webhooks.verify(events.EXAMPLE_SECRET, headers, body, now=events.SENT_AT.timestamp()) == \
        headers["webhook-id"]
    if event_type.startswith("order.") and event_type != "order.promise_changed":
        assert sent["data"]["id"] == events.ORDER_ID and len(sent["data"]["units"]) == 2


def test_the_examples_say_what_the_order_looked_like_then() -> None:
    def data(event_type: str) -> dict:
        return json.loads(events.subscription_body(event_type))["data"]

    assert (data("order.partially_shipped")["status"], data("order.partially_shipped")["fulfillment_status"]) \
        == ("packed", "partially_fulfilled")
    assert data("order.held")["status"] == "held" and data("order.cancelled")["status"] == "cancelled"
    assert data("inventory.changed") == {"sku": "SKU-1", "facility": "WH-BER", "reason": "reserved", "on_hand": 12,
                                         "reserved": 3, "safety_stock": 1, "atp": 8, "atp_before": 9}
    promise = data("order.promise_changed")
    assert promise["order_id"] == events.ORDER_ID
    assert promise["changes"] == [{"unit": 5003, "sku": "PRE-7", "before": "2026-12-01", "after": "2026-12-15",
                                   "later": True}]


@pytest.mark.parametrize("event_type", list(DESTINATION_EVENTS))
def test_a_destination_example_is_the_processors_envelope(event_type: str) -> None:
    sent = json.loads(events.destination_body(event_type))
    shop = events.account_name("BOS01") if event_type == "store_sale.recorded" else events.SHOP  # a store's POS
    assert sent["type"] == event_type and sent["shop"] == shop
    assert set(sent) == {"id", "type", "shop", "source_topic", "occurred_at", "data"}
    assert sent["data"], f"{event_type}: the example carries no record"


def test_the_destination_signature_shown_is_the_one_deliveries_carry() -> None:
    text = events.reference()
    body = events.destination_body("product.deleted").encode()
    assert f"| `{deliver.SIGNATURE_HEADER}` | `{deliver.signature('an example secret', body)}` |" in text

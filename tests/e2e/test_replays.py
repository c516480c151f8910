"""A captured signed body resent under fresh webhook ids is stored and applied once, whatever its topic."""

from __future__ import annotations

from datetime import timedelta

import httpx
import orjson
import pytest
from sqlalchemy import func, select

from orderhub.adapters.store.schema import inbox, order_events, privacy_requests
from orderhub.bootstrap import Hub
from orderhub.clock import utcnow
from orderhub.testing.server import ServerThread
from tests.support import BIG_ID, add_shop, drain, order_payload, webhook_headers


def _send(base: str, topic: str, body: bytes, times: int = 3) -> None:
    for n in range(times):  # each with its own X-Shopify-Webhook-Id and Event-Id, as a replayer would
        answer = httpx.post(f"{base}/webhooks/shopify", content=body,
                            headers=webhook_headers(topic, body, webhook_id=f"replayed-{n}"))
        assert answer.status_code == 200


@pytest.mark.parametrize("topic, body", [
    ("order_transactions/create", {"id": BIG_ID + 500, "order_id": BIG_ID, "kind": "capture", "status": "success",
                                   "amount": "38.20", "currency": "EUR", "created_at": "2026-11-23T16:00:00Z"}),
    ("customers/redact", {"shop_id": 1, "shop_domain": "test-shop.myshopify.com",
                          "customer": {"id": BIG_ID + 7, "email": "zoë@example.com"},
                          "orders_to_redact": [BIG_ID]}),
])
def test_a_replayed_body_is_one_record(hub: Hub, hub_server: ServerThread, topic: str, body: dict) -> None:
    add_shop(hub)
    _send(hub_server.url, "orders/create", orjson.dumps(order_payload()), times=1)
    _send(hub_server.url, topic, orjson.dumps(body))
    drain(hub)
    with hub.db.read() as conn:
        outcomes = dict(conn.execute(select(inbox.c.outcome, func.count()).where(inbox.c.topic == topic)
                                     .group_by(inbox.c.outcome)).tuples().all())
        timeline = conn.execute(select(func.count()).select_from(order_events).where(
            order_events.c.kind == "transaction")).scalar_one()
        privacy = conn.execute(select(func.count()).select_from(privacy_requests)).scalar_one()
    # The worker knows the body again under every fresh webhook id: one record applies, the others are duplicates.
    assert sum(n for outcome, n in outcomes.items() if outcome != "duplicate") == 1, outcomes
    assert outcomes.get("duplicate", 0) >= 1, outcomes
    assert (timeline, privacy) == ((1, 0) if topic == "order_transactions/create" else (0, 1))


@pytest.mark.parametrize("sent, accepted", [(timedelta(minutes=-5), True), (timedelta(hours=-30), False),
                                            (timedelta(hours=30), False)])
def test_a_delivery_far_outside_the_window_is_refused_as_a_possible_replay(hub: Hub, hub_server: ServerThread,
                                                                          sent: timedelta, accepted: bool) -> None:
    add_shop(hub)
    body = orjson.dumps(order_payload())
    at = (utcnow() + sent).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    answer = httpx.post(f"{hub_server.url}/webhooks/shopify", content=body,
                        headers=webhook_headers("orders/create", body) | {"X-Shopify-Triggered-At": at})
    if accepted:
        assert answer.status_code == 200
    else:
        assert answer.status_code == 400 and "refused as a possible replay" in answer.json()["error"]
        assert "24-hour window" in answer.json()["error"]

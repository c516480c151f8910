"""The webhook receiver over real HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid

import httpx
import orjson
from sqlalchemy import func, select

from orderhub.adapters.store import tokens
from orderhub.adapters.store.schema import inbox, orders
from tests.support import BIG_ID, SHOP, add_shop, order_payload, post_webhook, webhook_headers


def _count(hub) -> int:  # type: ignore[no-untyped-def]
    with hub.db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(inbox)).scalar_one())


def test_valid_webhook_is_stored_then_acknowledged(hub, hub_server):  # type: ignore[no-untyped-def]
    add_shop(hub)
    with httpx.Client() as client:
        r = post_webhook(client, hub_server.url, "orders/create", order_payload())
    assert r.status_code == 200, r.text
    with hub.db.read() as conn:
        row = conn.execute(select(inbox)).one()
    assert row.topic == "orders/create"
    assert row.status == "pending"
    assert row.identity is None  # the door does not parse the body: the worker derives its identity
    assert orjson.loads(row.payload)["id"] == BIG_ID
    hub.processor().run_once()
    with hub.db.read() as conn:
        row = conn.execute(select(inbox)).one()
    assert (row.status, row.outcome) == ("done", "applied")
    assert row.identity == "order:9007199254741993@2026-11-23T15:00:00.000000Z"


def test_a_body_is_kept_byte_for_byte_and_read_back_as_text(hub, hub_server):  # type: ignore[no-untyped-def]
    """The door stores the bytes it checked; every reader gets the same text, emoji and all."""
    add_shop(hub)
    payload = order_payload()
    payload["note"] = "דלת 🚪 at the back, 裏口 — ring twice 🔔"
    body = orjson.dumps(payload)
    with httpx.Client() as client:
        assert post_webhook(client, hub_server.url, "orders/create", body).status_code == 200
    with hub.db.read() as conn:
        stored = conn.execute(select(inbox.c.payload)).scalar_one()
    assert isinstance(stored, str) and stored.encode() == body
    hub.processor().run_once()
    with hub.db.read() as conn:
        note = conn.execute(select(orders.c.note)).scalar_one()
        done = conn.execute(select(inbox.c.status, inbox.c.outcome)).one()
    assert (tuple(done), note) == (("done", "applied"), payload["note"])


def test_the_same_order_version_again_is_a_duplicate_once_read(hub, hub_server):  # type: ignore[no-untyped-def]
    """orders/create and orders/updated of one version, under fresh webhook ids: both are answered 200 and
    stored; the worker reads them, applies the first and finishes the second as a duplicate."""
    add_shop(hub)
    with httpx.Client() as client:
        first = post_webhook(client, hub_server.url, "orders/create", order_payload())
        again = post_webhook(client, hub_server.url, "orders/updated", order_payload())
    assert first.json() == again.json() == {"status": "accepted"}
    hub.processor().run_once()
    with hub.db.read() as conn:
        rows = conn.execute(select(inbox.c.topic, inbox.c.identity, inbox.c.outcome).order_by(inbox.c.id)).all()
    assert [tuple(r) for r in rows] == [
        ("orders/create", "order:9007199254741993@2026-11-23T15:00:00.000000Z", "applied"),
        ("orders/updated", None, "duplicate")]


def test_a_redelivery_with_the_same_webhook_id_is_applied_once(hub, hub_server):  # type: ignore[no-untyped-def]
    """Kept as the delivery it is, and found by the worker to repeat the record that holds its identity."""
    add_shop(hub)
    body = orjson.dumps(order_payload())
    headers = webhook_headers("orders/create", body, webhook_id="fixed-id-1")
    with httpx.Client() as client:
        first = client.post(f"{hub_server.url}/webhooks/shopify", content=body, headers=headers)
        again = client.post(f"{hub_server.url}/webhooks/shopify", content=body, headers=headers)
    assert (first.status_code, again.status_code) == (200, 200)
    hub.processor().run_once()
    with hub.db.read() as conn:
        rows = conn.execute(select(inbox.c.webhook_id, inbox.c.outcome, inbox.c.identity).order_by(inbox.c.id)).all()
        stored = conn.execute(select(func.count()).select_from(orders)).scalar_one()
    assert [(r.webhook_id, r.outcome) for r in rows] == [("fixed-id-1", "applied"), ("fixed-id-1", "duplicate")]
    assert rows[0].identity is not None and rows[1].identity is None and stored == 1


def test_a_redelivered_unsupported_topic_is_stored_once(hub, hub_server):  # type: ignore[no-untyped-def]
    """A topic orderhub does not handle is known by its body's digest at the door: a redelivery is a duplicate."""
    add_shop(hub)
    body = orjson.dumps({"id": 1, "title": "a theme"})
    headers = webhook_headers("themes/publish", body, webhook_id="fixed-id-2")
    with httpx.Client() as client:
        first = client.post(f"{hub_server.url}/webhooks/shopify", content=body, headers=headers)
        again = client.post(f"{hub_server.url}/webhooks/shopify", content=body, headers=headers)
    assert (first.json(), again.json()) == ({"status": "unsupported"}, {"status": "duplicate"})
    assert _count(hub) == 1


def test_signature_and_shop_are_checked(hub, hub_server):  # type: ignore[no-untyped-def]
    add_shop(hub)
    body = orjson.dumps(order_payload())
    with httpx.Client() as client:
        wrong = webhook_headers("orders/create", body, secret="not-the-secret")
        assert client.post(f"{hub_server.url}/webhooks/shopify", content=body, headers=wrong).status_code == 401
        missing = webhook_headers("orders/create", body)
        del missing["X-Shopify-Hmac-Sha256"]
        assert client.post(f"{hub_server.url}/webhooks/shopify", content=body, headers=missing).status_code == 401
        unknown = webhook_headers("orders/create", body, shop="other.myshopify.com")
        assert client.post(f"{hub_server.url}/webhooks/shopify", content=body, headers=unknown).status_code == 401
        tampered = webhook_headers("orders/create", body)
        r = client.post(f"{hub_server.url}/webhooks/shopify", content=body + b" ", headers=tampered)
        assert r.status_code == 401
    assert _count(hub) == 0


def test_headers_are_case_insensitive(hub, hub_server):  # type: ignore[no-untyped-def]
    add_shop(hub)
    body = orjson.dumps(order_payload())
    headers = {k.lower(): v for k, v in webhook_headers("orders/create", body).items()}
    headers["x-shopify-shop-domain"] = SHOP.upper()
    with httpx.Client() as client:
        assert client.post(f"{hub_server.url}/webhooks/shopify", content=body, headers=headers).status_code == 200


def test_signed_malformed_json_is_kept_and_reported_by_the_worker(hub, hub_server):  # type: ignore[no-untyped-def]
    from orderhub.adapters.store.schema import error_log

    add_shop(hub)
    with httpx.Client() as client:
        assert post_webhook(client, hub_server.url, "orders/create", b"{not json").status_code == 200
        garbled = post_webhook(client, hub_server.url, "orders/create", b'{"note": "\xff\xfe"}')
        assert garbled.status_code == 400 and "UTF-8" in garbled.json()["error"]
    hub.processor().run_once()
    with hub.db.read() as conn:
        row = conn.execute(select(inbox)).one()
        logged = conn.execute(select(error_log)).one()
    assert (row.status, row.outcome) == ("failed", "validation")
    assert row.identity.startswith("body:orders/create:")
    assert logged.record_id == row.id and "payload is not valid JSON" in logged.error


def test_missing_headers_are_400(hub, hub_server):  # type: ignore[no-untyped-def]
    add_shop(hub)
    with httpx.Client() as client:
        body = orjson.dumps(order_payload())
        headers = webhook_headers("orders/create", body)
        del headers["X-Shopify-Topic"]
        r = client.post(f"{hub_server.url}/webhooks/shopify", content=body, headers=headers)
        assert r.status_code == 400
        assert "x-shopify-topic" in r.json()["error"]
    assert _count(hub) == 0


def test_oversized_body_is_413(hub, hub_server):  # type: ignore[no-untyped-def]
    add_shop(hub)
    big = order_payload(note="x" * (5 * 1024 * 1024 + 10))
    with httpx.Client() as client:
        assert post_webhook(client, hub_server.url, "orders/create", big).status_code == 413
    assert _count(hub) == 0


def test_unknown_topic_is_stored_as_unsupported(hub, hub_server):  # type: ignore[no-untyped-def]
    add_shop(hub)
    with httpx.Client() as client:
        r = post_webhook(client, hub_server.url, "carts/update", {"id": 1, "token": "abc"})
        assert r.status_code == 200
        assert r.json() == {"status": "unsupported"}
        with hub.db.write() as conn:
            token = tokens.create(conn, "prometheus", role="viewer")
        metrics = client.get(f"{hub_server.url}/metrics", headers={"Authorization": f"Bearer {token}"}).text
    with hub.db.read() as conn:
        row = conn.execute(select(inbox)).one()
    assert (row.topic, row.status) == ("carts/update", "unsupported")
    assert 'orderhub_webhooks_received_total{outcome="unsupported",topic="unsupported"}' in metrics


def test_eventbridge_envelope_needs_token_and_lands_in_same_inbox(hub, hub_server):  # type: ignore[no-untyped-def]
    from orderhub.adapters.store import tokens

    add_shop(hub)
    with hub.db.write() as conn:
        token = tokens.create(conn, "bridge", ("eventbridge",))
        api_only = tokens.create(conn, "api", ("api",))
    payload = order_payload()
    envelope = {
        "version": "0", "id": str(uuid.uuid4()), "detail-type": "shopifyWebhook",
        "source": "aws.partner/shopify.com/123/orderhub", "time": "2026-11-23T15:00:00Z",
        "detail": {"payload": payload, "metadata": {
            "Content-Type": "application/json", "X-Shopify-Topic": "orders/create",
            "X-Shopify-Shop-Domain": SHOP, "X-Shopify-API-Version": "2025-10",
            "X-Shopify-Webhook-Id": "eb-1", "X-Shopify-Triggered-At": "2026-11-23T15:00:00Z"}},
    }
    url = f"{hub_server.url}/webhooks/eventbridge"
    with httpx.Client() as client:
        assert client.post(url, json=envelope).status_code == 401
        assert client.post(url, json=envelope, headers={"Authorization": f"Bearer {api_only}"}).status_code == 401
        ok = client.post(url, json=envelope, headers={"Authorization": f"Bearer {token}"})
        assert ok.status_code == 200, ok.text
        # The same order version by Shopify webhook is the same record: the worker finds it a duplicate.
        again = post_webhook(client, hub_server.url, "orders/updated", payload)
        assert again.json() == {"status": "accepted"}
        bad = client.post(url, json={"detail": {}}, headers={"Authorization": f"Bearer {token}"})
        assert bad.status_code == 400
    hub.processor().run_once()
    with hub.db.read() as conn:
        rows = conn.execute(select(inbox.c.source, inbox.c.outcome).order_by(inbox.c.id)).all()
    assert [tuple(r) for r in rows] == [("eventbridge", "applied"), ("webhook", "duplicate")]

"""The admin API over HTTP: bearer tokens, orders, and the error log."""

from __future__ import annotations

import httpx

from orderhub.adapters.store import tokens
from tests.integration.test_processor import put
from tests.support import BIG_ID, SHOP, add_shop, drain, order_payload, post_webhook


def test_every_api_route_requires_a_token(hub, hub_server):  # type: ignore[no-untyped-def]
    with hub.db.write() as conn:
        bridge_only = tokens.create(conn, "bridge", ("eventbridge",))
    with httpx.Client(base_url=hub_server.url) as client:
        for method, path in [("GET", "/api/orders"), ("GET", "/api/orders/1"), ("GET", "/api/errors"),
                             ("GET", "/api/errors/1"), ("POST", "/api/errors/1/retry"),
                             ("POST", "/api/errors/1/dismiss"), ("POST", "/api/errors/retry")]:
            assert client.request(method, path).status_code == 401, path
            r = client.request(method, path, headers={"Authorization": f"Bearer {bridge_only}"})
            assert r.status_code == 401, path
        assert client.get("/healthz").json()["status"] == "ok"


def test_orders_and_errors_over_the_api(hub, hub_server):  # type: ignore[no-untyped-def]
    shop = add_shop(hub)
    with hub.db.write() as conn:
        token = tokens.create(conn, "ops")
    auth = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=hub_server.url, headers=auth) as client:
        assert post_webhook(client, hub_server.url, "orders/create", order_payload()).status_code == 200
        put(hub, "orders/create", order_payload(BIG_ID + 100, currency="XXQ"), shop_id=shop.id)
        drain(hub)

        listed = client.get("/api/orders", params={"shop": SHOP}).json()["orders"]
        assert [o["shopify_id"] for o in listed] == [str(BIG_ID)]
        by_id = client.get(f"/api/orders/{listed[0]['id']}").json()
        by_shopify_id = client.get(f"/api/orders/{BIG_ID}", params={"shop": SHOP}).json()
        assert by_id == by_shopify_id
        assert by_id["addresses"]["shipping"]["address2"] == "🦋 Butterfly house"
        assert client.get("/api/orders/424242").status_code == 404

        errors = client.get("/api/errors", params={"kind": "validation"}).json()
        assert errors["total"] == 1
        entry = errors["errors"][0]
        full = client.get(f"/api/errors/{entry['id']}").json()
        assert full["payload"]["currency"] == "XXQ" and full["field"] == "currency"

        fixed = full["payload"] | {"currency": "USD"}
        assert client.post(f"/api/errors/{entry['id']}/retry", json={"payload": fixed}).status_code == 200
        drain(hub)
        assert client.get(f"/api/errors/{entry['id']}").json()["status"] == "resolved"
        assert client.get(f"/api/orders/{BIG_ID + 100}").json()["currency"] == "USD"
        assert client.post(f"/api/errors/{entry['id']}/dismiss", json={"reason": "x"}).status_code == 409
        assert client.post(f"/api/errors/{entry['id']}/dismiss", json={}).status_code == 422

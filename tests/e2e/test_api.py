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


def test_the_order_list_searches_any_part_of_an_order_and_pages_with_the_cursor(hub, hub_server):  # type: ignore[no-untyped-def]
    shop = add_shop(hub)
    with hub.db.write() as conn:
        token = tokens.create(conn, "ops")
    put(hub, "orders/create", order_payload(BIG_ID), shop_id=shop.id)
    put(hub, "orders/create", order_payload(BIG_ID + 1, note="Gift 🎁 for 山田さん, 50% off_sale",
                                            email="ann@example.org",
                                            customer={"id": BIG_ID + 8, "first_name": "Ann", "last_name": "Lee"}),
        shop_id=shop.id)
    put(hub, "orders/create", order_payload(BIG_ID + 2, email="bob@example.org", note=None,
                                            customer={"id": BIG_ID + 9, "first_name": "Bob", "last_name": "Lee"}),
        shop_id=shop.id)
    drain(hub)
    with httpx.Client(base_url=hub_server.url, headers={"Authorization": f"Bearer {token}"}) as client:
        def found(**params: object) -> list[str]:
            answer = client.get("/api/orders", params=params)
            assert answer.status_code == 200, answer.text
            return [o["shopify_id"] for o in answer.json()["orders"]]

        one, two, three = str(BIG_ID), str(BIG_ID + 1), str(BIG_ID + 2)
        assert found(q="山田さん") == [two] and found(q="🎁 for") == [two]  # the note, in any script
        assert found(q="EXAMPLE.ORG") == [three, two] and found(q="zoë@") == [one]  # the e-mail, any case
        assert found(q="ann lee") == [two] and found(q="lee") == [three, two]  # the buyer's name
        assert found(q="50% off_") == [two] and found(q="0%_o") == [] and found(q='" OR "') == []
        assert found(q="ab") == []  # too short for a fragment: an exact name or id only
        assert found(q="#1994") == [two]
        assert found(q="example", status="created") == [three, two, one]
        page = client.get("/api/orders", params={"q": "example", "limit": 2}).json()
        assert [o["shopify_id"] for o in page["orders"]] == [three, two] and page["next_cursor"]
        assert found(q="example", limit=2, cursor=page["next_cursor"]) == [one]
        assert client.get("/api/orders", params={"q": "x" * 201}).status_code == 422

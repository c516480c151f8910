"""An order number with or without `#` (`1993` or `#1993`) finds the order, in the CLI and in the API, as
it does in the console: one look-up (order_queries.find_order_id) serves them all."""

from __future__ import annotations

import httpx
import orjson

from orderhub.adapters.store import order_queries, tokens
from orderhub.bootstrap import Hub
from orderhub.testing.server import ServerThread
from tests.e2e.test_cli_error_log import cli, cli_fails
from tests.integration.test_processor import put
from tests.support import BIG_ID, SHOP, add_shop, drain, order_payload

OTHER_SHOP = "other-shop.myshopify.com"


def _order(hub: Hub) -> int:
    shop = add_shop(hub)
    put(hub, "orders/create", order_payload(BIG_ID), shop_id=shop.id)  # named #1993
    drain(hub)
    with hub.db.read() as conn:
        found = order_queries.find_order_id(conn, "#1993")
    assert found is not None
    return found


def test_the_cli_takes_the_number_with_or_without_hash(hub: Hub) -> None:
    order_id = _order(hub)
    url = hub.settings.database_url
    for ref in ("1993", "#1993", " #1993 ", str(BIG_ID), str(order_id)):
        assert orjson.loads(cli(url, "orders", "show", ref, "--json"))["id"] == order_id, ref
    assert cli(url, "orders", "hold", "1993", "--reason", "address check").startswith(f"#1993 (id {order_id}): ")
    assert "created" in cli(url, "orders", "release", "#1993")
    assert orjson.loads(cli(url, "orders", "broker-preview", "1993"))["decisions"] is not None
    assert "no order 1994; list them with `orderhub orders list`" in cli_fails(url, "orders", "hold", "1994")


def test_a_number_two_shops_share_asks_for_the_shop(hub: Hub) -> None:
    _order(hub)
    other = add_shop(hub, OTHER_SHOP)
    put(hub, "orders/create", order_payload(BIG_ID + 7), shop_id=other.id)  # #2000
    put(hub, "orders/create", order_payload(BIG_ID + 10000), shop_id=other.id)  # #1993 too
    drain(hub)
    url = hub.settings.database_url
    refused = cli_fails(url, "orders", "hold", "1993")
    assert "2 orders (in different shops) are named or numbered 1993; give the shop (--shop) or the orderhub id" \
        in refused
    shown = orjson.loads(cli(url, "orders", "show", "1993", "--shop", OTHER_SHOP, "--json"))
    assert (shown["shop"], shown["shopify_id"]) == (OTHER_SHOP, str(BIG_ID + 10000))


def test_the_api_takes_the_number_with_or_without_hash(hub: Hub, hub_server: ServerThread) -> None:
    order_id = _order(hub)
    with hub.db.write() as conn:
        token = tokens.create(conn, "ops", role="operator")
    with httpx.Client(base_url=hub_server.url, headers={"Authorization": f"Bearer {token}"}) as client:
        for ref in ("1993", "%231993"):
            shown = client.get(f"/api/orders/{ref}")
            assert shown.status_code == 200 and shown.json()["id"] == order_id, (ref, shown.text)
        assert client.get("/api/orders/1993", params={"shop": SHOP}).json()["id"] == order_id
        held = client.post("/api/orders/1993/hold", json={"reason": "address check"})
        assert held.status_code == 200 and held.json()["order"]["status"] == "held", held.text
        missing = client.get("/api/orders/1994")
        assert missing.status_code == 404 and "no order 1994" in missing.text

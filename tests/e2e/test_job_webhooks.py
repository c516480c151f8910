"""A category's Shopify webhook subscriptions end to end: `orderhub jobs webhooks` and
/api/jobs/categories/{code}/webhooks over real HTTP, against the Shopify simulator."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest
from click.testing import CliRunner, Result

from orderhub.adapters.shopify import subscriptions as shopify_subscriptions
from orderhub.adapters.store import shops, tokens
from orderhub.bootstrap import Hub
from orderhub.entrypoints.cli import main
from orderhub.services.jobs.import_orders import admin_client
from orderhub.simulators.shopify.server import start_in_thread
from orderhub.testing.server import ServerThread
from tests.versions import NEWEST, SUPPORTED, TEST_DAY

pytestmark = pytest.mark.timeout(120)

SHOP = "hooks-e2e.myshopify.com"
SECRET = "hooks-secret-🔑"
TOKEN = "shpat_hooks"
ADDRESS = "https://hub.example.com/webhooks/shopify"
OLD_ADDRESS = "https://old-hub.example.com/webhooks/shopify"


@pytest.fixture
def sim() -> Iterator[tuple[str, httpx.Client]]:
    simulator, url, stop = start_in_thread([{"domain": SHOP, "api_secret": SECRET, "access_token": TOKEN}],
                                           seed=5, restore_rate=5000)
    simulator.store.clock.fixed_day = TEST_DAY
    with httpx.Client(base_url=url, timeout=30) as control:
        yield url, control
    stop()


def connect(hub: Hub, sim_url: str, token: str = TOKEN, api_version: str = NEWEST) -> shops.Shop:
    with hub.db.write() as conn:
        return shops.add(conn, SHOP, SECRET, admin_url=f"{sim_url}/shops/{SHOP}", access_token=token,
                         api_version=api_version)


def at_shopify(control: httpx.Client) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for s in orjson.loads(control.get("/_sim/subscriptions").content)["subscriptions"]:
        out.setdefault(s["topic"], []).append(s["address"])
    return out


def invoke(db_url: str, *args: str) -> Result:
    return CliRunner().invoke(main, [*args, "--db", db_url])


def ok(db_url: str, *args: str) -> str:
    result = invoke(db_url, *args)
    assert result.exit_code == 0, result.output
    return result.stdout


def refused(db_url: str, *args: str) -> str:
    result = invoke(db_url, *args)
    assert result.exit_code != 0, result.output
    return result.output


def topics(out: str) -> dict[str, dict[str, Any]]:
    return {t["topic"]: t for t in orjson.loads(out)["topics"]}


@pytest.mark.parametrize("api_version", SUPPORTED)
def test_the_webhooks_command(hub: Hub, sim: tuple[str, httpx.Client], api_version: str) -> None:
    sim_url, control = sim
    url = hub.settings.database_url
    shop = connect(hub, sim_url, api_version=api_version)
    shopify_subscriptions.subscribe(admin_client(shop), "products/create", OLD_ADDRESS)  # an older deployment's

    before = topics(ok(url, "jobs", "webhooks", "products", "--shop", SHOP, "--address", ADDRESS, "--json"))
    assert before["products/create"]["state"] == "other-address"
    assert before["products/create"]["callback_url"] == OLD_ADDRESS
    assert (before["products/delete"]["state"], before["products/delete"]["note"]) == ("missing", "never subscribed")

    subscribed = orjson.loads(ok(url, "jobs", "webhooks", "products", "--shop", SHOP, "--subscribe",
                                 "--address", ADDRESS, "--json"))
    assert subscribed["action"] == "subscribe"
    after = topics(orjson.dumps(subscribed).decode())
    assert {t: (s["state"], s["callback_url"], s["recorded"]) for t, s in after.items()} == {
        "products/create": ("subscribed", ADDRESS, True), "products/delete": ("subscribed", ADDRESS, True)}
    assert after["products/create"]["other_addresses"] == [OLD_ADDRESS]
    assert after["products/create"]["subscription_id"].startswith("gid://shopify/WebhookSubscription/")
    assert at_shopify(control) == {"products/create": [OLD_ADDRESS, ADDRESS], "products/delete": [ADDRESS]}
    made = orjson.loads(control.get("/_sim/subscriptions").content)["subscriptions"]
    assert {s["api_version"] for s in made} == {api_version}  # made through the shop's own API version

    # The table, as a person reads it (compared with the recorded address).
    shown = ok(url, "jobs", "webhooks", "products", "--shop", SHOP)
    assert "products/create" in shown and "products/delete" in shown and shown.count("subscribed") == 2

    # Shopify removes one; the state says so, and check-webhooks puts it back.
    client = admin_client(shop)
    [delete_sub] = [s for s in shopify_subscriptions.list_subscriptions(client) if s["topic"] == "products/delete"]
    shopify_subscriptions.unsubscribe(client, delete_sub["id"])
    gone = topics(ok(url, "jobs", "webhooks", "products", "--shop", SHOP, "--json"))["products/delete"]
    assert gone["state"] == "missing" and gone["note"].startswith("removed at Shopify (orderhub subscribed it ")
    run = orjson.loads(ok(url, "jobs", "run", "check-webhooks", "--shop", SHOP, "--json"))
    assert run["status"] == "succeeded" and run["stats"]["recreated"] == ["products/delete"]
    assert [(b["category"], b["job"]) for b in run["stats"]["backfill"]] == [("products", "sync-products")]
    assert at_shopify(control)["products/delete"] == [ADDRESS]

    # Unsubscribing removes the app's subscriptions of the category, whatever their address.
    removed = topics(ok(url, "jobs", "webhooks", "products", "--shop", SHOP, "--unsubscribe", "--json"))
    assert {t: s["state"] for t, s in removed.items()} == {"products/create": "missing", "products/delete": "missing"}
    assert at_shopify(control) == {}
    quiet = orjson.loads(ok(url, "jobs", "run", "check-webhooks", "--shop", SHOP, "--json"))
    assert quiet["stats"]["recreated"] == [] and quiet["stats"]["checked"] == 0  # no record left to repair

    # Mistakes are refused with what to do.
    assert "--subscribe needs --address" in refused(url, "jobs", "webhooks", "products", "--shop", SHOP, "--subscribe")
    assert "not both" in refused(url, "jobs", "webhooks", "products", "--shop", SHOP, "--subscribe", "--unsubscribe",
                                 "--address", ADDRESS)
    assert "is not an http(s) URL" in refused(url, "jobs", "webhooks", "products", "--shop", SHOP, "--subscribe",
                                              "--address", "ftp://hub.example.com/webhooks")
    assert "category misc has no Shopify webhook topics; categories with topics: initial-load, orders, " \
           "inventory, products" in refused(url, "jobs", "webhooks", "misc", "--shop", SHOP)
    assert "Invalid value for 'CATEGORY'" in refused(url, "jobs", "webhooks", "nope", "--shop", SHOP)
    assert "no shop other.myshopify.com" in refused(url, "jobs", "webhooks", "products", "--shop",
                                                    "other.myshopify.com")
    assert at_shopify(control) == {}


def test_a_refused_access_token_fails_the_command_without_showing_it(hub: Hub, sim: tuple[str, httpx.Client]) -> None:
    sim_url, control = sim
    connect(hub, sim_url)
    url = hub.settings.database_url
    result = invoke(url, "jobs", "webhooks", "products", "--shop", SHOP, "--subscribe", "--address",
                    "http://hub.example.com/webhooks/shopify", "--json")
    assert result.exit_code == 0, result.output  # the simulator takes http addresses, as the tests need
    with hub.db.write() as conn:
        shops.add(conn, SHOP, SECRET, access_token="wrong")
    failed = refused(url, "jobs", "webhooks", "products", "--shop", SHOP)
    assert "products webhooks of hooks-e2e.myshopify.com: Shopify refused the access token (401)" in failed
    assert TOKEN not in failed and "wrong" not in failed


def test_the_webhooks_api(hub: Hub, hub_server: ServerThread, sim: tuple[str, httpx.Client]) -> None:
    sim_url, control = sim
    connect(hub, sim_url)
    with hub.db.write() as conn:
        operator = tokens.create(conn, "ops 🛠", role="operator")
        viewer = tokens.create(conn, "reader", role="viewer")
    ops = httpx.Client(base_url=hub_server.url, headers={"Authorization": f"Bearer {operator}"}, timeout=30)
    view = httpx.Client(base_url=hub_server.url, headers={"Authorization": f"Bearer {viewer}"}, timeout=30)
    path = "/api/jobs/categories/inventory/webhooks"
    with ops, view:
        assert httpx.get(f"{hub_server.url}{path}", params={"shop": SHOP}).status_code == 401
        assert view.get(path, params={"shop": SHOP}).status_code == 403
        assert view.post(path, json={"shop": SHOP, "action": "subscribe", "address": ADDRESS}).status_code == 403
        assert at_shopify(control) == {}

        state = ops.get(path, params={"shop": SHOP})
        assert state.status_code == 200, state.text
        assert [(t["topic"], t["state"]) for t in state.json()["topics"]] == [("inventory_levels/update", "missing")]

        missing_address = ops.post(path, json={"shop": SHOP, "action": "subscribe"})
        assert missing_address.status_code == 422
        assert "an address is required to subscribe" in missing_address.json()["error"]
        done = ops.post(path, json={"shop": SHOP, "action": "subscribe", "address": ADDRESS})
        assert done.status_code == 200, done.text
        body = done.json()
        assert (body["ok"], body["errors"], body["action"]) == (True, [], "subscribe")
        assert [(t["topic"], t["state"], t["callback_url"]) for t in body["topics"]] == [
            ("inventory_levels/update", "subscribed", ADDRESS)]
        assert at_shopify(control) == {"inventory_levels/update": [ADDRESS]}
        again = ops.get(path, params={"shop": SHOP}).json()["topics"][0]
        assert (again["state"], again["recorded"]) == ("subscribed", True) and again["last_seen_at"]
        other = ops.get(path, params={"shop": SHOP, "address": "https://elsewhere.example/webhooks/shopify"})
        assert other.json()["topics"][0]["state"] == "other-address"

        gone = ops.post(path, json={"shop": SHOP, "action": "unsubscribe"})
        assert gone.status_code == 200 and gone.json()["topics"][0]["state"] == "missing"
        assert at_shopify(control) == {}

        assert ops.post(path, json={"shop": SHOP, "action": "pause"}).status_code == 422
        assert ops.post(path, json={"shop": SHOP, "action": "unsubscribe", "address": ADDRESS}).status_code == 422
        unknown = ops.get("/api/jobs/categories/nope/webhooks", params={"shop": SHOP})
        assert unknown.status_code == 404 and "unknown category 'nope'" in unknown.json()["error"]
        no_topics = ops.get("/api/jobs/categories/brokering/webhooks", params={"shop": SHOP})
        assert no_topics.status_code == 422 and "has no Shopify webhook topics" in no_topics.json()["error"]
        no_shop = ops.get(path, params={"shop": "other.myshopify.com"})
        assert no_shop.status_code == 404 and no_shop.json()["error"] == "no shop other.myshopify.com"
        assert ops.get(path).status_code == 422  # shop is required

        with hub.db.write() as conn:
            shops.add(conn, SHOP, SECRET, access_token="wrong")
        bad_token = ops.get(path, params={"shop": SHOP})
        assert bad_token.status_code == 502 and "refused the access token" in bad_token.json()["error"]

"""orderhub's Shopify client on every supported API version, and Shopify's own Python library
(ShopifyAPI) driving the simulator, over loopback HTTP.

On each supported version the client must use only fields that version has and that are not
deprecated (the simulator names deprecated ones in ``X-Shopify-API-Deprecated-Reason``); on a
version no longer supported it must follow Shopify's fall-forward.
"""

from __future__ import annotations

import json
import urllib.error
from collections.abc import Iterator
from datetime import date
from typing import Any

import httpx
import pytest
import shopify  # ShopifyAPI

from orderhub.adapters.shopify import api_versions, bulk, graphql_inventory, order_cancel, subscriptions
from orderhub.adapters.shopify.graphql import AdminClient, GraphQLErrors
from orderhub.simulators.shopify.server import start_in_thread
from orderhub.simulators.shopify.simulator import Simulator
from tests.versions import SUPPORTED, TEST_DAY

SHOP = "versions.myshopify.com"
SECRET = "versions-secret-🗓️"
TOKEN = "shpat_versions"


class Sim:
    def __init__(self, simulator: Simulator, url: str) -> None:
        self.simulator, self.url = simulator, url

    def client(self, version: str, today: date = TEST_DAY) -> AdminClient:
        return AdminClient(f"{self.url}/admin/api/{version}/graphql.json", TOKEN, today=lambda: today)

    def control(self, method: str, path: str, body: Any = None) -> Any:
        response = httpx.request(method, f"{self.url}/_sim{path}", json=body, timeout=10)
        assert response.is_success, response.text
        return response.json()

    def level(self) -> tuple[str, str, int]:
        level = self.control("GET", "/products")["inventory_levels"][0]
        return str(level["inventory_item_id"]), str(level["location_id"]), int(level["available"])

    def available(self, item: str, location: str) -> int:
        levels = self.control("GET", "/products")["inventory_levels"]
        return next(int(lv["available"]) for lv in levels
                    if str(lv["inventory_item_id"]) == item and str(lv["location_id"]) == location)


@pytest.fixture
def sim() -> Iterator[Sim]:
    simulator, url, stop = start_in_thread([{"domain": SHOP, "api_secret": SECRET, "access_token": TOKEN}],
                                           seed=17, restore_rate=5000)
    simulator.store.clock.fixed_day = TEST_DAY
    try:
        yield Sim(simulator, url)
    finally:
        stop()


@pytest.mark.parametrize("version", SUPPORTED)
def test_the_client_uses_current_fields_on_every_supported_version(sim: Sim, version: str) -> None:
    client = sim.client(version)
    assert graphql_inventory.locations(client)
    assert client.served_version == version

    # subscriptions
    made = subscriptions.subscribe(client, "orders/create", "https://hub.example.com/webhooks/shopify")
    assert made["status"] == "subscribed"
    listed = subscriptions.list_subscriptions(client)
    assert [(s["topic"], s["callback_url"]) for s in listed] == [("orders/create",
                                                                  "https://hub.example.com/webhooks/shopify")]
    subscriptions.unsubscribe(client, made["id"])

    # inventory: compare-and-set, then overwrite
    item, location, available = sim.level()
    quantity = {"item_id": item, "location_id": location, "quantity": available + 3, "compare": available}
    result = graphql_inventory.set_quantities(client, name="available", reason="correction", quantities=[quantity],
                                              ignore_compare=False, idempotency_key=f"k-{version}-1")
    assert result.errors == () and [c.delta for c in result.changes if c.name == "available"] == [3]
    stale = graphql_inventory.set_quantities(client, name="available", reason="correction", quantities=[quantity],
                                             ignore_compare=False, idempotency_key=f"k-{version}-2")
    assert [e.code for e in stale.errors] == ["CHANGE_FROM_QUANTITY_STALE"] and stale.errors[0].index == 0
    over = graphql_inventory.set_quantities(client, name="available", reason="correction",
                                            quantities=[dict(quantity, quantity=1)], ignore_compare=True,
                                            idempotency_key=f"k-{version}-3")
    assert over.errors == () and sim.available(item, location) == 1

    # bulk operations: start, newest, wait
    sim.control("POST", "/config", {"bulk": {"start_delay": 0, "objects_per_second": None}})
    started = bulk.start(client, bulk.PRODUCTS_QUERY)
    newest = bulk.current(client)
    assert newest is not None and newest.id == started.id
    assert bulk.wait(client, started.id, interval=0.05).status == "COMPLETED"

    # order cancel, refunding to the original payment methods
    [order_id] = sim.control("POST", "/orders", {"count": 1})["order_ids"]
    sim.simulator.store.shop(SHOP).orders[order_id]["financial_status"] = "paid"
    cancelled = order_cancel.cancel(client, f"gid://shopify/Order/{order_id}", reason="customer", refund=True,
                                    restock=True, notify=False, note="Kunde hat storniert 📞")
    assert cancelled["orderCancelUserErrors"] == [] and cancelled["job"]["id"]
    order = sim.control("GET", f"/orders/{order_id}")["order"]
    assert order["cancelled_at"] and order["financial_status"] == "refunded"

    assert client.deprecations == set()  # nothing deprecated was asked for
    assert client.served_version == version


def test_an_unsupported_version_falls_forward_and_the_client_follows(sim: Sim) -> None:
    gone = "2025-07"
    client = sim.client(gone)
    oldest = api_versions.oldest_supported(TEST_DAY)
    assert client.version == oldest  # predicted before any answer
    assert graphql_inventory.locations(client) and client.served_version == oldest
    item, location, available = sim.level()
    result = graphql_inventory.set_quantities(
        client, name="available", reason="correction", idempotency_key="fall-forward",
        quantities=[{"item_id": item, "location_id": location, "quantity": available + 1, "compare": available}],
        ignore_compare=False)
    assert result.errors == ()


def test_the_client_predicts_the_fall_forward_before_the_first_answer(sim: Sim) -> None:
    """A shop left on a version that stopped being supported: its first request is already right."""
    later = api_versions.support_ends(SUPPORTED[0])
    assert later is not None
    sim.control("POST", "/config", {"today": later.isoformat()})
    client = sim.client(SUPPORTED[0], today=later)
    assert client.version == SUPPORTED[1] and client.served_version is None
    item, location, available = sim.level()
    result = graphql_inventory.set_quantities(
        client, name="available", reason="correction", idempotency_key="first-request",
        quantities=[{"item_id": item, "location_id": location, "quantity": available + 2, "compare": available}],
        ignore_compare=False)
    assert result.errors == () and client.served_version == SUPPORTED[1]
    assert client.deprecations == set()


def test_a_removed_field_is_an_error_the_client_raises(sim: Sim) -> None:
    client = sim.client(SUPPORTED[-1])
    with pytest.raises(GraphQLErrors, match="compareQuantity.*Field is not defined on InventoryQuantityInput"):
        client.execute(graphql_inventory.SET_QUANTITIES, {"input": {
            "name": "available", "reason": "correction", "quantities": [{
                "inventoryItemId": "gid://shopify/InventoryItem/1", "locationId": "gid://shopify/Location/1",
                "quantity": 1, "compareQuantity": 0}]}})


# -- Shopify's Python library against the simulator --------------------------------------------------

@pytest.fixture
def library_session(sim: Sim, monkeypatch: pytest.MonkeyPatch) -> Iterator[Sim]:
    """ShopifyAPI pointed at the simulator: plain HTTP to 127.0.0.1 and the simulator's port.

    The library builds ``{protocol}://{shop}.{myshopify_domain}:{port}``; with the shop "127" and
    the domain "0.0.1" that is the simulator on loopback (whose unprefixed path serves its first
    shop). Every supported version is defined in the library the way it allows
    (``ApiVersion.define_version``), since its own list ends in 2024.
    """
    port = int(sim.url.rsplit(":", 1)[1])
    monkeypatch.setattr(shopify.Session, "protocol", "http")
    monkeypatch.setattr(shopify.Session, "myshopify_domain", "0.0.1")
    monkeypatch.setattr(shopify.Session, "port", port)
    for version in SUPPORTED:
        shopify.ApiVersion.define_version(shopify.Release(version))
    yield sim
    shopify.ShopifyResource.clear_session()


def _execute(query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    return json.loads(shopify.GraphQL().execute(query, variables))  # type: ignore[no-any-return]


@pytest.mark.parametrize("version", SUPPORTED)
def test_shopifys_python_library_drives_the_simulator(library_session: Sim, version: str) -> None:
    sim = library_session
    session = shopify.Session("127", version, TOKEN)
    assert session.site == f"http://127.0.0.1:{sim.url.rsplit(':', 1)[1]}/admin/api/{version}"
    shopify.ShopifyResource.activate_session(session)

    locations = _execute("{ locations(first: 5) { nodes { id name } } }")
    assert [n["name"] for n in locations["data"]["locations"]["nodes"]] == ["Shop location", "Warehouse"]

    item, location, available = sim.level()
    mutation = """mutation Set($input: InventorySetQuantitiesInput!, $key: String!) {
      inventorySetQuantities(input: $input) @idempotent(key: $key) {
        inventoryAdjustmentGroup { changes { name delta } } userErrors { code message } } }"""
    quantities = [{"inventoryItemId": f"gid://shopify/InventoryItem/{item}",
                   "locationId": f"gid://shopify/Location/{location}", "quantity": available + 4,
                   "changeFromQuantity": available}]
    answer = _execute(mutation, {"key": f"library-{version}",
                                 "input": {"name": "available", "reason": "correction", "quantities": quantities}})
    payload = answer["data"]["inventorySetQuantities"]
    assert payload["userErrors"] == []
    assert {"name": "available", "delta": 4} in payload["inventoryAdjustmentGroup"]["changes"]
    assert sim.available(item, location) == available + 4

    missing = _execute("{ locations(first: 1) { nodes { id colour } } }")
    assert missing["errors"][0]["extensions"]["code"] == "undefinedField"

    wrong = shopify.Session("127", version, "shpat_wrong")
    shopify.ShopifyResource.activate_session(wrong)
    with pytest.raises(urllib.error.HTTPError) as refused:
        _execute("{ locations(first: 1) { nodes { id } } }")
    assert refused.value.code == 401


def test_the_library_refuses_a_malformed_version_and_the_simulator_an_unknown_one(library_session: Sim) -> None:
    with pytest.raises(shopify.VersionNotFoundError):
        shopify.Session("127", "2026-4", TOKEN)
    later = shopify.Session("127", "2030-01", TOKEN)  # well-formed: the library lets it through
    shopify.ShopifyResource.activate_session(later)
    with pytest.raises(urllib.error.HTTPError) as not_found:
        _execute("{ locations(first: 1) { nodes { id } } }")
    assert not_found.value.code == 404

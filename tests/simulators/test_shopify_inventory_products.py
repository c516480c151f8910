"""Inventory, collections, refunds and order cancellation in the Admin GraphQL API, over real HTTP.

Locations and inventory levels with Shopify's named quantities; ``inventorySetQuantities`` with
compare-and-set, user errors, the ``@idempotent`` directive, its cost and its webhooks;
collections by product type; refunds on ``Order``; ``orderCancel`` as a job.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from orderhub.adapters.shopify import api_versions
from tests.simulators.conftest import SHOP_A, Receiver, SimClient
from tests.versions import SUPPORTED

LEVELS = """
query Levels($id: ID!) {
  inventoryItem(id: $id) {
    id sku variant { id sku }
    inventoryLevels(first: 5) {
      nodes { id location { id name } quantities(names: ["available", "on_hand"]) { name quantity } }
    }
  }
}"""

SET = """
mutation Set($input: InventorySetQuantitiesInput!, $key: String!) {
  inventorySetQuantities(input: $input) @idempotent(key: $key) {
    inventoryAdjustmentGroup {
      id reason changes { name delta quantityAfterChange item { id } location { id } }
    }
    userErrors { code field message }
  }
}"""

SET_WITHOUT_KEY = """
mutation Set($input: InventorySetQuantitiesInput!) {
  inventorySetQuantities(input: $input) {
    inventoryAdjustmentGroup { id }
    userErrors { code field message }
  }
}"""

CANCEL = """
mutation Cancel($id: ID!, $refund: Boolean) {
  orderCancel(orderId: $id, reason: INVENTORY, refund: $refund, restock: true, notifyCustomer: false,
              staffNote: "nicht lieferbar 📦") {
    job { id done }
    orderCancelUserErrors { code field message }
    userErrors { field message }
  }
}"""


# compareQuantity and ignoreCompareQuantity exist until 2026-04 (changeFromQuantity replaces them): the
# compare-quantity tests run on the newest supported version that still has them.
COMPARE_ERA = max(v for v in SUPPORTED if not api_versions.has("inventory_change_from_required", v))


def _first_stocked(sim: SimClient) -> tuple[str, str, int, str]:
    """(inventory item gid, location gid, available, sku) of a level the shop stocks."""
    products = sim.control("GET", "/products")
    level = products["inventory_levels"][0]
    sku = next(v["sku"] for p in products["products"] for v in p["variants"]
               if v["inventory_item_id"] == level["inventory_item_id"])
    return (f"gid://shopify/InventoryItem/{level['inventory_item_id']}",
            f"gid://shopify/Location/{level['location_id']}", level["available"], sku)


def _set_input(item: str, location: str, quantity: int, compare: int | None, *, ignore: bool = False,
               name: str = "available", reason: str = "correction") -> dict[str, Any]:
    return {"name": name, "reason": reason, "ignoreCompareQuantity": ignore,
            "quantities": [{"inventoryItemId": item, "locationId": location, "quantity": quantity,
                            "compareQuantity": compare}]}


def _available(sim: SimClient, item: str, location: str) -> int:
    nodes = sim.graphql(LEVELS, {"id": item})["inventoryItem"]["inventoryLevels"]["nodes"]
    level = next(n for n in nodes if n["location"]["id"] == location)
    return next(q["quantity"] for q in level["quantities"] if q["name"] == "available")


def test_locations_and_inventory_levels_have_shopifys_shapes(sim_client: SimClient) -> None:
    locations = sim_client.graphql("{ locations(first: 10) { nodes { id legacyResourceId name isActive } } }")
    names = [n["name"] for n in locations["locations"]["nodes"]]
    assert names == ["Shop location", "Warehouse"]
    added = sim_client.control("POST", "/locations", {"name": "Lager Köln 🏭"}, expect=201)["location"]
    item, location, available, sku = _first_stocked(sim_client)
    data = sim_client.graphql(LEVELS, {"id": item})["inventoryItem"]
    assert data["sku"] == data["variant"]["sku"] == sku
    [level] = data["inventoryLevels"]["nodes"]
    assert level["location"] == {"id": location, "name": "Shop location"}
    assert level["quantities"] == [{"name": "available", "quantity": available},
                                   {"name": "on_hand", "quantity": available}]
    one = sim_client.graphql("""query($id: ID!, $loc: ID!) { inventoryItem(id: $id) {
        inventoryLevel(locationId: $loc) { id } } }""", {"id": item, "loc": f"gid://shopify/Location/{added['id']}"})
    assert one["inventoryItem"]["inventoryLevel"] is None  # not stocked there
    found = sim_client.graphql("""query($q: String) { inventoryItems(first: 5, query: $q) { nodes { id sku } } }""",
                               {"q": f"sku:{sku}"})["inventoryItems"]["nodes"]
    assert found == [{"id": item, "sku": sku}]
    assert sim_client.graphql("query($id: ID!) { node(id: $id) { ... on Location { name } } }",
                              {"id": f"gid://shopify/Location/{added['id']}"})["node"] == {"name": "Lager Köln 🏭"}


def test_set_quantities_changes_the_level_fires_the_webhook_and_costs_a_mutation(
        sim_client: SimClient, receiver: Receiver) -> None:
    sim_client.subscribe("INVENTORY_LEVELS_UPDATE", f"{receiver.url}/inventory")
    item, location, available, _sku = _first_stocked(sim_client)
    sim_client.sim.store.shop(SHOP_A).bucket.configure(restore_rate=0.001, available=500)  # no refill to speak of
    response = sim_client.graphql_response(SET, {"input": _set_input(item, location, available + 7, available),
                                                 "key": "set-1"}, version=COMPARE_ERA)
    body = response.json()
    assert "errors" not in body, body
    payload = body["data"]["inventorySetQuantities"]
    assert payload["userErrors"] == []
    changes = {c["name"]: c for c in payload["inventoryAdjustmentGroup"]["changes"]}
    assert changes["available"] == {"name": "available", "delta": 7, "quantityAfterChange": available + 7,
                                    "item": {"id": item}, "location": {"id": location}}
    assert changes["on_hand"]["delta"] == 7
    assert body["extensions"]["cost"]["requestedQueryCost"] == 10  # every mutation costs 10
    assert body["extensions"]["cost"]["actualQueryCost"] == 10
    assert body["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] == 490
    assert _available(sim_client, item, location) == available + 7
    sim_client.idle()
    [hook] = receiver.on("/inventory", "inventory_levels/update")
    assert hook.hmac_ok
    assert hook.json()["available"] == available + 7
    assert f"gid://shopify/InventoryItem/{hook.json()['inventory_item_id']}" == item
    assert f"gid://shopify/Location/{hook.json()['location_id']}" == location


def test_a_stale_compare_quantity_rejects_the_whole_request_naming_the_quantity(sim_client: SimClient) -> None:
    products = sim_client.control("GET", "/products")
    first, second = products["inventory_levels"][:2]
    inputs = {"name": "available", "reason": "correction", "quantities": [
        {"inventoryItemId": f"gid://shopify/InventoryItem/{first['inventory_item_id']}",
         "locationId": f"gid://shopify/Location/{first['location_id']}", "quantity": 50,
         "compareQuantity": first["available"]},
        {"inventoryItemId": f"gid://shopify/InventoryItem/{second['inventory_item_id']}",
         "locationId": f"gid://shopify/Location/{second['location_id']}", "quantity": 60,
         "compareQuantity": second["available"] + 1}]}
    payload = sim_client.graphql(SET_WITHOUT_KEY, {"input": inputs}, version=COMPARE_ERA)["inventorySetQuantities"]
    assert payload["inventoryAdjustmentGroup"] is None
    assert payload["userErrors"] == [{"code": "COMPARE_QUANTITY_STALE",
                                      "field": ["input", "quantities", "1", "compareQuantity"],
                                      "message": "The compareQuantity value does not match persisted value."}]
    levels = {(lv["inventory_item_id"], lv["location_id"]): lv["available"]
              for lv in sim_client.control("GET", "/products")["inventory_levels"]}
    assert levels[(first["inventory_item_id"], first["location_id"])] == first["available"]  # nothing applied


def test_user_errors_use_shopifys_codes(sim_client: SimClient) -> None:
    item, location, available, _sku = _first_stocked(sim_client)
    warehouse = f"gid://shopify/Location/{sim_client.sim.store.shop(SHOP_A).locations[1]}"

    def errors(inputs: dict[str, Any]) -> list[tuple[str, list[str] | None]]:
        payload = sim_client.graphql(SET_WITHOUT_KEY, {"input": inputs}, version=COMPARE_ERA)["inventorySetQuantities"]
        return [(e["code"], e["field"]) for e in payload["userErrors"]]

    assert errors(_set_input(item, location, 3, None)) == [
        ("COMPARE_QUANTITY_REQUIRED", ["input", "quantities", "0", "compareQuantity"])]
    assert errors(_set_input("gid://shopify/InventoryItem/1", location, 3, 0)) == [
        ("INVALID_INVENTORY_ITEM", ["input", "quantities", "0", "inventoryItemId"])]
    assert errors(_set_input(item, "gid://shopify/Location/1", 3, 0)) == [
        ("INVALID_LOCATION", ["input", "quantities", "0", "locationId"])]
    assert errors(_set_input(item, warehouse, 3, 0)) == [
        ("ITEM_NOT_STOCKED_AT_LOCATION", ["input", "quantities", "0", "locationId"])]
    assert errors(_set_input(item, location, 3, available, name="committed")) == [("INVALID_NAME", ["input", "name"])]
    assert errors(_set_input(item, location, 3, available, reason="because")) == [
        ("INVALID_REASON", ["input", "reason"])]
    assert errors(_set_input(item, location, -1, None, ignore=True, name="on_hand")) == [
        ("INVALID_QUANTITY_NEGATIVE", ["input", "quantities", "0", "quantity"])]
    twice = _set_input(item, location, 3, None, ignore=True)
    twice["quantities"] *= 2
    assert errors(twice) == [("NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR",
                              ["input", "quantities", "1", "inventoryItemId"])]
    assert errors(_set_input(item, location, available + 2, None, ignore=True)) == []
    assert _available(sim_client, item, location) == available + 2


def test_a_repeated_idempotency_key_returns_the_first_result_and_changes_nothing(
        sim_client: SimClient, receiver: Receiver) -> None:
    sim_client.subscribe("INVENTORY_LEVELS_UPDATE", f"{receiver.url}/inventory")
    item, location, available, _sku = _first_stocked(sim_client)
    variables = {"input": _set_input(item, location, available + 1, available), "key": "orderhub-inv-42"}
    first = sim_client.graphql(SET, variables, version=COMPARE_ERA)["inventorySetQuantities"]
    # Someone changes the level in Shopify meanwhile; the retry must not undo it (nor fail on its compare).
    level_id = int(item.rsplit("/", 1)[1]), int(location.rsplit("/", 1)[1])
    sim_client.control("POST", "/inventory_levels", {"inventory_item_id": level_id[0], "location_id": level_id[1],
                                                     "available": 40})
    again = sim_client.graphql(SET, variables, version=COMPARE_ERA)["inventorySetQuantities"]
    assert again == first and first["userErrors"] == []
    assert _available(sim_client, item, location) == 40
    assert len(sim_client.sim.store.shop(SHOP_A).adjustment_groups) == 1
    other = sim_client.graphql(SET, {**variables, "input": _set_input(item, location, 9, 40)}, version=COMPARE_ERA)
    assert other["inventorySetQuantities"]["userErrors"] == [{
        "code": "IDEMPOTENCY_KEY_PARAMETER_MISMATCH", "field": None,
        "message": "The same idempotency key cannot be used with different operation parameters."}]
    assert _available(sim_client, item, location) == 40
    sim_client.idle()
    # One webhook for the first request and one for the change in between; none for the repeat.
    assert sorted(r.json()["available"] for r in receiver.on("/inventory")) == sorted([available + 1, 40])


def test_collections_hold_the_products_of_their_type(sim_client: SimClient) -> None:
    data = sim_client.graphql("""{ collections(first: 20, sortKey: TITLE) { nodes {
        id title handle updatedAt productsCount { count precision }
        ruleSet { appliedDisjunctively rules { column relation condition } }
        products(first: 20) { nodes { id productType } } } } }""")["collections"]["nodes"]
    products = sim_client.control("GET", "/products")["products"]
    types = sorted({p["product_type"] for p in products})
    assert [c["title"] for c in data] == types
    for c in data:
        assert c["ruleSet"] == {"appliedDisjunctively": False,
                                "rules": [{"column": "TYPE", "relation": "EQUALS", "condition": c["title"]}]}
        assert {p["productType"] for p in c["products"]["nodes"]} == {c["title"]}
        assert c["productsCount"] == {"count": len(c["products"]["nodes"]), "precision": "EXACT"}
        assert c["updatedAt"].endswith("Z")
    kitchen = next(c for c in data if c["title"] == "Kitchen")
    assert kitchen["handle"] == "kitchen"
    via_product = sim_client.graphql("query($id: ID!) { product(id: $id) { collections(first: 5) { nodes { id } } } }",
                                     {"id": kitchen["products"]["nodes"][0]["id"]})
    assert via_product["product"]["collections"]["nodes"] == [{"id": kitchen["id"]}]
    found = sim_client.graphql("{ collections(first: 5, query: \"title:kitchen\") { nodes { id } } }")
    assert found["collections"]["nodes"] == [{"id": kitchen["id"]}]


def test_products_can_be_searched_and_sorted_by_update(sim_client: SimClient) -> None:
    products = sim_client.control("GET", "/products")["products"]
    changed = products[3]["id"]
    sim_client.sim.store.clock = _LaterClock(sim_client.sim.store.clock)
    sim_client.control("POST", "/products", {"action": "update", "id": changed, "title": "Neu ✨"})
    since = (datetime.now(UTC) + timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    data = sim_client.graphql("""query($q: String) { products(first: 10, query: $q, sortKey: UPDATED_AT) {
        nodes { legacyResourceId title } } }""", {"q": f"updated_at:>='{since}'"})
    assert data["products"]["nodes"] == [{"legacyResourceId": str(changed), "title": "Neu ✨"}]
    ordered = sim_client.graphql(
        "{ products(first: 50, sortKey: UPDATED_AT, reverse: true) { nodes { legacyResourceId } } }")
    assert ordered["products"]["nodes"][0] == {"legacyResourceId": str(changed)}


class _LaterClock:
    """The store's clock an hour ahead, so one change is clearly newer than the catalogue."""

    def __init__(self, clock: Any) -> None:
        self._clock = clock

    def now(self) -> datetime:
        return self._clock.now() + timedelta(hours=1)

    def after(self, previous: str | None) -> datetime:
        return self._clock.after(previous) + timedelta(hours=1)

    def today(self) -> date:
        return self._clock.today()  # type: ignore[no-any-return]


def test_refunds_on_an_order_match_the_refund_webhook(sim_client: SimClient, receiver: Receiver) -> None:
    sim_client.subscribe("REFUNDS_CREATE", f"{receiver.url}/refunds")
    [order_id] = sim_client.place(1, seed=8)
    store_order = sim_client.sim.store.shop(SHOP_A).orders[order_id]
    store_order["financial_status"] = "paid"
    sim_client.control("POST", f"/orders/{order_id}/fulfill", {})
    line = store_order["line_items"][0]
    sim_client.control("POST", f"/orders/{order_id}/refund", {"line_item_id": line["id"], "quantity": 1})
    sim_client.idle()
    [hook] = receiver.on("/refunds", "refunds/create")
    webhook = hook.json()
    data = sim_client.graphql("""query($id: ID!) { order(id: $id) { refunds(first: 5) {
        id legacyResourceId createdAt note totalRefundedSet { shopMoney { amount currencyCode } }
        refundLineItems(first: 10) { nodes { lineItem { id } quantity restockType restocked location { name }
                                             subtotalSet { shopMoney { amount } } } }
        transactions(first: 5) { nodes { kind status amountSet { shopMoney { amount } } } } } } }""",
                              {"id": f"gid://shopify/Order/{order_id}"})
    [refund] = data["order"]["refunds"]
    assert refund["legacyResourceId"] == str(webhook["id"])
    [rli] = refund["refundLineItems"]["nodes"]
    subtotal = rli.pop("subtotalSet")["shopMoney"]["amount"]
    assert rli == {"lineItem": {"id": f"gid://shopify/LineItem/{line['id']}"}, "quantity": 1, "restockType": "RETURN",
                   "restocked": True, "location": {"name": "Shop location"}}
    assert Decimal(subtotal) == Decimal(webhook["refund_line_items"][0]["subtotal"])
    [txn] = refund["transactions"]["nodes"]
    assert (txn["kind"], txn["status"]) == ("REFUND", "SUCCESS")
    amount = Decimal(webhook["transactions"][0]["amount"])
    assert Decimal(txn["amountSet"]["shopMoney"]["amount"]) == amount
    assert Decimal(refund["totalRefundedSet"]["shopMoney"]["amount"]) == amount


def test_order_cancel_is_a_job_that_cancels_the_order_once(sim_client: SimClient, receiver: Receiver) -> None:
    sim_client.subscribe("ORDERS_CANCELLED", f"{receiver.url}/orders")
    sim_client.subscribe("REFUNDS_CREATE", f"{receiver.url}/orders")
    [order_id] = sim_client.place(1, seed=9)
    sim_client.sim.store.shop(SHOP_A).orders[order_id]["financial_status"] = "paid"
    gid = f"gid://shopify/Order/{order_id}"
    payload = sim_client.graphql(CANCEL, {"id": gid, "refund": True})["orderCancel"]
    assert payload["orderCancelUserErrors"] == [] and payload["userErrors"] == []
    assert payload["job"]["id"].startswith("gid://shopify/Job/") and payload["job"]["done"] is False
    job = sim_client.graphql("query($id: ID!) { job(id: $id) { done } }", {"id": payload["job"]["id"]})
    assert job["job"] == {"done": True}
    order = sim_client.control("GET", f"/orders/{order_id}")["order"]
    assert order["cancelled_at"] and order["cancel_reason"] == "inventory"
    assert order["financial_status"] == "refunded"
    again = sim_client.graphql(CANCEL, {"id": gid, "refund": True})["orderCancel"]
    assert again["job"] is None
    assert [e["code"] for e in again["orderCancelUserErrors"]] == ["INVALID"]
    missing = sim_client.graphql(CANCEL, {"id": "gid://shopify/Order/7", "refund": False})["orderCancel"]
    assert missing["orderCancelUserErrors"] == [{"code": "NOT_FOUND", "field": ["orderId"],
                                                 "message": "Order does not exist"}]
    sim_client.idle()
    assert sorted(r.topic for r in receiver.on("/orders")) == ["orders/cancelled", "refunds/create"]

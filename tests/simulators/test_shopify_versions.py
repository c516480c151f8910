"""The simulator serves each API version's own schema, as Shopify does.

A field a version lacks fails validation, a deprecated one is answered with
``X-Shopify-API-Deprecated-Reason``, every answer names the version that served it, an
unsupported version falls forward to the oldest supported one and a malformed one is 404.
"""

from __future__ import annotations

from typing import Any

import pytest

from orderhub.adapters.shopify import api_versions
from orderhub.simulators.shopify import schema, versions
from orderhub.simulators.shopify.version_table import CHANGES
from tests.simulators.conftest import SHOP_A, Receiver, SimClient
from tests.versions import NEWEST, SUPPORTED, TEST_DAY

CUSTOMERS = """query Customers { orders(first: 1) { nodes { customer {
  email phone defaultEmailAddress { emailAddress } defaultPhoneNumber { phoneNumber } } } } }"""

SET = """mutation Set($input: InventorySetQuantitiesInput!, $key: String!) {
  inventorySetQuantities(input: $input) @idempotent(key: $key) {
    inventoryAdjustmentGroup { changes { name delta } } userErrors { code field message } } }"""
SET_WITHOUT_KEY = """mutation Set($input: InventorySetQuantitiesInput!) {
  inventorySetQuantities(input: $input) { inventoryAdjustmentGroup { id } userErrors { code field message } } }"""


def _level(sim: SimClient) -> tuple[str, str, int]:
    level = sim.control("GET", "/products")["inventory_levels"][0]
    return (f"gid://shopify/InventoryItem/{level['inventory_item_id']}",
            f"gid://shopify/Location/{level['location_id']}", level["available"])


def _quantities(item: str, location: str, quantity: int, **expected: Any) -> dict[str, Any]:
    return {"name": "available", "reason": "correction",
            "quantities": [{"inventoryItemId": item, "locationId": location, "quantity": quantity, **expected}]}


def test_the_version_table_names_only_parts_of_the_schema() -> None:
    assert versions.unmatched(schema._document()) == set()
    for change in CHANGES:
        for version in (change.added, change.removed, change.deprecated):
            assert version is None or api_versions.is_valid(version)
        assert change.source.startswith("https://")
        assert (change.deprecated is None) == (change.reason is None)


def test_each_version_has_only_its_own_fields() -> None:
    old, newest = schema.build("2025-01"), schema.build(NEWEST)
    assert "defaultEmailAddress" not in old.type_map["Customer"].fields  # type: ignore[union-attr]
    assert "defaultEmailAddress" in newest.type_map["Customer"].fields  # type: ignore[union-attr]
    assert schema.build("2025-01") is old  # built once per version
    inputs = {v: set(schema.build(v).type_map["InventoryQuantityInput"].fields)  # type: ignore[union-attr]
              for v in SUPPORTED}
    for version, fields in inputs.items():
        assert ("compareQuantity" in fields) == (not api_versions.has("inventory_change_from_required", version))
        assert "changeFromQuantity" in fields
    assert old.get_directive("idempotent") is None and newest.get_directive("idempotent") is not None


def test_every_answer_names_the_version_that_served_it_and_old_ones_fall_forward(sim_client: SimClient) -> None:
    for version in SUPPORTED:
        response = sim_client.graphql_response("{ shop: locations(first: 1) { nodes { id } } }", version=version)
        assert response.status_code == 200 and response.headers["x-shopify-api-version"] == version
    oldest = api_versions.oldest_supported(TEST_DAY)
    for gone in ("2025-10", "2024-01", "2019-04"):
        response = sim_client.graphql_response("{ locations(first: 1) { nodes { id } } }", version=gone)
        assert response.status_code == 200 and response.headers["x-shopify-api-version"] == oldest
    candidate = api_versions.release_candidate(TEST_DAY)
    assert sim_client.graphql_response("{ locations(first: 1) { nodes { id } } }",
                                       version=candidate).headers["x-shopify-api-version"] == candidate
    unstable = sim_client.graphql_response("{ locations(first: 1) { nodes { id } } }", version="unstable")
    assert unstable.headers["x-shopify-api-version"] == "unstable"


@pytest.mark.parametrize("version", ["2026-05", "2026-4", "UNSTABLE", "latest", "2099-01", "%00", "2026-04%0A",
                                     "２０２６-04", "2026-04;1", "'", "2026-13"])
def test_a_malformed_or_unreleased_version_is_not_found(sim_client: SimClient, version: str) -> None:
    response = sim_client.graphql_response("{ locations(first: 1) { nodes { id } } }", version=version)
    assert response.status_code == 404 and response.json() == {"errors": "Not Found"}
    assert "x-shopify-api-version" not in response.headers


def test_a_field_the_version_lacks_is_refused_in_shopifys_shape(sim_client: SimClient) -> None:
    sim_client.place(1, seed=3)
    body = sim_client.graphql_response(CUSTOMERS, version="2025-01").json()  # falls forward to 2026-01: has it
    assert "errors" not in body
    sim_client.sim.store.clock.fixed_day = api_versions.released("2025-04")  # 2025-01 is served as itself then
    body = sim_client.graphql_response(CUSTOMERS, version="2025-01").json()
    assert "data" not in body
    assert body["errors"][0] == {
        "message": "Field 'defaultEmailAddress' doesn't exist on type 'Customer'",
        "locations": [{"line": 2, "column": 15}],
        "path": ["query Customers", "orders", "nodes", "customer", "defaultEmailAddress"],
        "extensions": {"code": "undefinedField", "typeName": "Customer", "fieldName": "defaultEmailAddress"}}


def test_a_removed_input_field_is_refused_as_shopify_refuses_a_variable(sim_client: SimClient) -> None:
    item, location, available = _level(sim_client)
    newest = sim_client.graphql_response(SET, {"input": _quantities(item, location, 5, compareQuantity=available),
                                               "key": "k1"}, version=NEWEST).json()
    [error] = newest["errors"]
    assert error["message"] == ("Variable $input of type InventorySetQuantitiesInput! was provided invalid value for "
                                "quantities.0.compareQuantity (Field is not defined on InventoryQuantityInput)")
    assert error["extensions"]["problems"] == [{"path": ["quantities", 0, "compareQuantity"],
                                                "explanation": "Field is not defined on InventoryQuantityInput"}]
    assert sim_client.control("GET", "/products")["inventory_levels"][0]["available"] == available


def test_a_deprecated_field_is_answered_with_the_deprecation_header(sim_client: SimClient) -> None:
    [order_id] = sim_client.place(1, seed=5)
    response = sim_client.graphql_response(CUSTOMERS)
    body = response.json()
    assert "errors" not in body
    customer = body["data"]["orders"]["nodes"][0]["customer"]
    assert customer["email"] == customer["defaultEmailAddress"]["emailAddress"]
    assert response.headers["x-shopify-api-deprecated-reason"] == "Customer.email, Customer.phone"
    current = sim_client.graphql_response(
        "{ orders(first: 1) { nodes { customer { defaultEmailAddress { emailAddress } } } } }")
    assert "x-shopify-api-deprecated-reason" not in current.headers
    cancel = sim_client.graphql_response(
        """mutation { orderCancel(orderId: "gid://shopify/Order/%d", reason: OTHER, refund: false, restock: true) {
             orderCancelUserErrors { code } } }""" % order_id)
    assert cancel.headers["x-shopify-api-deprecated-reason"] == "Mutation.orderCancel(refund:)"
    inputs = sim_client.graphql_response(
        """mutation($url: URL!) { webhookSubscriptionCreate(topic: ORDERS_CREATE,
             webhookSubscription: {callbackUrl: $url}) { userErrors { message } } }""", {"url": "https://example.com/h"})
    assert inputs.headers["x-shopify-api-deprecated-reason"] == "WebhookSubscriptionInput.callbackUrl"


def test_from_2026_04_inventory_sets_need_an_idempotency_key_and_change_from_quantity(sim_client: SimClient) -> None:
    item, location, available = _level(sim_client)
    for version in SUPPORTED:
        strict = api_versions.has("inventory_change_from_required", version)
        no_key = sim_client.graphql_response(SET_WITHOUT_KEY, {"input": _quantities(
            item, location, available, changeFromQuantity=available)}, version=version).json()
        assert ("errors" in no_key) == strict, (version, no_key)
        if strict:
            assert no_key["errors"][0]["message"] == ("The @idempotent directive is required for this mutation but "
                                                      "was not provided.")
            assert no_key["errors"][0]["extensions"] == {"code": "BAD_REQUEST"}
        without = sim_client.graphql_response(SET, {"input": _quantities(item, location, available),
                                                    "key": f"no-cfq-{version}"}, version=version).json()
        if strict:
            assert without["errors"][0]["extensions"] == {"code": "INVALID_FIELD_ARGUMENTS"}
            assert "changeFromQuantity" in without["errors"][0]["message"]


def test_change_from_quantity_compares_and_null_opts_out(sim_client: SimClient) -> None:
    item, location, available = _level(sim_client)
    stale = sim_client.graphql(SET, {"input": _quantities(item, location, 1, changeFromQuantity=available + 3),
                                     "key": "stale"})["inventorySetQuantities"]
    assert stale["userErrors"] == [{"code": "CHANGE_FROM_QUANTITY_STALE",
                                    "field": ["input", "quantities", "0", "changeFromQuantity"],
                                    "message": "The changeFromQuantity value does not match persisted value."}]
    fresh = _quantities(item, location, available + 2, changeFromQuantity=available)
    done = sim_client.graphql(SET, {"input": fresh, "key": "fresh"})["inventorySetQuantities"]
    assert done["userErrors"] == [] and done["inventoryAdjustmentGroup"]["changes"][0]["delta"] == 2
    blind = sim_client.graphql(SET, {"input": _quantities(item, location, 7, changeFromQuantity=None),
                                     "key": "blind"})["inventorySetQuantities"]
    assert blind["userErrors"] == []
    assert sim_client.control("GET", "/products")["inventory_levels"][0]["available"] == 7


def test_webhooks_carry_the_version_of_their_subscription(sim_client: SimClient, receiver: Receiver) -> None:
    create = """mutation($topic: WebhookSubscriptionTopic!, $uri: String!) {
      webhookSubscriptionCreate(topic: $topic, webhookSubscription: {uri: $uri, format: JSON}) {
        webhookSubscription { uri } userErrors { field message } } }"""
    for version in SUPPORTED:
        data = sim_client.graphql(create, {"topic": "ORDERS_CREATE", "uri": f"{receiver.url}/v/{version}"},
                                  version=version)["webhookSubscriptionCreate"]
        assert data["userErrors"] == [] and data["webhookSubscription"]["uri"] == f"{receiver.url}/v/{version}"
    sim_client.place(1)
    sim_client.idle()
    for version in SUPPORTED:
        [hook] = receiver.on(f"/v/{version}")
        assert hook.headers["x-shopify-api-version"] == version
    listed = sim_client.graphql("""query($uri: String) { webhookSubscriptions(first: 10, uri: $uri) {
        nodes { uri } } }""", {"uri": f"{receiver.url}/v/{NEWEST}"})["webhookSubscriptions"]["nodes"]
    assert listed == [{"uri": f"{receiver.url}/v/{NEWEST}"}]


def test_a_subscription_whose_version_left_support_is_sent_with_the_oldest_supported(
        sim_client: SimClient, receiver: Receiver) -> None:
    shop = sim_client.sim.store.shop(SHOP_A)
    sim_client.sim.store.add_subscription(shop, "orders/create", f"{receiver.url}/old", "2025-07")
    sim_client.place(1)
    sim_client.idle()
    [hook] = receiver.on("/old")
    assert hook.headers["x-shopify-api-version"] == api_versions.oldest_supported(TEST_DAY)


def test_bulk_operations_lists_the_newest_first_and_filters(sim_client: SimClient) -> None:
    sim_client.control("POST", "/config", {"bulk": {"start_delay": 0, "objects_per_second": None}})
    run = """mutation { bulkOperationRunQuery(query: "{ products { edges { node { id } } } }") {
      bulkOperation { id } userErrors { message } } }"""
    first = sim_client.graphql(run)["bulkOperationRunQuery"]["bulkOperation"]["id"]
    for _ in range(100):
        done = sim_client.graphql("query($id: ID!) { bulkOperation(id: $id) { status } }", {"id": first})
        if done["bulkOperation"]["status"] == "COMPLETED":
            break
    second = sim_client.graphql(run)["bulkOperationRunQuery"]["bulkOperation"]["id"]
    listed = sim_client.graphql("{ bulkOperations(first: 5) { nodes { id } } }")["bulkOperations"]["nodes"]
    assert [n["id"] for n in listed] == [second, first]
    query = sim_client.graphql('{ bulkOperations(first: 5, query: "operation_type:query status:completed") '
                               '{ nodes { id status } } }')["bulkOperations"]["nodes"]
    assert first in [n["id"] for n in query] and all(n["status"] == "COMPLETED" for n in query)
    old = sim_client.graphql_response("{ bulkOperations(first: 1) { nodes { id } } }", version="2025-10")
    assert old.headers["x-shopify-api-version"] == api_versions.oldest_supported(TEST_DAY)  # falls forward: has it


def test_the_simulators_day_can_be_set(sim_client: SimClient) -> None:
    assert sim_client.control("POST", "/config", {"today": "2027-02-01"})["today"] == "2027-02-01"
    response = sim_client.graphql_response("{ locations(first: 1) { nodes { id } } }", version="2026-01")
    assert response.headers["x-shopify-api-version"] == "2026-04"
    assert sim_client.control("POST", "/config", {"today": "yesterday"}, expect=400)["error"]

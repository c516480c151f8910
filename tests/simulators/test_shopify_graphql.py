"""The Admin GraphQL API over real HTTP: auth, shapes, errors, pagination, search, cost and throttling."""

from __future__ import annotations

import itertools
import time
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from orderhub.simulators.shopify.graphql_api import INVALID_TOKEN
from orderhub.simulators.shopify.store import TWO_TO_53
from tests.processes import wait_for
from tests.simulators.conftest import SHOP_A, SHOP_B, TOKENS, SimClient

PAGE = """
query Page($first: Int!, $after: String, $query: String, $sort: OrderSortKeys, $reverse: Boolean) {
  orders(first: $first, after: $after, query: $query, sortKey: $sort, reverse: $reverse) {
    edges { cursor node { id updatedAt } }
    pageInfo { hasNextPage endCursor }
  }
}"""


def _utc(rest_time: str) -> datetime:
    return datetime.fromisoformat(rest_time).astimezone(UTC)


def _all_pages(sim: SimClient, size: int, **variables: Any) -> list[dict[str, Any]]:
    nodes: list[dict[str, Any]] = []
    after = None
    for _ in range(100):
        page = sim.graphql(PAGE, {"first": size, "after": after, **variables})["orders"]
        assert all(edge["cursor"] for edge in page["edges"])
        nodes += [edge["node"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            return nodes
        after = page["pageInfo"]["endCursor"]
    raise AssertionError("pagination did not end")


def test_a_wrong_or_missing_access_token_gets_401(sim_client: SimClient) -> None:
    for token in ("wrong", "", TOKENS[SHOP_B]):
        response = sim_client.graphql_response("{ orders(first: 1) { nodes { id } } }", token=token)
        assert response.status_code == 401
        assert response.json() == {"errors": INVALID_TOKEN}
    assert sim_client.graphql_response("{ orders(first: 1) { nodes { id } } }", shop="nope.myshopify.com"
                                       ).status_code == 404


def test_each_shop_has_its_own_orders_and_the_plain_path_serves_the_first(sim_client: SimClient) -> None:
    a_ids = sim_client.place(2, shop=SHOP_A)
    b_ids = sim_client.place(3, shop=SHOP_B)
    query = "{ orders(first: 10) { nodes { legacyResourceId } } }"

    def ids(shop: str | None) -> list[int]:
        response = sim_client.graphql_response(query, shop=shop, token=TOKENS[shop or SHOP_A])
        return [int(n["legacyResourceId"]) for n in response.json()["data"]["orders"]["nodes"]]

    assert ids(SHOP_A) == a_ids and ids(SHOP_B) == b_ids and ids(None) == a_ids


def test_unknown_field_is_a_validation_error_in_shopifys_shape(sim_client: SimClient) -> None:
    response = sim_client.graphql_response("query Recent {\n  orders(first: 1) {\n    nodes { id colour }\n  }\n}")
    assert response.status_code == 200
    body = response.json()
    assert "data" not in body
    assert body["errors"] == [{
        "message": "Field 'colour' doesn't exist on type 'Order'",
        "locations": [{"line": 3, "column": 16}],
        "path": ["query Recent", "orders", "nodes", "colour"],
        "extensions": {"code": "undefinedField", "typeName": "Order", "fieldName": "colour"}}]
    unknown_argument = sim_client.graphql_response("{ orders(first: 1, colour: 2) { nodes { id } } }").json()
    assert unknown_argument["errors"][0]["extensions"]["code"] == "argumentNotAccepted"


def test_page_size_rules(sim_client: SimClient) -> None:
    too_big = sim_client.graphql_response("{ orders(first: 251) { nodes { id } } }").json()
    assert too_big["data"] is None and "250" in too_big["errors"][0]["message"]
    missing = sim_client.graphql_response("{ orders { nodes { id } } }").json()
    assert missing["errors"][0]["message"] == "you must provide one of first or last"
    bad_cursor = sim_client.graphql_response('{ orders(first: 1, after: "bm9wZQ==") { nodes { id } } }').json()
    assert bad_cursor["errors"][0]["message"] == "Invalid cursor for current pagination sort."


def test_cursor_pagination_returns_every_order_once_in_sort_order(sim_client: SimClient) -> None:
    placed = sim_client.place(23)
    # The clock counts whole seconds: on a busy machine the placements may reach into the second of the first
    # update, which would tie with them. Updates in a later second than every placement sort after them all.
    placed_by = sim_client.sim.store.clock.now()
    wait_for(lambda: sim_client.sim.store.clock.now() > placed_by, timeout=5, what="the next second")
    for order_id in placed[::4]:
        sim_client.control("POST", f"/orders/{order_id}/update", {"note": "later"})
    by_updated = _all_pages(sim_client, 5, sort="UPDATED_AT")
    keys = [(n["updatedAt"], int(n["id"].rsplit("/", 1)[1])) for n in by_updated]
    assert sorted(k[1] for k in keys) == sorted(placed), "every order exactly once"
    assert keys == sorted(keys)
    assert [k[1] for k in keys][-len(placed[::4]):] == placed[::4], "touched orders sort last"
    newest_first = _all_pages(sim_client, 7, sort="ID", reverse=True)
    assert [int(n["id"].rsplit("/", 1)[1]) for n in newest_first] == sorted(placed, reverse=True)
    by_created = _all_pages(sim_client, 10, sort="CREATED_AT")
    assert sorted(int(n["id"].rsplit("/", 1)[1]) for n in by_created) == sorted(placed)


def test_updated_at_search_filters_by_time(sim_client: SimClient) -> None:
    placed = sim_client.place(6)
    touched = placed[1::2]
    answers = [sim_client.control("POST", f"/orders/{i}/update", {}) for i in touched]
    since = min(_utc(a["updated_at"]) for a in answers).strftime("%Y-%m-%dT%H:%M:%SZ")

    def ids(query: str) -> list[int]:
        return sorted(int(n["id"].rsplit("/", 1)[1]) for n in _all_pages(sim_client, 4, query=query))

    assert ids(f"updated_at:>='{since}'") == sorted(touched)
    assert ids(f"updated_at:<'{since}'") == sorted(set(placed) - set(touched))
    assert ids(f"updated_at:>'{since}'") == sorted(i for i, a in zip(touched, answers)
                                                   if _utc(a["updated_at"]).strftime("%Y-%m-%dT%H:%M:%SZ") > since)
    warned = sim_client.graphql_response('{ orders(first: 1, query: "colour:red") { nodes { id } } }').json()
    assert warned["extensions"]["search"][0]["warnings"][0]["field"] == "colour"


def test_order_fields_match_the_webhook_payload(sim_client: SimClient) -> None:
    [order_id] = sim_client.place(1, seed=4)
    rest = sim_client.control("GET", f"/orders/{order_id}")["order"]
    node = sim_client.graphql("""
      query($id: ID!) { order(id: $id) {
        id legacyResourceId name email createdAt updatedAt currencyCode displayFinancialStatus
        displayFulfillmentStatus tags note
        totalPriceSet { shopMoney { amount currencyCode } presentmentMoney { amount currencyCode } }
        totalShippingPriceSet { shopMoney { amount } }
        customer { id firstName lastName }
        billingAddress { name address1 address2 city countryCodeV2 latitude }
        lineItems(first: 10) { nodes { id sku quantity currentQuantity originalUnitPriceSet { shopMoney { amount } }
          taxLines { priceSet { shopMoney { amount } } rate title } variant { id } product { id } } }
        shippingLines(first: 5) { nodes { id title code originalPriceSet { shopMoney { amount } } } }
      } }""", {"id": f"gid://shopify/Order/{order_id}"})["order"]
    assert node["id"] == rest["admin_graphql_api_id"] and node["legacyResourceId"] == str(order_id)
    assert int(node["legacyResourceId"]) > TWO_TO_53
    assert node["name"] == rest["name"] and node["email"] == rest["email"]
    assert node["updatedAt"] == _utc(rest["updated_at"]).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert node["displayFinancialStatus"] == rest["financial_status"].upper()
    assert node["displayFulfillmentStatus"] == "UNFULFILLED"
    assert node["tags"] == [t.strip() for t in rest["tags"].split(",") if t.strip()]
    assert Decimal(node["totalPriceSet"]["shopMoney"]["amount"]) == Decimal(rest["total_price"])
    assert node["totalPriceSet"]["presentmentMoney"]["currencyCode"] == rest["presentment_currency"]
    assert node["billingAddress"]["address1"] == rest["billing_address"]["address1"]
    assert node["billingAddress"]["countryCodeV2"] == rest["billing_address"]["country_code"]
    lines = node["lineItems"]["nodes"]
    assert [li["sku"] for li in lines] == [li["sku"] for li in rest["line_items"]]
    assert [li["variant"]["id"] for li in lines] == [f"gid://shopify/ProductVariant/{li['variant_id']}"
                                                     for li in rest["line_items"]]
    assert [[Decimal(t["priceSet"]["shopMoney"]["amount"]) for t in li["taxLines"]] for li in lines] == [
        [Decimal(t["price"]) for t in li["tax_lines"]] for li in rest["line_items"]]
    assert [s["code"] for s in node["shippingLines"]["nodes"]] == [s["code"] for s in rest["shipping_lines"]]


def test_amounts_are_shopify_decimals(sim_client: SimClient) -> None:
    [order_id] = sim_client.place(1)
    shop = sim_client.sim.store.shop(SHOP_A)
    with sim_client.sim.store.lock:
        shop.orders[order_id]["total_price_set"]["shop_money"]["amount"] = "12.50"
    node = sim_client.graphql("{ orders(first: 1) { nodes { totalPriceSet { shopMoney { amount } } } } }")
    assert node["orders"]["nodes"][0]["totalPriceSet"]["shopMoney"]["amount"] == "12.5"


def test_bad_orders_are_served_as_they_are(sim_client: SimClient) -> None:
    created = sim_client.control("POST", "/orders", {"count": 0, "bad": {"unknown_currency": 1, "no_line_items": 1}},
                                 expect=201)
    assert created["order_ids"] == [] and len(created["bad_order_ids"]) == 2
    data = sim_client.graphql("{ orders(first: 5) { nodes { currencyCode lineItems(first: 5) { nodes { id } } } } }")
    nodes = data["orders"]["nodes"]
    assert [n["currencyCode"] for n in nodes].count("XXQ") == 1
    assert [len(n["lineItems"]["nodes"]) == 0 for n in nodes].count(True) == 1


def test_line_items_page_with_cursors(sim_client: SimClient) -> None:
    [order_id] = sim_client.place(1)
    shop = sim_client.sim.store.shop(SHOP_A)
    with sim_client.sim.store.lock:
        lines = shop.orders[order_id]["line_items"]
        expected = [line["id"] for line in lines]
    query = """query($id: ID!, $after: String) { order(id: $id) { lineItems(first: 1, after: $after) {
                 pageInfo { hasNextPage endCursor } nodes { id } } } }"""
    seen, after = [], None
    while True:
        page = sim_client.graphql(query, {"id": f"gid://shopify/Order/{order_id}", "after": after})
        connection = page["order"]["lineItems"]
        seen += [int(n["id"].rsplit("/", 1)[1]) for n in connection["nodes"]]
        if not connection["pageInfo"]["hasNextPage"]:
            break
        after = connection["pageInfo"]["endCursor"]
    assert seen == expected


def test_cost_is_reported_by_shopifys_rules(sim_client: SimClient) -> None:
    sim_client.place(3)
    body = sim_client.graphql_response("""{ orders(first: 10) { nodes { id totalPriceSet { shopMoney { amount } }
                                          lineItems(first: 4) { nodes { sku } } } } }""").json()
    cost = body["extensions"]["cost"]
    # 2 + 10 x (order 1 + money bag 1 + money 1 + lineItems (2 + 4 x 1))
    assert cost["requestedQueryCost"] == 2 + 10 * (1 + 2 + 2 + 4)
    returned = body["data"]["orders"]["nodes"]
    assert len(returned) == 3
    actual = 2 + sum(1 + 2 + 2 + len(n["lineItems"]["nodes"]) for n in returned)
    assert cost["actualQueryCost"] == actual < cost["requestedQueryCost"]
    status = cost["throttleStatus"]
    assert status["maximumAvailable"] == 1000 and status["restoreRate"] == 50
    assert 1000 - cost["actualQueryCost"] <= status["currentlyAvailable"] <= 1000
    mutation = sim_client.graphql_response("""mutation { webhookSubscriptionCreate(topic: ORDERS_CREATE,
        webhookSubscription: {callbackUrl: "https://example.com/x"}) { userErrors { message } } }""").json()
    assert mutation["extensions"]["cost"]["requestedQueryCost"] == 10


def test_a_query_over_1000_points_is_refused(sim_client: SimClient) -> None:
    body = sim_client.graphql_response("{ orders(first: 250) { nodes { lineItems(first: 10) { nodes { id } } } } }"
                                       ).json()
    assert "data" not in body
    assert body["errors"][0]["extensions"]["code"] == "MAX_COST_EXCEEDED"
    assert body["extensions"]["cost"]["requestedQueryCost"] == 2 + 250 * (1 + 2 + 10)


def test_throttled_when_the_bucket_is_low_then_recovers_at_the_restore_rate(sim_client: SimClient) -> None:
    sim_client.place(2)
    sim_client.control("POST", "/config", {"throttle": {"shop": SHOP_A, "restore_rate": 100,
                                                        "currently_available": 0}})
    query = "{ orders(first: 96) { nodes { id } } }"  # requests 98 points, uses 4
    throttled = sim_client.graphql_response(query).json()
    assert throttled["errors"] == [{"message": "Throttled", "extensions": {
        "code": "THROTTLED", "documentation": "https://shopify.dev/api/usage/rate-limits"}}]
    assert "data" not in throttled
    cost = throttled["extensions"]["cost"]
    assert cost["requestedQueryCost"] == 98 and cost["actualQueryCost"] is None
    available = cost["throttleStatus"]["currentlyAvailable"]
    assert 0 <= available < 98
    wait = (98 - available) / cost["throttleStatus"]["restoreRate"]
    time.sleep(wait + 0.05)
    settings = sim_client.control("GET", "/config")["throttle"][SHOP_A]
    assert settings["currentlyAvailable"] >= min(1000, available + int(wait * 100))
    recovered = sim_client.graphql_response(query).json()
    assert "errors" not in recovered and len(recovered["data"]["orders"]["nodes"]) == 2
    assert recovered["extensions"]["cost"]["actualQueryCost"] == 4


def test_webhook_subscriptions_can_be_created_listed_and_deleted(sim_client: SimClient) -> None:
    create = """mutation($topic: WebhookSubscriptionTopic!, $url: URL!) {
      webhookSubscriptionCreate(topic: $topic, webhookSubscription: {callbackUrl: $url, format: JSON}) {
        webhookSubscription { id topic endpoint { __typename ... on WebhookHttpEndpoint { callbackUrl } } }
        userErrors { field message } } }"""
    made = sim_client.graphql(create, {"topic": "ORDERS_PARTIALLY_FULFILLED", "url": "https://hub.example/w"})
    sub = made["webhookSubscriptionCreate"]["webhookSubscription"]
    assert sub["topic"] == "ORDERS_PARTIALLY_FULFILLED"
    assert sub["endpoint"] == {"__typename": "WebhookHttpEndpoint", "callbackUrl": "https://hub.example/w"}
    again = sim_client.graphql(create, {"topic": "ORDERS_PARTIALLY_FULFILLED", "url": "https://hub.example/w"})
    assert again["webhookSubscriptionCreate"]["userErrors"] == [
        {"field": ["webhookSubscription", "callbackUrl"], "message": "Address for this topic has already been taken"}]
    assert sim_client.control("GET", "/subscriptions")["subscriptions"][0]["topic"] == "orders/partially_fulfilled"
    listed = sim_client.graphql("{ webhookSubscriptions(first: 5) { nodes { id topic } } }")
    assert listed["webhookSubscriptions"]["nodes"] == [{"id": sub["id"], "topic": "ORDERS_PARTIALLY_FULFILLED"}]
    delete = """mutation($id: ID!) {
      webhookSubscriptionDelete(id: $id) { deletedWebhookSubscriptionId userErrors { message } } }"""
    assert sim_client.graphql(delete, {"id": sub["id"]})["webhookSubscriptionDelete"] == {
        "deletedWebhookSubscriptionId": sub["id"], "userErrors": []}
    gone = sim_client.graphql(delete, {"id": sub["id"]})["webhookSubscriptionDelete"]
    assert gone["deletedWebhookSubscriptionId"] is None and gone["userErrors"]


def test_injected_failures_answer_503(sim_client: SimClient) -> None:
    sim_client.control("POST", "/config", {"fail_graphql_rate": 1.0})
    assert sim_client.graphql_response("{ orders(first: 1) { nodes { id } } }").status_code == 503
    sim_client.control("POST", "/config", {"fail_graphql_rate": 0.0})
    assert sim_client.graphql_response("{ orders(first: 1) { nodes { id } } }").status_code == 200


def test_updated_at_moves_at_least_a_second_per_change(sim_client: SimClient) -> None:
    [order_id] = sim_client.place(1)
    stamps = [_utc(sim_client.control("POST", f"/orders/{order_id}/update", {})["updated_at"]) for _ in range(3)]
    assert all((b - a).total_seconds() >= 1 for a, b in itertools.pairwise(stamps))

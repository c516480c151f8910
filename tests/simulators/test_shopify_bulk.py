"""Bulk query operations over real HTTP: lifecycle, one at a time, JSONL shape, finish webhook, cancel, URLs."""

from __future__ import annotations

import hashlib
import time
import tracemalloc
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import httpx
import orjson
import pytest

from orderhub.simulators.shopify.bulk_catalogue import ORDER_NUMBER_BASE
from tests.processes import wait_for
from tests.simulators.conftest import SHOP_A, SHOP_B, Receiver, SimClient

RUN = """
mutation Run($q: String!) {
  bulkOperationRunQuery(query: $q) { bulkOperation { id status } userErrors { field message code } }
}"""
CANCEL = """
mutation Cancel($id: ID!) {
  bulkOperationCancel(id: $id) { bulkOperation { id status } userErrors { field message } }
}"""
FIELDS = "id status errorCode type createdAt completedAt objectCount rootObjectCount fileSize url partialDataUrl query"
NODE = "query Op($id: ID!) { node(id: $id) { ... on BulkOperation { %s } } }" % FIELDS
ACTIVE = ("CREATED", "RUNNING", "CANCELING")

PRODUCTS = """{ products { edges { node {
  id title productType
  variants { edges { node { id sku price inventoryItem { id tracked } } } }
  collections { edges { node { id title } } }
} } } }"""
ORDERS = """{ orders { edges { node {
  id name
  lineItems { edges { node { id sku quantity variant { id } } } }
} } } }"""
SMALL_ORDERS = "{ orders { edges { node { id name lineItems { edges { node { id quantity } } } } } } }"


def configure(sim: SimClient, **bulk: Any) -> None:
    """Bulk settings for a test: no start delay and no speed limit unless it says otherwise."""
    sim.control("POST", "/config", {"bulk": {"start_delay": 0, "objects_per_second": None, **bulk}})


def run(sim: SimClient, query: str, shop: str = SHOP_A) -> dict[str, Any]:
    return dict(sim.graphql(RUN, {"q": query}, shop=shop)["bulkOperationRunQuery"])


def started(sim: SimClient, query: str, shop: str = SHOP_A) -> str:
    payload = run(sim, query, shop)
    assert payload["userErrors"] == [], payload
    assert payload["bulkOperation"]["status"] == "CREATED"
    return str(payload["bulkOperation"]["id"])


def node(sim: SimClient, op_id: str, shop: str = SHOP_A) -> dict[str, Any]:
    return dict(sim.graphql(NODE, {"id": op_id}, shop=shop)["node"])


def finished(sim: SimClient, op_id: str, shop: str = SHOP_A, timeout: float = 30) -> dict[str, Any]:
    return wait_for(lambda: (lambda n: n if n["status"] not in ACTIVE else None)(node(sim, op_id, shop)),
                    timeout=timeout, what=f"bulk operation {op_id} to finish")


def lines(url: str) -> list[dict[str, Any]]:
    response = httpx.get(url, timeout=30)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/jsonl")
    return [orjson.loads(line) for line in response.content.splitlines()]


def test_an_operation_goes_from_created_through_running_to_completed(sim_client: SimClient) -> None:
    configure(sim_client, start_delay=0.3, objects_per_second=60)
    op_id = started(sim_client, PRODUCTS)
    seen, counts = [], []
    while (current := node(sim_client, op_id))["status"] in ACTIVE:
        if not seen or seen[-1] != current["status"]:
            seen.append(current["status"])
        counts.append(int(current["objectCount"]))
        time.sleep(0.02)
    seen.append(current["status"])
    assert seen == ["CREATED", "RUNNING", "COMPLETED"]
    assert counts == sorted(counts) and len(set(counts)) > 2, "objectCount is a running count"

    body = httpx.get(current["url"]).content
    records = [orjson.loads(line) for line in body.splitlines()]
    products = sim_client.sim.store.shop(SHOP_A).products
    assert current["errorCode"] is None and current["partialDataUrl"] is None and current["type"] == "QUERY"
    assert int(current["objectCount"]) == len(records) and int(current["rootObjectCount"]) == len(products)
    assert int(current["fileSize"]) == len(body)
    assert current["query"] == PRODUCTS
    assert datetime.fromisoformat(current["createdAt"]) <= datetime.fromisoformat(current["completedAt"])
    latest = sim_client.graphql(f"{{ currentBulkOperation {{ {FIELDS} }} }}")["currentBulkOperation"]
    by_id = sim_client.graphql(f"query($id: ID!) {{ bulkOperation(id: $id) {{ {FIELDS} }} }}",
                               {"id": op_id})["bulkOperation"]
    assert latest == by_id == current
    assert sim_client.graphql("{ currentBulkOperation(type: MUTATION) { id } }")["currentBulkOperation"] is None
    assert sim_client.graphql("{ currentBulkOperation { id } }", shop=SHOP_B)["currentBulkOperation"] is None


def test_one_bulk_query_runs_at_a_time_per_shop(sim_client: SimClient) -> None:
    configure(sim_client, objects_per_second=5)
    running = started(sim_client, PRODUCTS)
    refused = run(sim_client, ORDERS)
    assert refused == {"bulkOperation": None, "userErrors": [{
        "field": None, "code": "OPERATION_IN_PROGRESS",
        "message": f"A bulk query operation for this app and shop is already in progress: {running}."}]}
    other_shop = started(sim_client, PRODUCTS, shop=SHOP_B)
    assert other_shop != running
    sim_client.graphql(CANCEL, {"id": running})
    assert finished(sim_client, running)["status"] == "CANCELED"
    assert started(sim_client, ORDERS) not in (running, other_shop)


def test_products_file_has_parents_first_then_children_naming_them(sim_client: SimClient) -> None:
    configure(sim_client)
    done = finished(sim_client, started(sim_client, PRODUCTS))
    records = lines(done["url"])
    store = sim_client.sim.store.shop(SHOP_A)
    expected = sorted(store.products.values(), key=lambda p: p["id"])

    parents = [r for r in records if "__parentId" not in r]
    assert [p["id"] for p in parents] == [f"gid://shopify/Product/{p['id']}" for p in expected]
    current: dict[str, Any] | None = None
    children: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        if "__parentId" not in record:
            current = record
            continue
        assert current is not None and record["__parentId"] == current["id"], "a child follows its own parent"
        children.setdefault(current["id"], []).append(record)
    for product, parent in zip(expected, parents, strict=True):
        mine = children[parent["id"]]
        variants = [c for c in mine if c["id"].startswith("gid://shopify/ProductVariant/")]
        collections = [c for c in mine if c["id"].startswith("gid://shopify/Collection/")]
        assert len(variants) + len(collections) == len(mine)
        assert [v["id"] for v in variants] == [f"gid://shopify/ProductVariant/{v['id']}" for v in product["variants"]]
        assert [v["sku"] for v in variants] == [v["sku"] for v in product["variants"]]
        assert [v["price"] for v in variants] == [v["price"] for v in product["variants"]]
        assert [v["inventoryItem"] for v in variants] == [
            {"id": f"gid://shopify/InventoryItem/{v['inventory_item_id']}", "tracked": True}
            for v in product["variants"]], "a single nested object stays inline, without __parentId"
        assert [c["title"] for c in collections] == [product["product_type"]]
        assert parent == {"id": parent["id"], "title": product["title"], "productType": product["product_type"]}


def test_orders_file_flattens_line_items_under_their_order(sim_client: SimClient) -> None:
    configure(sim_client)
    order_ids = sim_client.place(5)
    records = lines(finished(sim_client, started(sim_client, ORDERS))["url"])
    store = sim_client.sim.store.shop(SHOP_A)
    expected: list[dict[str, Any]] = []
    for order_id in order_ids:
        order = store.orders[order_id]
        expected.append({"id": f"gid://shopify/Order/{order_id}", "name": order["name"]})
        expected += [{"id": f"gid://shopify/LineItem/{li['id']}", "sku": li["sku"], "quantity": li["quantity"],
                      "variant": {"id": f"gid://shopify/ProductVariant/{li['variant_id']}"},
                      "__parentId": f"gid://shopify/Order/{order_id}"} for li in order["line_items"]]
    assert records == expected

    one = finished(sim_client, started(sim_client, ORDERS.replace("orders {", 'orders(query: "name:1003") {')))
    assert [r["name"] for r in lines(one["url"]) if "__parentId" not in r] == ["#1003"]
    nothing = finished(sim_client, started(sim_client, ORDERS.replace("orders {", 'orders(query: "name:9") {')))
    assert (nothing["status"], nothing["objectCount"], nothing["url"], nothing["fileSize"]) == ("COMPLETED", "0",
                                                                                                None, None)


def test_the_finish_webhook_is_signed_and_carries_shopifys_payload(sim_client: SimClient, receiver: Receiver
                                                                   ) -> None:
    configure(sim_client)
    sim_client.subscribe("BULK_OPERATIONS_FINISH", f"{receiver.url}/bulk")
    sim_client.subscribe("BULK_OPERATIONS_FINISH", f"{receiver.url}/bulk-b", shop=SHOP_B)
    done = finished(sim_client, started(sim_client, PRODUCTS))
    sim_client.idle()
    [hook] = receiver.on("/bulk")
    assert receiver.on("/bulk-b") == [], "only the shop that ran it is told"
    assert hook.hmac_ok and hook.topic == "bulk_operations/finish"
    assert hook.headers["x-shopify-shop-domain"] == SHOP_A
    payload = hook.json()
    assert list(payload) == ["admin_graphql_api_id", "completed_at", "created_at", "error_code", "status", "type"]
    assert payload["admin_graphql_api_id"] == done["id"]
    assert (payload["error_code"], payload["status"], payload["type"]) == (None, "completed", "query")
    assert payload["completed_at"].endswith("-05:00"), "webhook times are in the shop's zone, like REST"
    assert datetime.fromisoformat(payload["completed_at"]) == datetime.fromisoformat(done["completedAt"])
    assert datetime.fromisoformat(payload["created_at"]) == datetime.fromisoformat(done["createdAt"])


def test_cancel_stops_a_running_operation(sim_client: SimClient, receiver: Receiver) -> None:
    configure(sim_client, objects_per_second=40)
    sim_client.subscribe("BULK_OPERATIONS_FINISH", f"{receiver.url}/bulk")
    sim_client.control("POST", "/bulk_catalogue", {"orders": 500, "seed": 3})
    op_id = started(sim_client, SMALL_ORDERS)
    wait_for(lambda: int(node(sim_client, op_id)["objectCount"]) > 0, timeout=10, what="the operation to run")
    assert sim_client.graphql(CANCEL, {"id": op_id}, shop=SHOP_B)["bulkOperationCancel"] == {
        "bulkOperation": None, "userErrors": [{"field": ["id"], "message": "Bulk operation does not exist"}]}
    canceling = sim_client.graphql(CANCEL, {"id": op_id})["bulkOperationCancel"]
    assert canceling == {"bulkOperation": {"id": op_id, "status": "CANCELING"}, "userErrors": []}
    done = finished(sim_client, op_id, timeout=5)
    assert done["status"] == "CANCELED" and done["url"] is None and done["completedAt"] is not None
    assert 0 < int(done["objectCount"]) < 1500
    again = sim_client.graphql(CANCEL, {"id": op_id})["bulkOperationCancel"]
    assert again == {"bulkOperation": {"id": op_id, "status": "CANCELED"}, "userErrors": [
        {"field": None, "message": "A bulk operation cannot be canceled when it is canceled"}]}
    sim_client.idle()
    assert [(h.json()["status"], h.json()["error_code"]) for h in receiver.on("/bulk")] == [("canceled", None)]

    configure(sim_client, start_delay=30)
    waiting = started(sim_client, SMALL_ORDERS)
    sim_client.graphql(CANCEL, {"id": waiting})
    assert finished(sim_client, waiting, timeout=5)["objectCount"] == "0", "canceled before it ran"


def test_a_failed_operation_reports_its_error_code_and_partial_data(sim_client: SimClient, receiver: Receiver
                                                                     ) -> None:
    configure(sim_client, fail_next={"error_code": "TIMEOUT", "after_objects": 10})
    sim_client.subscribe("BULK_OPERATIONS_FINISH", f"{receiver.url}/bulk")
    failed = finished(sim_client, started(sim_client, PRODUCTS))
    assert (failed["status"], failed["errorCode"], failed["url"], failed["fileSize"]) == ("FAILED", "TIMEOUT",
                                                                                          None, None)
    partial = lines(failed["partialDataUrl"])
    assert 10 <= len(partial) == int(failed["objectCount"])
    assert "__parentId" not in partial[0] and "__parentId" in partial[-1]
    sim_client.idle()
    assert [(h.json()["status"], h.json()["error_code"]) for h in receiver.on("/bulk")] == [("failed", "timeout")]
    assert finished(sim_client, started(sim_client, PRODUCTS))["status"] == "COMPLETED", "only the next one fails"
    assert sim_client.control("GET", "/config")["bulk"]["fail_next"] is None
    sim_client.control("POST", "/config", {"bulk": {"start_delay": 9, "fail_next": {"error_code": "OOPS"}}},
                       expect=400)
    assert sim_client.control("GET", "/config")["bulk"]["start_delay"] == 0, "a refused change changes nothing"


SIX_CONNECTIONS = "{ products { edges { node { id %s } } } }" % " ".join(
    f"v{i}: variants {{ edges {{ node {{ id }} }} }}" for i in range(5))


@pytest.mark.parametrize(("query", "messages"), [
    ("{ products { nodes { id } } }",
     ["All connection fields in a bulk query must select their contents using 'edges' > 'node', e.g: 'products { "
      "edges { node {'. Selecting via 'nodes' is not supported. Invalid connection fields: 'products'."]),
    ("{ products { edges { node { title variants { edges { node { id } } } } } } }",
     ["The parent 'node' field for a nested connection must select the 'id' field without an alias and must be "
      "of 'ID' return type. Connection fields without 'id': products."]),
    (SIX_CONNECTIONS, ["Bulk queries cannot contain more than 5 connections."]),
    ('{ order(id: "gid://shopify/Order/1") { id name } }', ["Bulk queries must contain at least one connection."]),
    ('{ node(id: "gid://shopify/Order/1") { id } }',
     ["Bulk queries cannot contain a top level `node` field.", "Bulk queries must contain at least one connection."]),
    ("{ shop { id } }", ["Invalid bulk query: Field 'shop' doesn't exist on type 'QueryRoot'"]),
    ("{ products { edges { node { id colour } } } }",
     ["Invalid bulk query: Field 'colour' doesn't exist on type 'Product'"]),
    ('mutation { bulkOperationCancel(id: "gid://shopify/BulkOperation/1") { userErrors { message } } }',
     ["Invalid operation type. Only `query` operations are supported."]),
    ("{ products { edges", ["Invalid bulk query: Syntax Error: Expected Name, found <EOF>."]),
])
def test_invalid_bulk_queries_are_refused_with_user_errors(sim_client: SimClient, query: str,
                                                           messages: list[str]) -> None:
    assert run(sim_client, query) == {"bulkOperation": None, "userErrors": [
        {"field": ["query"], "message": message, "code": "INVALID"} for message in messages]}
    assert sim_client.control("GET", "/bulk_operations")["bulk_operations"] == []


def _with_params(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    params = {k: v[0] for k, v in parse_qs(parts.query).items()}
    return urlunsplit(parts._replace(query=urlencode({**params, **changes})))


def test_result_urls_are_signed_and_expire(sim_client: SimClient) -> None:
    configure(sim_client, url_ttl=1.5)
    done = finished(sim_client, started(sim_client, PRODUCTS))
    url = done["url"]
    assert httpx.get(url).status_code == 200
    forged = httpx.get(_with_params(url, Signature="Zm9yZ2Vk"))
    assert forged.status_code == 403 and "<Code>SignatureDoesNotMatch</Code>" in forged.text
    extended = httpx.get(_with_params(url, Expires=str(int(parse_qs(urlsplit(url).query)["Expires"][0]) + 3600)))
    assert extended.status_code == 403, "the expiry is signed too"
    unknown = httpx.get(url.replace(urlsplit(url).path.split("/")[-1], "0" * 32 + "-final"))
    assert unknown.status_code == 403
    wait_for(lambda: node(sim_client, done["id"])["status"] == "EXPIRED", timeout=5, what="the result to expire")
    expired = httpx.get(url)
    assert expired.status_code == 400 and "<Code>ExpiredToken</Code>" in expired.text
    assert "Request signature expired at:" in expired.text


def test_synthetic_catalogue_is_deterministic_and_beside_the_store(sim_client: SimClient) -> None:
    configure(sim_client)
    real = sim_client.place(2)
    catalogue = sim_client.control("POST", "/bulk_catalogue", {"orders": 1500, "products": 30, "seed": 5})
    assert (catalogue["orders"], catalogue["products"], catalogue["seed"]) == (1500, 30, 5)
    assert sim_client.control("GET", "/bulk_catalogue")["orders"] == 1500

    def file(query: str) -> bytes:
        return httpx.get(finished(sim_client, started(sim_client, query))["url"]).content

    first, second = file(SMALL_ORDERS), file(SMALL_ORDERS)
    assert hashlib.sha256(first).digest() == hashlib.sha256(second).digest(), "the same seed, the same records"
    records = [orjson.loads(line) for line in first.splitlines()]
    orders = [r for r in records if "__parentId" not in r]
    assert len(orders) == 1502
    assert [o["id"] for o in orders[:2]] == [f"gid://shopify/Order/{i}" for i in real], "the shop's own come first"
    assert [o["name"] for o in orders[2:4]] == [f"#{ORDER_NUMBER_BASE}", f"#{ORDER_NUMBER_BASE + 1}"]
    assert len({r["id"] for r in records}) == len(records), "every id is unique"
    assert {r["__parentId"] for r in records if "__parentId" in r} == {o["id"] for o in orders}, \
        "every order has lines"

    sim_client.control("POST", "/bulk_catalogue", {"orders": 1500, "products": 30, "seed": 6})
    assert file(SMALL_ORDERS) != first, "another seed, other records"
    products = [orjson.loads(line) for line in file(PRODUCTS).splitlines()]
    roots = [p for p in products if "__parentId" not in p]
    assert len(roots) == 13 + 30
    assert len(sim_client.graphql("{ orders(first: 250) { nodes { id } } }")["orders"]["nodes"]) == 2, \
        "the regular API does not see synthetic orders"
    sim_client.control("POST", "/bulk_catalogue", {"orders": -1}, expect=400)


def test_a_large_result_is_written_with_flat_memory(sim_client: SimClient) -> None:
    """Memory while writing does not grow with the number of orders: 20 times more costs about the same."""
    configure(sim_client)

    def peak(count: int) -> tuple[int, int]:
        sim_client.control("POST", "/bulk_catalogue", {"orders": count, "seed": 9})
        tracemalloc.start()
        try:
            done = finished(sim_client, started(sim_client, SMALL_ORDERS), timeout=120)
            return tracemalloc.get_traced_memory()[1], int(done["fileSize"])
        finally:
            tracemalloc.stop()

    small_peak, small_size = peak(1_000)
    large_peak, large_size = peak(20_000)
    assert large_size > 15 * small_size
    assert large_peak < small_peak + 4_000_000, (small_peak, large_peak, large_size)


def test_products_and_node_are_served_by_the_regular_api_too(sim_client: SimClient) -> None:
    [order_id] = sim_client.place(1)
    page = sim_client.graphql("""{ products(first: 2) { nodes { id handle totalInventory
        variants(first: 5) { nodes { id price inventoryItem { id } } }
        collections(first: 1) { nodes { title } } } } }""")
    assert len(page["products"]["nodes"]) == 2
    assert page["products"]["nodes"][0]["collections"]["nodes"][0]["title"] == "Apparel"
    found = sim_client.graphql("""query($id: ID!) { node(id: $id) { __typename ... on Order { name
        lineItems(first: 5) { nodes { product { id handle } } } } } }""", {"id": f"gid://shopify/Order/{order_id}"})
    assert found["node"]["__typename"] == "Order"
    product = found["node"]["lineItems"]["nodes"][0]["product"]
    sim_client.control("POST", "/products", {"action": "delete", "id": int(product["id"].rsplit("/", 1)[1])})
    again = sim_client.graphql("""query($id: ID!) { node(id: $id) { ... on Order {
        lineItems(first: 5) { nodes { product { id } } } } } }""", {"id": f"gid://shopify/Order/{order_id}"})
    assert again["node"]["lineItems"]["nodes"][0]["product"] is None, "a deleted product reads null, as on Shopify"
    assert sim_client.graphql('{ node(id: "gid://shopify/Customer/1") { id } }')["node"] is None
    bad = sim_client.graphql_response('{ node(id: "nonsense") { id } }').json()
    assert bad["errors"][0]["message"] == "Invalid global id 'nonsense'"

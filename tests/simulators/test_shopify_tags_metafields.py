"""Tags, metafields and the order note in the Admin GraphQL API, over real HTTP.

``tagsAdd``/``tagsRemove`` on orders and products (trimmed, comma lists split, case ignored, length
limits, user errors on ``id`` and ``tags``), ``metafieldsSet``/``metafieldsDelete`` on variants and
products (checked by type, all or nothing, at most 25, user errors with codes and field paths) and
read back with ``metafield``/``metafields``, and ``orderUpdate`` of the note and tags. A change bumps
``updatedAt`` and fires ``orders/updated`` or ``products/update`` once; a repeat changes nothing.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.simulators.conftest import SHOP_A, Receiver, SimClient

TAGS_ADD = """
mutation($id: ID!, $tags: [String!]!) {
  tagsAdd(id: $id, tags: $tags) {
    node { id ... on Order { tags updatedAt } ... on Product { tags updatedAt } }
    userErrors { field message }
  }
}"""

TAGS_REMOVE = TAGS_ADD.replace("tagsAdd", "tagsRemove")

SET = """
mutation($m: [MetafieldsSetInput!]!) {
  metafieldsSet(metafields: $m) {
    metafields { id namespace key type value ownerType }
    userErrors { code field message elementIndex }
  }
}"""

DELETE = """
mutation($m: [MetafieldIdentifierInput!]!) {
  metafieldsDelete(metafields: $m) { deletedMetafields { ownerId namespace key } userErrors { field message } }
}"""

PRODUCT = """
query($id: ID!) {
  product(id: $id) {
    updatedAt
    metafield(namespace: "orderhub", key: "badge") { value type }
    variants(first: 5) {
      nodes {
        id updatedAt
        kind: metafield(namespace: "orderhub", key: "presell_kind") { value type ownerType }
        metafields(first: 10, keys: ["orderhub.next_expected"]) { nodes { key value type } }
      }
    }
  }
}"""

UPDATE = """
mutation($input: OrderInput!) {
  orderUpdate(input: $input) { order { id note tags updatedAt } userErrors { field message } }
}"""


def _gid(kind: str, number: int) -> str:
    return f"gid://shopify/{kind}/{number}"


def _product(sim: SimClient, variants: int) -> dict[str, Any]:
    """A product of the shop with ``variants`` variants."""
    return next(p for p in sim.sim.store.shop(SHOP_A).products.values() if len(p["variants"]) == variants)


def _metafield(owner: str, key: str, type_: str | None, value: str, namespace: str | None = "orderhub"
               ) -> dict[str, Any]:
    given = {"ownerId": owner, "key": key, "value": value}
    if namespace is not None:
        given["namespace"] = namespace
    if type_ is not None:
        given["type"] = type_
    return given


def test_tags_add_and_remove_on_a_product_fire_one_webhook_per_change(
        sim_client: SimClient, receiver: Receiver) -> None:
    sim_client.subscribe("PRODUCTS_UPDATE", f"{receiver.url}/products")
    product = _product(sim_client, 1)
    pid = _gid("Product", product["id"])
    body = sim_client.graphql_response(TAGS_ADD, {"id": pid, "tags": [" pre-order ", "Summer 🌞, sale", "PRE-ORDER"]
                                                  }).json()
    assert body["extensions"]["cost"]["requestedQueryCost"] == 10
    added = body["data"]["tagsAdd"]
    assert added["userErrors"] == []
    assert added["node"]["id"] == pid and added["node"]["tags"] == ["pre-order", "Summer 🌞", "sale"]
    stamp = added["node"]["updatedAt"]

    again = sim_client.graphql(TAGS_ADD, {"id": pid, "tags": ["Pre-Order", "sale"]})["tagsAdd"]
    assert again["node"]["tags"] == ["pre-order", "Summer 🌞", "sale"] and again["node"]["updatedAt"] == stamp

    removed = sim_client.graphql(TAGS_REMOVE, {"id": pid, "tags": ["PRE-ORDER", "not-there"]})["tagsRemove"]
    assert removed["userErrors"] == [] and removed["node"]["tags"] == ["Summer 🌞", "sale"]
    assert removed["node"]["updatedAt"] > stamp
    nothing = sim_client.graphql(TAGS_REMOVE, {"id": pid, "tags": ["pre-order"]})["tagsRemove"]
    assert nothing["node"]["updatedAt"] == removed["node"]["updatedAt"]

    sim_client.idle()
    hooks = receiver.on("/products", "products/update")
    assert [h.json()["tags"] for h in hooks] == ["pre-order, Summer 🌞, sale", "Summer 🌞, sale"]
    assert all(h.hmac_ok and h.json()["id"] == product["id"] for h in hooks)


def test_tags_on_an_order_and_its_user_errors(sim_client: SimClient, receiver: Receiver) -> None:
    sim_client.subscribe("ORDERS_UPDATED", f"{receiver.url}/orders")
    [order_id] = sim_client.place(1)
    sim_client.idle()
    receiver.reset()
    oid = _gid("Order", order_id)
    before = sim_client.sim.store.shop(SHOP_A).orders[order_id]["tags"]

    too_long = "x" * 41
    refused = sim_client.graphql(TAGS_ADD, {"id": oid, "tags": ["backorder", too_long]})["tagsAdd"]
    assert refused == {"node": None, "userErrors": [
        {"field": ["tags"], "message": f"Tag '{too_long}' is too long (maximum is 40 characters)"}]}
    assert sim_client.sim.store.shop(SHOP_A).orders[order_id]["tags"] == before  # nothing applied

    done = sim_client.graphql(TAGS_ADD, {"id": oid, "tags": ["backorder", "y" * 40]})["tagsAdd"]
    assert done["userErrors"] == [] and done["node"]["tags"][-2:] == ["backorder", "y" * 40]
    removed = sim_client.graphql(TAGS_REMOVE, {"id": oid, "tags": ["BACKORDER"]})["tagsRemove"]
    assert "backorder" not in removed["node"]["tags"]

    missing = _gid("Order", order_id + 2)
    assert sim_client.graphql(TAGS_ADD, {"id": missing, "tags": ["a"]})["tagsAdd"] == {
        "node": None, "userErrors": [{"field": ["id"], "message": f"Order not found: {missing}"}]}
    variant = _gid("ProductVariant", _product(sim_client, 1)["variants"][0]["id"])  # variants have no tags
    assert sim_client.graphql(TAGS_ADD, {"id": variant, "tags": ["a"]})["tagsAdd"]["userErrors"][0]["field"] == ["id"]
    malformed = sim_client.graphql_response(TAGS_ADD, {"id": "gid://shopify/Order/abc", "tags": ["a"]}).json()
    assert malformed["errors"][0]["message"] == "Invalid global id 'gid://shopify/Order/abc'"

    sim_client.idle()
    hooks = receiver.on("/orders", "orders/updated")
    assert len(hooks) == 2  # the add and the remove; the refused add sent nothing
    # One with the tag, one without: Shopify does not promise the order deliveries arrive in, nor does its simulator.
    assert sorted("backorder" in h.json()["tags"] for h in hooks) == [False, True]


def test_a_product_holds_at_most_250_tags_of_255_characters(sim_client: SimClient) -> None:
    pid = _gid("Product", _product(sim_client, 1)["id"])
    long_tag = "t" * 256
    errors = sim_client.graphql(TAGS_ADD, {"id": pid, "tags": [long_tag]})["tagsAdd"]["userErrors"]
    assert errors == [{"field": ["tags"], "message": f"Tag '{long_tag}' is too long (maximum is 255 characters)"}]
    assert sim_client.graphql(TAGS_ADD, {"id": pid, "tags": [f"tag-{i}" for i in range(250)]}
                              )["tagsAdd"]["userErrors"] == []
    full = sim_client.graphql(TAGS_ADD, {"id": pid, "tags": ["one-more"]})["tagsAdd"]
    assert full == {"node": None, "userErrors": [{"field": ["tags"], "message": "A product can have at most 250 tags"}]}


def test_metafields_set_on_variants_reads_back_and_fires_products_update_once(
        sim_client: SimClient, receiver: Receiver) -> None:
    sim_client.subscribe("PRODUCTS_UPDATE", f"{receiver.url}/products")
    product = _product(sim_client, 3)
    pid = _gid("Product", product["id"])
    first, second, _third = (_gid("ProductVariant", v["id"]) for v in product["variants"])
    before = sim_client.graphql(PRODUCT, {"id": pid})["product"]
    inputs = [_metafield(first, "presell_kind", "single_line_text_field", "preorder"),
              _metafield(first, "next_expected", "date", "2026-12-01"),
              _metafield(second, "presell_kind", "single_line_text_field", "backorder"),
              _metafield(pid, "badge", "single_line_text_field", "Bientôt ⏳")]
    body = sim_client.graphql_response(SET, {"m": inputs}).json()
    assert body["extensions"]["cost"]["actualQueryCost"] == 10
    payload = body["data"]["metafieldsSet"]
    assert payload["userErrors"] == []
    assert [(m["key"], m["value"], m["ownerType"]) for m in payload["metafields"]] == [
        ("presell_kind", "preorder", "PRODUCTVARIANT"), ("next_expected", "2026-12-01", "PRODUCTVARIANT"),
        ("presell_kind", "backorder", "PRODUCTVARIANT"), ("badge", "Bientôt ⏳", "PRODUCT")]
    assert all(m["id"].startswith("gid://shopify/Metafield/") for m in payload["metafields"])

    after = sim_client.graphql(PRODUCT, {"id": pid})["product"]
    assert after["metafield"] == {"value": "Bientôt ⏳", "type": "single_line_text_field"}
    one, two, three = after["variants"]["nodes"]
    assert one["kind"] == {"value": "preorder", "type": "single_line_text_field", "ownerType": "PRODUCTVARIANT"}
    assert one["metafields"]["nodes"] == [{"key": "next_expected", "value": "2026-12-01", "type": "date"}]
    assert two["kind"]["value"] == "backorder" and two["metafields"]["nodes"] == []
    assert three["kind"] is None
    assert after["updatedAt"] > before["updatedAt"]
    assert one["updatedAt"] > before["variants"]["nodes"][0]["updatedAt"]
    assert three["updatedAt"] == before["variants"]["nodes"][2]["updatedAt"]  # not changed

    # The same values again: nothing changes, no webhook; a new value with the type left out keeps the type.
    same = sim_client.graphql(SET, {"m": inputs})["metafieldsSet"]
    assert [m["id"] for m in same["metafields"]] == [m["id"] for m in payload["metafields"]]
    assert sim_client.graphql(PRODUCT, {"id": pid})["product"]["updatedAt"] == after["updatedAt"]
    moved = sim_client.graphql(SET, {"m": [_metafield(first, "next_expected", None, "2026-12-24")]})["metafieldsSet"]
    assert moved["userErrors"] == [] and moved["metafields"][0]["type"] == "date"

    sim_client.idle()
    hooks = receiver.on("/products", "products/update")
    assert len(hooks) == 2  # one per mutation that changed something, not one per metafield or variant
    assert all(h.json()["id"] == product["id"] for h in hooks)
    assert hooks[0].json()["updated_at"] < hooks[1].json()["updated_at"]


def test_metafields_set_is_all_or_nothing_with_codes_and_field_paths(sim_client: SimClient) -> None:
    product = _product(sim_client, 1)
    variant = _gid("ProductVariant", product["variants"][0]["id"])
    inputs = [_metafield(variant, "presell_kind", "single_line_text_field", "preorder"),
              _metafield(variant, "next_expected", "date", "2026-02-30"),
              _metafield(variant, "k", "date", "2026-01-01"),
              _metafield(variant, "count", "number_integer", "12.5"),
              _metafield(variant, "kind", "colour", "red"),
              _metafield(variant, "fresh", None, "x"),
              _metafield(_gid("ProductVariant", 1), "presell_kind", "single_line_text_field", "none"),
              _metafield(variant, "line", "single_line_text_field", "two\nlines", namespace="oh")]
    payload = sim_client.graphql(SET, {"m": inputs})["metafieldsSet"]
    assert payload["metafields"] is None
    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [
        ("INVALID_VALUE", ["metafields", "1", "value"]),
        ("TOO_SHORT", ["metafields", "2", "key"]),
        ("INVALID_VALUE", ["metafields", "3", "value"]),
        ("INVALID_TYPE", ["metafields", "4", "type"]),
        ("BLANK", ["metafields", "5", "type"]),
        ("INVALID", ["metafields", "6", "ownerId"]),
        ("TOO_SHORT", ["metafields", "7", "namespace"]),
        ("INVALID_VALUE", ["metafields", "7", "value"])]
    assert payload["userErrors"][0]["message"] == "Value must be a valid date in the YYYY-MM-DD format."
    assert payload["userErrors"][5]["message"] == "Owner does not exist."
    nodes = sim_client.graphql(PRODUCT, {"id": _gid("Product", product["id"])})["product"]["variants"]["nodes"]
    assert nodes[0]["kind"] is None  # the good first input was not stored either

    many = [_metafield(variant, f"key_{i}", "number_integer", str(i)) for i in range(26)]
    assert sim_client.graphql(SET, {"m": many})["metafieldsSet"] == {"metafields": None, "userErrors": [{
        "code": "LESS_THAN_OR_EQUAL_TO", "field": ["metafields"],
        "message": "Exceeded the maximum metafields input limit of 25.", "elementIndex": None}]}
    assert len(sim_client.graphql(SET, {"m": many[:25]})["metafieldsSet"]["metafields"]) == 25


@pytest.mark.parametrize(("type_", "good", "bad"), [
    ("boolean", "true", "yes"), ("number_decimal", "-12.50", "1e5"), ("json", '{"a": [1]}', "{a}"),
    ("date_time", "2026-12-01T10:00:00Z", "2026-12-01"), ("url", "https://shop.example/p", "shop.example"),
    ("color", "#1a2B3c", "red"), ("number_integer", "-9007199254740991", "9007199254740992"),
    ("multi_line_text_field", "a\nb", "")])
def test_values_are_checked_by_type(sim_client: SimClient, type_: str, good: str, bad: str) -> None:
    variant = _gid("ProductVariant", _product(sim_client, 1)["variants"][0]["id"])
    ok = sim_client.graphql(SET, {"m": [_metafield(variant, "checked", type_, good)]})["metafieldsSet"]
    assert ok["userErrors"] == [] and ok["metafields"][0]["value"] == good
    refused = sim_client.graphql(SET, {"m": [_metafield(variant, "checked", type_, bad)]})["metafieldsSet"]
    assert [e["code"] for e in refused["userErrors"]] == (["BLANK"] if bad == "" else ["INVALID_VALUE"])


def test_metafields_delete_answers_null_for_what_does_not_exist(sim_client: SimClient, receiver: Receiver) -> None:
    product = _product(sim_client, 2)
    pid = _gid("Product", product["id"])
    variant = _gid("ProductVariant", product["variants"][0]["id"])
    sim_client.graphql(SET, {"m": [_metafield(variant, "next_expected", "date", "2026-12-01")]})
    sim_client.subscribe("PRODUCTS_UPDATE", f"{receiver.url}/products")
    stamp = sim_client.graphql(PRODUCT, {"id": pid})["product"]["updatedAt"]
    gone = sim_client.graphql(DELETE, {"m": [{"ownerId": variant, "namespace": "orderhub", "key": "next_expected"},
                                             {"ownerId": variant, "namespace": "orderhub", "key": "never"}]})
    assert gone["metafieldsDelete"] == {"userErrors": [], "deletedMetafields": [
        {"ownerId": variant, "namespace": "orderhub", "key": "next_expected"}, None]}
    after = sim_client.graphql(PRODUCT, {"id": pid})["product"]
    assert after["variants"]["nodes"][0]["metafields"]["nodes"] == [] and after["updatedAt"] > stamp
    again = sim_client.graphql(DELETE, {"m": [{"ownerId": variant, "namespace": "orderhub", "key": "next_expected"}]})
    assert again["metafieldsDelete"]["deletedMetafields"] == [None]
    sim_client.idle()
    assert len(receiver.on("/products", "products/update")) == 1


def test_order_update_sets_the_note_and_overwrites_tags(sim_client: SimClient, receiver: Receiver) -> None:
    sim_client.subscribe("ORDERS_UPDATED", f"{receiver.url}/orders")
    [order_id] = sim_client.place(1)
    sim_client.idle()
    receiver.reset()
    oid = _gid("Order", order_id)
    note = "Bitte klingeln 🔔\n\n[orderhub promise dates]\nPromise date: 2026-12-01\n[/orderhub promise dates]"
    updated = sim_client.graphql(UPDATE, {"input": {"id": oid, "note": note, "tags": ["pre-order", " vip "]}})
    order = updated["orderUpdate"]["order"]
    assert updated["orderUpdate"]["userErrors"] == []
    assert (order["id"], order["note"], order["tags"]) == (oid, note, ["pre-order", "vip"])
    same = sim_client.graphql(UPDATE, {"input": {"id": oid, "note": note}})["orderUpdate"]["order"]
    assert same["updatedAt"] == order["updatedAt"]  # nothing changed
    stored = sim_client.sim.store.shop(SHOP_A).orders[order_id]
    assert (stored["note"], stored["tags"]) == (note, "pre-order, vip")

    missing = sim_client.graphql(UPDATE, {"input": {"id": _gid("Order", order_id + 2), "note": "x"}})
    assert missing["orderUpdate"] == {"order": None, "userErrors": [{"field": ["input", "id"],
                                                                     "message": "Order does not exist"}]}
    long_tag = sim_client.graphql(UPDATE, {"input": {"id": oid, "tags": ["z" * 41]}})["orderUpdate"]
    assert long_tag["order"] is None and long_tag["userErrors"][0]["field"] == ["input", "tags"]

    sim_client.idle()
    [hook] = receiver.on("/orders", "orders/updated")
    assert hook.json()["note"] == note and hook.json()["tags"] == "pre-order, vip"


def test_orders_can_be_placed_for_chosen_skus(sim_client: SimClient) -> None:
    ids = sim_client.place(5, skus=["MUG-CAFE", "TEA-MATCHA-50"])
    orders = sim_client.sim.store.shop(SHOP_A).orders
    assert {li["sku"] for i in ids for li in orders[i]["line_items"]} <= {"MUG-CAFE", "TEA-MATCHA-50"}
    refused = sim_client.control("POST", "/orders", {"shop": SHOP_A, "count": 1, "skus": ["NOPE"]}, expect=409)
    assert refused["error"] == (f"shop {SHOP_A} has no products to order with the SKUs NOPE; create one with "
                                "POST /_sim/products")

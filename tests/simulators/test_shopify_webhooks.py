"""Webhook delivery over real HTTP: signatures, headers, topics, retries, removal, duplicates, ordering."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import orjson
import pytest

from orderhub.simulators.shopify.store import TWO_TO_53
from orderhub.testing.postgres import free_port
from tests.processes import wait_for
from tests.simulators.conftest import (
    API_VERSION,
    FAST_RETRIES,
    SHOP_A,
    SHOP_B,
    Receiver,
    SimClient,
)

REQUIRED_HEADERS = ("content-type", "x-shopify-topic", "x-shopify-hmac-sha256", "x-shopify-shop-domain",
                    "x-shopify-api-version", "x-shopify-webhook-id", "x-shopify-event-id", "x-shopify-triggered-at")


def test_webhooks_are_signed_with_each_shops_secret_and_carry_shopifys_headers(
        sim_client: SimClient, receiver: Receiver) -> None:
    sim_client.subscribe("ORDERS_CREATE", f"{receiver.url}/hooks", shop=SHOP_A)
    sim_client.subscribe("ORDERS_CREATE", f"{receiver.url}/hooks", shop=SHOP_B)
    [a_id] = sim_client.place(1, shop=SHOP_A)
    [b_id] = sim_client.place(1, shop=SHOP_B)
    sim_client.idle()
    got = receiver.on("/hooks", "orders/create")
    assert len(got) == 2
    for r in got:
        assert r.hmac_ok, f"HMAC of {r.headers['x-shopify-shop-domain']} does not verify"
        assert all(r.headers.get(h) for h in REQUIRED_HEADERS), r.headers
        assert r.headers["content-type"] == "application/json"
        assert r.headers["x-shopify-api-version"] == API_VERSION
        uuid.UUID(r.headers["x-shopify-webhook-id"])
        uuid.UUID(r.headers["x-shopify-event-id"])
        datetime.fromisoformat(r.headers["x-shopify-triggered-at"])
    by_shop = {r.headers["x-shopify-shop-domain"]: r.json() for r in got}
    assert by_shop[SHOP_A]["id"] == a_id and by_shop[SHOP_B]["id"] == b_id
    assert a_id > TWO_TO_53 and str(a_id).encode() in got[0].body + got[1].body


def test_a_signature_does_not_verify_with_another_shops_secret(sim_client: SimClient, receiver: Receiver) -> None:
    sim_client.subscribe("ORDERS_CREATE", f"{receiver.url}/hooks", shop=SHOP_B)
    receiver.secrets[SHOP_B] = receiver.secrets[SHOP_A]
    sim_client.place(1, shop=SHOP_B)
    sim_client.idle()
    assert [r.hmac_ok for r in receiver.on("/hooks")] == [False]


def test_creation_fires_create_then_updated_with_one_version_and_each_change_a_later_one(
        sim_client: SimClient, receiver: Receiver) -> None:
    for topic in ("ORDERS_CREATE", "ORDERS_UPDATED", "ORDERS_PAID"):
        sim_client.subscribe(topic, f"{receiver.url}/hooks")
    [order_id] = sim_client.place(1, seed=5)
    order = sim_client.control("GET", f"/orders/{order_id}")["order"]
    if order["financial_status"] == "paid":  # make it payable first, without webhooks on the way
        sim_client.sim.store.shop(SHOP_A).orders[order_id]["financial_status"] = "pending"
    sim_client.control("POST", f"/orders/{order_id}/pay", {})
    sim_client.control("POST", f"/orders/{order_id}/update", {"note": "второй раз 🦋"})
    sim_client.idle()
    by_topic: dict[str, list[dict]] = {}
    for r in receiver.on("/hooks"):
        by_topic.setdefault(r.topic, []).append(r.json())
    [created] = by_topic["orders/create"]
    [paid] = by_topic["orders/paid"]
    versions = sorted(datetime.fromisoformat(p["updated_at"]) for p in by_topic["orders/updated"])
    assert len(versions) == 3
    assert versions[0] == datetime.fromisoformat(created["updated_at"])
    assert datetime.fromisoformat(paid["updated_at"]) == versions[1] and paid["financial_status"] == "paid"
    assert versions[1] - versions[0] >= timedelta(seconds=1) and versions[2] - versions[1] >= timedelta(seconds=1)
    assert created["updated_at"].endswith("-05:00")


def test_failed_delivery_is_retried_on_schedule_with_the_same_webhook_id(
        sim_client: SimClient, receiver: Receiver) -> None:
    sim_client.subscribe("ORDERS_CREATE", f"{receiver.url}/flaky")
    receiver.plan("/flaky", [500, 503, 404])
    sim_client.place(1)
    sim_client.idle()
    got = receiver.on("/flaky")
    assert len(got) == 4
    assert len({r.webhook_id for r in got}) == 1
    assert len({r.headers["x-shopify-event-id"] for r in got}) == 1
    assert len({r.body for r in got}) == 1 and all(r.hmac_ok for r in got)
    for before, after, delay in zip(got, got[1:], FAST_RETRIES):
        assert after.at - before.at >= delay, "a retry came before its scheduled delay"
    log = sim_client.deliveries(webhook_id=got[0].webhook_id)
    assert [(e["attempt"], e["status"], e["outcome"], e["delay"]) for e in log] == [
        (1, 500, "retry_scheduled", None), (2, 503, "retry_scheduled", FAST_RETRIES[0]),
        (3, 404, "retry_scheduled", FAST_RETRIES[1]), (4, 200, "delivered", FAST_RETRIES[2])]


def test_timeouts_and_refused_connections_count_as_failures(sim_client: SimClient, receiver: Receiver) -> None:
    sim_client.control("POST", "/config", {"timeout": 0.2, "retry_schedule": [0.01]})
    sim_client.subscribe("ORDERS_CREATE", f"{receiver.url}/slow")
    receiver.plan("/slow", [1.0])
    sim_client.subscribe("ORDERS_CREATE", f"http://127.0.0.1:{free_port()}/nobody-listens")
    sim_client.place(1)
    sim_client.idle()
    slow = [(e["attempt"], e["outcome"], (e["error"] or "").split(":")[0]) for e in sim_client.deliveries()
            if e["callback_url"].endswith("/slow")]
    assert slow == [(1, "retry_scheduled", "ReadTimeout"), (2, "delivered", "")]
    refused = [e for e in sim_client.deliveries() if "nobody-listens" in e["callback_url"]]
    assert [e["outcome"] for e in refused] == ["retry_scheduled", "failed"]
    assert all(e["status"] is None and e["error"].startswith("ConnectError") for e in refused)


def test_subscription_is_removed_after_eight_consecutive_failures(sim_client: SimClient, receiver: Receiver) -> None:
    sim_client.control("POST", "/config", {"retry_schedule": [0.01] * 12})
    sim_client.subscribe("ORDERS_CREATE", f"{receiver.url}/down")
    sim_client.subscribe("ORDERS_CREATE", f"{receiver.url}/up")
    receiver.always("/down", 500)
    sim_client.place(1)
    sim_client.idle()
    assert len(receiver.on("/down")) == 8
    outcomes = [e["outcome"] for e in sim_client.deliveries() if e["callback_url"].endswith("/down")]
    assert outcomes == ["retry_scheduled"] * 7 + ["subscription_removed"]
    remaining = [s["address"] for s in sim_client.control("GET", f"/subscriptions?shop={SHOP_A}")["subscriptions"]]
    assert remaining == [f"{receiver.url}/up"]
    listed = sim_client.graphql("{ webhookSubscriptions(first: 10) { nodes { callbackUrl } } }")
    assert [n["callbackUrl"] for n in listed["webhookSubscriptions"]["nodes"]] == [f"{receiver.url}/up"]
    sim_client.place(1)
    sim_client.idle()
    assert len(receiver.on("/down")) == 8 and len(receiver.on("/up")) == 2


def test_a_success_resets_the_failure_count(sim_client: SimClient, receiver: Receiver) -> None:
    sim_client.control("POST", "/config", {"retry_schedule": [0.01] * 12})
    sim_client.subscribe("ORDERS_CREATE", f"{receiver.url}/shaky")
    receiver.plan("/shaky", [500] * 5)
    sim_client.place(1)
    sim_client.idle()
    [sub] = sim_client.control("GET", "/subscriptions")["subscriptions"]
    assert sub["consecutive_failures"] == 0
    receiver.plan("/shaky", [500] * 5)
    sim_client.place(1)
    sim_client.idle()
    [sub] = sim_client.control("GET", "/subscriptions")["subscriptions"]
    assert sub["consecutive_failures"] == 0, "ten failures in all, but never eight in a row: it must stay"
    assert len(receiver.on("/shaky")) == 12


def test_a_short_outage_failing_many_webhooks_once_keeps_the_subscription(sim_client: SimClient,
                                                                          receiver: Receiver) -> None:
    sim_client.control("POST", "/config", {"retry_schedule": [0.01] * 12})
    sim_client.subscribe("ORDERS_CREATE", f"{receiver.url}/outage")
    receiver.plan("/outage", [503] * 10)
    sim_client.place(10)
    sim_client.idle()
    [sub] = sim_client.control("GET", "/subscriptions")["subscriptions"]
    assert sub["address"] == f"{receiver.url}/outage"
    assert len({r.webhook_id for r in receiver.on("/outage")}) == 10


def test_duplicate_rate_delivers_the_same_webhook_twice_under_one_id(sim_client: SimClient,
                                                                     receiver: Receiver) -> None:
    sim_client.subscribe("ORDERS_CREATE", f"{receiver.url}/hooks")
    sim_client.control("POST", "/config", {"duplicate_rate": 1.0})
    sim_client.place(3)
    sim_client.idle()
    got = receiver.on("/hooks")
    assert len(got) == 6
    by_id: dict[str, list[bytes]] = {}
    for r in got:
        by_id.setdefault(r.webhook_id, []).append(r.body)
    assert len(by_id) == 3 and all(len(bodies) == 2 and bodies[0] == bodies[1] for bodies in by_id.values())
    assert sum(e["duplicate"] for e in sim_client.deliveries()) == 3
    sim_client.control("POST", "/config", {"duplicate_rate": 0.0})
    sim_client.place(2)
    sim_client.idle()
    assert len(receiver.on("/hooks")) == 8


def test_jitter_makes_webhooks_arrive_out_of_order(sim_client: SimClient, receiver: Receiver) -> None:
    sim_client.subscribe("ORDERS_CREATE", f"{receiver.url}/hooks")
    sim_client.control("POST", "/config", {"jitter": 0.3})
    placed = sim_client.place(20)
    sim_client.idle()
    arrived = [r.json()["id"] for r in sorted(receiver.on("/hooks"), key=lambda r: r.at)]
    assert sorted(arrived) == sorted(placed)
    assert arrived != placed


@pytest.mark.parametrize(("action", "body", "topics"), [
    ("pay", {}, ["orders/paid", "orders/updated"]),
    ("cancel", {"reason": "fraud"}, ["orders/cancelled", "orders/updated"]),
    ("fulfill", {}, ["orders/fulfilled", "orders/updated"]),
    ("partially_fulfill", {}, ["orders/partially_fulfilled", "orders/updated"]),
    ("edit", {"quantity": 7}, ["orders/edited", "orders/updated"]),
    ("refund", {"quantity": 1}, ["refunds/create", "orders/updated"]),
    ("update", {"tags": ["a", "🦋"]}, ["orders/updated"]),
])
def test_each_order_change_fires_shopifys_topics(sim_client: SimClient, receiver: Receiver, action: str,
                                                 body: dict, topics: list[str]) -> None:
    for enum in ("ORDERS_UPDATED", "ORDERS_PAID", "ORDERS_CANCELLED", "ORDERS_FULFILLED",
                 "ORDERS_PARTIALLY_FULFILLED", "ORDERS_EDITED", "REFUNDS_CREATE"):
        sim_client.subscribe(enum, f"{receiver.url}/{enum.lower()}")
    [order_id] = sim_client.place(1)
    shop = sim_client.sim.store.shop(SHOP_A)
    with sim_client.sim.store.lock:  # a known starting point: pending, two lines of two units
        order = shop.orders[order_id]
        order["financial_status"] = "paid" if action == "refund" else "pending"
        for line in order["line_items"]:
            line["quantity"] = line["current_quantity"] = line["fulfillable_quantity"] = 2
    sim_client.idle()
    receiver.received.clear()
    answer = sim_client.control("POST", f"/orders/{order_id}/{action}", body)
    sim_client.idle()
    assert answer["topics"] == topics
    assert sorted(r.topic for r in receiver.received) == sorted(topics)
    payloads = {r.topic: r.json() for r in receiver.received}
    updated = payloads["orders/updated"]
    assert updated["id"] == order_id and updated["updated_at"] == answer["updated_at"]
    if action == "edit":
        edit = payloads["orders/edited"]["order_edit"]
        assert edit["order_id"] == order_id
        assert edit["line_items"]["additions"] == [{"id": updated["line_items"][0]["id"], "delta": 5}]
        assert edit["line_items"]["removals"] == []
        assert updated["line_items"][0]["current_quantity"] == 7
    if action == "refund":
        refund = payloads["refunds/create"]
        assert refund["order_id"] == order_id
        [line] = refund["refund_line_items"]
        assert line["quantity"] == 1 and line["line_item"]["id"] == line["line_item_id"]
        [transaction] = refund["transactions"]
        assert transaction["kind"] == "refund" and transaction["status"] == "success"
        assert transaction["amount"] == f"{float(line['subtotal']) + float(line['total_tax']):.2f}"
        assert updated["financial_status"] == "partially_refunded"
    if action == "cancel":
        assert updated["cancel_reason"] == "fraud" and updated["cancelled_at"] == updated["updated_at"]
        assert updated["financial_status"] == "voided"
    if action == "partially_fulfill":
        assert updated["fulfillment_status"] == "partial"


def test_changes_shopify_would_refuse_answer_409(sim_client: SimClient) -> None:
    [order_id] = sim_client.place(1)
    sim_client.control("POST", f"/orders/{order_id}/cancel", {})
    answer = sim_client.control("POST", f"/orders/{order_id}/fulfill", {}, expect=409)
    assert "cancelled" in answer["error"]
    sim_client.control("POST", "/orders/1/pay", {}, expect=404)
    sim_client.control("POST", f"/orders/{order_id}/teleport", {}, expect=409)


def test_products_and_inventory_levels_fire_their_topics(sim_client: SimClient, receiver: Receiver) -> None:
    for enum in ("PRODUCTS_CREATE", "PRODUCTS_UPDATE", "PRODUCTS_DELETE", "INVENTORY_LEVELS_UPDATE"):
        sim_client.subscribe(enum, f"{receiver.url}/hooks")
    product = sim_client.control("POST", "/products",
                                 {"title": "Ποτήρι 🍷", "price": "12.5", "sku": "GLS-1"})["product"]
    sim_client.control("POST", "/products", {"action": "update", "id": product["id"], "price": "14"})
    listing = sim_client.control("GET", "/products")
    level = {"inventory_item_id": product["variants"][0]["inventory_item_id"], "location_id": listing["locations"][1],
             "available": 17}
    sim_client.control("POST", "/inventory_levels", level)
    sim_client.control("POST", "/products", {"action": "delete", "id": product["id"]})
    sim_client.idle()
    payloads = {r.topic: r.json() for r in receiver.on("/hooks")}
    assert payloads["products/create"]["variants"][0]["price"] == "12.50"
    assert payloads["products/update"]["variants"][0]["price"] == "14.00"
    assert payloads["products/update"]["updated_at"] > payloads["products/create"]["updated_at"]
    assert payloads["products/delete"] == {"id": product["id"]}
    inventory = payloads["inventory_levels/update"]
    assert {k: inventory[k] for k in level} == level
    assert inventory["admin_graphql_api_id"].startswith(f"gid://shopify/InventoryLevel/{level['location_id']}?")
    assert set(inventory) == {*level, "updated_at", "admin_graphql_api_id"}


def test_uninstall_sends_app_uninstalled_then_revokes_access(sim_client: SimClient, receiver: Receiver) -> None:
    sim_client.subscribe("APP_UNINSTALLED", f"{receiver.url}/hooks")
    sim_client.control("POST", f"/shops/{SHOP_A}/uninstall", {})
    sim_client.idle()
    [r] = receiver.on("/hooks")
    assert r.topic == "app/uninstalled" and r.hmac_ok
    assert orjson.loads(r.body)["myshopify_domain"] == SHOP_A
    assert sim_client.graphql_response("{ orders(first: 1) { nodes { id } } }").status_code == 401
    assert sim_client.control("GET", f"/subscriptions?shop={SHOP_A}")["subscriptions"] == []


def test_wait_idle_reports_a_queue_that_is_still_busy(sim_client: SimClient, receiver: Receiver) -> None:
    sim_client.control("POST", "/config", {"retry_schedule": [30.0]})
    sim_client.subscribe("ORDERS_CREATE", f"{receiver.url}/down")
    receiver.always("/down", 500)
    sim_client.place(1)
    wait_for(lambda: receiver.on("/down"), timeout=10, what="first attempt")
    answer = sim_client.control("POST", "/wait_idle", {"timeout": 0.1})
    assert answer == {"idle": False, "pending": 1}

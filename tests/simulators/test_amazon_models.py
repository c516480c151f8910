"""Amazon simulator against Amazon's published models and samples; the order generator; listings and feed
errors; ORDER_CHANGE notifications delivered as EventBridge delivers them."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from orderhub.simulators.amazon.generator import KINDS, generate
from orderhub.simulators.amazon.models import check, check_schema
from orderhub.simulators.amazon.samples import load
from tests.simulators.test_amazon_support import (
    EPOCH,
    SELLER_A,
    US,
    Amazon,
    Receiver,
    SwitchApp,
    fresh,
    serve,
)


@pytest.fixture(scope="module")
def _server() -> Iterator[tuple[SwitchApp, httpx.Client, str]]:
    yield from serve()


@pytest.fixture
def amazon(_server: tuple[SwitchApp, httpx.Client, str]) -> Iterator[Amazon]:
    yield from fresh(*_server)


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    r.server.start()
    yield r
    r.server.stop()


# -- the published samples and models


def test_the_structural_check_finds_what_the_model_refuses() -> None:
    good = load("orders_v0_samples.json")["getOrders"][0]["response"]
    assert check(good, "orders_v0", "GetOrdersResponse") == []
    bad = json.loads(json.dumps(good))
    bad["payload"]["Orders"][0]["OrderStatus"] = "Lost"
    del bad["payload"]["Orders"][0]["PurchaseDate"]
    bad["payload"]["Orders"][0]["OrderTotal"]["Amount"] = 11.01
    problems = check(bad, "orders_v0", "GetOrdersResponse")
    assert len(problems) == 3 and any("PurchaseDate is required" in p for p in problems)


def test_published_sample_responses_fit_their_models() -> None:
    for model, operation, definition in (("orders_v0", "getOrders", "GetOrdersResponse"),
                                         ("orders_v0", "getOrderItems", "GetOrderItemsResponse"),
                                         ("feeds_2021_06_30", "getFeed", "Feed"),
                                         ("listings_2021_08_01", "patchListingsItem",
                                          "ListingsItemSubmissionResponse")):
        for sample in load(f"{model}_samples.json")[operation]:
            if sample["status"] < 300 and sample["response"]:
                assert check(sample["response"], model, definition) == [], (operation, sample["request"])
    assert check_schema(load("listings_feed_processing_report_schema_v2_example.json"),
                        "listings_feed_processing_report_schema_v2.json") == []
    assert check_schema(load("order_change_notification_example.json"), "order_change_notification_schema.json") == []


def test_the_published_confirm_shipment_samples_are_answered_as_published(amazon: Amazon) -> None:
    samples = load("orders_v0_samples.json")["confirmShipment"]
    ok = next(s for s in samples if s["status"] == 204)["request"]["parameters"]
    bad = next(s for s in samples if s["status"] == 400)["request"]["parameters"]
    order_id = ok["orderId"]["value"]
    item_id = ok["body"]["value"]["packageDetail"]["orderItems"][0]["orderItemId"]
    amazon.orders({"orders": [{"amazon_order_id": order_id, "lines": [{"sku": "MUG-CAFE", "quantity": 1}]}]})
    amazon.sim.orders.change(order_id, lambda o: setattr(o.items[0], "order_item_id", item_id),
                             "OrderStatusChange", "test: the sample's item id")
    path = f"/orders/v0/orders/{order_id}/shipmentConfirmation"
    refused = amazon.call("POST", path, json=bad["body"]["value"])
    assert refused.status_code == 400 and refused.json()["errors"][0]["code"] == "InvalidInput"
    accepted = amazon.call("POST", path, json=ok["body"]["value"])
    assert accepted.status_code == 204, accepted.text


def test_the_published_feed_example_is_accepted_message_by_message(amazon: Amazon) -> None:
    example = json.loads(json.dumps(load("listings_feed_schema_v2_example.json")))
    example["header"]["sellerId"] = SELLER_A
    for message, sku in zip(example["messages"], ("MUG-CAFE", "SOAP-LAV", "NEW-SKU-Ω", "TEA-MATCHA-50",
                                                   "SCF-HANBOK"), strict=True):
        message["sku"] = sku  # the example's SKUs are placeholders; these are listed (or created by UPDATE)
    report = _run_feed(amazon, json.dumps(example).encode())
    assert check_schema(report, "listings_feed_processing_report_schema_v2.json") == []
    assert report["summary"] == {"errors": 0, "warnings": 0, "messagesProcessed": 5, "messagesAccepted": 5,
                                 "messagesInvalid": 0}
    shown = {r["sku"]: r["quantities"] for r in amazon.control("GET", f"/listings?seller_id={SELLER_A}")["listings"]}
    assert "MUG-CAFE" not in shown  # DELETE
    assert shown["SOAP-LAV"] == {"DEFAULT": 10} and shown["NEW-SKU-Ω"] == {"AMAZON_NA": 10}
    assert shown["TEA-MATCHA-50"] == {"DEFAULT": 10} and shown["SCF-HANBOK"] == {"DEFAULT": 10}


def test_every_answer_fits_its_model(amazon: Amazon) -> None:
    orders = amazon.orders({"count": 10})
    amazon.advance(150)
    listed = amazon.list_orders(CreatedAfter=EPOCH).json()
    assert check(listed, "orders_v0", "GetOrdersResponse") == []
    for order_id in orders:
        assert check(amazon.get(f"/orders/v0/orders/{order_id}").json(), "orders_v0", "GetOrderResponse") == []
        items = amazon.get(f"/orders/v0/orders/{order_id}/orderItems").json()
        assert check(items, "orders_v0", "GetOrderItemsResponse") == []
    errors = amazon.list_orders().json()
    assert check(errors, "orders_v0", "GetOrdersResponse") == [] and errors["errors"]
    patched = amazon.call("PATCH", f"/listings/2021-08-01/items/{SELLER_A}/MUG-CAFE", params={"marketplaceIds": US},
                          json={"productType": "DRINKING_CUP", "patches": [
                              {"op": "replace", "path": "/attributes/fulfillment_availability",
                               "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 3}]}]}).json()
    assert check(patched, "listings_2021_08_01", "ListingsItemSubmissionResponse") == []
    item = amazon.get(f"/listings/2021-08-01/items/{SELLER_A}/MUG-CAFE",
                      params={"marketplaceIds": US, "includedData": "summaries,fulfillmentAvailability"}).json()
    assert check(item, "listings_2021_08_01", "Item") == []


# -- listings and feed errors


def test_listing_patches_with_problems_come_back_invalid(amazon: Amazon) -> None:
    def patch(sku: str, value: object) -> dict[str, object]:
        response = amazon.call("PATCH", f"/listings/2021-08-01/items/{SELLER_A}/{sku}", params={"marketplaceIds": US},
                               json={"productType": "X", "patches": [
                                   {"op": "replace", "path": "/attributes/fulfillment_availability",
                                    "value": value}]})
        assert response.status_code == 200, response.text
        return dict(response.json())

    assert patch("NOPE", [{"fulfillment_channel_code": "DEFAULT", "quantity": 1}])["issues"][0]["code"] == \
        "SKU_NOT_FOUND"
    negative = patch("MUG-CAFE", [{"fulfillment_channel_code": "DEFAULT", "quantity": -2}])
    assert negative["status"] == "INVALID" and negative["issues"][0]["code"] == "INVALID_QUANTITY"
    assert amazon.control("GET", "/stock_updates")["stock_updates"] == []
    no_type = amazon.call("PATCH", f"/listings/2021-08-01/items/{SELLER_A}/MUG-CAFE", params={"marketplaceIds": US},
                          json={"patches": []})
    assert no_type.status_code == 400 and "productType is required" in no_type.json()["errors"][0]["message"]
    other = amazon.get("/listings/2021-08-01/items/A2TESTSELLEREU/MUG-CAFE", params={"marketplaceIds": US})
    assert other.status_code == 403
    missing = amazon.get(f"/listings/2021-08-01/items/{SELLER_A}/NOPE", params={"marketplaceIds": US})
    assert missing.status_code == 404 and missing.json()["errors"][0]["code"] == "NOT_FOUND"


def _run_feed(amazon: Amazon, content: bytes) -> dict[str, object]:
    doc = amazon.call("POST", "/feeds/2021-06-30/documents", json={"contentType": "application/json"})
    assert doc.status_code == 201
    assert amazon.http.put(doc.json()["url"], content=content).status_code == 200
    feed = amazon.call("POST", "/feeds/2021-06-30/feeds", json={
        "feedType": "JSON_LISTINGS_FEED", "marketplaceIds": [US], "inputFeedDocumentId": doc.json()["feedDocumentId"]})
    assert feed.status_code == 202
    amazon.advance(90)
    done = amazon.get(f"/feeds/2021-06-30/feeds/{feed.json()['feedId']}").json()
    assert check(done, "feeds_2021_06_30", "Feed") == []
    result = amazon.get(f"/feeds/2021-06-30/documents/{done['resultFeedDocumentId']}").json()
    return dict(amazon.http.get(result["url"]).json())


def test_feed_reports_bad_quantities_per_sku_and_fatal_feeds(amazon: Amazon) -> None:
    feed = {"header": {"sellerId": SELLER_A, "version": "2.0"}, "messages": [
        {"messageId": 7, "sku": "SOAP-LAV", "operationType": "PARTIAL_UPDATE", "productType": "SOAP",
         "attributes": {"fulfillment_availability": [{"fulfillment_channel_code": "DEFAULT", "quantity": "many"}]}},
        {"messageId": 8, "sku": "MUG-MSK", "operationType": "PARTIAL_UPDATE", "productType": "CUP",
         "attributes": {"fulfillment_availability": [{"fulfillment_channel_code": "DEFAULT", "quantity": 2}]}}]}
    report = _run_feed(amazon, json.dumps(feed).encode())
    assert [(i["messageId"], i["sku"], i["code"]) for i in report["issues"]] == [(7, "SOAP-LAV", "INVALID_QUANTITY")]
    assert report["summary"]["messagesAccepted"] == 1
    fatal = _run_feed(amazon, b"not json at all")
    assert fatal["issues"][0]["code"] == "FATAL"
    assert check_schema(fatal, "listings_feed_processing_report_schema_v2.json") == []


def test_document_urls_expire_and_check_their_signature(amazon: Amazon) -> None:
    url = amazon.call("POST", "/feeds/2021-06-30/documents", json={"contentType": "text/plain"}).json()["url"]
    forged = amazon.http.put(url.replace("X-Amz-Signature=", "X-Amz-Signature=0"), content=b"x")
    assert forged.status_code == 403 and b"<Code>SignatureDoesNotMatch</Code>" in forged.content
    amazon.advance(301)
    expired = amazon.http.put(url, content=b"x")
    assert expired.status_code == 403 and b"<Code>AccessDenied</Code>" in expired.content


# -- the generator


def test_the_generator_is_deterministic_and_covers_the_edge_cases() -> None:
    now = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
    first = generate(random.Random(3), SELLER_A, US, now, len(KINDS))
    again = generate(random.Random(3), SELLER_A, US, now, len(KINDS))
    assert first == again
    assert generate(random.Random(4), SELLER_A, US, now, 3) != first[:3]
    by_kind = dict(zip(KINDS, first, strict=True))
    assert by_kind["multi_quantity"].items[0].quantity_ordered > 1
    assert len(by_kind["several_lines"].items) == 3
    assert by_kind["promotion"].items[0].promotion_discount > 0
    assert by_kind["gift"].items[0].is_gift and by_kind["gift"].items[0].gift_message
    assert by_kind["no_buyer_data"].buyer is None and by_kind["no_buyer_data"].shipping_address is None
    assert by_kind["canceled"].status == "Canceled" and by_kind["pending"].status == "Pending"
    assert by_kind["afn"].fulfillment_channel == "AFN"
    texts = " ".join(f"{o.buyer} {o.shipping_address} {[i.title for i in o.items]}" for o in first)
    assert any(ord(ch) > 0x1F000 for ch in texts)  # emoji
    assert any("\u0400" <= ch <= "\u04ff" or "\u3040" <= ch <= "\u9fff" or "\u0600" <= ch <= "\u06ff"
               for ch in texts)  # Cyrillic, CJK or Arabic


# -- notifications


def test_order_change_is_posted_in_an_eventbridge_envelope_with_retries(amazon: Amazon, receiver: Receiver) -> None:
    order_id = amazon.orders({"orders": [{"lines": [{"sku": "MUG-CAFE", "quantity": 2}]}]})[0]
    receiver.plan = [503, 429]
    amazon.control("POST", "/notifications", {"order_id": order_id, "url": f"{receiver.server.url}/hooks/amazon",
                                              "authorization": "Bearer api-destination-key"}, expect=202)
    assert amazon.control("POST", "/wait_idle", {"timeout": 10})["idle"]
    assert [d["outcome"] for d in amazon.control("GET", "/deliveries")["deliveries"]] == \
        ["retry_scheduled", "retry_scheduled", "delivered"]
    path, headers, event = receiver.received[-1]
    assert path == "/hooks/amazon" and headers["authorization"] == "Bearer api-destination-key"
    assert {"version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"} <= set(event)
    assert event["detail-type"] == "ORDER_CHANGE"
    assert event["source"].startswith("aws.partner/sellingpartnerapi.amazon.com/")
    assert check_schema(event["detail"], "order_change_notification_schema.json") == []
    assert event["detail"]["Payload"]["OrderChangeNotification"]["AmazonOrderId"] == order_id


def test_a_destination_gets_every_change_and_4xx_is_not_retried(amazon: Amazon, receiver: Receiver) -> None:
    receiver.received.clear()
    receiver.plan = [400]  # for the first delivery: the new order's
    amazon.control("POST", "/destinations", {"url": f"{receiver.server.url}/every", "authorization": "k"}, expect=201)
    order_id = amazon.orders({"orders": [{"lines": [{"sku": "MUG-CAFE", "quantity": 1}]}]})[0]
    amazon.control("POST", f"/orders/{order_id}/events", {"event": "buyer_cancel"})
    amazon.control("POST", f"/orders/{order_id}/events", {"event": "cancel"})
    assert amazon.control("POST", "/wait_idle", {"timeout": 10})["idle"]
    outcomes = [d["outcome"] for d in amazon.control("GET", "/deliveries")["deliveries"]]
    assert outcomes == ["failed", "delivered", "delivered"]  # the new order's 400 is not retried
    changes = [(e["detail"]["Payload"]["OrderChangeNotification"]["OrderChangeType"],
                e["detail"]["Payload"]["OrderChangeNotification"]["Summary"]["OrderStatus"])
               for _, _, e in receiver.received]
    assert changes == [("OrderStatusChange", "Unshipped"), ("BuyerRequestedChange", "Unshipped"),
                       ("OrderStatusChange", "Canceled")]

"""Amazon simulator driven by Amazon's community Python client, python-amazon-sp-api (module ``sp_api``).

How the client is pointed at the simulator, with its public API only:

- SP-API endpoint: a client takes ``marketplace=`` and reads ``endpoint``, ``marketplace_id`` and
  ``region`` from it; the ``Marketplaces`` enum cannot take a custom URL, so the test passes a small
  object with those three attributes.
- Login with Amazon: ``Client`` takes ``auth_token_client_class=``; the test passes a subclass of
  ``sp_api.auth.AccessTokenClient`` whose ``scheme`` and ``host`` class attributes name the simulator
  (the library builds the token URL from them). Nothing in the library is patched.
- The library caches access tokens per refresh token in a module-level cache for about an hour of
  real time; each test uses the simulator's fresh tokens by clearing that cache.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from sp_api.api import Feeds, ListingsItems, Orders
from sp_api.auth import AccessTokenClient
from sp_api.auth import access_token_client as token_cache
from sp_api.base import SellingApiException

from tests.simulators.test_amazon_support import (
    CLIENT_ID,
    CLIENT_SECRET,
    EPOCH,
    REFRESH_A,
    SELLER_A,
    US,
    Amazon,
    SwitchApp,
    fresh,
    serve,
)


@pytest.fixture(scope="module")
def _server() -> Iterator[tuple[SwitchApp, httpx.Client, str]]:
    yield from serve()


@pytest.fixture
def amazon(_server: tuple[SwitchApp, httpx.Client, str]) -> Iterator[Amazon]:
    token_cache.cache.clear()
    yield from fresh(*_server)


@dataclass(frozen=True)
class Endpoint:
    """What sp_api reads from a marketplace: the SP-API endpoint, the marketplace id and the AWS region."""

    endpoint: str
    marketplace_id: str = US
    region: str = "us-east-1"


def client_kwargs(amazon: Amazon) -> dict[str, object]:
    host = amazon.url.removeprefix("http://")

    class SimulatorLwa(AccessTokenClient):
        scheme = "http://"

    SimulatorLwa.host = host
    return {"marketplace": Endpoint(amazon.url), "refresh_token": REFRESH_A,
            "credentials": {"lwa_app_id": CLIENT_ID, "lwa_client_secret": CLIENT_SECRET},
            "auth_token_client_class": SimulatorLwa}


def test_get_orders_with_next_token_and_order_items(amazon: Amazon) -> None:
    made = amazon.orders({"count": 7})
    amazon.advance(150)
    orders = Orders(**client_kwargs(amazon))
    seen: list[str] = []
    response = orders.get_orders(CreatedAfter=EPOCH, MaxResultsPerPage=3)
    while True:
        seen += [o["AmazonOrderId"] for o in response.payload["Orders"]]
        if not response.next_token:
            break
        response = orders.get_orders(NextToken=response.next_token)
    assert sorted(seen) == sorted(made)
    assert response.headers["x-amzn-RateLimit-Limit"] == "0.0167"
    items = orders.get_order_items(made[2]).payload  # the generator's third kind has several lines
    assert items["AmazonOrderId"] == made[2] and len(items["OrderItems"]) == 3
    assert all(isinstance(i["ItemPrice"]["Amount"], str) for i in items["OrderItems"])


def test_restricted_buyer_data_through_the_clients_rdt_flow(amazon: Amazon) -> None:
    order_id = amazon.orders({"orders": [{"lines": [{"sku": "MUG-CAFE", "quantity": 1}]}]})[0]
    orders = Orders(**client_kwargs(amazon))
    plain = orders.get_order(order_id).payload
    assert "BuyerInfo" not in plain
    full = orders.get_order(order_id, RestrictedResources=["buyerInfo", "shippingAddress"]).payload
    assert full["BuyerInfo"]["BuyerName"] and full["ShippingAddress"]["AddressLine1"]


def test_confirm_shipment(amazon: Amazon) -> None:
    order_id = amazon.orders({"orders": [{"lines": [{"sku": "TEA-MATCHA-50", "quantity": 2}]}]})[0]
    orders = Orders(**client_kwargs(amazon))
    item_id = orders.get_order_items(order_id).payload["OrderItems"][0]["OrderItemId"]
    result = orders.confirm_shipment(order_id, marketplaceId=US, packageDetail={
        "packageReferenceId": "PKG-1", "carrierCode": "DHL", "trackingNumber": "JD014600003828",
        "shipDate": "2026-12-07T08:30:00Z", "orderItems": [{"orderItemId": item_id, "quantity": 2}]})
    assert result.payload == {"status_code": 204}  # the client's stand-in for an empty 204 answer
    assert orders.get_order(order_id).payload["OrderStatus"] == "Shipped"
    [shipment] = amazon.control("GET", "/shipments")["shipments"]
    assert (shipment["carrier_code"], shipment["tracking_number"], shipment["items"]) == \
        ("DHL", "JD014600003828", [{"order_item_id": item_id, "quantity": 2}])
    with pytest.raises(SellingApiException) as refused:
        orders.confirm_shipment(order_id, marketplaceId=US, packageDetail={
            "packageReferenceId": "PKG-2", "carrierCode": "DHL", "trackingNumber": "X",
            "shipDate": "2026-12-07T08:30:00Z", "orderItems": [{"orderItemId": item_id, "quantity": 1}]})
    assert refused.value.code == 400 and refused.value.error[0]["code"] == "InvalidInput"


def test_patch_listings_item_and_read_what_amazon_shows(amazon: Amazon) -> None:
    listings = ListingsItems(**client_kwargs(amazon))
    result = listings.patch_listings_item(SELLER_A, "MUG-CAFE", marketplaceIds=[US], body={
        "productType": "DRINKING_CUP",
        "patches": [{"op": "replace", "path": "/attributes/fulfillment_availability",
                     "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 17}]}]})
    assert result.payload["status"] == "ACCEPTED" and result.payload["issues"] == []
    shown = listings.get_listings_item(SELLER_A, "MUG-CAFE", marketplaceIds=[US],
                                       includedData=["fulfillmentAvailability"]).payload
    assert shown["fulfillmentAvailability"] == [{"fulfillmentChannelCode": "DEFAULT", "quantity": 17}]
    assert [(u["sku"], u["quantity"]) for u in amazon.control("GET", "/stock_updates")["stock_updates"]] == \
        [("MUG-CAFE", 17)]


def test_the_feeds_flow_applies_a_json_listings_feed(amazon: Amazon) -> None:
    feeds = Feeds(**client_kwargs(amazon))
    content = {"header": {"sellerId": SELLER_A, "version": "2.0", "issueLocale": "en_US"}, "messages": [
        {"messageId": 1, "sku": "SOAP-LAV", "operationType": "PATCH", "productType": "SOAP",
         "patches": [{"op": "replace", "path": "/attributes/fulfillment_availability",
                      "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 4}]}]},
        {"messageId": 2, "sku": "NO-SUCH-SKU", "operationType": "PATCH", "productType": "SOAP",
         "patches": [{"op": "replace", "path": "/attributes/fulfillment_availability",
                      "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 1}]}]}]}
    document, feed = feeds.submit_feed("JSON_LISTINGS_FEED", io.StringIO(json.dumps(content)),
                                       content_type="application/json; charset=UTF-8", marketplaceIds=[US])
    feed_id = feed.payload["feedId"]
    assert feeds.get_feed(feed_id).payload["processingStatus"] == "IN_QUEUE"
    amazon.advance(30)
    assert feeds.get_feed(feed_id).payload["processingStatus"] == "IN_PROGRESS"
    amazon.advance(60)
    done = feeds.get_feed(feed_id).payload
    assert done["processingStatus"] == "DONE"
    report = json.loads(feeds.get_feed_result_document(done["resultFeedDocumentId"]))
    assert report["summary"]["messagesAccepted"] == 1 and report["summary"]["messagesInvalid"] == 1
    assert [(i["messageId"], i["sku"], i["code"]) for i in report["issues"]] == [(2, "NO-SUCH-SKU", "SKU_NOT_FOUND")]
    rows = amazon.control("GET", f"/listings?seller_id={SELLER_A}")["listings"]
    shown = {row["sku"]: row["quantities"] for row in rows}
    assert shown["SOAP-LAV"] == {"DEFAULT": 4}

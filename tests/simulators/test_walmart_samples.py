"""The Walmart simulator against Walmart's own published material (``simulators/walmart/samples``).

The published request samples are sent as they are and must be accepted; the simulator's
answers must match the published models (required fields, types, enums) and invent no field
the models do not know (``strict``).
"""

from __future__ import annotations

import orjson
import pytest

from orderhub.simulators.walmart.generator import KINDS
from orderhub.simulators.walmart.schema_check import check, sample
from tests.simulators import test_walmart_helpers as helpers
from tests.simulators.test_walmart_helpers import SELLER_A, WalmartClient

walmart_server, wm = helpers.walmart_server, helpers.wm  # the shared fixtures


def test_the_check_finds_departures() -> None:
    """The structural check is not a rubber stamp: it finds what is wrong."""
    good = sample("inventory.get.response.json")
    assert check(good, "inventory", "Inventory") == []
    assert check({"sku": "x"}, "inventory", "Inventory") == ["$: missing required 'quantity'"]
    assert check({"sku": 5, "quantity": {"unit": "BOX", "amount": "1"}}, "inventory", "Inventory") == [
        "$.sku: expected string, got int 5", "$.quantity.unit: 'BOX' is not one of ['EACH']",
        "$.quantity.amount: expected number, got str '1'"]
    assert check({**good, "colour": "red"}, "inventory", "Inventory", strict=True) == [
        "$: 'colour' is not in the published model"]


@pytest.mark.parametrize("name, api, model", [
    ("orders.all.response.json", "orders", "PurchaseOrderTypeV3"),
    ("orders.get.response.json", "orders", "GetOrderResponse"),
    ("orders.acknowledge.response.json", "orders", "GetOrderResponse"),
    ("orders.shipping.request.json", "orders", "OrderShipment"),
    ("orders.shipping.response.json", "orders", "GetOrderResponse"),
    ("orders.cancel.request.json", "orders", "OrderCancellationResponse"),
    ("orders.refund.request.json", "orders", "OrderRefund_json"),
    ("inventory.put.request.json", "inventory", "Inventory"),
    ("feeds.status.response.json", "feeds", "PartnerFeedResponse"),
    ("token.response.json", "auth", "OAuthToken"),
])
def test_published_samples_match_the_published_models(name: str, api: str, model: str) -> None:
    assert check(sample(name), api, model) == []


def test_released_sample_departs_only_where_recorded() -> None:
    problems = check(sample("orders.released.response.json"), "orders", "PurchaseOrderTypeV3")
    assert problems and all(p.endswith("shipNode: expected object, got list []") for p in problems)


def test_published_token_request_is_accepted(wm: WalmartClient) -> None:
    response = wm.token_response(SELLER_A.client_id, SELLER_A.client_secret,
                                 grant=sample("token.request.json")["grant_type"])
    assert response.status_code == 200 and check(response.json(), "auth", "OAuthToken", strict=True) == []


def test_published_shipping_sample_is_accepted(wm: WalmartClient) -> None:
    po = wm.place([{"sku": "WM-MUG-CAFE", "quantity": 1}, {"sku": "WM-TEA-MATCHA", "quantity": 1}])
    ack = wm.ok("POST", f"/v3/orders/{po}/acknowledge")
    assert check(ack, "orders", "GetOrderResponse", strict=True) == []
    shipped = wm.ok("POST", f"/v3/orders/{po}/shipping", json=sample("orders.shipping.request.json"))
    assert check(shipped, "orders", "GetOrderResponse", strict=True) == []
    carriers = [ln["orderLineStatuses"]["orderLineStatus"][0]["trackingInfo"]["carrierName"]["carrier"]
                for ln in shipped["order"]["orderLines"]["orderLine"]]
    assert carriers == ["UPS", "FedEx"]


def test_published_cancel_sample_is_accepted(wm: WalmartClient) -> None:
    po = wm.place([{"sku": "WM-MUG-CAFE", "quantity": 1}])
    cancelled = wm.ok("POST", f"/v3/orders/{po}/cancel", json=sample("orders.cancel.request.json"))
    assert check(cancelled, "orders", "GetOrderResponse", strict=True) == []
    (status,) = cancelled["order"]["orderLines"]["orderLine"][0]["orderLineStatuses"]["orderLineStatus"]
    assert (status["status"], status["cancellationReason"]) == ("Cancelled", "CUSTOMER_REQUESTED_SELLER_TO_CANCEL")


def test_published_refund_sample_is_accepted(wm: WalmartClient) -> None:
    refund = sample("orders.refund.request.json")
    po = refund["orderRefund"]["purchaseOrderId"]
    wm.place([{"sku": "WM-MUG-CAFE", "quantity": 1}] * 4, purchaseOrderId=po, status="Acknowledged")
    wm.ok("POST", f"/v3/orders/{po}/shipping", json=wm.shipment([("4", 1)]))
    refunded = wm.ok("POST", f"/v3/orders/{po}/refund", json=refund)
    assert check(refunded, "orders", "GetOrderResponse", strict=True) == []
    line = refunded["order"]["orderLines"]["orderLine"][3]
    assert line["refund"]["refundCharges"]["refundCharge"][0]["refundReason"] == "Merchandise not received"


def test_published_inventory_samples_round_trip(wm: WalmartClient) -> None:
    body = sample("inventory.put.request.json")
    wm.control("POST", "/inventory", {"sku": body["sku"], "quantity": 0})
    assert wm.ok("PUT", "/v3/inventory", params={"sku": body["sku"]}, json=body) == body
    assert wm.ok("GET", "/v3/inventory", params={"sku": body["sku"]}) == sample("inventory.get.response.json")


def test_published_feed_sample_is_accepted_and_processed(wm: WalmartClient) -> None:
    feed = sample("feeds.inventory.request.json")
    for item in feed["Inventory"]:
        wm.control("POST", "/inventory", {"sku": item["sku"], "quantity": 0})
    answer = wm.ok("POST", "/v3/feeds", params={"feedType": "inventory"},
                   files={"file": ("inventory.json", orjson.dumps(feed), "application/json")})
    assert check(answer, "inventory", "FeedId", strict=True) == []
    wm.control("POST", "/clock", {"advance": 600})
    status = wm.ok("GET", f"/v3/feeds/{answer['feedId']}", params={"includeDetails": "true"})
    assert check(status, "feeds", "PartnerFeedResponse") == []
    assert (status["feedStatus"], status["itemsSucceeded"]) == ("PROCESSED", 2)
    listed = {r["sku"]: r["quantity"] for r in wm.control("GET", "/inventory", seller=SELLER_A.client_id)["inventory"]}
    assert (listed["test1"], listed["894728"]) == (10, 20)
    assert check(wm.ok("GET", "/v3/feeds"), "feeds", "FeedRecordResponse") == []


def test_order_lists_match_the_published_model(wm: WalmartClient) -> None:
    for kind in KINDS:
        wm.control("POST", "/orders", {"count": 2, "kind": kind})
    for path, params in (("/v3/orders", {}), ("/v3/orders/released", {"limit": "3"}),
                         ("/v3/orders", {"shipNodeType": "WFSFulfilled"})):
        body = wm.ok("GET", path, params=params)
        assert check(body, "orders", "PurchaseOrderTypeV3", strict=True) == []


def test_error_bodies_match_the_published_gateway_error(wm: WalmartClient) -> None:
    answers = [wm.token_response(SELLER_A.client_id, "wrong"), wm.call("GET", "/v3/orders/released?limit=500"),
               wm.call("GET", "/v3/orders/0000"), wm.call("GET", "/v3/nowhere")]
    for response in answers:
        assert response.status_code in (400, 401, 404)
        for entry in response.json()["errors"]:
            assert check(entry, "orders", "GatewayError", strict=True) == []

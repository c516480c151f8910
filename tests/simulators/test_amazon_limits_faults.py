"""Amazon simulator: usage plans (429 QuotaExceeded), failure injection, body limits, unknown paths, clock."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.simulators.test_amazon_support import EPOCH, REFRESH_B, US, Amazon, SwitchApp, fresh, serve


@pytest.fixture(scope="module")
def _server() -> Iterator[tuple[SwitchApp, httpx.Client, str]]:
    yield from serve()


@pytest.fixture
def amazon(_server: tuple[SwitchApp, httpx.Client, str]) -> Iterator[Amazon]:
    yield from fresh(*_server)


def _order_with_item(amazon: Amazon) -> tuple[str, str]:
    order_id = amazon.orders({"orders": [{"lines": [{"sku": "MUG-CAFE", "quantity": 5}]}]})[0]
    item = amazon.get(f"/orders/v0/orders/{order_id}/orderItems").json()["payload"]["OrderItems"][0]
    return order_id, item["OrderItemId"]


def _ship(amazon: Amazon, order_id: str, item_id: str, quantity: int = 1) -> httpx.Response:
    return amazon.call("POST", f"/orders/v0/orders/{order_id}/shipmentConfirmation", json={
        "marketplaceId": US, "packageDetail": {
            "packageReferenceId": "1", "carrierCode": "UPS", "trackingNumber": "T1", "shipDate": "2026-12-07T09:00:00Z",
            "orderItems": [{"orderItemId": item_id, "quantity": quantity}]}})


def test_get_orders_bursts_20_then_answers_429_quota_exceeded(amazon: Amazon) -> None:
    for _ in range(20):
        response = amazon.list_orders(CreatedAfter=EPOCH)
        assert response.status_code == 200
        assert response.headers["x-amzn-ratelimit-limit"] == "0.0167"
    throttled = amazon.list_orders(CreatedAfter=EPOCH)
    assert throttled.status_code == 429
    assert throttled.json() == {"errors": [{"code": "QuotaExceeded",
                                            "message": "You exceeded your quota for the requested resource.",
                                            "details": ""}]}
    assert throttled.headers["x-amzn-requestid"] and "x-amzn-ratelimit-limit" not in throttled.headers
    assert amazon.list_orders(CreatedAfter=EPOCH, refresh=REFRESH_B,
                              MarketplaceIds="A1PA6795UKMFR9").status_code == 200  # each seller has its own bucket
    amazon.advance(59)
    assert amazon.list_orders(CreatedAfter=EPOCH).status_code == 429
    amazon.advance(2)  # 61 s at 0.0167/s refill one request
    assert amazon.list_orders(CreatedAfter=EPOCH).status_code == 200
    assert amazon.list_orders(CreatedAfter=EPOCH).status_code == 429


def test_usage_plans_are_per_operation_and_configurable(amazon: Amazon) -> None:
    order_id, item_id = _order_with_item(amazon)
    plans = amazon.control("GET", "/config")["rate_limits"]["plans"]
    assert plans["confirmShipment"] == {"rate": 2.0, "burst": 10}
    assert plans["patchListingsItem"] == {"rate": 5.0, "burst": 5}
    amazon.control("POST", "/config", {"rate_limits": {"getOrder": {"rate": 0.5, "burst": 2}}})
    statuses = [amazon.get(f"/orders/v0/orders/{order_id}").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    assert _ship(amazon, order_id, item_id).status_code == 204  # confirmShipment's bucket is its own
    amazon.control("POST", "/config", {"rate_limiting": False})
    assert all(amazon.get(f"/orders/v0/orders/{order_id}").status_code == 200 for _ in range(5))
    bad = amazon.control("POST", "/config", {"rate_limits": {"nothing": {"rate": 1}}}, expect=400)
    assert "not an operation" in bad["errors"][0]["message"]


def test_injected_5xx_does_nothing(amazon: Amazon) -> None:
    order_id, item_id = _order_with_item(amazon)
    amazon.control("POST", "/failures", {"operation": "confirmShipment", "times": 2, "status": 500}, expect=201)
    for _ in range(2):
        failed = _ship(amazon, order_id, item_id)
        assert failed.status_code == 500 and failed.json()["errors"][0]["code"] == "InternalFailure"
    assert amazon.control("GET", "/shipments")["shipments"] == []
    assert _ship(amazon, order_id, item_id).status_code == 204
    assert [r["used"] for r in amazon.control("GET", "/failures")["failures"]] == [2]


def test_injected_timeout_holds_the_answer_then_504_without_the_work(amazon: Amazon) -> None:
    order_id, item_id = _order_with_item(amazon)
    amazon.control("POST", "/failures", {"operation": "confirmShipment", "outcome": "timeout", "seconds": 0.3})
    with pytest.raises(httpx.ReadTimeout):
        amazon.http.post(f"/orders/v0/orders/{order_id}/shipmentConfirmation", timeout=0.1,
                         headers={"x-amz-access-token": amazon.token()},
                         json={"marketplaceId": US, "packageDetail": {
                             "packageReferenceId": "1", "carrierCode": "UPS", "trackingNumber": "T1",
                             "shipDate": "2026-12-07T09:00:00Z", "orderItems": [{"orderItemId": item_id,
                                                                                  "quantity": 1}]}})
    amazon.control("POST", "/failures", {"operation": "getOrder", "outcome": "timeout", "seconds": 0.1})
    late = amazon.get(f"/orders/v0/orders/{order_id}")
    assert late.status_code == 504
    assert amazon.control("GET", "/shipments")["shipments"] == []


def test_injected_slow_answer_does_the_work(amazon: Amazon) -> None:
    order_id, item_id = _order_with_item(amazon)
    amazon.control("POST", "/failures", {"operation": "confirmShipment", "outcome": "timeout", "seconds": 0.1,
                                         "process": True})
    assert _ship(amazon, order_id, item_id).status_code == 204
    assert len(amazon.control("GET", "/shipments")["shipments"]) == 1


def test_lost_answer_after_the_work_as_5xx_or_a_dropped_connection(amazon: Amazon) -> None:
    order_id, item_id = _order_with_item(amazon)
    amazon.control("POST", "/failures", {"operation": "confirmShipment", "outcome": "lost", "status": 503})
    lost = _ship(amazon, order_id, item_id)
    assert lost.status_code == 503 and lost.json()["errors"][0]["code"] == "ServiceUnavailable"
    amazon.control("POST", "/failures", {"operation": "confirmShipment", "outcome": "lost", "drop": True})
    with pytest.raises(httpx.RemoteProtocolError):
        _ship(amazon, order_id, item_id)
    shipments = amazon.control("GET", "/shipments")["shipments"]
    assert len(shipments) == 2  # both were done although neither answer arrived
    order = amazon.get(f"/orders/v0/orders/{order_id}").json()["payload"]
    assert order["NumberOfItemsShipped"] == 2


def test_a_failure_rule_can_let_requests_through_first_and_applies_to_lwa(amazon: Amazon) -> None:
    amazon.control("POST", "/failures", {"operation": "lwaToken", "after": 1, "status": 503})
    assert amazon.token()  # the first sign-in passes
    refused = amazon.lwa(grant_type="refresh_token", refresh_token=REFRESH_B, client_id="x", client_secret="y")
    assert refused.status_code == 503
    bad = amazon.control("POST", "/failures", {"operation": "getOrders", "outcome": "explode"}, expect=400)
    assert "outcome" in bad["errors"][0]["message"]


def test_bodies_over_the_limit_get_413(amazon: Amazon) -> None:
    amazon.control("POST", "/config", {"max_body_bytes": 200})
    order_id, item_id = _order_with_item(amazon)
    response = amazon.call("POST", f"/orders/v0/orders/{order_id}/shipmentConfirmation",
                           json={"marketplaceId": US, "padding": "x" * 500})
    assert response.status_code == 413 and response.json()["errors"][0]["code"] == "RequestEntityTooLarge"


def test_bad_json_unknown_paths_and_methods_answer_in_sp_api_shape(amazon: Amazon) -> None:
    order_id, _ = _order_with_item(amazon)
    broken = amazon.http.post(f"/orders/v0/orders/{order_id}/shipmentConfirmation", content=b"{not json",
                              headers={"x-amz-access-token": amazon.token(), "content-type": "application/json"})
    assert broken.status_code == 400 and broken.json()["errors"][0]["code"] == "InvalidInput"
    assert amazon.get("/orders/v1/whatever").status_code == 404
    wrong = amazon.http.delete("/orders/v0/orders")
    assert wrong.status_code == 405 and wrong.json()["errors"][0]["code"] == "MethodNotAllowed"


def test_the_clock_moves_and_sets(amazon: Amazon) -> None:
    clock = amazon.control("POST", "/clock", {"advance": 90})
    assert clock["now"].startswith("2026-12-07T09:01:30") and clock["frozen"] is True
    clock = amazon.control("POST", "/clock", {"set": "2027-01-01T00:00:00Z"})
    assert clock["now"].startswith("2027-01-01T00:00:00")
    assert amazon.control("POST", "/clock", {"set": "soon"}, expect=400)["errors"][0]["code"] == "InvalidInput"

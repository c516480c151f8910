"""Walmart simulator: throttling with Walmart's headers, and injected timeouts, 5xx and lost answers."""

from __future__ import annotations

import httpx
import pytest

from tests.simulators import test_walmart_helpers as helpers
from tests.simulators.test_walmart_helpers import SELLER_B, WalmartClient

walmart_server, wm = helpers.walmart_server, helpers.wm  # the shared fixtures

MUG = "WM-MUG-CAFE"


def test_every_answer_reports_the_bucket(wm: WalmartClient) -> None:
    wm.control("POST", "/orders", {"count": 1, "kind": "plain"})
    first = wm.call("GET", "/v3/orders/released")
    second = wm.call("GET", "/v3/orders/released")
    assert int(first.headers["X-Current-Token-Count"]) == int(second.headers["X-Current-Token-Count"]) + 1
    assert int(second.headers["X-Next-Replenishment-Time"]) >= wm.sim.clock.now_ms() - 1000


def test_throttled_calls_get_429_with_headers_and_refill_over_time(wm: WalmartClient) -> None:
    wm.control("POST", "/throttle", {"operation": "getInventory", "limit": 2, "period": 60})
    for _ in range(2):
        assert wm.call("GET", "/v3/inventory", params={"sku": MUG}).status_code == 200
    refused = wm.call("GET", "/v3/inventory", params={"sku": MUG})
    assert refused.status_code == 429
    entry = refused.json()["errors"][0]
    assert entry["code"] == "REQUEST_THRESHOLD_VIOLATED.GMP_GATEWAY_API" and entry["category"] == "REQUEST"
    assert refused.headers["X-Current-Token-Count"] == "0"
    replenish = int(refused.headers["X-Next-Replenishment-Time"])
    assert replenish > wm.sim.clock.now_ms()
    # other sellers and other operations have their own buckets
    assert wm.call("GET", "/v3/inventory", params={"sku": MUG}, seller=SELLER_B).status_code == 200
    assert wm.call("PUT", "/v3/inventory", params={"sku": MUG},
                   json={"sku": MUG, "quantity": {"unit": "EACH", "amount": 1}}).status_code == 200
    # one request comes back every period / limit = 30 simulated seconds
    wm.control("POST", "/clock", {"advance": 30})
    assert wm.call("GET", "/v3/inventory", params={"sku": MUG}).status_code == 200
    assert wm.call("GET", "/v3/inventory", params={"sku": MUG}).status_code == 429


def test_bulk_inventory_feeds_are_limited_to_ten_an_hour_by_default(wm: WalmartClient) -> None:
    limits = wm.control("GET", "/throttle")["limits"]
    assert limits["updateBulkInventory"]["limit"] == 10 and limits["updateBulkInventory"]["period"] == 3600
    feed = {"InventoryHeader": {"version": "1.4"}, "Inventory": [{"sku": MUG, "quantity": {"unit": "EACH",
                                                                                           "amount": 1}}]}
    codes = [wm.call("POST", "/v3/feeds", params={"feedType": "inventory"}, json=feed).status_code for _ in range(11)]
    assert codes == [200] * 10 + [429]
    wm.control("POST", "/throttle", {"enabled": False})
    assert wm.call("POST", "/v3/feeds", params={"feedType": "inventory"}, json=feed).status_code == 200


def test_injected_5xx_does_nothing_and_is_used_up(wm: WalmartClient) -> None:
    po = wm.place([{"sku": MUG, "quantity": 1}])
    wm.control("POST", "/failures", {"operation": "acknowledgeOrders", "status": 503, "times": 2}, expect=201)
    for _ in range(2):
        failed = wm.call("POST", f"/v3/orders/{po}/acknowledge")
        assert failed.status_code == 503 and failed.json()["errors"][0]["category"] == "SYSTEM"
    assert wm.control("GET", "/operations", kind="acknowledgement")["operations"] == []
    assert wm.call("POST", f"/v3/orders/{po}/acknowledge").status_code == 200
    assert wm.control("GET", "/failures")["failures"][0]["used"] == 2


def test_injected_timeout_holds_the_answer_and_does_nothing(wm: WalmartClient) -> None:
    po = wm.place([{"sku": MUG, "quantity": 1}], status="Acknowledged")
    wm.control("POST", "/failures", {"operation": "shippingUpdates", "outcome": "timeout", "seconds": 1.0},
               expect=201)
    with pytest.raises(httpx.ReadTimeout):
        wm.call("POST", f"/v3/orders/{po}/shipping", json=wm.shipment([("1", 1)]), timeout=0.3)
    assert wm.control("GET", "/operations", kind="shipment")["operations"] == []
    assert wm.call("POST", f"/v3/orders/{po}/shipping", json=wm.shipment([("1", 1)])).status_code == 200


def test_lost_answer_after_the_work_was_done_then_retry_is_refused(wm: WalmartClient) -> None:
    po = wm.place([{"sku": MUG, "quantity": 1}], status="Acknowledged")
    wm.control("POST", "/failures", {"operation": "shippingUpdates", "outcome": "lost", "status": 502}, expect=201)
    lost = wm.call("POST", f"/v3/orders/{po}/shipping", json=wm.shipment([("1", 1)]))
    assert lost.status_code == 502
    assert len(wm.control("GET", "/operations", kind="shipment")["operations"]) == 1
    retry = wm.call("POST", f"/v3/orders/{po}/shipping", json=wm.shipment([("1", 1)]))
    assert retry.status_code == 400 and "0 unit(s) left to ship" in retry.json()["errors"][0]["info"]


def test_lost_answer_by_dropped_connection(wm: WalmartClient) -> None:
    wm.control("POST", "/failures", {"operation": "updateInventoryForAnItem", "outcome": "lost", "drop": True},
               expect=201)
    with pytest.raises(httpx.RemoteProtocolError):
        wm.call("PUT", "/v3/inventory", params={"sku": MUG},
                json={"sku": MUG, "quantity": {"unit": "EACH", "amount": 4}})
    assert wm.ok("GET", "/v3/inventory", params={"sku": MUG})["quantity"]["amount"] == 4
    logged = [(r["operation"], r["status"], r["fault"]) for r in wm.control("GET", "/requests")["requests"]
              if "fault" in r]
    assert logged == [("updateInventoryForAnItem", "dropped", "lost")]


def test_failure_after_lets_some_through_and_matches_only_its_operation(wm: WalmartClient) -> None:
    wm.control("POST", "/orders", {"count": 1, "kind": "plain"})
    wm.control("POST", "/failures", {"operation": "getAllReleasedOrders", "after": 1, "status": 500}, expect=201)
    assert wm.call("GET", "/v3/orders").status_code == 200
    assert wm.call("GET", "/v3/orders/released").status_code == 200
    assert wm.call("GET", "/v3/orders/released").status_code == 500
    assert wm.call("GET", "/v3/orders/released").status_code == 200
    assert [r["fault"] for r in wm.control("GET", "/requests")["requests"] if "fault" in r] == ["error"]


@pytest.mark.parametrize("rule, field", [({"outcome": "explode"}, "outcome"), ({"status": 418}, "status"),
                                         ({"times": 0}, "times"), ({"colour": "red"}, "colour")])
def test_bad_failure_rules_are_refused(wm: WalmartClient, rule: dict, field: str) -> None:
    assert wm.control("POST", "/failures", rule, expect=400)["errors"][0]["field"] == field

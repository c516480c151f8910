"""Rate limits, injected failures and the simulated clock of the TikTok Shop simulator."""

from __future__ import annotations

import httpx
import pytest

from tests.simulators.test_tiktok_support import Tiktok

SEARCH = "/order/202309/orders/search"

pytest_plugins = ("tests.simulators.test_tiktok_support",)  # the simulator, reset per test, and a receiver


def test_over_the_rate_answers_429_with_tiktoks_code(tt: Tiktok) -> None:
    tt.control("POST", "/rate_limits", {"operation": "getOrderList", "qps": 2})
    answers = [tt.call("POST", SEARCH, {}, query={"page_size": "1"}) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    body = answers[2].json()
    assert body["code"] == 36009002 and "Too many requests" in body["message"] and body["data"] is None
    assert answers[2].headers["x-tt-logid"] == body["request_id"]
    assert tt.call("GET", "/logistics/202309/warehouses").status_code == 200  # other operations keep their own
    tt.control("POST", "/rate_limits", {"operation": "getOrderList", "qps": 0})
    assert tt.call("POST", SEARCH, {}, query={"page_size": "1"}).status_code == 200


def test_an_injected_error_does_nothing_n_times(tt: Tiktok) -> None:
    order = tt.order()
    tt.control("POST", "/failures", {"operation": "shipPackage", "outcome": "error", "status": 503, "times": 2})
    path = f"/fulfillment/202309/packages/{order['packages'][0]['id']}/ship"
    assert [tt.call("POST", path, {}).status_code for _ in range(2)] == [503, 503]
    assert tt.control("GET", "/operations?kind=shipment")["operations"] == []
    assert tt.call("POST", path, {}).json()["code"] == 0


def test_a_timeout_holds_the_answer_then_does_nothing(tt: Tiktok) -> None:
    order = tt.order()
    tt.control("POST", "/failures", {"operation": "shipPackage", "outcome": "timeout", "seconds": 2})
    with pytest.raises(httpx.ReadTimeout):
        _timeout_call(tt, order)
    assert tt.control("GET", "/operations?kind=shipment")["operations"] == []


def _timeout_call(tt: Tiktok, order: dict) -> None:
    with httpx.Client(base_url=tt.url, timeout=0.5) as http:
        Tiktok(tt.sim, tt.url, http).call("POST", f"/fulfillment/202309/packages/{order['packages'][0]['id']}/ship", {})


@pytest.mark.parametrize("drop", [False, True])
def test_a_lost_answer_comes_after_the_work_was_done(tt: Tiktok, drop: bool) -> None:
    order = tt.order()
    tt.control("POST", "/failures", {"operation": "shipPackage", "outcome": "lost", "status": 502, "drop": drop})
    path = f"/fulfillment/202309/packages/{order['packages'][0]['id']}/ship"
    if drop:
        with pytest.raises(httpx.RemoteProtocolError):
            tt.call("POST", path, {})
    else:
        assert tt.call("POST", path, {}).status_code == 502
    assert len(tt.control("GET", "/operations?kind=shipment")["operations"]) == 1
    assert tt.control("GET", f"/orders/{order['id']}")["status"] == "AWAITING_COLLECTION"


def test_failure_rules_are_checked(tt: Tiktok) -> None:
    response = tt.http.post("/_sim/failures", json={"operation": "shipPackage", "outcome": "explode"})
    assert response.status_code == 400 and response.json()["code"] == 36009004


def test_moving_the_clock_releases_holds_and_cancels_unpaid_orders(tt: Tiktok) -> None:
    held, unpaid = tt.order(status="ON_HOLD"), tt.order(status="UNPAID")
    tt.control("POST", "/clock", {"advance": 3601})
    assert tt.control("GET", f"/orders/{held['id']}")["status"] == "AWAITING_SHIPMENT"
    assert tt.control("GET", f"/orders/{unpaid['id']}")["status"] == "UNPAID"
    tt.control("POST", "/clock", {"advance": 24 * 3600})
    cancelled = tt.control("GET", f"/orders/{unpaid['id']}")
    assert cancelled["status"] == "CANCELLED" and cancelled["cancellation_initiator"] == "SYSTEM"


def test_a_timestamp_follows_the_simulated_clock(tt: Tiktok) -> None:
    before = tt.sim.clock.now()
    tt.control("POST", "/clock", {"advance": 600})
    stale = tt.call("POST", SEARCH, {}, query={"page_size": "1"}, timestamp=before)
    assert stale.status_code == 400 and "5 minutes" in stale.json()["message"]
    assert tt.call("POST", SEARCH, {}, query={"page_size": "1"}).status_code == 200

"""Seller-initiated returns and refunds in the TikTok simulator: the published tiktok-shop-api client (0.1.0)
creates and searches them, its answers match the published models (CreateReturnResponse,
SearchReturnsResponse), and the simulator checks a request as the published request model describes it."""

from __future__ import annotations

from typing import Any

import pytest
from tiktok_shop_api import TikTokShop
from tiktok_shop_api.generated import models

from tests.simulators.test_tiktok_client import conforms
from tests.simulators.test_tiktok_support import APP_KEY, APP_SECRET, CIPHER, TOKEN, Tiktok

pytest_plugins = ("tests.simulators.test_tiktok_support",)

RETURNS = "/return_refund/202309/returns"


def _shipped(tt: Tiktok, **spec: Any) -> dict[str, Any]:
    order = tt.order(**spec)
    options = tt.ok("GET", f"/logistics/202309/warehouses/{order['warehouse_id']}/delivery_options")
    provider = tt.ok("GET", f"/logistics/202309/delivery_options/{options['delivery_options'][0]['id']}"
                            "/shipping_providers")["shipping_providers"][0]["id"]
    for package in order["packages"]:
        tt.ok("POST", f"/fulfillment/202309/packages/{package['id']}/ship",
              {"self_shipment": {"tracking_number": f"TRK-{package['id'][-6:]}", "shipping_provider_id": provider}})
    return order


def _refund(order: dict[str, Any], items: list[str], total: str | None = None, **more: Any) -> dict[str, Any]:
    body = {"order_id": order["id"], "return_type": "REFUND", "return_reason": "seller_refund_reason_other",
            "order_line_item_ids": items, **more}
    if total is not None:
        body |= {"refund_total": total, "currency": "USD"}
    return body


def test_the_published_client_creates_a_refund_and_finds_it(tt: Tiktok) -> None:
    order = _shipped(tt, lines=[{"seller_sku": "MUG-CAFE-WHT", "quantity": 2}])
    unit = order["line_items"][0]
    client = TikTokShop(APP_KEY, APP_SECRET, access_token=TOKEN, shop_cipher=CIPHER, base_url=tt.url, timeout=10)
    created = client.return_and_refund.create_return(body=models.CreateReturnRequest(
        order_id=order["id"], return_type="REFUND", return_reason="seller_refund_reason_other",
        order_line_item_ids=[unit["id"]], refund_total="5.00", currency="USD"), idempotency_key="return-1")
    assert created.data.return_status == "RETURN_OR_REFUND_REQUEST_SUCCESS"
    found = client.return_and_refund.search_returns(body=models.SearchReturnsRequest(order_ids=[order["id"]]),
                                                    page_size="10")
    [shown] = found.data.return_orders
    assert (shown.return_id, shown.role, shown.refund_amount.refund_total) == (created.data.return_id, "SELLER",
                                                                              "5.00")
    assert [i.order_line_item_id for i in shown.return_line_items] == [unit["id"]]


def test_answers_match_the_published_models(tt: Tiktok) -> None:
    order = _shipped(tt, lines=[{"seller_sku": "MUG-CAFE-WHT", "quantity": 2}, {"seller_sku": "SERUM-30",
                                                                                "quantity": 1}])
    units = [i["id"] for i in order["line_items"]]
    created = tt.call("POST", RETURNS, _refund(order, units[:2]), query={"idempotency_key": "k-1"})
    assert conforms(models.CreateReturnResponse, created.json(), "CreateReturnResponse") == []
    for version in ("202309", "202602"):
        found = tt.call("POST", f"/return_refund/{version}/returns/search", {"order_ids": [order["id"]]},
                        query={"page_size": "10"})
        body = found.json()
        assert conforms(models.SearchReturnsResponse, body, "SearchReturnsResponse") == [], body
        [shown] = body["data"]["return_orders"]
        parts = [i["refund_amount"]["refund_total"] for i in shown["return_line_items"]]
        assert sum(float(p) for p in parts) == pytest.approx(float(shown["refund_amount"]["refund_total"]))


def test_the_same_idempotency_key_answers_the_first_return_and_refunds_once(tt: Tiktok) -> None:
    order = _shipped(tt)
    unit = order["line_items"][0]["id"]
    first = tt.ok("POST", RETURNS, _refund(order, [unit], "3.00"), query={"idempotency_key": "return-7"})
    again = tt.ok("POST", RETURNS, _refund(order, [unit], "3.00"), query={"idempotency_key": "return-7"})
    assert again == first
    assert len(tt.control("GET", "/operations?kind=refund")["operations"]) == 1
    other = tt.call("POST", RETURNS, _refund(order, [unit], "3.00"), query={"idempotency_key": "return-8"}).json()
    assert other["code"] == 21011002 and "in an open return already" in other["message"]


@pytest.mark.parametrize(("change", "status", "code", "words"), [
    ({"return_type": "EXCHANGE"}, 400, 36009004, "return_type must be one of REFUND, RETURN_AND_REFUND"),
    ({"return_reason": ""}, 400, 36009004, "return_reason is required"),
    ({"order_id": "576460000000000000"}, 200, 21011001, "does not exist in this shop"),
    ({"refund_total": "12.5x", "currency": "USD"}, 400, 36009004, "refund_total must be an amount"),
    ({"refund_total": "1.00"}, 400, 36009004, "currency is required with refund_total"),
    ({"refund_total": "1.00", "currency": "EUR"}, 400, 36009004, "must be the order's (USD)"),
    ({"refund_total": "9999.00", "currency": "USD"}, 200, 21011002, "exceeds the refundable amount"),
    ({"handover_method": "PICKUP"}, 400, 36009004, "handover_method applies only when shipment_type is PLATFORM"),
    ({"order_line_item_ids": ["1"]}, 400, 36009004, "line item 1 is not in order"),
])
def test_bad_requests_are_refused_as_tiktok_does(tt: Tiktok, change: dict[str, Any], status: int, code: int,
                                                 words: str) -> None:
    order = _shipped(tt)
    answer = tt.call("POST", RETURNS, _refund(order, [order["line_items"][0]["id"]]) | change)
    assert (answer.status_code, answer.json()["code"]) == (status, code) and words in answer.json()["message"]
    assert tt.control("GET", "/operations?kind=refund")["operations"] == []


def test_an_unshipped_unit_is_cancelled_not_refunded(tt: Tiktok) -> None:
    order = tt.order()
    answer = tt.call("POST", RETURNS, _refund(order, [order["line_items"][0]["id"]])).json()
    assert answer["code"] == 21011002 and "is not shipped" in answer["message"]

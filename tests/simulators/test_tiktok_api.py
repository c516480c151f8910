"""The simulated TikTok Shop API over HTTP: signing and credentials, each endpoint, paging, records."""

from __future__ import annotations

import pytest

from tests.simulators.test_tiktok_support import APP_KEY, APP_SECRET, CIPHER, OTHER_CIPHER, OTHER_TOKEN, Tiktok

SEARCH = "/order/202309/orders/search"

pytest_plugins = ("tests.simulators.test_tiktok_support",)  # the simulator, reset per test, and a receiver


def _error(response, status: int, code: int) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == code and body["data"] is None and body["request_id"] and body["message"], body
    assert response.headers["x-tt-logid"] == body["request_id"]
    return body


def test_a_signed_request_with_a_good_token_is_answered(tt: Tiktok) -> None:
    tt.order()
    data = tt.ok("POST", SEARCH, {}, query={"page_size": "10"})
    assert data["total_count"] == 1 and data["orders"][0]["status"] == "AWAITING_SHIPMENT"


@pytest.mark.parametrize("change, status, code, words", [
    ({"sign": "0" * 64}, 401, 106001, "'sign' query parameter is invalid"),
    ({"secret": "not-the-secret"}, 401, 106001, "sign"),
    ({"app_key": "unknown"}, 400, 36009004, "app_key"),
    ({"timestamp": -301}, 400, 36009004, "5 minutes"),
    ({"token": "nope"}, 401, 105001, "x-tts-access-token"),
    ({"token": None}, 401, 105001, "x-tts-access-token"),
    ({"cipher": None}, 400, 36009004, "shop_cipher"),
    ({"cipher": OTHER_CIPHER}, 400, 36009004, "shop_cipher"),  # a shop of another seller
])
def test_bad_credentials_get_tiktoks_codes(tt: Tiktok, change: dict, status: int, code: int, words: str) -> None:
    if "timestamp" in change:
        change = {"timestamp": tt.sim.clock.now() + change["timestamp"]}
    body = _error(tt.call("POST", SEARCH, {}, query={"page_size": "10"}, **change), status, code)
    assert words in body["message"]


def test_an_expired_token_is_refused_until_refreshed(tt: Tiktok) -> None:
    code = tt.control("POST", "/auth_codes", {"seller": 0})["auth_code"]
    base = f"/api/v2/token/get?app_key={APP_KEY}&app_secret={APP_SECRET}&grant_type=authorized_code"
    tokens = tt.http.get(f"{base}&auth_code={code}").json()["data"]
    assert tokens["access_token_expire_in"] > tt.sim.clock.now() and tokens["seller_name"]
    assert tt.http.get(f"{base}&auth_code={code}").json()["code"] == 36004004  # an auth code is good once
    tt.control("POST", "/clock", {"advance": 8 * 24 * 3600})
    _error(tt.call("POST", SEARCH, {}, query={"page_size": "5"}, token=tokens["access_token"]), 401, 105002)
    refreshed = tt.http.get(f"/api/v2/token/refresh?app_key={APP_KEY}&app_secret={APP_SECRET}&grant_type="
                            f"refresh_token&refresh_token={tokens['refresh_token']}").json()["data"]
    tt.ok("POST", SEARCH, {}, query={"page_size": "5"}, token=refreshed["access_token"])
    _error(tt.call("POST", SEARCH, {}, query={"page_size": "5"}, token=tokens["access_token"]), 401, 105001)


def test_authorized_shops_lists_the_sellers_shops_and_refuses_a_cipher(tt: Tiktok) -> None:
    shops = tt.ok("GET", "/authorization/202309/shops", cipher=None)["shops"]
    assert [s["cipher"] for s in shops] == [CIPHER, "ROW_sim_cipher_outlet"]
    assert [s["cipher"] for s in tt.ok("GET", "/authorization/202309/shops", cipher=None, token=OTHER_TOKEN)["shops"]
            ] == [OTHER_CIPHER]
    _error(tt.call("GET", "/authorization/202309/shops"), 400, 36009004)


def test_search_pages_with_tokens_and_filters(tt: Tiktok) -> None:
    ids = [tt.order()["id"] for _ in range(5)]
    tt.order(status="UNPAID")
    seen, token = [], ""
    while True:
        data = tt.ok("POST", SEARCH, {"order_status": "AWAITING_SHIPMENT"},
                     query={"page_size": "2", "sort_field": "create_time", "sort_order": "ASC"}
                     | ({"page_token": token} if token else {}))
        assert data["total_count"] == 5
        seen += [o["id"] for o in data["orders"]]
        token = data["next_page_token"]
        if not token:
            break
    assert sorted(seen) == sorted(ids) and len(seen) == 5
    _error(tt.call("POST", SEARCH, {}, query={"page_size": "0"}), 400, 36009004)
    _error(tt.call("POST", SEARCH, {}, query={"page_size": "2", "page_token": "garbage"}), 400, 36009004)


def test_an_update_time_poller_sees_each_change_once(tt: Tiktok) -> None:
    order = tt.order(status="ON_HOLD")
    since = order["update_time"]
    tt.control("POST", f"/orders/{order['id']}/events", {"event": "release_hold"})
    changed = tt.ok("POST", SEARCH, {"update_time_ge": since + 1}, query={"page_size": "50"})["orders"]
    assert [(o["id"], o["status"]) for o in changed] == [(order["id"], "AWAITING_SHIPMENT")]
    again = tt.ok("POST", SEARCH, {"update_time_ge": changed[0]["update_time"] + 1}, query={"page_size": "50"})
    assert again["orders"] == []


def test_detail_lists_one_line_item_per_unit_with_masked_buyer(tt: Tiktok) -> None:
    order = tt.order(lines=[{"seller_sku": "MUG-CAFE-WHT", "quantity": 3, "seller_discount": "2.00"},
                            {"seller_sku": "SERUM-30", "quantity": 1}], shipping_fee="4.99", tax="1.20")
    detail = tt.ok("GET", "/order/202309/orders", query={"ids": order["id"]})["orders"][0]
    assert [i["seller_sku"] for i in detail["line_items"]] == ["MUG-CAFE-WHT"] * 3 + ["SERUM-30"]
    assert detail["payment"] == detail["payment"] | {"sub_total": "65.90", "seller_discount": "6.00",
                                                     "shipping_fee": "4.99", "tax": "1.20", "total_amount": "72.09"}
    assert "*****" in detail["recipient_address"]["phone_number"] and detail["buyer_email"].endswith("tiktokw.us")
    assert detail["rts_sla_time"] > detail["paid_time"] and detail["packages"][0]["id"]
    _error(tt.call("GET", "/order/202309/orders", query={"ids": ""}), 400, 36009004)


def test_shipping_a_package_moves_the_order_and_is_recorded(tt: Tiktok) -> None:
    order = tt.order()
    options = tt.ok("GET", f"/logistics/202309/warehouses/{order['warehouse_id']}/delivery_options")
    providers = tt.ok("GET", f"/logistics/202309/delivery_options/{options['delivery_options'][0]['id']}"
                             "/shipping_providers")["shipping_providers"]
    package_id = order["packages"][0]["id"]
    tt.ok("POST", f"/fulfillment/202309/packages/{package_id}/ship",
          {"self_shipment": {"tracking_number": "1Z999", "shipping_provider_id": providers[1]["id"]}})
    detail = tt.ok("GET", "/order/202309/orders", query={"ids": order["id"]})["orders"][0]
    assert detail["status"] == "AWAITING_COLLECTION" and detail["tracking_number"] == "1Z999"
    [shipment] = tt.control("GET", "/operations?kind=shipment")["operations"]
    assert shipment | {"quantities": {"MUG-CAFE-WHT": 2}, "carrier": "UPS", "tracking_number": "1Z999"} == shipment
    again = tt.call("POST", f"/fulfillment/202309/packages/{package_id}/ship", {})
    assert again.status_code == 200 and again.json()["code"] == 21011002
    tt.control("POST", f"/orders/{order['id']}/events", {"event": "collect"})
    assert tt.control("GET", f"/orders/{order['id']}")["status"] == "IN_TRANSIT"


def test_a_split_order_is_partially_shipping_after_one_package(tt: Tiktok) -> None:
    order = tt.order(lines=[{"seller_sku": "MUG-CAFE-WHT", "quantity": 1}, {"seller_sku": "SERUM-30", "quantity": 1}],
                     packages=[[0], [1]])
    first, second = (p["id"] for p in order["packages"])
    tt.ok("POST", f"/fulfillment/202309/packages/{first}/ship", {})
    assert tt.control("GET", f"/orders/{order['id']}")["status"] == "PARTIALLY_SHIPPING"
    tt.ok("POST", f"/fulfillment/202309/packages/{second}/ship", {})
    assert tt.control("GET", f"/orders/{order['id']}")["status"] == "AWAITING_COLLECTION"


def test_a_fulfilled_by_tiktok_order_cannot_be_shipped_by_the_seller(tt: Tiktok) -> None:
    order = tt.order(fulfillment_type="FULFILLMENT_BY_TIKTOK")
    answer = tt.call("POST", f"/fulfillment/202309/packages/{order['packages'][0]['id']}/ship", {}).json()
    assert answer["code"] == 21011002 and "fulfilled by TikTok" in answer["message"]


def test_buyer_cancellation_request_is_approved_or_rejected(tt: Tiktok) -> None:
    first, second = tt.order(), tt.order()
    cancel_ids = [tt.control("POST", f"/orders/{o['id']}/events", {"event": "buyer_cancel", "reason": "Changed mind"}
                             )["cancel_id"] for o in (first, second)]
    pending = tt.ok("POST", "/return_refund/202309/cancellations/search",
                    {"cancel_status": ["CANCELLATION_REQUEST_PENDING"]}, query={"page_size": "10"})
    assert pending["total_count"] == 2
    tt.ok("POST", f"/return_refund/202309/cancellations/{cancel_ids[0]}/approve", {})
    tt.ok("POST", f"/return_refund/202309/cancellations/{cancel_ids[1]}/reject", {"reject_reason": "Package shipped"})
    assert tt.control("GET", f"/orders/{first['id']}")["status"] == "CANCELLED"
    assert tt.control("GET", f"/orders/{second['id']}")["status"] == "AWAITING_SHIPMENT"
    kinds = [op["kind"] for op in tt.control("GET", "/operations")["operations"]]
    assert kinds == ["cancellation_approved", "refund", "cancellation_rejected"]
    assert tt.call("POST", f"/return_refund/202309/cancellations/{cancel_ids[0]}/approve", {}).json()["code"] != 0


def test_seller_cancels_some_units_then_the_rest(tt: Tiktok) -> None:
    order = tt.order(lines=[{"seller_sku": "MUG-CAFE-WHT", "quantity": 3}])
    sku_id = order["line_items"][0]["sku_id"]
    data = tt.ok("POST", "/return_refund/202309/cancellations",
                 {"order_id": order["id"], "cancel_reason": "Out of stock",
                  "skus": [{"sku_id": sku_id, "quantity": 2}]})
    assert data["cancel_status"] == "CANCELLATION_REQUEST_COMPLETE"
    after = tt.control("GET", f"/orders/{order['id']}")
    assert [i["display_status"] for i in after["line_items"]].count("CANCELLED") == 2
    assert after["status"] == "AWAITING_SHIPMENT"
    tt.ok("POST", "/return_refund/202309/cancellations", {"order_id": order["id"], "cancel_reason": "Out of stock"})
    assert tt.control("GET", f"/orders/{order['id']}")["status"] == "CANCELLED"
    refunds = tt.control("GET", "/operations?kind=refund")["operations"]
    assert [r["refund_subtotal"] for r in refunds] == ["28.00", "14.00"]


def test_inventory_update_sets_what_the_channel_shows(tt: Tiktok) -> None:
    stock = tt.control("GET", "/stock")["stock"]
    row = next(r for r in stock if r["seller_sku"] == "SERUM-30")
    warehouses = tt.ok("GET", "/logistics/202309/warehouses")["warehouses"]
    tt.ok("POST", f"/product/202309/products/{row['product_id']}/inventory/update",
          {"skus": [{"id": row["sku_id"], "inventory": [{"warehouse_id": warehouses[1]["id"], "quantity": 7},
                                                        {"quantity": 3}]}]})
    product = tt.ok("GET", f"/product/202309/products/{row['product_id']}")
    assert {i["warehouse_id"]: i["quantity"] for i in product["skus"][0]["inventory"]} == {
        warehouses[0]["id"]: 3, warehouses[1]["id"]: 7}
    updates = tt.control("GET", "/operations?kind=stock_update")["operations"]
    assert [(u["seller_sku"], u["quantity"]) for u in updates] == [("SERUM-30", 7), ("SERUM-30", 3)]
    bad = tt.call("POST", f"/product/202309/products/{row['product_id']}/inventory/update",
                  {"skus": [{"id": row["sku_id"], "inventory": [{"quantity": -1}]}]})
    _error(bad, 400, 36009004)


def test_webhook_addresses_are_set_listed_and_deleted(tt: Tiktok) -> None:
    tt.ok("PUT", "/event/202309/webhooks", {"address": "https://example.com/tts", "event_type": "ORDER_STATUS_CHANGE"})
    assert tt.ok("GET", "/event/202309/webhooks")["webhooks"][0]["address"] == "https://example.com/tts"
    tt.ok("DELETE", "/event/202309/webhooks", {"event_type": "ORDER_STATUS_CHANGE"})
    assert tt.ok("GET", "/event/202309/webhooks")["total_count"] == 0


def test_bad_requests_get_tiktoks_envelope_never_a_500(tt: Tiktok) -> None:
    _error(tt.call("GET", "/order/202309/nothing"), 404, 36009009)
    response = tt.http.post(SEARCH, content=b"{not json", params={"page_size": "1"})
    _error(response, 400, 36009004)  # unsigned: refused before the body is read as JSON
    signed_bad = tt.call("POST", SEARCH, ["not", "an", "object"], query={"page_size": "1"})
    _error(signed_bad, 400, 36009004)
    big = tt.http.post(SEARCH, content=b"x" * (1024 * 1024 + 1), params={"page_size": "1"})
    _error(big, 413, 36009004)
    assert all(r["status"] != 500 for r in tt.control("GET", "/requests")["requests"])


def test_orderhub_simulate_tiktok_is_registered() -> None:
    from click.testing import CliRunner

    from orderhub.entrypoints.cli import simulate

    result = CliRunner().invoke(simulate, ["tiktok", "--help"])
    assert result.exit_code == 0 and "--port" in result.output and "TikTok Shop" in result.output

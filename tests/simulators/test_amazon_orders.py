"""Amazon simulator: Login with Amazon, tokens, and the Orders API v0 over HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.simulators.test_amazon_support import (
    CLIENT_ID,
    CLIENT_SECRET,
    DE,
    EPOCH,
    REFRESH_A,
    REFRESH_B,
    SELLER_A,
    SELLER_B,
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
    yield from fresh(*_server)


def _errors(response: httpx.Response) -> list[dict[str, str]]:
    return list(response.json()["errors"])


# -- Login with Amazon and tokens


def test_lwa_trades_a_refresh_token_for_an_hour_long_access_token(amazon: Amazon) -> None:
    response = amazon.lwa(grant_type="refresh_token", refresh_token=REFRESH_A, client_id=CLIENT_ID,
                          client_secret=CLIENT_SECRET)
    assert response.status_code == 200
    body = response.json()
    assert body["access_token"].startswith("Atza|")
    assert body["token_type"] == "bearer" and body["expires_in"] == 3600 and body["refresh_token"] == REFRESH_A


@pytest.mark.parametrize(("form", "status", "error"), [
    ({"grant_type": "refresh_token", "refresh_token": REFRESH_A, "client_id": CLIENT_ID, "client_secret": "wrong"},
     401, "invalid_client"),
    ({"grant_type": "refresh_token", "refresh_token": REFRESH_A, "client_id": "nobody", "client_secret": "x"},
     401, "invalid_client"),
    ({"grant_type": "refresh_token", "refresh_token": "Atzr|revoked", "client_id": CLIENT_ID,
      "client_secret": CLIENT_SECRET}, 400, "invalid_grant"),
    ({"refresh_token": REFRESH_A, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}, 400, "invalid_request"),
    ({"grant_type": "password", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}, 400,
     "unsupported_grant_type"),
])
def test_lwa_refuses_bad_credentials_in_oauth_shape(amazon: Amazon, form: dict[str, str], status: int,
                                                    error: str) -> None:
    response = amazon.lwa(**form)
    assert response.status_code == status
    assert response.json()["error"] == error and response.json()["error_description"]


def test_lwa_wants_a_form_body(amazon: Amazon) -> None:
    response = amazon.http.post("/auth/o2/token", json={"grant_type": "refresh_token"})
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


def test_missing_unknown_and_expired_tokens_get_sp_api_403(amazon: Amazon) -> None:
    missing = amazon.http.get("/orders/v0/orders", params={"MarketplaceIds": US, "CreatedAfter": EPOCH})
    assert missing.status_code == 403
    assert _errors(missing) == [{"code": "Unauthorized", "message": "Access to requested resource is denied.",
                                 "details": "Access token is missing in the request header."}]
    unknown = amazon.list_orders(token="Atza|made-up", CreatedAfter=EPOCH)
    assert unknown.status_code == 403
    assert _errors(unknown)[0]["details"] == "The access token you provided is revoked, malformed or invalid."
    assert amazon.list_orders(CreatedAfter=EPOCH).status_code == 200
    amazon.advance(3600)
    expired = amazon.list_orders(CreatedAfter=EPOCH)
    assert expired.status_code == 403
    assert _errors(expired)[0] == {"code": "Unauthorized", "message": "Access to requested resource is denied.",
                                   "details": "The access token you provided has expired."}
    assert "x-amzn-requestid" in expired.headers


def test_a_grantless_token_cannot_read_a_sellers_orders(amazon: Amazon) -> None:
    grantless = amazon.lwa(grant_type="client_credentials", scope="sellingpartnerapi::notifications",
                           client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    assert grantless.status_code == 200 and grantless.json()["scope"] == "sellingpartnerapi::notifications"
    response = amazon.list_orders(token=grantless.json()["access_token"], CreatedAfter=EPOCH)
    assert response.status_code == 403 and _errors(response)[0]["code"] == "Unauthorized"


def test_each_seller_sees_only_its_own_orders(amazon: Amazon) -> None:
    mine = amazon.orders({"seller_id": SELLER_A, "orders": [{"lines": [{"sku": "MUG-CAFE", "quantity": 1}]}]})[0]
    theirs = amazon.orders({"seller_id": SELLER_B, "count": 2})
    amazon.advance(300)
    a = amazon.list_orders(CreatedAfter=EPOCH).json()["payload"]["Orders"]
    b = amazon.get("/orders/v0/orders", refresh=REFRESH_B, params={"MarketplaceIds": DE, "CreatedAfter": EPOCH})
    assert [o["AmazonOrderId"] for o in a] == [mine]
    assert sorted(o["AmazonOrderId"] for o in b.json()["payload"]["Orders"]) == sorted(theirs)
    assert {o["OrderTotal"]["CurrencyCode"] for o in b.json()["payload"]["Orders"]} == {"EUR"}
    assert amazon.get(f"/orders/v0/orders/{mine}", refresh=REFRESH_B).status_code == 404


# -- getOrders


def test_get_orders_pages_with_next_token_and_every_order_once(amazon: Amazon) -> None:
    made = amazon.orders({"count": 10})
    amazon.advance(200)
    seen, params = [], {"CreatedAfter": EPOCH, "MaxResultsPerPage": 3}
    pages = 0
    while True:
        response = amazon.list_orders(**params)
        assert response.status_code == 200, response.text
        payload = response.json()["payload"]
        assert len(payload["Orders"]) <= 3
        assert "CreatedBefore" in payload
        seen += [o["AmazonOrderId"] for o in payload["Orders"]]
        pages += 1
        if "NextToken" not in payload:
            break
        params = {"NextToken": payload["NextToken"]}
    assert pages == 4
    assert sorted(seen) == sorted(made) and len(set(seen)) == 10


def test_get_orders_filters_by_status_and_channel(amazon: Amazon) -> None:
    amazon.orders({"count": 10})
    amazon.advance(200)
    afn = amazon.list_orders(CreatedAfter=EPOCH, FulfillmentChannels="AFN").json()["payload"]["Orders"]
    assert afn and {o["FulfillmentChannel"] for o in afn} == {"AFN"}
    some = amazon.list_orders(CreatedAfter=EPOCH, OrderStatuses="Pending,Canceled").json()["payload"]["Orders"]
    assert {o["OrderStatus"] for o in some} == {"Pending", "Canceled"}


def test_new_orders_and_changes_show_only_after_the_visibility_delay(amazon: Amazon) -> None:
    order_id = amazon.orders({"orders": [{"lines": [{"sku": "MUG-CAFE", "quantity": 2}]}]})[0]
    assert amazon.list_orders(CreatedAfter=EPOCH).json()["payload"]["Orders"] == []
    assert amazon.get(f"/orders/v0/orders/{order_id}").status_code == 200  # getOrder reads the order as it is
    amazon.advance(119)
    assert amazon.list_orders(CreatedAfter=EPOCH).json()["payload"]["Orders"] == []
    amazon.advance(2)
    assert [o["OrderStatus"] for o in amazon.list_orders(CreatedAfter=EPOCH).json()["payload"]["Orders"]] == \
        ["Unshipped"]
    amazon.control("POST", f"/orders/{order_id}/events", {"event": "cancel", "reason": "Out of stock"})
    assert amazon.get(f"/orders/v0/orders/{order_id}").json()["payload"]["OrderStatus"] == "Canceled"
    assert amazon.list_orders(CreatedAfter=EPOCH).json()["payload"]["Orders"][0]["OrderStatus"] == "Unshipped"
    amazon.advance(121)
    assert amazon.list_orders(CreatedAfter=EPOCH).json()["payload"]["Orders"][0]["OrderStatus"] == "Canceled"


def test_a_poller_on_last_updated_after_sees_each_change_once(amazon: Amazon) -> None:
    order_id = amazon.orders({"orders": [{"lines": [{"sku": "MUG-CAFE", "quantity": 2}], "status": "Pending"}]})[0]
    after = EPOCH
    seen: list[tuple[str, str]] = []

    def poll() -> None:
        nonlocal after
        amazon.advance(60)  # getOrders refills one request a minute (0.0167/s)
        response = amazon.list_orders(LastUpdatedAfter=after)
        assert response.status_code == 200, response.text
        payload = response.json()["payload"]
        seen.extend((o["OrderStatus"], o["LastUpdateDate"]) for o in payload["Orders"])
        after = payload["LastUpdatedBefore"]

    for event in ("authorize", None, None, "buyer_cancel", None, "cancel"):
        for _ in range(4):
            poll()
        if event:
            amazon.advance(3)
            amazon.control("POST", f"/orders/{order_id}/events", {"event": event})
    for _ in range(4):
        poll()
    statuses = [s for s, _ in seen]
    assert statuses == ["Pending", "Unshipped", "Unshipped", "Canceled"]
    assert len({stamp for _, stamp in seen}) == 4  # each version has its own LastUpdateDate


@pytest.mark.parametrize(("params", "mentions"), [
    ({}, "CreatedAfter or LastUpdatedAfter"),
    ({"CreatedAfter": EPOCH, "LastUpdatedAfter": EPOCH}, "cannot be set"),
    ({"CreatedAfter": "yesterday"}, "ISO 8601"),
    ({"CreatedAfter": EPOCH, "MaxResultsPerPage": "0"}, "1 to 100"),
    ({"CreatedAfter": EPOCH, "MaxResultsPerPage": "101"}, "1 to 100"),
    ({"LastUpdatedAfter": EPOCH, "LastUpdatedBefore": "2026-12-07T08:59:00Z"}, "two minutes"),
    ({"CreatedAfter": EPOCH, "OrderStatuses": "Lost"}, "OrderStatuses"),
    ({"CreatedAfter": EPOCH, "FulfillmentChannels": "FBA"}, "MFN or AFN"),
    ({"NextToken": "not-issued"}, "NextToken"),
    ({"CreatedAfter": EPOCH, "MarketplaceIds": DE}, "does not sell in"),
])
def test_get_orders_refuses_bad_parameters_with_invalid_input(amazon: Amazon, params: dict[str, str],
                                                             mentions: str) -> None:
    response = amazon.list_orders(**params)
    assert response.status_code == 400
    [error] = _errors(response)
    assert error["code"] == "InvalidInput" and mentions in error["message"]
    assert response.headers["x-amzn-ratelimit-limit"] == "0.0167"


def test_get_orders_without_marketplace_ids_is_a_400(amazon: Amazon) -> None:
    response = amazon.get("/orders/v0/orders", params={"CreatedAfter": EPOCH})
    assert response.status_code == 400 and "MarketplaceIds is required" in _errors(response)[0]["message"]


# -- one order, its items, buyer data


def test_get_order_and_unknown_or_malformed_ids(amazon: Amazon) -> None:
    order_id = amazon.orders({"orders": [{"lines": [{"sku": "MUG-CAFE", "quantity": 1, "price": "12.50"}]}]})[0]
    payload = amazon.get(f"/orders/v0/orders/{order_id}").json()["payload"]
    assert payload["AmazonOrderId"] == order_id and payload["OrderStatus"] == "Unshipped"
    assert payload["OrderTotal"] == {"CurrencyCode": "USD", "Amount": "13.53"}  # 12.50 + 8.25 % tax
    assert amazon.get("/orders/v0/orders/111-0000000-0000000").status_code == 404
    malformed = amazon.get("/orders/v0/orders/not-an-order")
    assert malformed.status_code == 400 and _errors(malformed)[0]["code"] == "InvalidInput"


def test_order_items_page_with_next_token(amazon: Amazon) -> None:
    amazon.control("POST", "/config", {"order_items_page_size": 2})
    lines = [{"sku": s, "quantity": q} for s, q in (("MUG-CAFE", 1), ("TEA-MATCHA-50", 3), ("SOAP-LAV", 2))]
    order_id = amazon.orders({"orders": [{"lines": lines}]})[0]
    first = amazon.get(f"/orders/v0/orders/{order_id}/orderItems").json()["payload"]
    assert [i["SellerSKU"] for i in first["OrderItems"]] == ["MUG-CAFE", "TEA-MATCHA-50"]
    second = amazon.get(f"/orders/v0/orders/{order_id}/orderItems",
                        params={"NextToken": first["NextToken"]}).json()["payload"]
    assert [(i["SellerSKU"], i["QuantityOrdered"]) for i in second["OrderItems"]] == [("SOAP-LAV", 2)]
    assert "NextToken" not in second and second["AmazonOrderId"] == order_id


def _rdt(amazon: Amazon, path: str, elements: list[str]) -> str:
    response = amazon.call("POST", "/tokens/2021-03-01/restrictedDataToken", json={
        "restrictedResources": [{"method": "GET", "path": path, "dataElements": elements}]})
    assert response.status_code == 200, response.text
    assert response.json()["expiresIn"] == 3600
    return str(response.json()["restrictedDataToken"])


def test_buyer_data_needs_a_restricted_data_token(amazon: Amazon) -> None:
    gift = {"sku": "MUG-CAFE", "quantity": 1, "gift_message": "Für dich 🎁"}
    order_id = amazon.orders({"orders": [{"lines": [gift]}]})[0]
    plain = amazon.get(f"/orders/v0/orders/{order_id}").json()["payload"]
    assert "BuyerInfo" not in plain
    assert set(plain["ShippingAddress"]) == {"City", "StateOrRegion", "PostalCode", "CountryCode"}
    rdt = _rdt(amazon, "/orders/v0/orders/{orderId}", ["buyerInfo", "shippingAddress"])
    full = amazon.get(f"/orders/v0/orders/{order_id}", token=rdt).json()["payload"]
    assert full["BuyerInfo"]["BuyerEmail"].endswith("@marketplace.amazon.com")
    assert full["ShippingAddress"]["Name"] and full["ShippingAddress"]["AddressLine1"]
    items_rdt = _rdt(amazon, f"/orders/v0/orders/{order_id}/orderItems", ["buyerInfo"])
    [item] = amazon.get(f"/orders/v0/orders/{order_id}/orderItems", token=items_rdt).json()["payload"]["OrderItems"]
    assert item["IsGift"] == "true" and item["BuyerInfo"]["GiftMessageText"] == "Für dich 🎁"
    elsewhere = amazon.get("/orders/v0/orders", token=rdt, params={"MarketplaceIds": US, "CreatedAfter": EPOCH})
    assert elsewhere.status_code == 403  # the token names getOrder's path only


def test_an_order_without_buyer_data_is_normal_even_with_a_token(amazon: Amazon) -> None:
    order_id = amazon.orders({"orders": [{"lines": [{"sku": "MUG-CAFE", "quantity": 1}], "buyer": False}]})[0]
    rdt = _rdt(amazon, "/orders/v0/orders/{orderId}", ["buyerInfo", "shippingAddress"])
    payload = amazon.get(f"/orders/v0/orders/{order_id}", token=rdt).json()["payload"]
    assert "BuyerInfo" not in payload and "ShippingAddress" not in payload
    address = amazon.get(f"/orders/v0/orders/{order_id}/address").json()["payload"]
    assert address == {"AmazonOrderId": order_id}


# -- confirmShipment and the order's lifecycle


def _confirm(amazon: Amazon, order_id: str, lines: list[tuple[str, int]], **extra: object) -> httpx.Response:
    package = {"packageReferenceId": "1", "carrierCode": "UPS", "trackingNumber": "1Z999AA10123456784",
               "shipDate": "2026-12-07T10:00:00Z",
               "orderItems": [{"orderItemId": i, "quantity": q} for i, q in lines], **extra}
    return amazon.call("POST", f"/orders/v0/orders/{order_id}/shipmentConfirmation",
                       json={"marketplaceId": US, "packageDetail": package})


def test_confirm_shipment_ships_quantities_and_is_recorded(amazon: Amazon) -> None:
    order_id = amazon.orders({"orders": [{"lines": [{"sku": "MUG-CAFE", "quantity": 3},
                                                    {"sku": "SOAP-LAV", "quantity": 1}]}]})[0]
    items = amazon.get(f"/orders/v0/orders/{order_id}/orderItems").json()["payload"]["OrderItems"]
    mug, soap = items[0]["OrderItemId"], items[1]["OrderItemId"]
    first = _confirm(amazon, order_id, [(mug, 2)])
    assert first.status_code == 204 and first.content == b""
    assert first.headers["x-amzn-ratelimit-limit"] == "2.0"
    order = amazon.get(f"/orders/v0/orders/{order_id}").json()["payload"]
    assert (order["OrderStatus"], order["NumberOfItemsShipped"], order["NumberOfItemsUnshipped"]) == \
        ("PartiallyShipped", 2, 2)
    assert _confirm(amazon, order_id, [(mug, 1), (soap, 1)]).status_code == 204
    assert amazon.get(f"/orders/v0/orders/{order_id}").json()["payload"]["OrderStatus"] == "Shipped"
    shipments = amazon.control("GET", "/shipments")["shipments"]
    assert [(s["amazon_order_id"], s["carrier_code"], s["tracking_number"], s["items"]) for s in shipments] == [
        (order_id, "UPS", "1Z999AA10123456784", [{"order_item_id": mug, "quantity": 2}]),
        (order_id, "UPS", "1Z999AA10123456784", [{"order_item_id": mug, "quantity": 1},
                                                 {"order_item_id": soap, "quantity": 1}])]


def test_confirm_shipment_refuses_what_cannot_ship(amazon: Amazon) -> None:
    mfn, afn, gone = amazon.orders({"orders": [
        {"lines": [{"sku": "MUG-CAFE", "quantity": 1}]},
        {"lines": [{"sku": "MUG-CAFE", "quantity": 1}], "fulfillment_channel": "AFN"},
        {"lines": [{"sku": "MUG-CAFE", "quantity": 1}], "status": "Canceled"}]})
    item = {o: amazon.get(f"/orders/v0/orders/{o}/orderItems").json()["payload"]["OrderItems"][0]["OrderItemId"]
            for o in (mfn, afn, gone)}
    for order_id, lines, mentions in ((mfn, [(item[mfn], 2)], "cannot ship 2"), (mfn, [("123", 1)], "no item 123"),
                                      (afn, [(item[afn], 1)], "AFN"), (gone, [(item[gone], 1)], "Canceled")):
        response = _confirm(amazon, order_id, lines)
        assert response.status_code == 400, response.text
        assert mentions in _errors(response)[0]["message"]
    missing = amazon.call("POST", f"/orders/v0/orders/{mfn}/shipmentConfirmation", json={"marketplaceId": US})
    assert missing.status_code == 400 and "packageDetail is required" in _errors(missing)[0]["message"]
    assert amazon.control("GET", "/shipments")["shipments"] == []


def test_buyer_cancel_marks_items_and_amazon_events_move_statuses(amazon: Amazon) -> None:
    unshipped, pending, afn = amazon.orders({"orders": [
        {"lines": [{"sku": "MUG-CAFE", "quantity": 1}]},
        {"lines": [{"sku": "MUG-CAFE", "quantity": 1}], "status": "Pending"},
        {"lines": [{"sku": "MUG-CAFE", "quantity": 1}], "fulfillment_channel": "AFN"}]})
    amazon.control("POST", f"/orders/{unshipped}/events", {"event": "buyer_cancel", "reason": "Found it cheaper 💸"})
    [item] = amazon.get(f"/orders/v0/orders/{unshipped}/orderItems").json()["payload"]["OrderItems"]
    assert item["BuyerRequestedCancel"] == {"IsBuyerRequestedCancel": "true",
                                            "BuyerCancelReason": "Found it cheaper 💸"}
    assert amazon.control("POST", f"/orders/{pending}/events", {"event": "auto_cancel"})["order"]["OrderStatus"] == \
        "Canceled"
    refused = amazon.control("POST", f"/orders/{unshipped}/events", {"event": "auto_cancel"}, expect=409)
    assert "Unshipped" in refused["errors"][0]["message"]
    assert amazon.control("POST", f"/orders/{afn}/events", {"event": "ship"})["order"]["OrderStatus"] == "Shipped"
    versions = amazon.control("GET", f"/orders/{pending}")["version"]
    assert versions == 2

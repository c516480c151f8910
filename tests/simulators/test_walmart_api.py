"""The Walmart simulator over real HTTP: token, orders, lifecycle, inventory, feeds, error shapes, records."""

from __future__ import annotations

from urllib.parse import parse_qs

import pytest

from tests.simulators import test_walmart_helpers as helpers
from tests.simulators.test_walmart_helpers import SELLER_A, SELLER_B, WalmartClient

walmart_server, wm = helpers.walmart_server, helpers.wm  # the shared fixtures

MUG, TEA, SOAP = "WM-MUG-CAFE", "WM-TEA-MATCHA", "WM-SOAP-LAV"


def error_of(response) -> dict:  # noqa: ANN001
    body = response.json()
    assert set(body) == {"errors"}, body
    (entry,) = body["errors"]
    assert {"code", "field", "description", "info", "severity", "category", "causes", "errorIdentifiers"} <= set(entry)
    return entry


# -- authentication ---------------------------------------------------------------------------------


def test_token_answers_json_when_asked_and_xml_otherwise(wm: WalmartClient) -> None:
    as_json = wm.token_response(SELLER_A.client_id, SELLER_A.client_secret)
    assert as_json.status_code == 200
    body = as_json.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 900 and body["access_token"]
    as_xml = wm.token_response(SELLER_A.client_id, SELLER_A.client_secret, accept="*/*")
    assert as_xml.status_code == 200 and as_xml.headers["content-type"].startswith("application/xml")
    assert "<tokenType>Bearer</tokenType><expiresIn>900</expiresIn>" in as_xml.text


@pytest.mark.parametrize("secret", ["wrong-secret", ""])
def test_bad_credentials_get_walmart_401(wm: WalmartClient, secret: str) -> None:
    response = wm.token_response(SELLER_A.client_id, secret)
    assert response.status_code == 401
    entry = error_of(response)
    assert entry["code"] == "UNAUTHORIZED.GMP_GATEWAY_API" and entry["field"] == "UNAUTHORIZED"


def test_token_needs_service_headers_and_client_credentials_grant(wm: WalmartClient) -> None:
    missing = wm.token_response(SELLER_A.client_id, SELLER_A.client_secret, headers={"WM_SVC.NAME": ""})
    assert missing.status_code == 400 and error_of(missing)["field"] == "WM_SVC.NAME"
    grant = wm.token_response(SELLER_A.client_id, SELLER_A.client_secret, grant="password")
    assert grant.status_code == 400 and error_of(grant)["field"] == "grant_type"


def test_calls_need_a_live_token_and_the_required_headers(wm: WalmartClient) -> None:
    no_token = wm.http.get("/v3/orders", headers={"WM_SVC.NAME": "x", "WM_QOS.CORRELATION_ID": "y"})
    assert no_token.status_code == 401 and error_of(no_token)["code"] == "UNAUTHORIZED.GMP_GATEWAY_API"
    unknown = wm.http.get("/v3/orders", headers={"WM_SVC.NAME": "x", "WM_QOS.CORRELATION_ID": "y",
                                                 "WM_SEC.ACCESS_TOKEN": "made-up"})
    assert unknown.status_code == 401
    no_correlation = wm.call("GET", "/v3/orders", headers={"WM_QOS.CORRELATION_ID": ""})
    assert no_correlation.status_code == 400 and error_of(no_correlation)["field"] == "WM_QOS.CORRELATION_ID"


def test_token_expires_after_900_simulated_seconds(wm: WalmartClient) -> None:
    wm.control("POST", "/orders", {"count": 1})
    assert wm.call("GET", "/v3/orders").status_code == 200
    wm.control("POST", "/clock", {"advance": 899})
    assert wm.call("GET", "/v3/orders").status_code == 200
    wm.control("POST", "/clock", {"advance": 2})
    expired = wm.call("GET", "/v3/orders")
    assert expired.status_code == 401 and "expired" in error_of(expired)["info"]


def test_sellers_see_only_their_own_orders(wm: WalmartClient) -> None:
    po_a = wm.place([{"sku": MUG, "quantity": 1}])
    po_b = wm.place([{"sku": MUG, "quantity": 1}], seller=SELLER_B)
    assert [o["purchaseOrderId"] for o in wm.ok("GET", "/v3/orders")["list"]["elements"]["order"]] == [po_a]
    assert wm.call("GET", f"/v3/orders/{po_a}", seller=SELLER_B).status_code == 404
    assert wm.ok("GET", f"/v3/orders/{po_b}", seller=SELLER_B)["order"]["purchaseOrderId"] == po_b


# -- orders -----------------------------------------------------------------------------------------


def test_released_orders_page_with_next_cursor(wm: WalmartClient) -> None:
    placed = [wm.place([{"sku": MUG, "quantity": 1}]) for _ in range(5)]
    seen, path, pages = [], "/v3/orders/released?limit=2", 0
    while True:
        body = wm.ok("GET", path)["list"]
        pages += 1
        assert body["meta"]["totalCount"] == 5 and body["meta"]["limit"] == 2
        seen += [o["purchaseOrderId"] for o in body["elements"]["order"]]
        cursor = body["meta"].get("nextCursor")
        if not cursor:
            break
        params = parse_qs(cursor.lstrip("?"))
        assert params["hasMoreElements"] == ["true"] and params["partnerId"] == ["100009"]
        path = "/v3/orders/released" + cursor
    assert pages == 3 and sorted(seen) == sorted(placed) and len(seen) == 5


def test_acknowledging_while_paging_skips_nothing(wm: WalmartClient) -> None:
    placed = [wm.place([{"sku": MUG, "quantity": 1}]) for _ in range(4)]
    first = wm.ok("GET", "/v3/orders/released?limit=2")["list"]
    for order in first["elements"]["order"]:
        wm.ok("POST", f"/v3/orders/{order['purchaseOrderId']}/acknowledge")
    second = wm.ok("GET", "/v3/orders/released" + first["meta"]["nextCursor"])["list"]
    got = [o["purchaseOrderId"] for o in first["elements"]["order"] + second["elements"]["order"]]
    assert sorted(got) == sorted(placed)


def test_limit_over_200_and_bad_dates_are_400s(wm: WalmartClient) -> None:
    too_many = wm.call("GET", "/v3/orders/released?limit=201")
    assert too_many.status_code == 400 and error_of(too_many)["field"] == "limit"
    bad_date = wm.call("GET", "/v3/orders?createdStartDate=yesterday")
    assert bad_date.status_code == 400 and error_of(bad_date)["field"] == "createdStartDate"
    bad_status = wm.call("GET", "/v3/orders?status=Lost")
    assert bad_status.status_code == 400


def test_no_matching_orders_is_a_404_as_on_walmart(wm: WalmartClient) -> None:
    response = wm.call("GET", "/v3/orders/released")
    assert response.status_code == 404 and error_of(response)["code"] == "CONTENT_NOT_FOUND.GMP_ORDER_API"


def test_order_filters(wm: WalmartClient) -> None:
    mug = wm.place([{"sku": MUG, "quantity": 1}])
    tea = wm.place([{"sku": TEA, "quantity": 2}])
    wfs = wm.place([{"sku": SOAP, "quantity": 1}], shipNodeType="WFSFulfilled")
    ids = lambda body: [o["purchaseOrderId"] for o in body["list"]["elements"]["order"]]  # noqa: E731
    assert ids(wm.ok("GET", "/v3/orders", params={"sku": TEA})) == [tea]
    assert ids(wm.ok("GET", "/v3/orders", params={"purchaseOrderId": mug})) == [mug]
    assert ids(wm.ok("GET", "/v3/orders", params={"shipNodeType": "WFSFulfilled"})) == [wfs]
    assert wfs not in ids(wm.ok("GET", "/v3/orders/released"))
    wm.ok("POST", f"/v3/orders/{mug}/acknowledge")
    assert ids(wm.ok("GET", "/v3/orders", params={"status": "Acknowledged"})) == [mug]
    assert ids(wm.ok("GET", "/v3/orders/released")) == [tea]


def test_lifecycle_acknowledge_ship_partially_cancel_refund(wm: WalmartClient) -> None:
    po = wm.place([{"sku": MUG, "quantity": 3, "unitPrice": "12.50"}, {"sku": TEA, "quantity": 1}])
    early = wm.call("POST", f"/v3/orders/{po}/shipping", json=wm.shipment([("1", 1)]))
    assert early.status_code == 400 and "acknowledge" in error_of(early)["info"]
    acked = wm.ok("POST", f"/v3/orders/{po}/acknowledge")["order"]
    assert {s["status"] for ln in acked["orderLines"]["orderLine"]
            for s in ln["orderLineStatuses"]["orderLineStatus"]} == {"Acknowledged"}
    shipped = wm.ok("POST", f"/v3/orders/{po}/shipping", json=wm.shipment([("1", 2)]))["order"]
    line1 = shipped["orderLines"]["orderLine"][0]["orderLineStatuses"]["orderLineStatus"]
    assert [(s["status"], s["statusQuantity"]["amount"]) for s in line1] == [("Acknowledged", "1"), ("Shipped", "2")]
    assert line1[1]["trackingInfo"]["carrierName"] == {"carrier": "UPS"}
    cancelled = wm.ok("POST", f"/v3/orders/{po}/cancel", json=wm.cancellation([("1", 1), ("2", 1)]))["order"]
    statuses = [[(s["status"], s["statusQuantity"]["amount"], s.get("cancellationReason"))
                 for s in ln["orderLineStatuses"]["orderLineStatus"]] for ln in cancelled["orderLines"]["orderLine"]]
    assert statuses == [[("Shipped", "2", None), ("Cancelled", "1", "SELLER_CANCEL_OUT_OF_STOCK")],
                        [("Cancelled", "1", "SELLER_CANCEL_OUT_OF_STOCK")]]
    over = wm.call("POST", f"/v3/orders/{po}/shipping", json=wm.shipment([("1", 1)]))
    assert over.status_code == 400 and "0 unit(s) left" in error_of(over)["info"]
    refunded = wm.ok("POST", f"/v3/orders/{po}/refund", json=wm.refund(po, "1", "-12.50"))["order"]
    refund = refunded["orderLines"]["orderLine"][0]["refund"]["refundCharges"]["refundCharge"]
    assert refund[0]["refundReason"] == "CustomerChangedMind"
    assert refund[0]["charge"]["chargeAmount"] == {"currency": "USD", "amount": -12.5}
    too_much = wm.call("POST", f"/v3/orders/{po}/refund", json=wm.refund(po, "1", "-30.00"))
    assert too_much.status_code == 400 and "exceed" in error_of(too_much)["info"]
    unshipped = wm.call("POST", f"/v3/orders/{po}/refund", json=wm.refund(po, "2", "-1.00"))
    assert unshipped.status_code == 400


def test_operations_are_recorded_for_checking(wm: WalmartClient) -> None:
    po = wm.place([{"sku": MUG, "quantity": 2}])
    wm.ok("POST", f"/v3/orders/{po}/acknowledge")
    wm.ok("POST", f"/v3/orders/{po}/shipping", json=wm.shipment([("1", 1)], carrier="FedEx", tracking="7777"))
    wm.ok("POST", f"/v3/orders/{po}/cancel", json=wm.cancellation([("1", 1)], "CUSTOMER_REQUESTED_SELLER_TO_CANCEL"))
    wm.ok("POST", f"/v3/orders/{po}/refund", json=wm.refund(po, "1", "-2.00", "DamagedItem"))
    ops = wm.control("GET", "/operations", purchaseOrderId=po)["operations"]
    assert [o["kind"] for o in ops] == ["acknowledgement", "shipment", "cancellation", "refund"]
    assert ops[1]["lines"][0] | {"shipDateTime": 0} == {
        "lineNumber": "1", "sku": MUG, "quantity": 1, "carrier": "FedEx", "otherCarrier": None,
        "methodCode": "Standard", "trackingNumber": "7777", "trackingURL": "https://www.ups.com/track?tracknum=7777",
        "shipDateTime": 0}
    assert ops[2]["lines"] == [{"lineNumber": "1", "sku": MUG, "quantity": 1,
                                "reason": "CUSTOMER_REQUESTED_SELLER_TO_CANCEL"}]
    assert ops[3]["lines"][0]["reason"] == "DamagedItem" and ops[3]["lines"][0]["amount"] == "-2.0"
    assert all(o["seller"] == SELLER_A.client_id for o in ops)


def test_acknowledging_twice_is_harmless(wm: WalmartClient) -> None:
    po = wm.place([{"sku": MUG, "quantity": 1}])
    first = wm.ok("POST", f"/v3/orders/{po}/acknowledge")
    again = wm.ok("POST", f"/v3/orders/{po}/acknowledge")
    assert first == again
    assert len(wm.control("GET", "/operations", kind="acknowledgement")["operations"]) == 1


def test_customer_intent_to_cancel_must_be_overridden_to_ship(wm: WalmartClient) -> None:
    po = wm.place([{"sku": MUG, "quantity": 1}])
    wm.ok("POST", f"/v3/orders/{po}/acknowledge")
    order = wm.control("POST", f"/orders/{po}/events", {"event": "buyer_cancel"})["order"]
    assert order["orderLines"]["orderLine"][0]["intentToCancel"] == "Y"
    refused = wm.call("POST", f"/v3/orders/{po}/shipping", json=wm.shipment([("1", 1)]))
    assert refused.status_code == 400 and error_of(refused)["field"] == "intentToCancelOverride"
    wm.ok("POST", f"/v3/orders/{po}/shipping", json=wm.shipment([("1", 1)], intentToCancelOverride=True))


def test_channel_events_auto_cancel_and_delivered(wm: WalmartClient) -> None:
    po = wm.place([{"sku": MUG, "quantity": 2}, {"sku": TEA, "quantity": 1}], status="Acknowledged")
    wm.ok("POST", f"/v3/orders/{po}/shipping", json=wm.shipment([("1", 2)]))
    wm.control("POST", f"/orders/{po}/events", {"event": "auto_cancel"})
    wm.control("POST", f"/orders/{po}/events", {"event": "delivered"})
    lines = wm.ok("GET", f"/v3/orders/{po}")["order"]["orderLines"]["orderLine"]
    assert [[s["status"] for s in ln["orderLineStatuses"]["orderLineStatus"]] for ln in lines] == [["Delivered"],
                                                                                                   ["Cancelled"]]
    nothing = wm.control("POST", f"/orders/{po}/events", {"event": "auto_cancel"}, expect=400)
    assert "changes nothing" in nothing["errors"][0]["info"]


def test_poller_on_last_modified_sees_each_change_once(wm: WalmartClient) -> None:
    po = wm.place([{"sku": MUG, "quantity": 2}])
    other = wm.place([{"sku": TEA, "quantity": 1}])

    def poll(since: int) -> tuple[list[str], int]:
        response = wm.call("GET", "/v3/orders", params={"lastModifiedStartDate": _iso(since)})
        if response.status_code == 404:
            return [], since
        orders = response.json()["list"]["elements"]["order"]
        newest = max(ln["statusDate"] for o in orders for ln in o["orderLines"]["orderLine"])
        return [o["purchaseOrderId"] for o in orders], max(since, newest)

    seen, mark = poll(0)
    assert sorted(seen) == sorted([po, other])
    assert poll(mark)[0] == []
    wm.ok("POST", f"/v3/orders/{po}/acknowledge")
    seen, mark = poll(mark)
    assert seen == [po]
    assert poll(mark)[0] == []
    wm.ok("POST", f"/v3/orders/{po}/shipping", json=wm.shipment([("1", 1)]))
    wm.ok("POST", f"/v3/orders/{other}/acknowledge")
    seen, mark = poll(mark)
    assert sorted(seen) == sorted([po, other])
    assert poll(mark)[0] == []


def _iso(epoch_ms: int) -> str:
    from orderhub.simulators.walmart.clock import iso_ms

    return iso_ms(epoch_ms)


def test_overdue_acknowledgements_are_listed(wm: WalmartClient) -> None:
    late = wm.place([{"sku": MUG, "quantity": 1}])
    done = wm.place([{"sku": TEA, "quantity": 1}])
    wm.ok("POST", f"/v3/orders/{done}/acknowledge")
    assert wm.control("GET", "/orders/overdue")["orders"] == []
    wm.control("POST", "/clock", {"advance": 4 * 3600 + 1})
    overdue = wm.control("GET", "/orders/overdue")["orders"]
    assert [o["purchaseOrderId"] for o in overdue] == [late] and overdue[0]["acknowledgedAt"] is None
    bookkeeping = {o["order"]["purchaseOrderId"]: o for o in wm.control("GET", "/orders")["orders"]}
    assert bookkeeping[done]["acknowledgedAt"] >= bookkeeping[done]["releasedAt"]


# -- bad requests -----------------------------------------------------------------------------------


@pytest.mark.parametrize("body, field", [
    (b"not json", "body"),
    (b"{}", "orderShipment"),
    (b'{"orderShipment": {"orderLines": {"orderLine": [{"lineNumber": "1"}]}}}',
     "orderShipment.orderLines.orderLine[0].orderLineStatuses"),
])
def test_malformed_shipments_get_400_naming_the_field(wm: WalmartClient, body: bytes, field: str) -> None:
    po = wm.place([{"sku": MUG, "quantity": 1}], status="Acknowledged")
    response = wm.call("POST", f"/v3/orders/{po}/shipping", content=body,
                       headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and error_of(response)["field"] == field


def test_unknown_cancellation_reason_and_line_are_400(wm: WalmartClient) -> None:
    po = wm.place([{"sku": MUG, "quantity": 1}])
    reason = wm.call("POST", f"/v3/orders/{po}/cancel", json=wm.cancellation([("1", 1)], "BECAUSE"))
    assert reason.status_code == 400 and error_of(reason)["field"].endswith("cancellationReason")
    line = wm.call("POST", f"/v3/orders/{po}/cancel", json=wm.cancellation([("9", 1)]))
    assert line.status_code == 400 and "no line 9" in error_of(line)["info"]


def test_unknown_paths_methods_and_huge_bodies(wm: WalmartClient) -> None:
    missing = wm.call("GET", "/v3/returns")
    assert missing.status_code == 404 and error_of(missing)["code"] == "CONTENT_NOT_FOUND.GMP_GATEWAY_API"
    method = wm.call("DELETE", "/v3/orders")
    assert method.status_code == 405 and error_of(method)["code"] == "METHOD_NOT_ALLOWED.GMP_GATEWAY_API"
    wm.control("POST", "/config", {"max_body_bytes": 1000})
    po = wm.place([{"sku": MUG, "quantity": 1}])
    huge = wm.call("POST", f"/v3/orders/{po}/cancel", content=b"x" * 5000,
                   headers={"Content-Type": "application/json"})
    assert huge.status_code == 413 and error_of(huge)["code"] == "PAYLOAD_TOO_LARGE.GMP_GATEWAY_API"


# -- inventory and feeds ----------------------------------------------------------------------------


def test_single_sku_inventory_update_and_read(wm: WalmartClient) -> None:
    body = {"sku": MUG, "quantity": {"unit": "EACH", "amount": 7}}
    assert wm.ok("PUT", "/v3/inventory", params={"sku": MUG}, json=body) == body
    assert wm.ok("GET", "/v3/inventory", params={"sku": MUG}) == body
    node = wm.ok("PUT", "/v3/inventory", params={"sku": MUG, "shipNode": "10000003527"},
                 json={"sku": MUG, "quantity": {"unit": "EACH", "amount": 2}})
    assert node["quantity"]["amount"] == 2
    listed = {(r["sku"], r["shipNode"]): r["quantity"] for r in wm.control("GET", "/inventory",
                                                                             seller=SELLER_A.client_id)["inventory"]}
    assert listed[(MUG, None)] == 7 and listed[(MUG, "10000003527")] == 2
    assert wm.ok("GET", "/v3/inventory", params={"sku": MUG}, seller=SELLER_B)["quantity"]["amount"] == 25
    unknown = wm.call("GET", "/v3/inventory", params={"sku": "NO-SUCH-SKU"})
    assert unknown.status_code == 404
    negative = wm.call("PUT", "/v3/inventory", params={"sku": MUG},
                       json={"sku": MUG, "quantity": {"unit": "EACH", "amount": -1}})
    assert negative.status_code == 400 and error_of(negative)["field"] == "quantity.amount"
    assert wm.call("GET", "/v3/inventory").status_code == 400


def test_bulk_inventory_feed_is_processed_over_simulated_time(wm: WalmartClient) -> None:
    feed = {"InventoryHeader": {"version": "1.4"}, "Inventory": [
        {"sku": MUG, "quantity": {"unit": "EACH", "amount": 11}},
        {"sku": TEA, "quantity": {"unit": "EACH", "amount": 0}},
        {"sku": "NOT-LISTED", "quantity": {"unit": "EACH", "amount": 3}}]}
    import orjson

    feed_id = wm.ok("POST", "/v3/feeds", params={"feedType": "inventory"},
                    files={"file": ("inventory.json", orjson.dumps(feed), "application/json")})["feedId"]
    status = wm.ok("GET", f"/v3/feeds/{feed_id}")
    assert status["feedStatus"] == "RECEIVED" and status["itemsReceived"] == 3 and status["itemsProcessing"] == 3
    assert wm.ok("GET", "/v3/inventory", params={"sku": MUG})["quantity"]["amount"] == 25
    wm.control("POST", "/clock", {"advance": 61})
    assert wm.ok("GET", f"/v3/feeds/{feed_id}")["feedStatus"] == "INPROGRESS"
    wm.control("POST", "/clock", {"advance": 300})
    done = wm.ok("GET", f"/v3/feeds/{feed_id}", params={"includeDetails": "true"})
    assert (done["feedStatus"], done["itemsSucceeded"], done["itemsFailed"]) == ("PROCESSED", 2, 1)
    details = {d["sku"]: d for d in done["itemDetails"]["itemIngestionStatus"]}
    assert details["NOT-LISTED"]["ingestionStatus"] == "DATA_ERROR"
    assert details["NOT-LISTED"]["ingestionErrors"]["ingestionError"][0]["type"] == "DATA_ERROR"
    assert wm.ok("GET", "/v3/inventory", params={"sku": MUG})["quantity"]["amount"] == 11
    assert [o["via"] for o in wm.control("GET", "/operations", kind="inventory")["operations"]] == ["feed", "feed"]
    paged = wm.ok("GET", f"/v3/feeds/{feed_id}", params={"includeDetails": "true", "offset": "1", "limit": "1"})
    assert [d["index"] for d in paged["itemDetails"]["itemIngestionStatus"]] == [1]
    listing = wm.ok("GET", "/v3/feeds")
    assert listing["totalResults"] == 1 and listing["results"]["feed"][0]["feedStatus"] == "PROCESSED"


def test_json_body_feeds_multinode_and_unreadable_feeds(wm: WalmartClient) -> None:
    multi = {"inventoryHeader": {"version": "1.5"}, "inventory": [
        {"sku": SOAP, "shipNodes": [{"shipNode": "10000003527", "quantity": {"unit": "EACH", "amount": 9}}]}]}
    feed_id = wm.ok("POST", "/v3/feeds", params={"feedType": "MP_INVENTORY"}, json=multi)["feedId"]
    broken = wm.ok("POST", "/v3/feeds", params={"feedType": "inventory"},
                   files={"file": ("inventory.xml", b"<InventoryFeed/>", "application/xml")})["feedId"]
    wm.control("POST", "/clock", {"advance": 400})
    assert wm.ok("GET", f"/v3/feeds/{feed_id}")["itemsSucceeded"] == 1
    assert wm.ok("GET", "/v3/inventory", params={"sku": SOAP, "shipNode": "10000003527"})["quantity"]["amount"] == 9
    failed = wm.ok("GET", f"/v3/feeds/{broken}")
    assert failed["feedStatus"] == "ERROR" and failed["ingestionErrors"]["ingestionError"][0]["type"] == "DATA_ERROR"
    assert wm.call("POST", "/v3/feeds", params={"feedType": "price"}, json=multi).status_code == 400
    assert wm.call("GET", "/v3/feeds/NOPE@AQMBAQA").status_code == 404

"""``refundCreate`` and ``Order.suggestedRefund`` over real HTTP, as Shopify's reference describes them: the order's
payments as transactions, a suggestion naming the payment to refund from, a refund recorded on the order and sent as
refunds/create, user errors on the field at fault that change nothing, amounts and quantities bounded by what is
left, the presentment currency, and ``@idempotent`` (a repeat answers the first refund; required from 2026-04)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson

from orderhub.adapters.shopify import api_versions
from tests.simulators.conftest import SHOP_A, Receiver, SimClient
from tests.versions import SUPPORTED

ORDER = """
query($id: ID!, $lines: [RefundLineItemInput!]) {
  order(id: $id) {
    currencyCode presentmentCurrencyCode displayFinancialStatus
    lineItems(first: 5) { nodes { id currentQuantity } }
    transactions { id kind status gateway amountSet { shopMoney { amount } } parentTransaction { id } }
    suggestedRefund(refundLineItems: $lines) {
      amountSet { shopMoney { amount } } subtotalSet { shopMoney { amount } } totalTaxSet { shopMoney { amount } }
      refundLineItems { quantity restockType lineItem { id } }
      suggestedTransactions { kind gateway parentTransaction { id kind } maximumRefundableSet { shopMoney { amount } } }
    }
    refunds { id note refundLineItems(first: 5) { nodes { quantity restockType lineItem { id } } }
              transactions(first: 5) { nodes { kind amountSet { shopMoney { amount } } parentTransaction { id } } } }
  }
}"""
CREATE = """
mutation($input: RefundInput!, $key: String!) {
  refundCreate(input: $input) @idempotent(key: $key) {
    refund { id note totalRefundedSet { shopMoney { amount } } } order { id displayFinancialStatus }
    userErrors { field message }
  }
}"""
CREATE_WITHOUT_KEY = """
mutation($input: RefundInput!) { refundCreate(input: $input) { refund { id } userErrors { field message } } }"""
REQUIRED_FROM = min(v for v in SUPPORTED if api_versions.has("idempotency_required", v))
OPTIONAL_ERA = max(v for v in SUPPORTED if not api_versions.has("idempotency_required", v))


def _paid_order(sim: SimClient) -> tuple[str, dict[str, Any]]:
    """A paid order in one currency: its id and what the orders query shows of it."""
    for order_id in sim.place(8):
        rest = sim.sim.store.shop(SHOP_A).orders[order_id]
        if rest["currency"] != rest["presentment_currency"]:
            continue
        if rest["financial_status"] != "paid":
            sim.control("POST", f"/orders/{order_id}/pay", {"shop": SHOP_A})
        gid = f"gid://shopify/Order/{order_id}"
        return gid, sim.graphql(ORDER, {"id": gid})["order"]
    raise AssertionError("no order in one currency")


def _input(order_gid: str, line: str, quantity: int, amount: str, parent: str, **extra: Any) -> dict[str, Any]:
    return {"orderId": order_gid, "note": "orderhub return-1", "notify": False,
            "refundLineItems": [{"lineItemId": line, "quantity": quantity, "restockType": "NO_RESTOCK"}],
            "transactions": [{"orderId": order_gid, "gateway": "manual", "kind": "REFUND", "amount": amount,
                              "parentId": parent}], **extra}


def test_a_refund_from_the_suggested_payment_is_recorded_and_sent_once(sim_client: SimClient,
                                                                        receiver: Receiver) -> None:
    sim_client.subscribe("REFUNDS_CREATE", f"{receiver.url}/refunds")
    gid, order = _paid_order(sim_client)
    line = order["lineItems"]["nodes"][0]
    [payment] = order["transactions"]
    assert (payment["kind"], payment["status"], payment["parentTransaction"]) == ("SALE", "SUCCESS", None)
    lines = [{"lineItemId": line["id"], "quantity": 1, "restockType": "NO_RESTOCK"}]
    suggestion = sim_client.graphql(ORDER, {"id": gid, "lines": lines})["order"]["suggestedRefund"]
    [suggested] = suggestion["suggestedTransactions"]
    assert (suggested["kind"], suggested["parentTransaction"]) == ("SUGGESTED_REFUND", {"id": payment["id"],
                                                                                        "kind": "SALE"})
    assert suggested["maximumRefundableSet"]["shopMoney"]["amount"] == payment["amountSet"]["shopMoney"]["amount"]
    worth = Decimal(suggestion["subtotalSet"]["shopMoney"]["amount"])
    assert worth > 0 and Decimal(suggestion["amountSet"]["shopMoney"]["amount"]) >= worth
    assert suggestion["refundLineItems"] == [{"quantity": 1, "restockType": "NO_RESTOCK",
                                              "lineItem": {"id": line["id"]}}]

    variables = {"input": _input(gid, line["id"], 1, "7.50", payment["id"]), "key": "return-1"}
    first = sim_client.graphql(CREATE, variables)["refundCreate"]
    assert first["userErrors"] == [] and first["refund"]["note"] == "orderhub return-1"
    assert Decimal(first["refund"]["totalRefundedSet"]["shopMoney"]["amount"]) == Decimal("7.50")
    assert first["order"]["displayFinancialStatus"] in ("PARTIALLY_REFUNDED", "REFUNDED")
    again = sim_client.graphql(CREATE, variables)["refundCreate"]
    assert again["refund"]["id"] == first["refund"]["id"]  # the same key: the first refund, not a second
    other = sim_client.graphql(CREATE, {**variables, "input": {**variables["input"], "note": "x"}})["refundCreate"]
    assert other["refund"] is None and "same idempotency key" in other["userErrors"][0]["message"]

    after = sim_client.graphql(ORDER, {"id": gid})["order"]
    [refund] = after["refunds"]
    assert refund["id"] == first["refund"]["id"]
    assert refund["refundLineItems"]["nodes"] == [{"quantity": 1, "restockType": "NO_RESTOCK",
                                                   "lineItem": {"id": line["id"]}}]
    assert refund["transactions"]["nodes"] == [{"kind": "REFUND", "amountSet": {"shopMoney": {"amount": "7.5"}},
                                                "parentTransaction": {"id": payment["id"]}}]
    assert [t["kind"] for t in after["transactions"]] == ["SALE", "REFUND"]
    assert after["lineItems"]["nodes"][0]["currentQuantity"] == line["currentQuantity"] - 1
    sim_client.idle()
    [hook] = receiver.on("/refunds", "refunds/create")
    body = orjson.loads(hook.body)
    assert body["admin_graphql_api_id"] == refund["id"] and body["note"] == "orderhub return-1"
    assert [(t["kind"], t["amount"], t["parent_id"]) for t in body["transactions"]] == [
        ("refund", "7.50", int(payment["id"].rsplit("/", 1)[1]))]
    assert [(r["quantity"], r["restock_type"]) for r in body["refund_line_items"]] == [(1, "no_restock")]


def test_what_is_not_left_to_refund_is_a_user_error_that_changes_nothing(sim_client: SimClient) -> None:
    gid, order = _paid_order(sim_client)
    line = order["lineItems"]["nodes"][0]
    [payment] = order["transactions"]
    paid = Decimal(payment["amountSet"]["shopMoney"]["amount"])
    cases = [
        (_input(gid, line["id"], line["currentQuantity"] + 1, "1.00", payment["id"]), ["refundLineItems", "0",
                                                                                          "quantity"]),
        (_input(gid, line["id"], 1, str(paid + 1), payment["id"]), ["transactions", "0", "amount"]),
        (_input(gid, line["id"], 1, "1.00", "gid://shopify/OrderTransaction/1"), ["transactions", "0", "parentId"]),
        (_input(gid, "gid://shopify/LineItem/1", 1, "1.00", payment["id"]), ["refundLineItems", "0", "lineItemId"]),
        (_input(gid, line["id"], 1, "1.00", payment["id"], currency="JPY"), ["currency"]),
        (_input("gid://shopify/Order/1", line["id"], 1, "1.00", payment["id"]), ["orderId"]),
    ]
    for i, (refund_input, field) in enumerate(cases):
        payload = sim_client.graphql(CREATE, {"input": refund_input, "key": f"bad-{i}"})["refundCreate"]
        assert payload["refund"] is None and [e["field"] for e in payload["userErrors"]] == [field], payload
    after = sim_client.graphql(ORDER, {"id": gid})["order"]
    assert after["refunds"] == [] and len(after["transactions"]) == 1
    assert after["lineItems"]["nodes"][0]["currentQuantity"] == line["currentQuantity"]
    # Everything the payment holds can go back, in parts; then nothing more.
    half = (paid / 2).quantize(Decimal("0.01"))
    for key, amount in (("a", half), ("b", paid - half)):
        no_lines = dict(_input(gid, line["id"], 1, str(amount), payment["id"]), refundLineItems=[])
        assert sim_client.graphql(CREATE, {"input": no_lines, "key": key})["refundCreate"]["userErrors"] == []
    more = dict(_input(gid, line["id"], 1, "0.01", payment["id"]), refundLineItems=[])
    [error] = sim_client.graphql(CREATE, {"input": more, "key": "c"})["refundCreate"]["userErrors"]
    assert error["field"] == ["transactions", "0", "amount"]
    assert sim_client.graphql(ORDER, {"id": gid})["order"]["displayFinancialStatus"] == "REFUNDED"


def test_the_idempotent_directive_is_required_from_2026_04(sim_client: SimClient) -> None:
    gid, order = _paid_order(sim_client)
    line = order["lineItems"]["nodes"][0]
    refund_input = _input(gid, line["id"], 1, "1.00", order["transactions"][0]["id"])
    response = sim_client.graphql_response(CREATE_WITHOUT_KEY, {"input": refund_input}, version=REQUIRED_FROM)
    [error] = response.json()["errors"]
    assert "@idempotent directive is required" in error["message"]
    assert sim_client.graphql(ORDER, {"id": gid})["order"]["refunds"] == []
    taken = sim_client.graphql(CREATE_WITHOUT_KEY, {"input": refund_input}, version=OPTIONAL_ERA)["refundCreate"]
    assert taken["userErrors"] == [] and taken["refund"]["id"]

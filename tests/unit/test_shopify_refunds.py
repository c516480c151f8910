"""The pieces of refunding a Shopify order: which operations each channel kind takes, the mark a refund orderhub
makes carries (and reads back), the amount shared over the payments and put in the presentment currency, and the
channel's answers mapped to what the sender does with them."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from orderhub.adapters import channels
from orderhub.adapters.shopify import refunds, translate
from orderhub.adapters.shopify.channel import ShopifyOrders
from orderhub.adapters.shopify.graphql import AuthError, GraphQLErrors, ShopifyError
from orderhub.domain.channels import CancelNotice, ChannelRefused, ChannelUnavailable, RefundNotice, ShipmentNotice

NOTICE = RefundNotice("450789469", (("518995019", 1),), Decimal("19.90"), "EUR", "returned", "return-12",
                      (("518995019", Decimal("19.90")),), "zu klein 👕")


def test_shopify_takes_refunds_only_and_the_marketplaces_take_every_operation() -> None:
    assert channels.order_operations("shopify") == {"refund"}
    for kind in ("amazon", "walmart", "tiktok"):
        assert channels.order_operations(kind) == {"ship", "cancel", "refund"}
    assert channels.order_operations("nonesuch") == frozenset()


def test_the_refund_note_carries_the_return_and_only_its_beginning_counts() -> None:
    note = refunds.refund_note("return-12", "zu klein 👕")
    assert note == "orderhub return-12: zu klein 👕" and refunds.return_ref(note) == "return-12"
    assert refunds.return_ref(refunds.refund_note("return-12", None)) == "return-12"
    for other in (None, "", "customer wants return-12 refunded", "orderhub return-12x", "Orderhub return-12",
                  "orderhub return-"):
        assert refunds.return_ref(other) is None, other
    assert len(refunds.refund_note("return-1", "x" * 5000)) < 600
    assert refunds.idempotency_key("450789469", "return-12") == "orderhub-450789469-return-12"


def test_the_translator_reads_the_mark_into_the_refund() -> None:
    body = {"id": 929361465, "order_id": 450789469, "created_at": "2026-12-07T10:00:00-05:00",
            "note": "orderhub return-12: zu klein 👕", "refund_line_items": [],
            "transactions": [{"kind": "refund", "status": "success", "amount": "19.90", "currency": "EUR"}]}
    now = datetime(2026, 12, 7, tzinfo=UTC)
    assert translate.refund(body, now).return_ref == "return-12"
    assert translate.refund(dict(body, note="wrong size"), now).return_ref is None


def _suggested(parent: str, holds: str) -> dict[str, Any]:
    return {"gateway": "shopify_payments", "parentTransaction": {"id": parent},
            "maximumRefundableSet": {"shopMoney": {"amount": holds}, "presentmentMoney": {"amount": holds}}}


def test_the_amount_is_taken_from_the_payments_each_up_to_what_it_holds() -> None:
    order = "gid://shopify/Order/1"
    shares = refunds._transactions(order, Decimal("30.00"), "EUR",
                                   [_suggested("gid://shopify/OrderTransaction/1", "20.00"),
                                    _suggested("gid://shopify/OrderTransaction/2", "50.00")])
    assert [(t["parentId"], t["amount"], t["kind"]) for t in shares or []] == [
        ("gid://shopify/OrderTransaction/1", "20.00", "REFUND"),
        ("gid://shopify/OrderTransaction/2", "10.00", "REFUND")]
    assert refunds._transactions(order, Decimal("30.01"), "EUR",
                                 [_suggested("gid://shopify/OrderTransaction/1", "30.00")]) is None
    assert refunds._transactions(order, Decimal("1"), "EUR", []) is None


def test_the_amount_goes_to_shopify_in_the_presentment_currency() -> None:
    same = {"currencyCode": "EUR", "presentmentCurrencyCode": "EUR"}
    assert refunds._in_presentment(Decimal("19.9"), same) == Decimal("19.90")
    paid_in_yen = {"currencyCode": "EUR", "presentmentCurrencyCode": "JPY", "name": "#1001",
                   "totalPriceSet": {"shopMoney": {"amount": "100.00"}, "presentmentMoney": {"amount": "16250"}}}
    assert refunds._in_presentment(Decimal("19.90"), paid_in_yen) == Decimal("3233")
    with pytest.raises(ChannelRefused, match="#1001 has no total"):
        refunds._in_presentment(Decimal("1"), dict(paid_in_yen, totalPriceSet={
            "shopMoney": {"amount": "0"}, "presentmentMoney": {"amount": "0"}}))


class Answers:
    """An Admin API client that answers each call from a list (an exception is raised)."""

    def __init__(self, *answers: Any, idempotent: bool = True) -> None:
        self.answers = list(answers)
        self.sent: list[tuple[str, dict[str, Any]]] = []
        self.idempotent = idempotent

    def execute(self, query: str, variables: dict[str, Any], *, expected_cost: float = 0) -> Any:
        self.sent.append((query, variables))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def has(self, feature: str) -> bool:
        return self.idempotent


ORDER = {"order": {"id": "gid://shopify/Order/450789469", "name": "#1001", "currencyCode": "EUR",
                   "presentmentCurrencyCode": "EUR", "refunds": [],
                   "totalPriceSet": {"shopMoney": {"amount": "50.00"}, "presentmentMoney": {"amount": "50.00"}}}}
SUGGESTION = {"order": {"suggestedRefund": {"suggestedTransactions": [
    _suggested("gid://shopify/OrderTransaction/7", "50.00")]}}}


def test_a_refund_is_sent_with_its_lines_unrestocked_its_payment_and_its_key() -> None:
    client = Answers(ORDER, SUGGESTION, {"refundCreate": {"refund": {"id": "gid://shopify/Refund/3"},
                                                          "userErrors": []}})
    assert refunds.refund(client, NOTICE) == "gid://shopify/Refund/3"  # type: ignore[arg-type]
    query, variables = client.sent[-1]
    assert "@idempotent(key: $key)" in query and variables["key"] == "orderhub-450789469-return-12"
    sent = variables["input"]
    assert sent["refundLineItems"] == [{"lineItemId": "gid://shopify/LineItem/518995019", "quantity": 1,
                                        "restockType": "NO_RESTOCK"}]
    assert sent["transactions"] == [{"orderId": "gid://shopify/Order/450789469", "gateway": "shopify_payments",
                                     "kind": "REFUND", "amount": "19.90",
                                     "parentId": "gid://shopify/OrderTransaction/7"}]
    assert (sent["currency"], sent["note"]) == ("EUR", "orderhub return-12: zu klein 👕")

    before = Answers(ORDER, SUGGESTION, {"refundCreate": {"refund": {"id": "gid://shopify/Refund/4"},
                                                          "userErrors": []}}, idempotent=False)
    refunds.refund(before, NOTICE)  # type: ignore[arg-type]
    assert "@idempotent" not in before.sent[-1][0] and "key" not in before.sent[-1][1]


def test_a_refund_made_before_is_found_on_the_order_and_not_made_again() -> None:
    made = {"order": dict(ORDER["order"], refunds=[{"id": "gid://shopify/Refund/9",
                                                    "note": "orderhub return-12: zu klein 👕"}])}
    client = Answers(made)
    assert refunds.refund(client, NOTICE) == "gid://shopify/Refund/9"  # type: ignore[arg-type]
    assert len(client.sent) == 1


@pytest.mark.parametrize(("answers", "raised", "said"), [
    ([{"order": None}], ChannelRefused, "Shopify has no order 450789469"),
    ([ORDER, SUGGESTION, {"refundCreate": {"refund": None, "userErrors": [
        {"field": ["transactions", "0", "amount"], "message": "Amount is too much"}]}}], ChannelRefused,
     r"Shopify refused the refund of order #1001 for return-12: Amount is too much \(transactions.0.amount\)"),
    ([GraphQLErrors([{"message": "Access denied for refundCreate field."}])], ChannelRefused, "Access denied"),
    ([GraphQLErrors([{"message": "Throttled", "extensions": {"code": "THROTTLED"}}])], ChannelUnavailable,
     "throttled"),
    ([ShopifyError("Shopify answered 503 8 times")], ChannelUnavailable, "503"),
    ([AuthError("Shopify refused the access token (401)")], ChannelUnavailable, "access token"),
    ([{"order": dict(ORDER["order"], currencyCode="USD")}], ChannelRefused, "is in USD"),
])
def test_answers_a_person_must_act_on_are_refusals_and_passing_ones_are_tried_later(
        answers: list[Any], raised: type[Exception], said: str) -> None:
    with pytest.raises(raised, match=said):
        refunds.refund(Answers(*answers), NOTICE)  # type: ignore[arg-type]


def test_shopifys_own_jobs_ship_and_cancel_its_orders() -> None:
    orders = ShopifyOrders(Answers())  # type: ignore[arg-type]
    with pytest.raises(ChannelRefused, match="fulfilled by orderhub's Shopify jobs"):
        orders.confirm_shipment(ShipmentNotice("1", (("2", 1),), "DHL", None, datetime(2026, 12, 7, tzinfo=UTC),
                                               "shipment-1"))
    with pytest.raises(ChannelRefused, match="cancelled by orderhub's Shopify jobs"):
        orders.cancel_lines(CancelNotice("1", (("2", 1),), "other"))
    with pytest.raises(ChannelRefused, match="imported"):
        orders.acknowledge("1")

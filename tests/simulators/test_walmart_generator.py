"""The Walmart order generator (seeded, with the channel's edge cases), the control API's orders, the CLI."""

from __future__ import annotations

import click
from click.testing import CliRunner

from orderhub.simulators.walmart.cli import add_cli
from orderhub.simulators.walmart.generator import KINDS, OrderGenerator
from orderhub.simulators.walmart.schema_check import check
from tests.simulators import test_walmart_helpers as helpers
from tests.simulators.test_walmart_helpers import WalmartClient

walmart_server, wm = helpers.walmart_server, helpers.wm  # the shared fixtures

NOW = 1_796_600_000_000


def rendered(seed: int, count: int = 40) -> list[dict]:
    return [o.render() for o in OrderGenerator(seed).orders("seller", NOW, count)]


def test_same_seed_same_orders_other_seed_other_orders() -> None:
    assert rendered(11) == rendered(11)
    assert rendered(11) != rendered(12)


def test_generated_orders_match_the_published_order_model() -> None:
    for order in rendered(5, 60):
        assert check({"order": order}, "orders", "GetOrderResponse") == []


def test_edge_cases_all_appear() -> None:
    gen = OrderGenerator(3)
    by_kind = {kind: [gen.order("s", NOW, kind).render() for _ in range(5)] for kind in KINDS}
    lines = lambda o: o["orderLines"]["orderLine"]  # noqa: E731
    assert any(int(ln["orderLineQuantity"]["amount"]) > 1 for o in by_kind["multi_quantity"] for ln in lines(o))
    assert all(len(lines(o)) >= 2 for o in by_kind["multi_quantity"])
    assert all(any(c["chargeName"] == "SubscriptionDiscount" and c["chargeAmount"]["amount"] < 0
                   for ln in lines(o) for c in ln["charges"]["charge"]) for o in by_kind["promotion"])
    assert all(o["isGuest"] and "address2" not in o["shippingInfo"]["postalAddress"] for o in by_kind["guest"])
    assert all(lines(o)[0]["orderLineStatuses"]["orderLineStatus"][0]["status"] == "Cancelled"
               for o in by_kind["customer_cancelled"])
    assert all(lines(o)[-1]["intentToCancel"] == "Y" for o in by_kind["intent_to_cancel"])
    assert all(o["shipNode"]["type"] == "WFSFulfilled" and lines(o)[0]["orderLineStatuses"]["orderLineStatus"][0]
               ["status"] == "Shipped" for o in by_kind["wfs"])
    text = str(rendered(9, 60))
    assert any(ord(ch) > 0x1F000 for ch in text), "no emoji in generated names or products"
    assert any("\u0400" <= ch <= "\u04FF" for ch in text) and any("\u4E00" <= ch <= "\u9FFF" for ch in text)
    emails = {o["customerEmailId"] for o in rendered(9, 60)}
    assert all(e.endswith("@relay.walmart.com") for e in emails) and len(emails) == 60


def test_control_api_generates_and_places_explicit_orders(wm: WalmartClient) -> None:
    ids = wm.control("POST", "/orders", {"count": 6, "kind": "multi_quantity"}, expect=201)["purchaseOrderIds"]
    assert len(set(ids)) == 6
    po = wm.place([{"sku": "CUSTOM-1", "quantity": 3, "unitPrice": "4.20", "productName": "Ærøskøbing Tee 🎽"}],
                  status="Acknowledged", purchaseOrderId="5550001112223", customerName="Zoë 🦄")
    assert po == "5550001112223"
    order = wm.ok("GET", f"/v3/orders/{po}")["order"]
    line = order["orderLines"]["orderLine"][0]
    assert line["item"] == {"productName": "Ærøskøbing Tee 🎽", "sku": "CUSTOM-1"}
    assert line["charges"]["charge"][0]["chargeAmount"] == {"currency": "USD", "amount": 12.6}
    assert line["orderLineStatuses"]["orderLineStatus"] == [
        {"status": "Acknowledged", "statusQuantity": {"unitOfMeasurement": "EACH", "amount": "3"}}]
    assert order["shippingInfo"]["postalAddress"]["name"] == "Zoë 🦄"
    wm.control("POST", "/orders", {"order": {"lines": [{"sku": "X", "quantity": 1}],
                                             "purchaseOrderId": "5550001112223"}}, expect=400)
    for bad in ({"order": {"lines": []}}, {"order": {"lines": [{"sku": "X", "quantity": 0}]}},
                {"order": {"lines": [{"sku": "X", "quantity": 1}], "status": "Shipped"}},
                {"count": 0}, {"kind": "haunted"}, {"seller": "nobody", "count": 1}):
        wm.control("POST", "/orders", bad, expect=400)


def test_accounts_can_be_added_and_get_the_catalogue(wm: WalmartClient) -> None:
    added = wm.control("POST", "/accounts", {"client_id": "gamma", "client_secret": "g-secret"}, expect=201)
    token = wm.token_response("gamma", "g-secret")
    assert token.status_code == 200 and added["seller_id"].isdigit()
    listing = wm.control("GET", "/inventory", seller="gamma")["inventory"]
    assert {r["sku"] for r in listing} >= {"WM-MUG-CAFE", "WM-TEA-MATCHA"}


def test_cli_registers_walmart_with_its_options() -> None:
    group = click.Group("simulate")
    add_cli(group)
    result = CliRunner().invoke(group, ["walmart", "--help"])
    assert result.exit_code == 0
    for option in ("--port", "--account", "--orders", "--seed"):
        assert option in result.output
    bad = CliRunner().invoke(group, ["walmart", "--account", "no-secret"])
    assert bad.exit_code != 0 and "CLIENT_ID:CLIENT_SECRET" in bad.output


def test_orderhub_cli_offers_simulate_walmart() -> None:
    from orderhub.entrypoints.cli import main

    result = CliRunner().invoke(main, ["simulate", "--help"])
    assert result.exit_code == 0 and "walmart" in result.output

"""The same orders, ingested on SQLite and on PostgreSQL, show the same money text everywhere: the API,
``orderhub orders show`` (text and ``--json``), the outbound events and the console's order page.

PostgreSQL hands amounts back as NUMERIC(20,4) (``20.0000``), SQLite as the text stored (``20``): the
strings below are what each currency wants, and every backend must give exactly these."""

from __future__ import annotations

import html
import re
from typing import Any

import httpx
import orjson
import pytest
from click.testing import CliRunner

from orderhub.adapters.store import tokens
from orderhub.bootstrap import Hub
from orderhub.entrypoints.cli import main
from orderhub.services.console import accounts
from orderhub.testing.server import ServerThread
from tests.e2e.test_console_http import PASSWORD, sign_in
from tests.oms_support import events, ingest, make_oms, order, place
from tests.support import BIG_ID

USD, JPY, KWD = BIG_ID + 10, BIG_ID + 20, BIG_ID + 30


def _line(order_id: int, sku: str, price: str, **more: Any) -> dict[str, Any]:
    return {"id": order_id + 1, "sku": sku, "title": "Tee", "quantity": 1, "price": price, **more}


def _shipping(order_id: int, price: str) -> list[dict[str, Any]]:
    return [{"id": order_id + 3, "title": "Post", "code": "post", "price": price, "discounted_price": price}]


# What each order shows, per figure, whatever the database (USD: 2 decimals; JPY: none; KWD: 3).
EXPECTED = {
    USD: {"currency": "USD", "total_price": "23.00", "subtotal_price": "18.00", "total_tax": "0.00",
          "total_shipping": "5.00", "total_discounts": "2.00", "total_refunded": "0.00",
          "item": ("20.00", "2.00", "0.00"), "discount": ("10", "2.00")},
    JPY: {"currency": "JPY", "total_price": "2120", "subtotal_price": "1500", "total_tax": "120",
          "total_shipping": "500", "total_discounts": "0", "total_refunded": "0", "item": ("1500", "0", "120")},
    KWD: {"currency": "KWD", "total_price": "1.850", "subtotal_price": "1.250", "total_tax": "0.100",
          "total_shipping": "0.500", "total_discounts": "0.000", "total_refunded": "0.000",
          "item": ("1.250", "0.000", "0.100")},
}
TOTALS = ("total_price", "subtotal_price", "total_tax", "total_shipping", "total_discounts", "total_refunded")


@pytest.fixture
def shop_orders(hub: Hub) -> Any:
    """Three placed orders whose amounts arrive without trailing zeros (``"20"``, ``"1.25"``), as a
    Shopify payload may carry them: a USD one with a 10 % discount and no tax, JPY and KWD ones."""
    oms = make_oms(hub)
    ingest(hub, oms, order_id=USD, currency="USD", discount_codes=[], shipping_lines=_shipping(USD, "5"),
           line_items=[_line(USD, "SKU-1", "20", discount_allocations=[
               {"amount": "2", "discount_application_index": 0}])],
           discount_applications=[{"type": "automatic", "title": "Ten off", "value": "10.0",
                                   "value_type": "percentage", "target_type": "line_item",
                                   "target_selection": "all", "allocation_method": "across"}])
    ingest(hub, oms, order_id=JPY, currency="JPY", discount_codes=[], discount_applications=[],
           shipping_lines=_shipping(JPY, "500.00"),
           line_items=[_line(JPY, "SKU-2", "1500.00", tax_lines=[{"price": "120", "rate": 0.08, "title": "税"}])])
    ingest(hub, oms, order_id=KWD, currency="KWD", discount_codes=[], discount_applications=[],
           shipping_lines=_shipping(KWD, "0.5"),
           line_items=[_line(KWD, "SKU-1", "1.25", tax_lines=[{"price": "0.1", "rate": 0.08, "title": "VAT"}])])
    place(hub)
    return {shopify_id: int(order(hub, shopify_id)["id"]) for shopify_id in EXPECTED}


def _check_order_json(shown: dict[str, Any], shopify_id: int) -> None:
    want = EXPECTED[shopify_id]
    assert {k: shown[k] for k in TOTALS} == {k: want[k] for k in TOTALS}
    item = shown["items"][0]
    assert (item["price"], item["total_discount"], item["tax"]) == want["item"]
    line = shown["shipping_lines"][0]
    assert (line["price"], line["discounted_price"]) == (want["total_shipping"], want["total_shipping"])
    if "discount" in want:  # the percentage is a number, what it took off is money
        assert (shown["discounts"][0]["value"], shown["discounts"][0]["allocated"]) == want["discount"]


def test_the_api_shows_each_currency_decimals_on_every_database(hub: Hub, hub_server: ServerThread,
                                                                shop_orders: dict[int, int]) -> None:
    with hub.db.write() as conn:
        token = tokens.create(conn, "money")
    with httpx.Client(base_url=hub_server.url, headers={"Authorization": f"Bearer {token}"}) as client:
        for shopify_id, order_id in shop_orders.items():
            answer = client.get(f"/api/orders/{order_id}")
            assert answer.status_code == 200, answer.text
            _check_order_json(answer.json(), shopify_id)
        listed = {o["shopify_id"]: o["total_price"] for o in client.get("/api/orders").json()["orders"]}
    assert listed == {str(k): v["total_price"] for k, v in EXPECTED.items()}


def _cli(db_url: str, *args: str) -> str:
    result = CliRunner(env={"COLUMNS": "200"}).invoke(main, [*args, "--db", db_url], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def _row(text: str, first: str) -> list[str]:
    """The cells of the table row holding the cell ``first``, from that cell on (columns are two or more
    spaces apart)."""
    for line in text.splitlines():
        cells = re.split(r"\s{2,}", line.strip())
        if first in cells:
            return cells[cells.index(first):]
    raise AssertionError(f"no table row with {first!r} in:\n{text}")


def test_orders_show_prints_each_currency_decimals_never_a_bare_zero(db_url: str, shop_orders: dict[int, int]
                                                                     ) -> None:
    for shopify_id in shop_orders:
        want = EXPECTED[shopify_id]
        _check_order_json(orjson.loads(_cli(db_url, "orders", "show", str(shopify_id), "--json")), shopify_id)
        text = _cli(db_url, "orders", "show", str(shopify_id))
        assert (f"total {want['total_price']} {want['currency']} (tax {want['total_tax']}, "
                f"shipping {want['total_shipping']}, discounts {want['total_discounts']}, "
                f"refunded {want['total_refunded']})") in text
        price, discount, tax = want["item"]
        assert [price, discount, tax] == _row(text, "SKU-1" if shopify_id != JPY else "SKU-2")[4:7]
    usd = _cli(db_url, "orders", "show", str(USD))
    assert "tax 0," not in usd and "refunded 0)" not in usd  # a USD zero is 0.00, never a bare 0
    # the percentage stays a number; what it took off is money
    assert _row(usd, "Ten off") == ["Ten off", "10 %", "items", "2.00"]
    listed = _cli(db_url, "orders", "list")
    for want in EXPECTED.values():
        assert f"{want['total_price']} {want['currency']}" in listed


def test_outbound_events_carry_each_currency_decimals(hub: Hub, shop_orders: dict[int, int]) -> None:
    placed = {p["shopify_id"]: p for kind, p in events(hub) if kind == "order.placed"}
    assert {k: (p["total_price"], p["currency"]) for k, p in placed.items()} == {
        str(k): (v["total_price"], v["currency"]) for k, v in EXPECTED.items()}


def test_the_console_order_page_shows_each_currency_decimals(hub: Hub, hub_server: ServerThread,
                                                             shop_orders: dict[int, int]) -> None:
    accounts.add_user(hub.db, "vera", PASSWORD, "viewer")
    with sign_in(hub_server.url, "vera") as client:
        listing = html.unescape(client.get("/orders").text)
        for shopify_id, order_id in shop_orders.items():
            want = EXPECTED[shopify_id]
            assert f"{want['total_price']} {want['currency']}" in listing
            page = html.unescape(client.get(f"/orders/{order_id}").text)
            total = re.search(r'data-test="total"><strong>([^<]*)</strong>', page)
            assert total and total.group(1) == f"{want['total_price']} {want['currency']}"
            assert f'data-test="discounts">{want["total_discounts"]} {want["currency"]}<' in page
            price, discount, tax = want["item"]
            assert f'<td class="n">{price}</td><td class="n">{discount}</td><td class="n">{tax}</td>' in page
            assert f"refunded</dt><dd>{want['total_refunded']} {want['currency']}<" in page

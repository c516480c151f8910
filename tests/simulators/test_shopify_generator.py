"""The order generator: deterministic, hostile text, realistic gaps, consistent money, bad orders on request."""

from __future__ import annotations

import itertools
import re
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import orjson
import pytest

from orderhub.simulators.shopify.clock import Clock, parse_offset
from orderhub.simulators.shopify.generator import BAD_KINDS, OrderGenerator
from orderhub.simulators.shopify.store import TWO_TO_53, Store

TZ = parse_offset("-05:00")
SCRIPTS = {
    "Latin with accents": r"[À-ɏ]", "Cyrillic": r"[Ѐ-ӿ]", "Greek": r"[Ͱ-Ͽ]", "Arabic": r"[؀-ۿ]",
    "Hebrew": r"[֐-׿]", "Chinese (Han)": r"[一-鿿]", "Japanese kana": r"[぀-ヿ]", "Korean": r"[가-힯]",
    "Devanagari": r"[ऀ-ॿ]", "Thai": r"[฀-๿]",
}


def _orders(seed: int, count: int, **kw: Any) -> list[dict[str, Any]]:
    store = Store()
    generator = OrderGenerator(seed, store.next_id)
    now = Clock().now()
    products = generator.catalogue(now, TZ)
    return [generator.order(products, number=1001 + i, now=now, tz=TZ, currency="USD", **kw) for i in range(count)]


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def test_same_seed_same_orders_other_seed_other_orders() -> None:
    assert _orders(7, 20) == _orders(7, 20)
    assert _orders(7, 20) != _orders(8, 20)


def test_names_and_addresses_come_in_many_scripts_with_emoji() -> None:
    orders = _orders(3, 200)
    people = " ".join(s for o in orders for key in ("customer", "billing_address", "shipping_address")
                      for s in _strings(o.get(key)))
    missing = [name for name, pattern in SCRIPTS.items() if not re.search(pattern, people)]
    assert not missing, f"no customer or address text in {missing}"
    assert any("🦋" in ((o.get("shipping_address") or {}).get("address2") or "") for o in orders)
    assert any(li["title"].endswith(("👕", "☕", "🍵", "👟", "🎁")) for o in orders for li in o["line_items"])


def test_optional_fields_are_sometimes_missing_as_on_shopify() -> None:
    orders = _orders(5, 200)
    assert any("customer" not in o for o in orders), "no guest checkout"
    digital = [o for o in orders if "shipping_address" not in o]
    assert digital and all(not any(li["requires_shipping"] for li in o["line_items"]) and o["shipping_lines"] == []
                           for o in digital), "orders without a shipping address must be digital-only"
    assert any(o["billing_address"]["phone"] is None for o in orders)
    assert any(li["sku"] is None for o in orders for li in o["line_items"])
    assert any(o["note"] is None for o in orders) and any(o["note"] for o in orders)
    assert {len(o["line_items"]) for o in orders} == {1, 2, 3, 4, 5}
    assert len({o["presentment_currency"] for o in orders}) > 5
    assert any(o["discount_codes"] for o in orders) and any(not o["discount_codes"] for o in orders)


def _allocated(line: dict[str, Any]) -> Decimal:
    return sum((Decimal(a["amount"]) for a in line["discount_allocations"]), Decimal(0))


def test_money_is_two_decimal_strings_and_totals_add_up_as_shopify_defines_them() -> None:
    for order in _orders(11, 100):
        amounts = [v for k, v in order.items()
                   if k.startswith(("total", "subtotal", "current_")) and isinstance(v, str)]
        assert all(re.fullmatch(r"-?\d+\.\d\d", a) for a in amounts), amounts
        lines, shipping_lines = order["line_items"], order["shipping_lines"]
        items = sum(Decimal(li["price"]) * li["quantity"] for li in lines)
        line_discounts = sum(_allocated(li) for li in lines)
        shipping_discounts = sum(_allocated(s) for s in shipping_lines)
        tax = sum(Decimal(t["price"]) for li in lines for t in li["tax_lines"])
        shipping = sum(Decimal(s["discounted_price"]) for s in shipping_lines)
        assert all(li["total_discount"] == "0.00" for li in lines), "Shopify puts discounts in allocations"
        assert all(Decimal(s["price"]) - Decimal(s["discounted_price"]) == _allocated(s) for s in shipping_lines)
        assert Decimal(order["total_line_items_price"]) == items
        assert Decimal(order["subtotal_price"]) == items - line_discounts
        assert Decimal(order["total_discounts"]) == line_discounts + shipping_discounts
        assert Decimal(order["total_tax"]) == tax
        assert Decimal(order["total_price"]) == items - line_discounts + tax + shipping
        assert order["total_shipping_price_set"]["shop_money"] == {
            "amount": f"{shipping + shipping_discounts:.2f}", "currency_code": "USD"}
        codes = {d["code"]: Decimal(d["amount"]) for d in order["discount_codes"]}
        for index, application in enumerate(order["discount_applications"]):
            allocated = sum((Decimal(a["amount"]) for li in [*lines, *shipping_lines]
                             for a in li["discount_allocations"] if a["discount_application_index"] == index),
                            Decimal(0))
            if application["type"] == "discount_code":
                assert codes[application["code"]] == allocated


def test_discounts_come_as_shopify_sends_them() -> None:
    orders = _orders(12, 300)
    applications = [a for o in orders for a in o["discount_applications"]]
    assert {a["type"] for a in applications} == {"discount_code", "automatic"}
    assert {a["target_type"] for a in applications} == {"line_item", "shipping_line"}
    assert any(len(o["discount_applications"]) > 1 for o in orders), "no order with two discounts"
    assert any(s["discounted_price"] == "0.00" and s["price"] != "0.00" for o in orders for s in o["shipping_lines"])


def test_a_shop_whose_prices_include_tax_adds_no_tax_to_the_total() -> None:
    for order in _orders(13, 40, taxes_included=True):
        lines = order["line_items"]
        subtotal = sum(Decimal(li["price"]) * li["quantity"] - _allocated(li) for li in lines)
        shipping = sum(Decimal(s["discounted_price"]) for s in order["shipping_lines"])
        assert order["taxes_included"] is True
        assert Decimal(order["total_price"]) == subtotal + shipping
        for li in lines:
            for t in li["tax_lines"]:  # the part of the price the rate makes up
                gross = Decimal(li["price"]) * li["quantity"] - _allocated(li)
                rate = Decimal(str(t["rate"]))
                assert Decimal(t["price"]) == (gross * rate / (1 + rate)).quantize(Decimal("0.01"), ROUND_HALF_UP)


def test_ids_exceed_two_to_the_53_and_survive_json_exactly() -> None:
    order = _orders(1, 1)[0]
    ids = [order["id"], order["line_items"][0]["id"], order["line_items"][0]["variant_id"]]
    assert all(i > TWO_TO_53 and float(i) != i for i in ids), "ids must lose digits as doubles"
    body = orjson.dumps(order)
    assert str(order["id"]).encode() in body
    assert orjson.loads(body)["id"] == order["id"]
    assert order["admin_graphql_api_id"] == f"gid://shopify/Order/{order['id']}"


@pytest.mark.parametrize("kind", BAD_KINDS)
def test_bad_orders_are_broken_the_way_asked(kind: str) -> None:
    store = Store()
    generator = OrderGenerator(9, store.next_id)
    now = Clock().now()
    products = generator.catalogue(now, TZ)
    found = [generator.bad_order(kind, products, number=1001, now=now, tz=TZ, currency="USD") for _ in range(6)]
    for order in found:
        if kind == "no_line_items":
            assert order["line_items"] == []
        elif kind == "negative_quantity":
            assert order["line_items"][0]["quantity"] < 0
        elif kind == "unknown_currency":
            assert order["currency"] == "XXQ" and order["total_price_set"]["shop_money"]["currency_code"] == "XXQ"
        else:
            address = order.get("shipping_address", order["billing_address"])
            assert isinstance(address, str) or address["country_code"] == "ZZ"
    if kind == "malformed_address":
        kinds = {type(o.get("shipping_address", o["billing_address"])) for o in found}
        assert kinds == {str, dict}, "both malformed variants should occur"


def test_unknown_bad_kind_is_refused() -> None:
    store = Store()
    generator = OrderGenerator(1, store.next_id)
    products = generator.catalogue(Clock().now(), TZ)
    with pytest.raises(ValueError, match="unknown bad order kind"):
        generator.bad_order("upside_down", products, number=1, now=Clock().now(), tz=TZ, currency="USD")


def test_ids_count_up_per_resource_without_colliding() -> None:
    store = Store()
    kinds = ["order", "line_item", "product", "variant", "webhook_subscription"]
    ids = [store.next_id(k) for k, _ in itertools.product(kinds, range(3))]
    assert len(set(ids)) == len(ids) and min(ids) > TWO_TO_53

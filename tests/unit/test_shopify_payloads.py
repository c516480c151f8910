"""Pure translation rules: Shopify payloads, identities, signatures and versions."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orderhub.adapters.fields import numeric_id
from orderhub.adapters.shopify import graphql_orders, translate
from orderhub.adapters.shopify.webhooks import MissingHeaders, identity, read_headers, sign, verify
from orderhub.domain.errors import InvalidRecord
from orderhub.domain.model import Freshness, freshness
from orderhub.domain.validation import validate_order
from tests.support import BIG_ID, order_payload


def test_order_translation_keeps_ids_money_and_text_exact() -> None:
    order = translate.order(order_payload())
    assert order.shopify_id == "9007199254741993"
    assert order.total_price == Decimal("38.20") and isinstance(order.total_price, Decimal)
    assert order.items[0].tax == Decimal("3.80")
    assert order.tags == ("vip", "🦋")
    assert order.billing_address is not None and order.billing_address.city == "תל אביב"
    assert order.updated_at == datetime(2026, 11, 23, 15, 0, tzinfo=timezone.utc)


def test_missing_optional_fields_are_fine() -> None:
    p = order_payload()
    for key in ("customer", "shipping_address", "billing_address", "note", "tags", "shipping_lines", "email"):
        p.pop(key)
    p["line_items"][0]["sku"] = None
    order = translate.order(p)
    assert order.customer is None and order.items[0].sku is None and order.total_shipping == Decimal("5.00")


@pytest.mark.parametrize("change, field", [
    ({"line_items": [{"id": 1, "title": "x", "price": "1.00"}]}, "line_items[0].quantity"),
    ({"total_price": "abc"}, "total_price"),
    ({"created_at": "yesterday"}, "created_at"),
    ({"line_items": "none"}, "line_items"),
    ({"shipping_address": {"city": 5j}}, "shipping_address.city"),
])
def test_bad_fields_are_named(change: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidRecord) as err:
        translate.order(order_payload(**change))
    assert err.value.field == field


def test_validation_rules() -> None:
    ok = translate.order(order_payload())
    validate_order(ok, known_currency=lambda c: c == "EUR", known_country=lambda c: c in ("DE", "IL"))
    with pytest.raises(InvalidRecord, match="unknown country code 'IL'"):
        validate_order(ok, known_currency=lambda c: True, known_country=lambda c: c == "DE")


def test_ids_above_2_53_stay_exact() -> None:
    assert numeric_id(2**63 - 1, "id") == "9223372036854775807"
    assert numeric_id("gid://shopify/Order/9007199254740993", "id") == "9007199254740993"
    with pytest.raises(InvalidRecord):
        numeric_id(1.5, "id")


def test_identity_is_the_same_for_webhook_and_graphql_times_of_one_version() -> None:
    webhook = identity("orders/create", order_payload(updated_at="2026-11-23T10:00:00-05:00"), "w1")
    polled = identity("orders/updated", order_payload(updated_at="2026-11-23T15:00:00Z"), None)
    assert webhook == polled == f"order:{BIG_ID}@2026-11-23T15:00:00.000000Z"
    # Without an id and version of its own, a body is known by its digest, whatever webhook id it came with:
    # a signed body replayed under fresh ids is one record.
    unversioned = identity("orders/create", {"id": BIG_ID}, "w2")
    assert unversioned.startswith("body:orders/create:") and unversioned == identity("orders/create",
                                                                                    {"id": BIG_ID}, "w9")
    assert identity("app/uninstalled", {"id": 1, "domain": "a"}, "w3") == identity(
        "app/uninstalled", {"domain": "a", "id": 1}, "w4")  # key order does not matter
    raw = b'{"id": 1}'
    assert identity("customers/redact", {"id": 1}, "w5", raw) == identity("customers/redact", {"id": 1}, "w6", raw)
    assert identity("order_transactions/create", {"id": 77}, "w7") == "transaction:77"
    assert identity("shop/redact", None, "w8") == "webhook:w8"  # no body to go by


@given(st.binary(max_size=2000), st.text(min_size=1, max_size=50))
def test_signature_round_trip(body: bytes, secret: str) -> None:
    assert verify(secret, body, sign(secret, body))
    assert not verify(secret, body + b"x", sign(secret, body))
    assert not verify(secret, body, None)


def test_headers_missing_are_listed() -> None:
    with pytest.raises(MissingHeaders, match="x-shopify-topic, x-shopify-webhook-id"):
        read_headers({"X-Shopify-Shop-Domain": "a.myshopify.com"})


def test_freshness() -> None:
    t = datetime(2026, 1, 1, tzinfo=timezone.utc)
    later = datetime(2026, 1, 2, tzinfo=timezone.utc)
    assert freshness(None, t) is Freshness.NEW
    assert freshness(t, later) is Freshness.NEWER
    assert freshness(t, t) is Freshness.SAME
    assert freshness(later, t) is Freshness.STALE


def test_graphql_order_becomes_the_same_canonical_order() -> None:
    node = {
        "id": f"gid://shopify/Order/{BIG_ID}", "name": "#1001", "email": "a@example.com",
        "createdAt": "2026-11-23T14:59:00Z", "updatedAt": "2026-11-23T15:00:00Z", "currencyCode": "EUR",
        "displayFinancialStatus": "PARTIALLY_REFUNDED", "displayFulfillmentStatus": "FULFILLED",
        "tags": ["vip", "🦋"], "note": None,
        "subtotalPriceSet": {"shopMoney": {"amount": "30.0"}}, "totalPriceSet": {"shopMoney": {"amount": "38.2"}},
        "totalTaxSet": {"shopMoney": {"amount": "5.7"}}, "totalDiscountsSet": {"shopMoney": {"amount": "2.5"}},
        "totalShippingPriceSet": {"shopMoney": {"amount": "5.0"}},
        "customer": {"id": f"gid://shopify/Customer/{BIG_ID + 7}", "firstName": "Zoë"},
        "shippingAddress": {"address1": "Straße 1", "countryCodeV2": "DE"}, "billingAddress": None,
        "lineItems": {"nodes": [{"id": f"gid://shopify/LineItem/{BIG_ID + 1}", "sku": "SKU-1", "title": "T",
                                 "quantity": 2, "currentQuantity": 2, "requiresShipping": True,
                                 "originalUnitPriceSet": {"shopMoney": {"amount": "10.0"}},
                                 "taxLines": [{"priceSet": {"shopMoney": {"amount": "3.8"}}}],
                                 "variant": {"id": "gid://shopify/ProductVariant/77"}, "product": None}]},
        "shippingLines": {"nodes": []},
    }
    order = translate.order(graphql_orders.to_rest(node))
    assert order.shopify_id == str(BIG_ID) and order.name == "#1001"
    assert order.financial_status == "partially_refunded" and order.fulfillment_status == "fulfilled"
    assert order.total_price == Decimal("38.2") and order.total_shipping == Decimal("5.0")
    assert order.items[0].variant_id == "77" and order.items[0].tax == Decimal("3.8")
    assert order.shipping_address is not None and order.shipping_address.country_code == "DE"


def test_nul_characters_are_dropped_from_text_and_the_rest_is_kept() -> None:
    from tests.support import order_payload

    order = translate.order(order_payload(note="a\x00b 🦋", email="x\x00@example.com"))
    assert order.note == "ab 🦋" and order.email == "x@example.com"

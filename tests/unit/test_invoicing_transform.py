"""The Order-to-Invoice transform (orderhub.domain.invoicing): documents from a feed record, values
refused with their field, the invoicing store, transfer slips; and its fast path, which must
give exactly what the checked path gives, documents and errors alike."""

from __future__ import annotations

import copy
import random
from datetime import datetime, timezone
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import orjson
import pytest

from orderhub.domain import invoicing
from orderhub.domain.invoicing import FeedError, NotInvoiceable, Options, invoicing_store, transform
from orderhub.domain.retailpro_documents import (
    CUSTOMER_FIELDS,
    INVOICE_FIELDS,
    INVOICE_ITEM_FIELDS,
    TRANSFER_FIELDS,
    TRANSFER_ITEM_FIELDS,
    check_block,
    quick_check,
)


def item(**changes: Any) -> dict[str, Any]:
    line = {"line": "5001", "sku": "SKU-1", "barcode": "8720116122558", "title": "T-shirt 👕", "ordered": 2,
            "price": "10.00", "discount": "0.00", "tax": "3.80", "facility_id": 1, "store": "SVA32", "quantity": 2,
            "fulfilled_at": "2026-11-23T15:00:00+00:00"}
    return line | changes


def record(**changes: Any) -> dict[str, Any]:
    """A feed record as the feed writes it: two lines fulfilled at store SVA32."""
    address = {"first_name": "Zoë", "last_name": "Müller", "company": None, "address1": "Hauptstraße 1",
               "address2": None, "city": "Berlin", "province": "Berlin", "zip": "10115", "country": "Germany",
               "country_code": "DE", "phone": "+49 30 123456"}
    base = {"v": 1, "order_id": 7, "shop": "shop.myshopify.com", "name": "#1001", "number": "1001",
            "created_at": "2026-11-23T14:59:00+00:00", "currency": "EUR", "email": "zoe@example.com",
            "shipping_method": "Standard", "total_shipping": "5.00",
            "customer": {"first_name": "Zoë", "last_name": "Müller", "email": "zoe@example.com", "phone": None},
            "billing": address, "shipping": address | {"first_name": "Ana 🌸", "address1": "Calle Mayor 2"},
            "items": [item(), item(line="5002", sku="SKU-2", barcode="8720116122565", title="Сувенир", ordered=1,
                           quantity=1, discount="2.50", tax="1.90")]}
    return base | changes


def test_documents_for_a_record() -> None:
    docs = transform(record(), Options(delivery_types={"standard": 3}))
    assert (docs.order_id, docs.order, docs.store, docs.order_no) == (7, "#1001", "SVA32", "1001")
    invoice = docs.invoice
    assert {k: v for k, v in invoice.items() if not isinstance(v, (dict, list))} == {
        "InvoicingStore": "SVA32", "OrderNo": "1001", "CreatedDate": "2026-11-23T14:59:00", "DeliveryType": 3,
        "PaymentType": 1, "TotalAmt": Decimal("38.2000"), "TotalDiscAmt": Decimal("2.5000"),
        "ShippingAmt": Decimal("5.0000")}
    assert invoice["CustomerBilling"] == {"FirstName": "Zoë", "LastName": "Müller", "Email": "zoe@example.com",
                                          "Address1": "Hauptstraße 1", "City": "Berlin", "Country": "DE",
                                          "NoDocument": "CF", "Phone": "+49 30 123456"}
    assert invoice["CustomerShipping"]["FirstName"] == "Ana 🌸"
    assert invoice["Items"] == [
        {"UPC": "8720116122558", "OrigPrice": Decimal("10.0000"), "OrigTax": Decimal("1.9000"),
         "Price": Decimal("10.0000"), "Tax": Decimal("1.9000"), "Qty": 2, "StoreOrig": "SVA32", "StoreDest": "SVA32"},
        {"UPC": "8720116122565", "OrigPrice": Decimal("10.0000"), "OrigTax": Decimal("2.5333"),
         "Price": Decimal("7.5000"), "Tax": Decimal("1.9000"), "Qty": 1, "StoreOrig": "SVA32", "StoreDest": "SVA32"}]
    assert docs.transfers == [] and docs.stock == [(1, "SKU-1", 2), (1, "SKU-2", 1)]
    line = orjson.loads(orjson.dumps(docs.line(), default=str))
    assert line["invoice"]["TotalAmt"] == "38.2000" and line["order_id"] == 7  # money stays exact text


def test_created_date_is_in_the_stores_time_zone() -> None:
    docs = transform(record(), Options(timezone="America/El_Salvador"))
    assert docs.invoice["CreatedDate"] == "2026-11-23T08:59:00"
    assert transform(record(created_at="2026-11-23T14:59:00.250000+00:00"), Options()).invoice["CreatedDate"] == (
        "2026-11-23T14:59:00")


def test_a_too_long_name_is_refused_with_its_field_and_nothing_is_cut() -> None:
    name = "Maximiliana-Konstantina Alexandra"  # 33 characters; the field takes 30
    bad = record(billing=record()["billing"] | {"first_name": name})
    with pytest.raises(NotInvoiceable) as refused:
        transform(bad, Options())
    assert refused.value.field == "CustomerBilling.FirstName"
    assert [(p.field, p.code) for p in refused.value.problems] == [("CustomerBilling.FirstName", "FIELD_TOO_LONG")]
    assert "CustomerBilling.FirstName: is 33 characters; at most 30 allowed." in str(refused.value)
    assert str(refused.value).startswith("order #1001 cannot be invoiced as it is: ")


def test_a_missing_barcode_names_the_item_and_why() -> None:
    items = record()["items"]
    items[1]["barcode"] = None
    with pytest.raises(NotInvoiceable) as refused:
        transform(record(items=items), Options())
    assert refused.value.field == "Items[1].UPC"
    assert "Items[1].UPC: is required; SKU SKU-2 has no barcode in the catalogue." in str(refused.value)
    assert transform(record(items=items), Options(upc_source="barcode-or-sku")).invoice["Items"][1]["UPC"] == "SKU-2"


def test_a_record_that_is_not_a_feed_record_names_the_key() -> None:
    with pytest.raises(FeedError, match=r"^items\[0\]: quantity 3 of a line of 2 is not possible$"):
        transform(record(items=[item(quantity=3)]), Options())
    with pytest.raises(FeedError, match=r"^items\[0\]\.price: must be an amount such as \"12.50\", not 'ten'$"):
        transform(record(items=[item(price="ten")]), Options())
    with pytest.raises(FeedError, match=r"^v: is 2; this transform reads feed version 1$"):
        transform(record(v=2), Options())


def _two_stores() -> list[dict[str, Any]]:
    """SVA32 fulfilled 3 units early; SVA26 1 unit later."""
    return [item(store="SVA32", facility_id=1, quantity=2, fulfilled_at="2026-11-23T10:00:00+00:00"),
            item(line="5002", sku="SKU-2", barcode="8720116122565", store="SVA32", facility_id=1, ordered=1,
                 quantity=1, fulfilled_at="2026-11-23T10:00:00+00:00"),
            item(line="5003", sku="SKU-3", barcode="8720116122572", store="SVA26", facility_id=2, ordered=1,
                 quantity=1, fulfilled_at="2026-11-23T12:00:00+00:00")]


def test_the_invoicing_store_is_the_last_to_fulfil_the_one_with_most_units_or_the_one_named() -> None:
    assert transform(record(items=_two_stores()), Options()).store == "SVA26"
    assert transform(record(items=_two_stores()), Options(invoicing="most-units")).store == "SVA32"
    assert transform(record(items=_two_stores()), Options(invoicing="SVA99")).store == "SVA99"
    same_time = [i | {"fulfilled_at": "2026-11-23T10:00:00+00:00"} for i in _two_stores()]
    assert transform(record(items=same_time), Options()).store == "SVA32"  # a tie: more units wins


def test_invoicing_store_breaks_ties_by_units_then_by_code() -> None:
    at = datetime(2026, 11, 23, 10, tzinfo=timezone.utc)
    lines = [SimpleNamespace(store="SVA26", fulfilled_at=at, quantity=1),
             SimpleNamespace(store="SVA32", fulfilled_at=at, quantity=1)]
    assert invoicing_store(lines, "last-to-fulfil") == "SVA32"  # same time, same units: the greater code
    assert invoicing_store(lines, "most-units") == "SVA32"
    lines[0].quantity = 2
    assert invoicing_store(lines, "last-to-fulfil") == invoicing_store(lines, "most-units") == "SVA26"


def test_other_stores_send_what_they_fulfilled_on_slips_to_the_invoicing_store() -> None:
    docs = transform(record(items=_two_stores()), Options(invoicing="most-units"))
    assert docs.transfers == [{"SlipNo": "1001", "FromStore": "SVA26", "ToStore": "SVA32",
                               "CreatedDate": "2026-11-23T14:59:00", "TotalQty": 1,
                               "Items": [{"UPC": "8720116122572", "Qty": 1}]}]
    assert [i["StoreOrig"] for i in docs.invoice["Items"]] == ["SVA32", "SVA32", "SVA26"]
    assert {i["StoreDest"] for i in docs.invoice["Items"]} == {"SVA32"}
    assert docs.stock == [(1, "SKU-1", 2), (1, "SKU-2", 1), (2, "SKU-3", 1)]
    named = transform(record(), Options(invoicing="SVA26"))  # every line moves to the store named
    assert [(s["FromStore"], s["ToStore"], s["TotalQty"]) for s in named.transfers] == [("SVA32", "SVA26", 3)]


def test_feed_records_take_the_fast_path() -> None:
    for options in (Options(), Options(invoicing="most-units", upc_source="barcode-or-sku", timezone="Europe/Berlin")):
        for r in (record(), record(items=_two_stores()), record(customer=None, billing=None)):
            fast = invoicing._transform_fast(copy.deepcopy(r), options)
            assert fast is not None and invoicing.Documents(*fast) == invoicing._transform_checked(r, options)
            assert invoicing.transform_line(r, options) == transform(r, options).line()


# -- the fast path against the checked path ------------------------------------------------------------------

ODD_VALUES: list[Any] = [None, "", " ", "\t", "x", "x" * 31, "x" * 61, "SVA32", "SVA326", "0", "-1", "10.00",
                         "1e3", "NaN", "Infinity", "-0.00", "999999.99995", "1000000", "12.345678", 0, 1, -1, 2, 3,
                         True, False, 1.5, [], {}, ["x"], {"a": 1}, "2026-11-23T14:59:00", "2026-11-23 14:59:00Z",
                         "2026-11-23T14:59:00+02:00", "0999-01-01T00:00:00+00:00", "2026-11-23T14:59+00:00",
                         "20261123T145900+00:00", "not a time", "#", "🌸" * 30, "🌸" * 31]
RECORD_KEYS = ["v", "order_id", "name", "number", "created_at", "email", "shipping_method", "total_shipping",
               "taxes_included", "customer", "billing", "shipping", "items"]
ITEM_KEYS = ["sku", "barcode", "ordered", "quantity", "price", "discount", "tax", "facility_id", "store",
             "fulfilled_at"]
PERSON_KEYS = ["first_name", "last_name", "email", "phone", "address1", "address2", "city", "country",
               "country_code"]


def _outcome(run: Any, r: dict[str, Any], options: Options) -> Any:
    try:
        docs = run(copy.deepcopy(r), options)
    except NotInvoiceable as exc:
        return "refused", str(exc), exc.problems
    except FeedError as exc:
        return "unreadable", str(exc), exc.path
    except Exception as exc:  # noqa: BLE001 - whatever the checked path raises, the fast one must too
        return type(exc).__name__, str(exc)
    return "documents", orjson.dumps(docs.line(), default=str), docs


def _mutated(rng: random.Random) -> dict[str, Any]:
    r = record(items=_two_stores() if rng.random() < 0.3 else record()["items"])
    for _ in range(rng.randrange(1, 4)):
        where = rng.random()
        if where < 0.3:
            r[rng.choice(RECORD_KEYS)] = rng.choice(ODD_VALUES)
        elif where < 0.7 and isinstance(r.get("items"), list) and r["items"]:
            line = rng.choice(r["items"])
            if isinstance(line, dict):
                key = rng.choice(ITEM_KEYS)
                if rng.random() < 0.2:
                    line.pop(key, None)
                else:
                    line[key] = rng.choice(ODD_VALUES)
        else:
            block = r.get(rng.choice(["customer", "billing", "shipping"]))
            if isinstance(block, dict):
                block[rng.choice(PERSON_KEYS)] = rng.choice(ODD_VALUES)
    return r


@pytest.mark.parametrize("options", [Options(), Options(upc_source="sku", invoicing="most-units"),
                                     Options(upc_source="barcode-or-sku", invoicing="SVA26", timezone="Asia/Tokyo",
                                             document_type="DUI", delivery_types={"standard": 2})])
def test_the_fast_path_gives_what_the_checked_path_gives(options: Options) -> None:
    rng = random.Random(20261123)
    seen = set()
    for _ in range(3000):
        r = _mutated(rng)
        checked = _outcome(invoicing._transform_checked, r, options)
        assert _outcome(transform, r, options)[:2] == checked[:2], r
        if checked[0] == "documents":
            assert orjson.dumps(invoicing.transform_line(r, options), default=str) == checked[1]
        if checked[0] == "refused":
            assert _outcome(transform, r, options)[2] == checked[2]
        seen.add(checked[0])
    assert {"documents", "refused", "unreadable"} <= seen


@pytest.mark.parametrize("fields", [INVOICE_FIELDS, CUSTOMER_FIELDS, INVOICE_ITEM_FIELDS, TRANSFER_FIELDS,
                                    TRANSFER_ITEM_FIELDS])
def test_the_quick_check_agrees_with_check_block(fields: Any) -> None:
    fits = quick_check(fields)
    rng = random.Random(7)
    values = ODD_VALUES + [Decimal("1.0000"), Decimal("-1.0000"), Decimal("12.5"), Decimal("1.00001"),
                           Decimal("999999.9999"), Decimal("1000000.0000"), Decimal("NaN"), Decimal("-0.0000"), 999,
                           1000, "2023-03-20T11:29:00"]
    for _ in range(5000):
        block = {f.name: rng.choice(values) for f in fields if rng.random() < 0.85}
        if rng.random() < 0.1:
            block["Unknown"] = rng.choice(values)
        assert fits(block) == (not check_block(block, fields)[1]), block


def test_the_quick_check_takes_values_as_arguments_too() -> None:
    names = ("Tax", "UPC", "OrigPrice", "OrigTax", "Price", "Qty", "StoreOrig")  # any order; StoreDest left out
    fits = quick_check(INVOICE_ITEM_FIELDS, names)
    rng = random.Random(11)
    values = ODD_VALUES + [Decimal("1.0000"), Decimal("-1.0000"), Decimal("12.5"), Decimal("1000000.0000")]
    for _ in range(5000):
        block = {n: rng.choice(values) for n in names}
        present = {n: v for n, v in block.items() if v is not None}
        assert fits(*(block[n] for n in names)) == (not check_block(present, INVOICE_ITEM_FIELDS)[1]), block
    with pytest.raises(ValueError, match=r"required but not given \['UPC'\]"):
        quick_check(INVOICE_ITEM_FIELDS, ("OrigPrice", "OrigTax", "Price", "Tax", "Qty"))

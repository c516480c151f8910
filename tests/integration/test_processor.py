"""The processor applies inbox records to the order store: idempotent and order-independent."""

from __future__ import annotations

import orjson
from sqlalchemy import func, select

from orderhub.adapters.store import error_log, order_queries
from orderhub.adapters.store.schema import (
    inbox,
    inventory_levels,
    order_events,
    orders,
    products,
    variants,
)
from tests.support import BIG_ID, add_shop, drain, order_payload, put


def order_of(hub, shopify_id=BIG_ID):  # type: ignore[no-untyped-def]
    with hub.db.read() as conn:
        oid = order_queries.find_order_id(conn, str(shopify_id))
        return None if oid is None else order_queries.get_order(conn, oid)


def test_order_is_stored_with_items_addresses_customer_and_shipping(hub):  # type: ignore[no-untyped-def]
    shop = add_shop(hub)
    put(hub, "orders/create", order_payload(), shop_id=shop.id)
    assert drain(hub) == 1
    o = order_of(hub)
    assert o["shopify_id"] == "9007199254741993"
    assert o["source_status"] == "open" and o["payment_status"] == "paid"
    assert (o["total_price"], o["total_shipping"]) == ("38.20", "5.00")  # EUR's decimals on every database
    assert o["tags"] == "vip, 🦋"
    assert [i["sku"] for i in o["items"]] == ["SKU-1", "SKU-2"]
    assert o["items"][0]["tax"] == "3.80"
    assert o["items"][1]["title"] == "Сувенир"
    assert o["addresses"]["shipping"]["address2"] == "🦋 Butterfly house"
    assert o["addresses"]["billing"]["address1"] == "שדרות רוטשילד 1"
    assert o["customer"]["first_name"] == "Zoë"
    assert o["shipping_lines"][0]["title"] == "DHL"
    assert o["version"] == 1


def test_applying_the_same_version_twice_changes_nothing(hub):  # type: ignore[no-untyped-def]
    shop = add_shop(hub)
    p = order_payload()
    put(hub, "orders/create", p, shop_id=shop.id)
    drain(hub)
    # Same version arriving under another topic is deduplicated in the inbox...
    assert put(hub, "orders/updated", p, shop_id=shop.id) is False
    # ...and even if it were processed again (e.g. a retried record), the store is unchanged.
    with hub.db.write() as conn:
        conn.execute(inbox.update().values(status="pending"))
    drain(hub)
    o = order_of(hub)
    assert o["version"] == 1
    assert [t["kind"] for t in o["timeline"]] == ["created", "ignored_same"]


def test_older_version_never_overwrites_newer(hub):  # type: ignore[no-untyped-def]
    shop = add_shop(hub)
    put(hub, "orders/updated", order_payload(updated_at="2026-11-23T12:00:00Z", note="newest"), shop_id=shop.id)
    put(hub, "orders/create", order_payload(updated_at="2026-11-23T10:00:00Z", note="oldest"), shop_id=shop.id)
    drain(hub)
    o = order_of(hub)
    assert o["note"] == "newest"
    assert [t["kind"] for t in o["timeline"]] == ["created", "ignored_stale"]
    with hub.db.read() as conn:
        outcomes = sorted(r.outcome for r in conn.execute(select(inbox.c.outcome)))
    assert outcomes == ["applied", "stale"]


def test_cancel_pay_and_refund(hub):  # type: ignore[no-untyped-def]
    shop = add_shop(hub)
    put(hub, "orders/create", order_payload(financial_status="pending"), shop_id=shop.id)
    put(hub, "orders/paid", order_payload(updated_at="2026-11-23T16:00:00Z", financial_status="paid"),
        shop_id=shop.id)
    refund = {"id": BIG_ID + 900, "order_id": BIG_ID, "created_at": "2026-11-23T16:30:00Z", "note": "damaged",
              "refund_line_items": [{"id": 1, "line_item_id": BIG_ID + 1, "quantity": 1, "subtotal": "10.00",
                                     "restock_type": "return"}],
              "transactions": [{"id": 5, "kind": "refund", "status": "success", "amount": "11.90",
                                "currency": "EUR"}]}
    put(hub, "refunds/create", refund, shop_id=shop.id)
    put(hub, "refunds/create", refund, shop_id=shop.id)  # redelivered under another webhook id
    put(hub, "orders/cancelled", order_payload(updated_at="2026-11-23T17:00:00Z", financial_status="refunded",
                                               cancelled_at="2026-11-23T17:00:00Z", cancel_reason="customer"),
        shop_id=shop.id)
    drain(hub)
    o = order_of(hub)
    assert o["source_status"] == "cancelled" and o["cancel_reason"] == "customer"
    assert o["source_financial_status"] == "refunded" and o["payment_status"] == "refunded"
    assert o["total_refunded"] == "11.90"
    assert len(o["refunds"]) == 1


def test_a_payment_transaction_lands_on_the_orders_timeline(hub):  # type: ignore[no-untyped-def]
    shop = add_shop(hub)
    put(hub, "orders/create", order_payload(financial_status="pending"), shop_id=shop.id)
    txn = {"id": BIG_ID + 500, "order_id": BIG_ID, "kind": "capture", "status": "success", "amount": "38.20",
           "currency": "EUR", "gateway": "shopify_payments 💳", "created_at": "2026-11-23T16:00:00Z"}
    put(hub, "order_transactions/create", txn, shop_id=shop.id)
    put(hub, "order_transactions/create", {**txn, "id": BIG_ID + 501, "amount": "lots"}, shop_id=shop.id)
    drain(hub)
    [entry] = [t for t in order_of(hub)["timeline"] if t["kind"] == "transaction"]
    assert entry["detail"] == {"transaction_id": str(BIG_ID + 500), "kind": "capture", "status": "success",
                               "amount": "38.20", "currency": "EUR", "gateway": "shopify_payments 💳",
                               "at": "2026-11-23T16:00:00+00:00"}
    with hub.db.read() as conn:
        [bad] = error_log.list_entries(conn, error_log.ErrorFilter(topic="order_transactions/create"))
    assert (bad.kind, bad.field) == ("validation", "amount")


def test_update_and_edit_before_create_still_end_correct(hub):  # type: ignore[no-untyped-def]
    shop = add_shop(hub)
    edit = {"order_edit": {"id": 77, "order_id": BIG_ID, "created_at": "2026-11-23T11:00:00Z",
                           "line_items": {"additions": [{"id": BIG_ID + 1, "delta": 3}], "removals": []}}}
    put(hub, "orders/edited", edit, shop_id=shop.id)
    put(hub, "orders/create", order_payload(updated_at="2026-11-23T10:00:00Z"), shop_id=shop.id)
    drain(hub)
    o = order_of(hub)
    assert o["items"][0]["current_quantity"] == 5  # 2 + the edit that arrived first
    # The full state after the edit supersedes it and is not double-counted.
    after = order_payload(updated_at="2026-11-23T11:00:05Z")
    after["line_items"][0]["current_quantity"] = 5
    put(hub, "orders/updated", after, shop_id=shop.id)
    drain(hub)
    assert order_of(hub)["items"][0]["current_quantity"] == 5


def test_invalid_orders_go_to_the_error_log_with_field(hub):  # type: ignore[no-untyped-def]
    shop = add_shop(hub)
    put(hub, "orders/create", order_payload(BIG_ID + 10, line_items=[]), shop_id=shop.id)
    bad_qty = order_payload(BIG_ID + 20)
    bad_qty["line_items"][1]["quantity"] = -1
    put(hub, "orders/create", bad_qty, shop_id=shop.id)
    put(hub, "orders/create", order_payload(BIG_ID + 30, currency="XXQ"), shop_id=shop.id)
    bad_addr = order_payload(BIG_ID + 40)
    bad_addr["shipping_address"]["country_code"] = "ZZ"
    put(hub, "orders/create", bad_addr, shop_id=shop.id)
    put(hub, "orders/create", order_payload(BIG_ID + 50, shipping_address="Main St 1"), shop_id=shop.id)
    drain(hub)
    with hub.db.read() as conn:
        entries = {e.field: e for e in error_log.list_entries(conn, error_log.ErrorFilter())}
        assert conn.execute(select(func.count()).select_from(orders)).scalar_one() == 0
    assert set(entries) == {"line_items", "line_items[1].quantity", "currency", "shipping_address.country_code",
                            "shipping_address"}
    assert all(e.kind == "validation" and e.status == "open" for e in entries.values())
    assert "(Shopify id 9007199254742013)" in entries["line_items[1].quantity"].error
    assert "negative quantity -1" in entries["line_items[1].quantity"].error


def test_products_inventory_and_soft_delete(hub):  # type: ignore[no-untyped-def]
    from datetime import datetime, timezone

    shop = add_shop(hub)
    product = {"id": BIG_ID, "title": "Mug ☕", "updated_at": "2026-11-23T10:00:00Z", "tags": "kitchen",
               "variants": [{"id": BIG_ID + 1, "sku": "MUG-1", "price": "9.99", "inventory_item_id": BIG_ID + 2}]}
    put(hub, "products/create", product, shop_id=shop.id)
    put(hub, "inventory_levels/update", {"inventory_item_id": BIG_ID + 2, "location_id": 42, "available": 7,
                                         "updated_at": "2026-11-23T10:00:00Z"}, shop_id=shop.id)
    put(hub, "inventory_levels/update", {"inventory_item_id": BIG_ID + 2, "location_id": 42, "available": 3,
                                         "updated_at": "2026-11-23T09:00:00Z"}, shop_id=shop.id)  # older
    drain(hub)
    put(hub, "products/delete", {"id": BIG_ID}, shop_id=shop.id,
        triggered_at=datetime(2026, 11, 23, 11, tzinfo=timezone.utc))
    put(hub, "products/update", product | {"updated_at": "2026-11-23T10:30:00Z"}, shop_id=shop.id)  # late
    drain(hub)
    with hub.db.read() as conn:
        p = conn.execute(select(products)).one()
        v = conn.execute(select(variants)).one()
        level = conn.execute(select(inventory_levels)).one()
    assert p.deleted_at is not None and p.title == "Mug ☕"
    assert v.sku == "MUG-1" and v.deleted_at is not None
    assert level.available == 7


def test_privacy_requests(hub):  # type: ignore[no-untyped-def]
    from orderhub.adapters.store.schema import customers, privacy_requests

    shop = add_shop(hub)
    put(hub, "orders/create", order_payload(), shop_id=shop.id)
    drain(hub)
    put(hub, "customers/data_request", {"shop_domain": shop.domain, "customer": {"id": BIG_ID + 7,
                                        "email": "zoë@example.com"}, "orders_requested": [BIG_ID],
                                        "data_request": {"id": 9999}}, shop_id=shop.id)
    put(hub, "customers/redact", {"shop_domain": shop.domain, "customer": {"id": BIG_ID + 7},
                                  "orders_to_redact": [BIG_ID]}, shop_id=shop.id)
    drain(hub)
    with hub.db.read() as conn:
        requests = {r.kind: orjson.loads(r.result) for r in conn.execute(select(privacy_requests))}
        customer = conn.execute(select(customers)).one()
    assert requests["customers/data_request"]["orders"][0]["id"] == str(BIG_ID)
    assert requests["customers/redact"]["orders_redacted"] == [str(BIG_ID)]
    assert customer.email is None and customer.redacted_at is not None
    o = order_of(hub)
    assert o["email"] is None and o["addresses"]["shipping"]["address1"] is None
    # A later order version does not bring the redacted personal data back into the customer.
    put(hub, "orders/updated", order_payload(updated_at="2026-11-23T18:00:00Z"), shop_id=shop.id)
    drain(hub)
    with hub.db.read() as conn:
        assert conn.execute(select(customers.c.email)).scalar_one() is None


def test_every_applied_record_is_on_the_timeline_once(hub):  # type: ignore[no-untyped-def]
    shop = add_shop(hub)
    for minute in range(5):
        put(hub, "orders/updated", order_payload(updated_at=f"2026-11-23T10:0{minute}:00Z"), shop_id=shop.id)
    drain(hub)
    with hub.db.read() as conn:
        per_record = conn.execute(select(order_events.c.inbox_id, func.count()).group_by(
            order_events.c.inbox_id)).all()
    assert len(per_record) == 5 and all(n == 1 for _, n in per_record)
    assert order_of(hub)["version"] == 5


def test_an_impossible_quantity_goes_straight_to_the_error_log(hub):  # type: ignore[no-untyped-def]
    shop = add_shop(hub)
    payload = order_payload()
    payload["line_items"][0]["quantity"] = 2**31
    put(hub, "orders/create", payload, shop_id=shop.id)
    drain(hub)
    with hub.db.read() as conn:
        [entry] = error_log.list_entries(conn, error_log.ErrorFilter())
    assert (entry.kind, entry.field) == ("validation", "line_items[0].quantity")
    assert len(orjson.loads(entry.attempts)) == 1  # not retried as if the problem could pass


def test_a_value_the_database_refuses_is_parked_at_once_not_retried(hub, monkeypatch):  # type: ignore[no-untyped-def]
    from sqlalchemy.exc import DataError

    from orderhub.adapters.store import new_orders, order_store

    def refuse(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise DataError("INSERT INTO orders ...", {}, Exception("integer out of range"))

    monkeypatch.setattr(new_orders, "insert_all", refuse)  # the batch path, then the record's own
    monkeypatch.setattr(order_store, "apply_order", refuse)
    shop = add_shop(hub)
    put(hub, "orders/create", order_payload(), shop_id=shop.id)
    drain(hub)
    with hub.db.read() as conn:
        [entry] = error_log.list_entries(conn, error_log.ErrorFilter())
    assert entry.kind == "invalid_data" and "integer out of range" in entry.error
    assert len(orjson.loads(entry.attempts)) == 1

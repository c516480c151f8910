"""The order search indexes, on SQLite (FTS5 trigram) and PostgreSQL (pg_trgm): what a query finds, and that
the indexes follow every writer of the rows (the processor, a plain UPDATE, a deletion, an erasure): on
SQLite the triggers keep the FTS5 tables, on PostgreSQL the database keeps its GIN indexes itself."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import delete, insert, select, text, update

from orderhub.adapters.store import customer_links, order_queries, order_search
from orderhub.adapters.store.schema import customers, order_addresses, orders
from orderhub.bootstrap import Hub
from orderhub.services.privacy import erase_person
from tests.support import BIG_ID, add_shop, drain, order_payload, put

A, B, C, D = BIG_ID, BIG_ID + 1, BIG_ID + 2, BIG_ID + 3  # named #1993, #1994, #1995 and #7


@pytest.fixture
def shop(hub: Hub) -> Any:
    """Four orders: A (Zoë Ångström, the default payload), B (山田 太郎, a note full of query syntax), C (an
    Arabic and an emoji name) and D (named #7)."""
    shop = add_shop(hub)
    put(hub, "orders/create", order_payload(A), shop_id=shop.id)
    put(hub, "orders/create", order_payload(
        B, email="yamada@example.jp", note='100% cotton_wrap "gift" AND NEAR(box) *fragile*',
        customer={"id": B + 7, "email": "yamada@example.jp", "first_name": "太郎", "last_name": "山田"},
        shipping_address={"name": "山田 太郎 🌸", "city": "東京", "country_code": "JP"},
        billing_address={"name": "Taro Yamada", "city": "東京", "country_code": "JP"}), shop_id=shop.id)
    put(hub, "orders/create", order_payload(
        C, email="o'brien@example.ie", note="🌸🌸🌸 ring the bell",
        customer={"id": C + 7, "email": "o'brien@example.ie", "first_name": "Seán", "last_name": "O'Brien"},
        shipping_address={"name": "محمد الفارسي", "city": "Dubai", "country_code": "AE"},
        billing_address={"name": "Seán O'Brien", "city": "Cork", "country_code": "IE"}), shop_id=shop.id)
    put(hub, "orders/create", order_payload(D, name="#7", email="seven@example.com", note=None,
                                            customer={"id": D + 7, "email": "seven@example.com"},
                                            shipping_address=None, billing_address=None), shop_id=shop.id)
    drain(hub)
    return shop


def found(hub: Hub, query: str, **filters: Any) -> list[str]:
    """The Shopify ids (as A, B, C, D) of the orders a search lists, newest first."""
    names = {str(A): "A", str(B): "B", str(C): "C", str(D): "D"}
    with hub.db.read() as conn:
        rows = order_queries.list_orders(conn, order_queries.OrderFilter(search=query, **filters), limit=50)
    return [names.get(r["shopify_id"], r["shopify_id"]) for r in rows]


def indexed(hub: Hub, fts: str, fragment: str) -> set[int]:
    """The rows the SQLite FTS5 table ``fts`` says hold every trigram of ``fragment`` (its index alone: the queries
    check the rows themselves too, so a stale index would hide behind them)."""
    grams = order_search.trigrams(fragment)
    with hub.db.read() as conn:
        return set(conn.execute(text(f"SELECT rowid FROM {fts} WHERE {fts} MATCH :m"),
                                {"m": " AND ".join(order_search.fts5_phrase(g) for g in grams)}).scalars())


def order_id(hub: Hub, shopify_id: int) -> int:
    with hub.db.read() as conn:
        return int(conn.execute(select(orders.c.id).where(orders.c.shopify_id == str(shopify_id))).scalar_one())


def test_any_part_of_the_name_id_email_note_or_buyer_name_any_case_any_script(hub: Hub, shop: Any) -> None:
    assert found(hub, "ÅNGSTRÖM") == ["A"] and found(hub, "ngstr") == ["A"]  # the customer's name, any case
    assert found(hub, "ångström") == ["A"]
    assert found(hub, "@EXAMPLE.jp") == ["B"]  # the e-mail
    assert found(hub, "the door") == ["A"]  # the note
    assert found(hub, "taro yam") == ["B"]  # the billing name
    assert found(hub, "山田 太") == ["B"] and found(hub, "太郎 山") == ["B"]  # the address, the customer
    assert found(hub, "الفارسي") == ["C"] and found(hub, "مد ال") == ["C"]
    assert found(hub, "🌸🌸🌸") == ["C"]
    assert found(hub, "太郎 🌸") == ["B"]
    assert found(hub, "o'brien@") == ["C"]
    assert found(hub, "#199") == ["C", "B", "A"]  # the order names #1993 ... #1995, newest first
    assert found(hub, str(B)[-6:]) == ["B"]  # the channel's order id
    assert found(hub, "nobody-at-all") == []
    assert found(hub, "  the \n door  ") == ["A"]  # spacing is not compared
    assert found(hub, "example", status="created") == ["D", "C", "B", "A"]
    assert found(hub, "example", shop="other.myshopify.com") == []


@pytest.mark.parametrize("bound", [0, 1])
def test_a_fragment_common_in_every_table_is_checked_order_by_order(hub: Hub, shop: Any, monkeypatch: Any,
                                                                    bound: int) -> None:
    """With the bounds this low every trigram is common (0) or most are (1: the second count decides): the lists
    check the fragment on each order they read, and find what the indexes find."""
    monkeypatch.setattr(order_search, "FIRST_BOUND", bound)
    monkeypatch.setattr(order_search, "COMMON", bound)
    if bound == 0 and hub.db.dialect == "sqlite":
        with hub.db.read() as conn:
            assert order_search.source(conn, "example").walks
    test_any_part_of_the_name_id_email_note_or_buyer_name_any_case_any_script(hub, shop)
    assert found(hub, "example", status="cancelled") == []
    assert found(hub, "100% cot") == ["B"] and found(hub, "c_tton") == []


def test_a_query_shorter_than_three_characters_is_an_exact_order_name_or_id(hub: Hub, shop: Any) -> None:
    assert found(hub, "7") == ["D"] and found(hub, "#7") == ["D"]
    assert found(hub, "19") == [] and found(hub, "Zo") == []  # no fragments below three characters
    assert found(hub, "") == ["D", "C", "B", "A"] and found(hub, "   ") == ["D", "C", "B", "A"]


@pytest.mark.parametrize(("query", "expected"), [
    ("100%", ["B"]), ("% cot", ["B"]), ("cotton_", ["B"]), ("n_w", ["B"]),
    ("c_tton", []), ("1%0", []), ("cot%rap", []),  # as wildcards these would match B
    ('"gift"', ["B"]), ('"gift', ["B"]), ('gift" OR "bell', []), ("AND NEAR(", ["B"]), ("NEAR(box)", ["B"]),
    ("*fragile*", ["B"]), ("fragi*", []), ("gift AND box", []), ("ring OR door", []), ("NOT", []),
    ("doc:", []), ("^100", []), ("\\%", []), ("'; DROP TABLE orders; --", []),
])
def test_special_characters_are_text_not_syntax(hub: Hub, shop: Any, query: str, expected: list[str]) -> None:
    assert found(hub, query) == expected


def test_the_document_follows_every_writer_update_and_delete(hub: Hub, shop: Any) -> None:
    a, b = order_id(hub, A), order_id(hub, B)
    # The processor: a later version of the order with another note.
    put(hub, "orders/updated", order_payload(A, updated_at="2026-11-24T10:00:00-05:00", note="Ring twice ⏰"),
        shop_id=shop.id)
    drain(hub)
    assert found(hub, "ring twice") == ["A"] and found(hub, "the door") == []
    # Plain SQL, as a bulk import or a later feature might write.
    with hub.db.write() as conn:
        conn.execute(update(orders).where(orders.c.id == a).values(email="new.address@example.net"))
        conn.execute(update(order_addresses).where(order_addresses.c.order_id == b,
                                                   order_addresses.c.kind == "billing").values(name="Hanako Sato"))
        conn.execute(update(customers).where(customers.c.shopify_id == str(C + 7)).values(last_name="Byrne"))
    assert found(hub, "zoë@example") == ["A"]  # its customer's e-mail, still the old one
    with hub.db.write() as conn:
        conn.execute(update(customers).where(customers.c.shopify_id == str(A + 7)).values(
            email="new.address@example.net"))
    assert found(hub, "new.address@") == ["A"] and found(hub, "zoë@example") == []
    assert found(hub, "hanako") == ["B"] and found(hub, "taro yam") == []
    assert found(hub, "seán byrne") == ["C"] and found(hub, "o'brien@") == ["C"]  # the e-mail is unchanged
    with hub.db.write() as conn:
        conn.execute(delete(order_addresses).where(order_addresses.c.order_id == b))
        conn.execute(delete(customers).where(customers.c.shopify_id == str(C + 7)))
    assert found(hub, "hanako") == [] and found(hub, "山田 太郎 🌸") == [] and found(hub, "太郎 山") == ["B"]
    assert found(hub, "seán byrne") == [] and found(hub, "o'brien@") == ["C"]  # the order's own e-mail stays
    if hub.db.dialect == "sqlite":
        assert indexed(hub, "order_address_search", "hanako") == set()
        assert indexed(hub, "customer_search", "byrne") == set()
        assert indexed(hub, "order_search", "new.address@") == {a}


def test_a_deleted_order_leaves_no_document(hub: Hub, shop: Any) -> None:
    now = datetime(2026, 12, 1, tzinfo=UTC)
    with hub.db.write() as conn:
        gone = conn.execute(insert(orders).values(
            shop_id=shop.id, shopify_id="42", name="#42", email="short.lived@example.com", source_status="open",
            currency="EUR", subtotal_price=0, total_discounts=0, total_tax=0, total_shipping=0, total_price=0,
            source_created_at=now, source_updated_at=now, version=1, created_at=now, updated_at=now,
            note="ephemeral").returning(orders.c.id)).scalar_one()
    assert found(hub, "short.lived") == ["42"] and found(hub, "ephemeral") == ["42"]
    with hub.db.write() as conn:
        conn.execute(delete(orders).where(orders.c.id == gone))
    assert found(hub, "short.lived") == []
    if hub.db.dialect == "sqlite":
        assert indexed(hub, "order_search", "short.lived") == indexed(hub, "order_search", "ephemeral") == set()


def test_an_erased_person_is_no_longer_found_by_their_old_name_or_email(hub: Hub, shop: Any) -> None:
    assert found(hub, "yamada@example.jp") == ["B"] and found(hub, "taro yamada") == ["B"]
    with hub.db.read() as conn:
        [profile] = customer_links.find(conn, email="yamada@example.jp")
    erase_person(hub, profile, actor="test")
    for old in ("yamada@example.jp", "yamada@", "taro yamada", "山田 太郎", "太郎 山田", "cotton_wrap"):
        assert found(hub, old) == [], old
    if hub.db.dialect == "sqlite":  # the index holds none of it either
        for fts in ("order_search", "order_address_search", "customer_search"):
            assert indexed(hub, fts, "yamada") == set() and indexed(hub, fts, "山田 太") == set(), fts
    assert found(hub, "ngström") == ["A"]  # everyone else is still found
    assert found(hub, "1994") == ["B"]  # by its number, which the law keeps

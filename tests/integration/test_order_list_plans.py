"""The order lists read through an index for every filter and for the search, on SQLite and PostgreSQL: the
statements the console's and the API's lists really run are captured and explained, and no plan may read the
whole orders table (a plan is behaviour: which rows a query must read, whatever the machine's speed).

The data is skewed as a shop's is: most orders completed, paid, online, in the big shop; a few cancelled,
refunded, sold at a store, in a small shop. PostgreSQL is asked with sequential scans priced out
(enable_seqscan off), which keeps a table this small from hiding a missing index behind a cheap full scan.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, insert, text, update

from orderhub.adapters.store import order_filters, order_queries, order_search, shops
from orderhub.adapters.store.schema import customers, order_items, orders
from orderhub.bootstrap import Hub
from orderhub.services.console import orders_view

N = 2_000
BASE = datetime(2026, 9, 1, tzinfo=UTC)


@pytest.fixture
def many(hub: Hub) -> Any:
    with hub.db.write() as conn:
        big = shops.add(conn, "big.myshopify.com", "big").id
        small = shops.add(conn, "small.myshopify.com", "small").id
        conn.execute(insert(customers), [{"id": c, "shop_id": big, "shopify_id": str(c), "email": f"c{c}@example.com",
                                          "first_name": "Ann", "last_name": f"Person{c}"} for c in range(1, 201)])
        rows = []
        for k in range(N):
            rare = k % 97 == 0
            at = BASE + timedelta(hours=k)
            rows.append({
                "shop_id": small if k % 101 == 0 else big, "shopify_id": str(10_000 + k), "name": f"#{1000 + k}",
                "email": f"c{k % 200 + 1}@example.com", "customer_id": k % 200 + 1, "source_status": "open",
                "status": "cancelled" if rare else "completed", "payment_status": "refunded" if k % 89 == 0 else "paid",
                "channel": "pos" if k % 83 == 0 else "online", "currency": "EUR", "subtotal_price": 1,
                "total_discounts": 0, "total_tax": 0, "total_shipping": 0, "total_price": 1,
                "note": "gift wrap please" if k % 50 == 0 else None, "source_created_at": at, "source_updated_at": at,
                "version": 1, "created_at": at, "updated_at": at})
        conn.execute(insert(orders), rows)
    if hub.db.is_postgres:
        with hub.db.write() as conn:
            for table in ("orders", "order_addresses", "customers"):
                conn.execute(text(f"ANALYZE {table}"))
    return type("Many", (), {"last_day": (BASE + timedelta(hours=N - 1)).date()})


@contextmanager
def captured(hub: Hub) -> Iterator[list[tuple[str, Any]]]:
    """The SELECTs run meanwhile, with their parameters."""
    seen: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            seen.append((statement, parameters))

    event.listen(hub.db.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(hub.db.engine, "before_cursor_execute", record)


def plans(hub: Hub, statements: list[tuple[str, Any]]) -> list[str]:
    """Each statement's plan, as one text."""
    out = []
    with hub.db.engine.connect() as conn:
        if hub.db.is_postgres:
            conn.exec_driver_sql("SET enable_seqscan = off")
        for statement, parameters in statements:
            if hub.db.is_postgres:
                rows = conn.exec_driver_sql(f"EXPLAIN {statement}", parameters).all()
                out.append("\n".join(r[0] for r in rows))
            else:
                rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters).all()
                out.append("\n".join(r[-1] for r in rows))
    return out


def full_scans(plan: str, dialect: str) -> list[str]:
    """The plan's lines that read a whole table the search reads (or a whole search index)."""
    if dialect == "postgresql":
        return [line for line in plan.splitlines()
                if re.search(r"Seq Scan on (orders|order_addresses|customers)\b", line)]
    # An FTS5 scan without a MATCH (M in its index string) would read every row.
    return [line for line in plan.splitlines() if line.strip() in ("SCAN orders", "SCAN order_addresses",
                                                                     "SCAN customers")
            or (re.match(r"SCAN \w+_search", line.strip()) and not re.search(r"INDEX \d+:\S*M", line))]


def check(hub: Hub, run: Any, index: str) -> None:
    with captured(hub) as seen:
        run()
    assert any("LIMIT" in s[0] for s in seen), seen  # a page: the list, its look ahead or behind, its count
    explained = plans(hub, seen)
    for (statement, _), plan in zip(seen, explained, strict=True):
        assert full_scans(plan, hub.db.dialect) == [], f"{statement}\n{plan}"
    assert any(re.search(index, plan) for plan in explained), "\n\n".join(explained)


def console(hub: Hub, before: int | None = None, **params: str) -> Any:
    def run() -> None:
        with hub.db.read() as conn:
            orders_view.search(conn, orders_view.Search.parse(params), before=before, per_page=25)
    return run


def api(hub: Hub, **flt: Any) -> Any:
    def run() -> None:
        with hub.db.read() as conn:
            order_queries.list_orders(conn, order_queries.OrderFilter(**flt), limit=25, before_id=10 ** 6)
    return run


SEARCH_INDEX = {"sqlite": r"_search VIRTUAL TABLE INDEX \d+:\S*M",
                "postgresql": "ix_(orders|order_addresses|customers)_search"}


@pytest.mark.parametrize(("params", "index"), [
    ({"status": "cancelled"}, "ix_orders_status"),
    ({"payment": "refunded"}, "ix_orders_payment_status"),
    ({"channel": "pos"}, "ix_orders_channel"),
    ({"shop": "small.myshopify.com"}, "ix_orders_shop"),
    ({"order": "#1500"}, "ix_orders_name"),
    ({"q": "person17"}, "search"),
    ({"q": "gift wrap"}, "search"),
    ({"q": "15"}, "ix_orders_name"),  # too short for trigrams: the exact name
    ({"customer": "c17@example"}, "search"),  # the search's older name
    ({"q": "gift wrap", "status": "cancelled"}, "search"),
])
def test_every_console_filter_and_the_search_read_an_index(hub: Hub, many: Any, params: dict[str, str],
                                                           index: str) -> None:
    index = SEARCH_INDEX[hub.db.dialect] if index == "search" else index
    check(hub, console(hub, **params), index)
    check(hub, console(hub, before=1500, **params), index)  # a later page, and its count


def test_a_day_reads_the_creation_index(hub: Hub, many: Any) -> None:
    day: date = many.last_day - timedelta(days=40)
    check(hub, console(hub, **{"from": day.isoformat(), "to": day.isoformat()}), "ix_orders_day")


@pytest.mark.parametrize(("flt", "index"), [
    ({"status": "cancelled"}, "ix_orders_status"),
    ({"payment_status": "refunded"}, "ix_orders_payment_status"),
    ({"channel": "pos"}, "ix_orders_channel"),
    ({"shop": "small.myshopify.com"}, "ix_orders_shop"),
    ({"search": "person17"}, "search"),
    ({"search": "15"}, "ix_orders_name"),
])
def test_every_api_filter_and_the_search_read_an_index(hub: Hub, many: Any, flt: dict[str, str],
                                                       index: str) -> None:
    check(hub, api(hub, **flt), SEARCH_INDEX[hub.db.dialect] if index == "search" else index)


@pytest.mark.parametrize(("params", "index"), [
    ({"q": "person17", "status": "cancelled"}, "ix_orders_status"),
    ({"q": "person17", "channel": "pos"}, "ix_orders_channel"),
])
def test_a_common_fragment_with_a_rare_filter_reads_the_filter_index(hub: Hub, many: Any, monkeypatch: Any,
                                                                     params: dict[str, str], index: str) -> None:
    """SQLite checks a fragment common in every table on each order it reads, through the filter's index newest
    first (the bounds set to 0 make every trigram common); PostgreSQL's planner has its indexes either way."""
    monkeypatch.setattr(order_search, "FIRST_BOUND", 0)
    monkeypatch.setattr(order_search, "COMMON", 0)
    check(hub, console(hub, **params), index if hub.db.dialect == "sqlite" else SEARCH_INDEX[hub.db.dialect])


def test_a_page_checks_about_the_candidates_it_shows_not_every_one(hub: Hub, many: Any) -> None:
    """SQLite: every order's note holds ``at the back door`` (2,000 candidates in the orders' own index, none common
    enough to be walked): the first page and the next are read by checking the newest candidates in batches, not
    all 2,000 (on a cold cache each check is a read from disk), and the count says "more than" the page."""
    if hub.db.is_postgres:
        pytest.skip("PostgreSQL's GIN index gives checked matches; there are no candidates to check")
    with hub.db.write() as conn:
        conn.execute(update(orders).values(note="Leave it at the back door"))
    checked: list[int] = []

    def counting(haystack: str | None, needle: str | None) -> int:
        checked.append(1)
        return int(haystack is not None and needle is not None and needle in haystack.lower())

    search = orders_view.Search.parse({"q": "at the back door"})
    with hub.db.read() as conn:
        conn.connection.driver_connection.create_function("orderhub_contains", 2, counting, deterministic=True)
        newest = orders_view.search(conn, search, per_page=25)
        first_checks = len(checked)
        older = orders_view.search(conn, search, before=newest.older, per_page=25)
    ids = [r["id"] for r in newest.rows] + [r["id"] for r in older.rows]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 50
    assert ids[0] == N and ids[-1] == N - 49  # the newest 50 orders, in two pages
    assert newest.capped and newest.total == 25 and older.newer == ids[25]
    assert 25 <= first_checks <= order_search.FIRST_BATCH, first_checks
    assert len(checked) <= 3 * order_search.FIRST_BATCH, len(checked)


def test_a_pages_quantities_are_read_from_the_covering_index(hub: Hub, many: Any) -> None:
    """Each order's quantity (the sum of its lines') comes from (order_id, current_quantity) alone: a page of
    orders scattered through the table (a rare filter) costs one read an order for it, not two."""
    with hub.db.write() as conn:
        conn.execute(insert(order_items), [
            {"order_id": k, "shopify_id": str(line), "title": "Tee", "quantity": 2, "current_quantity": 2,
             "fulfillable_quantity": 2, "price": 1, "total_discount": 0, "tax": 0, "requires_shipping": True}
            for k in range(1, N + 1) for line in (1, 2)])
        if hub.db.is_postgres:
            conn.execute(text("ANALYZE order_items"))
    with captured(hub) as seen:
        with hub.db.read() as conn:
            found = orders_view.search(conn, orders_view.Search.parse({"status": "cancelled"}), per_page=25)
    assert found.rows and all(r["quantity"] == 4 for r in found.rows)  # two lines of two each
    quantities = [s for s in seen if "order_items" in s[0]]
    assert len(quantities) == 1, quantities
    (plan,) = plans(hub, quantities)
    if hub.db.is_postgres:
        assert "ix_order_items_quantity" in plan, plan
    else:
        assert "USING COVERING INDEX ix_order_items_quantity" in plan, plan


def test_the_count_stops_at_a_thousand(hub: Hub, many: Any) -> None:
    """2,000 orders: the count reads 1,001 index entries and says "more than 1,000"; 21 cancelled are counted."""
    with hub.db.read() as conn:
        every = orders_view.search(conn, orders_view.Search(), per_page=25)
        cancelled = orders_view.search(conn, orders_view.Search(status="cancelled"), per_page=10)
    assert (every.total, every.capped) == (1_000, True)
    assert (cancelled.total, cancelled.capped) == (21, False)


def _expected(many: Any, flt: Any) -> list[int]:
    """The ids the fixture's orders give for ``flt(k, created)``, newest first (the id of order k is k + 1)."""
    return [k + 1 for k in reversed(range(N)) if flt(k, (BASE + timedelta(hours=k)).date())]


@pytest.mark.parametrize("days", [1, 3])
def test_a_rare_status_on_a_day_is_checked_in_the_day_index(hub: Hub, many: Any, days: int) -> None:
    """Cancelled (1 order in 97) on a day or three (24 orders each): the status's index gives the ids, each checked
    in the (day, id) index (an entry, no row); the page is those orders, newest first."""
    last: date = (BASE + timedelta(hours=97 * 19)).date()  # a day with a cancelled order
    first = last - timedelta(days=days - 1)
    params = {"status": "cancelled", "from": first.isoformat(), "to": last.isoformat()}
    check(hub, console(hub, **params), "ix_orders_status")
    if not hub.db.is_postgres:
        check(hub, console(hub, **params), r"SEARCH f USING INDEX ix_orders_day")
    with hub.db.read() as conn:
        found = orders_view.search(conn, orders_view.Search.parse(params), per_page=25)
    expected = _expected(many, lambda k, day: k % 97 == 0 and first <= day <= last)
    assert expected and [r["id"] for r in found.rows] == expected and found.total == len(expected)


def test_a_common_status_on_a_day_reads_the_day_in_page_order(hub: Hub, many: Any, monkeypatch: Any) -> None:
    """Completed (96 orders in 97) on a day: both past the bound, the day drives (its entries sit together) and the
    status is checked in its own index."""
    monkeypatch.setattr(order_filters, "DRIVE_BOUND", 10)
    day: date = many.last_day - timedelta(days=5)
    params = {"status": "completed", "from": day.isoformat(), "to": day.isoformat()}
    check(hub, console(hub, **params), "ix_orders_day")
    with hub.db.read() as conn:
        found = orders_view.search(conn, orders_view.Search.parse(params), per_page=10)
        older = orders_view.search(conn, orders_view.Search.parse(params), before=found.older, per_page=10)
    expected = _expected(many, lambda k, d: k % 97 != 0 and d == day)
    assert [r["id"] for r in found.rows + older.rows] == expected[:20]


def test_a_few_days_are_read_day_by_day_and_merged(hub: Hub, many: Any) -> None:
    """Four days (96 orders): each day's newest first from the (day, id) index, merged into one page; the next
    page and the one before it continue across the days' boundaries."""
    last: date = many.last_day - timedelta(days=3)
    first = last - timedelta(days=3)
    params = {"from": first.isoformat(), "to": last.isoformat()}
    check(hub, console(hub, **params), "ix_orders_day")
    expected = _expected(many, lambda k, day: first <= day <= last)
    search = orders_view.Search.parse(params)
    seen: list[int] = []
    with hub.db.read() as conn:
        page = orders_view.search(conn, search, per_page=25)
        seen += [r["id"] for r in page.rows]
        while page.older is not None:
            page = orders_view.search(conn, search, before=page.older, per_page=25)
            seen += [r["id"] for r in page.rows]
        back = orders_view.search(conn, search, after=page.rows[0]["id"], per_page=25)
    assert len(expected) == 96 and seen == expected
    assert [r["id"] for r in back.rows] == expected[-25 - len(page.rows):-len(page.rows)]


def test_the_rarest_of_two_filters_drives(hub: Hub, many: Any) -> None:
    """Online (98 % of orders) and refunded (1 in 89): the refunded index drives, online is checked in its index."""
    check(hub, console(hub, channel="online", payment="refunded"), "ix_orders_payment_status")
    if not hub.db.is_postgres:
        check(hub, console(hub, channel="online", payment="refunded"),
              r"SEARCH f USING COVERING INDEX ix_orders_channel")
    with hub.db.read() as conn:
        found = orders_view.search(conn, orders_view.Search.parse({"channel": "online", "payment": "refunded"}),
                                   per_page=50)
    assert [r["id"] for r in found.rows] == _expected(many, lambda k, _d: k % 89 == 0 and k % 83 != 0)

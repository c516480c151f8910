"""New orders are stored a batch at a time; the result is what the record-by-record path stores."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from orderhub.adapters.store import error_log, migrate, new_orders, order_queries
from orderhub.adapters.store.schema import inbox, orders
from orderhub.bootstrap import Hub, build
from orderhub.config import Settings
from orderhub.services.process import Processor
from tests.conftest import make_db_url
from tests.support import BIG_ID, add_shop, order_payload, put

VOLATILE = {"created_at", "updated_at", "at", "processed_at"}


@pytest.fixture
def two_hubs(db_url: str, tmp_path: Path, sqlite_template: Path, request: pytest.FixtureRequest
             ) -> Iterator[tuple[Hub, Hub]]:
    backend = "postgresql" if db_url.startswith("postgres") else "sqlite"
    pg = request.getfixturevalue("pg_server") if backend == "postgresql" else None
    hubs = [build(Settings(database_url=url)) for url in (db_url, make_db_url(backend, tmp_path, sqlite_template, pg))]
    for h in hubs:
        migrate.upgrade(h.db)
    yield hubs[0], hubs[1]
    for h in hubs:
        h.close()


def records() -> list[tuple[str, dict[str, Any]]]:
    """A batch mixing what the batch path takes with everything it must leave to the per-record path."""
    a = order_payload(BIG_ID)
    b = order_payload(BIG_ID + 1000, updated_at="2026-11-23T11:00:00-05:00",
                      customer={"id": BIG_ID + 7, "email": "neu@example.com", "first_name": "Zoë 🦋",
                                "last_name": "Ångström"})
    c = order_payload(BIG_ID + 2000, customer=None, billing_address=None, shipping_lines=[], email=None)
    a_newer = order_payload(BIG_ID, updated_at="2026-11-23T12:00:00-05:00", note="second version ✍️")
    d = order_payload(BIG_ID + 3000)
    edit = {"order_edit": {"id": 55, "order_id": BIG_ID + 3000, "created_at": "2026-11-23T13:00:00-05:00",
                           "line_items": {"additions": [], "removals": [{"id": BIG_ID + 3001, "delta": 1}]}}}
    e = order_payload(BIG_ID + 4000, cancelled_at="2026-11-23T10:00:00-05:00", cancel_reason="customer")
    invalid = order_payload(BIG_ID + 5000, line_items=[])
    return [("orders/edited", edit), ("orders/create", a), ("orders/create", b), ("orders/create", c),
            ("orders/updated", a_newer), ("orders/create", d), ("orders/create", e), ("orders/create", invalid)]


def watch_batches(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Any]]:
    """Records each batch write: ("stored", orders) or ("raised", exception name)."""
    seen: list[tuple[str, Any]] = []
    insert_all = new_orders.insert_all

    def watched(conn: Any, batch: Any) -> Any:
        try:
            stored = insert_all(conn, batch)
        except Exception as exc:
            seen.append(("raised", type(exc).__name__))
            raise
        seen.append(("stored", len(stored)))
        return stored

    monkeypatch.setattr(new_orders, "insert_all", watched)
    return seen


def normalised(value: Any) -> Any:
    """An order as the API shows it, without what differs between two databases (ids, clock times)."""
    if isinstance(value, dict):
        return {k: normalised(v) for k, v in value.items()
                if k not in VOLATILE and not ((k == "id" or k.endswith("_id")) and isinstance(v, int))}
    if isinstance(value, list):
        return [normalised(v) for v in value]
    return value


def state(hub: Hub) -> dict[str, Any]:
    with hub.db.read() as conn:
        found = {r.shopify_id: normalised(order_queries.get_order(conn, r.id))
                 for r in conn.execute(select(orders.c.id, orders.c.shopify_id))}
        outcomes = sorted((r.topic, r.status, r.outcome) for r in conn.execute(select(inbox)))
        errors = sorted((e.topic, e.kind, e.field) for e in error_log.list_entries(conn, error_log.ErrorFilter()))
    return {"orders": found, "inbox": outcomes, "errors": errors}


def process(hub: Hub, *, bulk: bool) -> None:
    processor = Processor(hub.db, batch_size=100, batch_paths=bulk)
    while processor.run_once()[0]:
        pass


def test_batch_path_stores_exactly_what_the_record_path_stores(two_hubs: tuple[Hub, Hub],
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    batch, single = two_hubs
    batches = watch_batches(monkeypatch)
    for hub in two_hubs:
        shop = add_shop(hub)
        for topic, payload in records():
            put(hub, topic, payload, shop_id=shop.id)
    process(batch, bulk=True)
    assert batches == [("stored", 3)]  # A (its second version then updates it), B and C; D has an edit, E is cancelled
    process(single, bulk=False)
    got, want = state(batch), state(single)
    assert set(got["orders"]) == {str(BIG_ID + k) for k in (0, 1000, 2000, 3000, 4000)}
    assert got == want
    # The shared customer has the details of the newest order (A's second version, not B),
    # the edit waiting for D applied, E stayed cancelled.
    assert got["orders"][str(BIG_ID + 1000)]["customer"]["first_name"] == "Zoë"
    assert got["orders"][str(BIG_ID)]["note"] == "second version ✍️"
    assert got["orders"][str(BIG_ID + 3000)]["items"][0]["current_quantity"] == 1
    assert got["orders"][str(BIG_ID + 4000)]["status"] == "cancelled"
    assert got["errors"] == [("orders/create", "validation", "line_items")]


def test_an_order_stored_meanwhile_sends_the_batch_record_by_record(hub: Hub, monkeypatch: pytest.MonkeyPatch
                                                                     ) -> None:
    """Another process may store an order between the look and the insert: the batch write fails
    as a whole, and every record is then applied on its own - nothing lost, nothing doubled."""
    shop = add_shop(hub)
    put(hub, "orders/updated", order_payload(BIG_ID + 2000, updated_at="2026-11-23T12:00:00-05:00"),
        shop_id=shop.id)
    for k in range(5):
        put(hub, "orders/create", order_payload(BIG_ID + k * 1000), shop_id=shop.id)
    Processor(hub.db, batch_size=1).run_once()  # order 3 is stored by its newer version first
    monkeypatch.setattr(new_orders, "unknown", lambda conn, keys: set(keys))  # the look saw it missing
    batches = watch_batches(monkeypatch)
    process(hub, bulk=True)
    assert batches == [("raised", "IntegrityError")]
    with hub.db.read() as conn:
        assert sorted(r.status for r in conn.execute(select(inbox.c.status))) == ["done"] * 6
        assert len(conn.execute(select(orders.c.id)).all()) == 5
        units = [len(order_queries.get_order(conn, r.id)["units"]) for r in conn.execute(select(orders.c.id))]
    assert units == [3] * 5

"""The worker's identity step: repeats known by their body's digest, without parsing them, and nothing lost."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from sqlalchemy import select

from orderhub.adapters.store import inbox as inbox_store
from orderhub.adapters.store.inbox import InboxEntry
from orderhub.adapters.store.schema import inbox, orders
from orderhub.services import identify
from tests.support import add_shop, drain, order_payload


def _door(hub: Any, shop_id: int, topic: str, body: bytes, webhook_id: str) -> None:
    """Stored as the Shopify door stores a webhook: the raw body, no identity."""
    assert inbox_store.insert_entries(hub.db, [InboxEntry(shop_id, "webhook", topic, None, body,
                                                          webhook_id=webhook_id)]) == [True]


def _outcomes(hub: Any) -> list[tuple[str, str | None, str | None]]:
    with hub.db.read() as conn:
        return [tuple(r) for r in conn.execute(select(inbox.c.topic, inbox.c.outcome, inbox.c.identity)
                                               .order_by(inbox.c.id))]


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The bodies the identity step parsed."""
    seen: list[str] = []
    real = identify._parsed

    def counting(row: Any) -> Any:
        seen.append(row.topic)
        return real(row)

    monkeypatch.setattr(identify, "_parsed", counting)
    monkeypatch.setattr(identify, "SEEN", identify.SeenBodies())
    return seen


def test_a_repeat_of_bytes_seen_before_is_known_without_parsing(hub, parses) -> None:  # type: ignore[no-untyped-def]
    shop = add_shop(hub)
    body = orjson.dumps(order_payload(note="🧾 gift"))
    _door(hub, shop.id, "orders/create", body, "w-1")
    drain(hub)
    _door(hub, shop.id, "orders/paid", body, "w-2")  # the same version under another topic, a later batch
    _door(hub, shop.id, "orders/updated", body, "w-3")
    drain(hub)
    assert parses == ["orders/create"]
    (_, first, named), *repeats = _outcomes(hub)
    assert first == "applied" and [r[1:] for r in repeats] == [("duplicate", None), ("duplicate", None)]
    assert named is not None and named.startswith("order:")


def test_bytes_seen_before_whose_record_is_gone_are_read_and_applied(hub, parses) -> None:  # type: ignore[no-untyped-def]
    """The digest names the identity; whether a record holds it is still asked of the database. A body whose
    first record left no identity (here: the inbox emptied) is new again, and read as any other."""
    shop = add_shop(hub)
    body = orjson.dumps(order_payload())
    _door(hub, shop.id, "orders/create", body, "w-1")
    with hub.db.write() as conn:  # identity derived and remembered, then the record and its order go
        identify.identify(conn, inbox_store.claim(conn, limit=10))
        conn.execute(inbox.delete())
    _door(hub, shop.id, "orders/updated", body, "w-2")
    drain(hub)
    assert [r[1] for r in _outcomes(hub)] == ["applied"]
    with hub.db.read() as conn:
        assert conn.execute(select(orders.c.shopify_id)).scalars().all() == [str(order_payload()["id"])]


def test_the_same_bytes_under_different_kinds_of_topic_are_not_confused(hub, parses) -> None:  # type: ignore[no-untyped-def]
    shop = add_shop(hub)
    body = orjson.dumps({"id": 7, "updated_at": "2026-11-23T10:00:00Z"})
    _door(hub, shop.id, "products/update", body, "w-1")
    _door(hub, shop.id, "customers/update", body, "w-2")
    with hub.db.write() as conn:
        named = {r.topic: r.identity for r in identify.identify(conn, inbox_store.claim(conn, limit=10))}
    assert named == {"products/update": "product:7@2026-11-23T10:00:00.000000Z",
                     "customers/update": "customer:7@2026-11-23T10:00:00.000000Z"}
    assert parses == ["products/update", "customers/update"]


def test_a_malformed_body_under_two_order_topics_is_two_records(hub, parses) -> None:  # type: ignore[no-untyped-def]
    """A body without an id and version is known by its digest and its topic: the order topics do not share it."""
    shop = add_shop(hub)
    body = b'{"note": "no id here \xf0\x9f\xa7\xbe"}'
    _door(hub, shop.id, "orders/create", body, "w-1")
    _door(hub, shop.id, "orders/paid", body, "w-2")
    _door(hub, shop.id, "orders/paid", body, "w-3")
    drain(hub)
    assert [r[1] for r in _outcomes(hub)] == ["validation", "validation", "duplicate"]
    assert parses == ["orders/create", "orders/paid", "orders/paid"]


def test_the_memory_is_bounded() -> None:
    seen = identify.SeenBodies(size=3)
    for i in range(10):
        seen.add(("order", bytes([i])), f"order:{i}")
    assert [seen.get(("order", bytes([i]))) for i in range(10)] == [None] * 7 + ["order:7", "order:8", "order:9"]

"""The channel layer: each account's records are read by its channel's translator, and the processor,
the store and the error log treat a new channel's records like Shopify's without knowing the channel."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson
import pytest
from sqlalchemy import select, update

from orderhub.adapters import channels
from orderhub.adapters.store import error_log, shops
from orderhub.adapters.store.inbox import InboxEntry, insert_entries
from orderhub.adapters.store.schema import orders
from orderhub.adapters.store.schema import shops as shops_table
from orderhub.bootstrap import Hub
from orderhub.domain.channels import Inbound, UnknownTopic
from orderhub.domain.errors import InvalidRecord
from orderhub.domain.model import LineItem, Order
from tests.support import drain


class MarketTranslator:
    """A channel of the tests' own: one topic, orders with an id, a time, one SKU and a quantity."""

    kind = "testmarket"

    def translate(self, topic: str, payload: Any, notified_at: datetime) -> Inbound:
        if topic != "market/order":
            raise UnknownTopic(f"testmarket topic {topic!r} is not one orderhub reads")
        if not isinstance(payload.get("qty"), int) or payload["qty"] < 1:
            raise InvalidRecord("qty", f"expected a positive whole quantity, got {payload.get('qty')!r}")
        at = datetime.fromisoformat(payload["updated"])
        price = Decimal(payload["price"])
        total = price * payload["qty"]
        return Order(shopify_id=payload["id"], name=payload["id"], currency="EUR", created_at=at, updated_at=at,
                     subtotal_price=total, total_discounts=Decimal(0), total_tax=Decimal(0),
                     total_shipping=Decimal(0), total_price=total, source_name="testmarket",
                     items=(LineItem(shopify_id=f"{payload['id']}-1", title="Ünïcode 🦋 mug", sku=payload["sku"],
                                     quantity=payload["qty"], price=price),))

    def describe(self, topic: str, payload: Any) -> str | None:
        return f"{topic} marketplace order {payload.get('id')}" if isinstance(payload, dict) else None


@pytest.fixture
def market(hub: Hub, monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    """An account of the test channel; returns its id."""
    monkeypatch.setitem(channels._loaded, "testmarket", MarketTranslator())
    with hub.db.write() as conn:
        account = shops.add(conn, "market-eu", "unused-secret")
        conn.execute(update(shops_table).where(shops_table.c.id == account.id).values(kind="testmarket"))
    yield account.id


def _store(hub: Hub, account: int, topic: str, payload: dict[str, Any], identity: str) -> None:
    insert_entries(hub.db, [InboxEntry(shop_id=account, source="poll", topic=topic, identity=identity,
                                       payload=orjson.dumps(payload).decode())])


def test_a_new_channel_s_orders_go_through_the_same_processor(hub: Hub, market: int) -> None:
    order = {"id": "M-1", "updated": "2026-12-07T10:00:00+00:00", "price": "12.50", "sku": "MUG-1", "qty": 2}
    _store(hub, market, "market/order", order, "M-1@1")
    _store(hub, market, "market/order", order | {"qty": 3, "updated": "2026-12-07T11:00:00+00:00"}, "M-1@2")
    _store(hub, market, "market/order", order, "M-1@1")  # the same version again: one record
    drain(hub)
    with hub.db.read() as conn:
        rows = conn.execute(select(orders.c.shop_id, orders.c.shopify_id, orders.c.total_price)).all()
        assert shops.kind_of(conn, market) == "testmarket"
    assert [(r.shop_id, r.shopify_id, r.total_price) for r in rows] == [(market, "M-1", Decimal("37.50"))]


def test_a_new_channel_s_bad_records_reach_the_error_log_named_by_its_translator(hub: Hub, market: int) -> None:
    _store(hub, market, "market/order", {"id": "M-2", "updated": "2026-12-07T10:00:00+00:00", "price": "1",
                                         "sku": "MUG-1", "qty": 0}, "M-2@1")
    _store(hub, market, "market/return", {"id": "R-1"}, "R-1")
    drain(hub)
    with hub.db.read() as conn:
        entries = error_log.list_entries(conn, error_log.ErrorFilter(status="open"))
    by_topic = {e.topic: e._mapping for e in entries}
    assert by_topic["market/order"]["field"] == "qty"
    assert by_topic["market/order"]["error"].startswith("market/order marketplace order M-2: qty: expected a positive")
    assert "testmarket topic 'market/return' is not one orderhub reads" in by_topic["market/return"]["error"]


def test_the_registry_names_the_channels_it_knows() -> None:
    assert channels.translator("shopify").kind == "shopify"
    with pytest.raises(LookupError, match="orderhub knows shopify"):
        channels.translator("myspace")


def test_an_order_the_channel_ships_itself_is_recorded_and_never_reserved(hub: Hub, market: int,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from dataclasses import replace

    from orderhub.adapters.store.schema import order_units

    plain = MarketTranslator()

    class ChannelShips(MarketTranslator):
        def translate(self, topic: str, payload: Any, notified_at: datetime) -> Inbound:
            order = plain.translate(topic, payload, notified_at)
            assert isinstance(order, Order)
            return replace(order, fulfilled_by="channel", ship_by=datetime.fromisoformat("2026-12-09T00:00:00+00:00"))

    monkeypatch.setitem(channels._loaded, "testmarket", ChannelShips())
    _store(hub, market, "market/order", {"id": "AFN-1", "updated": "2026-12-07T10:00:00+00:00", "price": "9.99",
                                         "sku": "MUG-1", "qty": 1}, "AFN-1@1")
    drain(hub)
    with hub.db.read() as conn:
        row = conn.execute(select(orders.c.id, orders.c.status, orders.c.fulfilled_by, orders.c.ship_by,
                                  orders.c.total_price)).one()
        units = conn.execute(select(order_units.c.id).where(order_units.c.order_id == row.id)).all()
    assert (row.status, row.fulfilled_by, row.total_price) == ("by_channel", "channel", Decimal("9.99"))
    assert row.ship_by.isoformat() == "2026-12-09T00:00:00+00:00" and units == []

"""Replay Shopify's own bodies through orderhub and compare what it stored with what Shopify means.

Each fixture gets a shop of its own in a fresh embedded database (fixtures share Shopify's
sample ids), and travels the way a real one would: webhook bodies are signed and posted to
the receiver over HTTP on loopback; GraphQL results take the batch poll's path (the GraphQL
order as the webhook-shaped body the poll stores). The processor then applies the inbox, and
the stored order or refund is read back and compared field by field (:mod:`expect`). A body
whose figures do not add up must land in the error log naming the figure, not be stored.
"""

from __future__ import annotations

import secrets
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
from sqlalchemy import select

from orderhub.adapters.shopify import graphql_orders
from orderhub.adapters.shopify.webhooks import ORDER_TOPICS, identity, sign
from orderhub.adapters.store import inbox, migrate, order_queries, shops
from orderhub.adapters.store.db import Database
from orderhub.adapters.store.inbox import InboxEntry, insert_entries
from orderhub.adapters.store.schema import (
    error_log,
    inventory_levels,
    order_edits,
    orders,
    products,
    refunds,
    variants,
)
from orderhub.bootstrap import Hub, build
from orderhub.clock import utcnow
from orderhub.config import Settings
from orderhub.fidelity import expect
from orderhub.fidelity.fixtures import Fixture, load
from orderhub.testing.server import ServerThread

# REST Admin API responses are the same shape as the webhook bodies of these topics.
_REST_TOPICS = {"orders": "orders/updated", "refunds": "refunds/create", "products": "products/update"}


@dataclass
class Outcome:
    fixture: Fixture
    status: str  # matches | differs | parked as expected | parked | not parked | skipped
    differences: list[expect.Difference] = field(default_factory=list)
    message: str | None = None

    @property
    def ok(self) -> bool:
        return self.status in ("matches", "parked as expected", "skipped")


def replay(directory: Path | None = None, only: str | None = None) -> list[Outcome]:
    """Every fixture of ``directory`` (default: the set shipped with orderhub) whose name contains ``only``."""
    fixtures = [f for f in load(directory) if only is None or only in f.name]
    with tempfile.TemporaryDirectory(prefix="orderhub-fidelity-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'fidelity.db'}"
        db = Database(url)
        migrate.upgrade(db)
        db.dispose()
        hub = build(Settings(database_url=url, sqlite_synchronous="OFF", max_attempts=1, log_json=False))
        try:
            return list(_replay(hub, fixtures))
        finally:
            hub.close()


def _replay(hub: Hub, fixtures: list[Fixture]) -> Iterator[Outcome]:
    from orderhub.entrypoints.http.app import create_app

    planned = []  # fixture, topic, body, shop domain, its webhook secret
    for n, fx in enumerate(fixtures):
        topic, body = _as_webhook(fx)
        planned.append((fx, topic, body, f"fixture-{n}.myshopify.com", secrets.token_hex(16)))
    with hub.db.write() as conn:  # every shop before the receiver starts (it caches the shops it knows)
        shop_ids = [shops.add(conn, domain, secret).id if topic else 0 for _, topic, _, domain, secret in planned]
    sent: list[tuple[Fixture, int, str | None]] = []
    with ServerThread(create_app(hub)) as server, httpx.Client(base_url=server.url, timeout=30) as client:
        for (fx, topic, body, domain, secret), shop_id in zip(planned, shop_ids, strict=True):
            if topic is None:
                sent.append((fx, 0, None))
            elif fx.kind == "graphql":  # the batch poll's path: into the inbox as the poll job writes it
                insert_entries(hub.db, [InboxEntry(shop_id=shop_id, source="poll", topic=topic,
                                                   identity=identity(topic, body, f"fidelity-{fx.name}"),
                                                   payload=orjson.dumps(body).decode())])
                sent.append((fx, shop_id, topic))
            else:
                raw = orjson.dumps(body)
                response = client.post("/webhooks/shopify", content=raw, headers=_headers(domain, secret, topic, raw))
                if response.status_code == 200:
                    sent.append((fx, shop_id, topic))
                else:
                    yield Outcome(fx, "differs", message=f"the receiver answered {response.status_code}: "
                                                         f"{response.text[:200]}")
    _drain(hub)
    for fx, shop_id, topic in sent:
        yield _judge(hub, fx, shop_id, topic)


def _as_webhook(fx: Fixture) -> tuple[str | None, Any]:
    """The topic and body a fixture arrives as; no topic for what orderhub does not take in this way."""
    if fx.kind == "webhook":
        return fx.topic, fx.payload
    if fx.kind == "rest":
        # "GET /admin/api/2025-01/orders/450789469.json": the resource is the path's first part after the version
        parts = fx.topic.split(" ")[-1].split("?", 1)[0].removesuffix(".json").split("/")
        kind = next((p for p in reversed(parts) if p in _REST_TOPICS), "orders")
        return _REST_TOPICS[kind], fx.payload.get(kind[:-1]) or fx.payload
    node = fx.node()
    if fx.kind == "graphql" and isinstance(node, dict) and "lineItems" in node and "currencyCode" in node:
        return "orders/updated", graphql_orders.to_rest(node)
    return None, None


def _headers(domain: str, secret: str, topic: str, body: bytes) -> dict[str, str]:
    return {"Content-Type": "application/json", "X-Shopify-Topic": topic, "X-Shopify-Shop-Domain": domain,
            "X-Shopify-Hmac-Sha256": sign(secret, body), "X-Shopify-API-Version": "2026-10",
            "X-Shopify-Webhook-Id": str(uuid.uuid4()), "X-Shopify-Event-Id": str(uuid.uuid4()),
            "X-Shopify-Triggered-At": utcnow().strftime("%Y-%m-%dT%H:%M:%S.%fZ")}


def _drain(hub: Hub) -> None:
    processor = hub.processor()
    for _ in range(10_000):
        done, _wait = processor.run_once()
        if not done:
            with hub.db.read() as conn:
                if not inbox.has_due(conn):
                    return


def _judge(hub: Hub, fx: Fixture, shop_id: int, topic: str | None) -> Outcome:
    if topic is None:
        return Outcome(fx, "skipped", message="not an order or refund orderhub takes in this shape")
    expected = fx.expected
    with hub.db.read() as conn:
        parked = conn.execute(select(error_log.c.error, error_log.c.field).where(
            error_log.c.shop_id == shop_id)).first()
        if topic not in _JUDGED and topic not in ORDER_TOPICS:
            return Outcome(fx, "skipped", message=f"{topic} is taken in; its fields are not compared")
        if topic in _JUDGED:
            if parked is not None:
                return Outcome(fx, "parked", message=parked.error)
            found = _JUDGED[topic](conn, shop_id, expected)
            return Outcome(fx, "differs" if found else "matches", found)
        order_id = _order_id(conn, shop_id)
        stored_order = order_queries.get_order(conn, order_id) if order_id is not None else None
    if expected.get("reconciles") is False:
        if parked is not None:
            return Outcome(fx, "parked as expected", message=parked.error)
        return Outcome(fx, "not parked", message="Shopify's figures do not add up, yet orderhub stored the order")
    if parked is not None or stored_order is None:
        return Outcome(fx, "parked", message=parked.error if parked else "nothing stored")
    found = expect.order(expected, stored_order)
    return Outcome(fx, "differs" if found else "matches", found)


def _refund(conn: Any, shop_id: int, expected: dict[str, Any]) -> list[expect.Difference]:
    row = conn.execute(select(refunds).where(refunds.c.shop_id == shop_id)).first()
    stored = None if row is None else row._asdict() | {
        "lines": orjson.loads(row.lines), "adjustments": orjson.loads(row.adjustments)}
    return expect.refund(expected, stored)


def _inventory_level(conn: Any, shop_id: int, expected: dict[str, Any]) -> list[expect.Difference]:
    row = conn.execute(select(inventory_levels).where(inventory_levels.c.shop_id == shop_id)).first()
    return expect.inventory_level(expected, None if row is None else row._asdict())


def _product(conn: Any, shop_id: int, expected: dict[str, Any]) -> list[expect.Difference]:
    row = conn.execute(select(products).where(products.c.shop_id == shop_id)).first()
    kept = [v._asdict() for v in conn.execute(select(variants).where(variants.c.shop_id == shop_id))]
    return expect.product(expected, None if row is None else row._asdict(), kept)


def _order_edit(conn: Any, shop_id: int, expected: dict[str, Any]) -> list[expect.Difference]:
    row = conn.execute(select(order_edits).where(order_edits.c.shop_id == shop_id)).first()
    return expect.order_edit(expected, None if row is None else row._asdict() | {"changes": orjson.loads(row.changes)})


# What is compared for the records that are not orders.
_JUDGED = {"refunds/create": _refund, "inventory_levels/update": _inventory_level,
           "products/update": _product, "products/create": _product, "orders/edited": _order_edit}


def _order_id(conn: Any, shop_id: int) -> int | None:
    row = conn.execute(select(orders.c.id).where(orders.c.shop_id == shop_id)).first()
    return None if row is None else int(row.id)

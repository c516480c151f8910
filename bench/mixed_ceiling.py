"""The raw ceiling of the processor's mixed workload (bench/processor_mixed.py): the rows the processor writes
for each record, written with no logic.

Before the clock starts, every inbox record is read and translated, and the rows of its kind are built with
orderhub's own row builders (so each row has the same columns and values as the processor's); the state the
processor would look up (which orders, customers and refunds exist, each order's version and live units) is
followed here in memory. Then, for each batch of the same records in the same order: one transaction that
claims the batch (the processor's ``SELECT ... FROM inbox``), runs one plain executemany per (statement,
table) in a fixed order, marks the records done and counts them in ``traffic_minutes``. A row upserted twice
in one batch (two versions of an order) is written once, its last version: PostgreSQL refuses a multi-row
upsert that touches a row twice.

What each record writes (the processor's inserts, updates and deletes; its reads are left out):

=====================================  ==================================================================
record                                 rows
=====================================  ==================================================================
an order's first version               orders, order_items, order_addresses, order_shipping_lines,
                                       order_discounts, order_events (created), customers (upsert) and a
                                       customer_profiles row for a new buyer, order_units (one per unit),
                                       workflows (its placement)
a newer version                        orders (update), customers, order_items, order_addresses
                                       (upserts), order_shipping_lines and order_discounts (deleted and
                                       inserted again), order_events (updated); workflows (woken: update)
                                       when it is paid; order_units cancelled (update), orders (status),
                                       order_events when a line lost quantity or the order was cancelled,
                                       and outbox when that cancelled the order
a version already stored               order_events (ignored)
each refund not seen before            refunds, order_events (refunded) - from refunds/create or an
                                       order's body
every record                           inbox (its identity set and done; a repeat done as a duplicate); per
                                       batch, traffic_minutes (one row per topic) and the store's intake
                                       rate bucket (rate_buckets)
=====================================  ==================================================================
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import mixed_workload
import orjson
import sqlcount
from sqlalchemy import Table, bindparam, delete, insert, select, update

from orderhub.adapters.shopify.webhooks import identity
from orderhub.adapters.store import destinations, identities, order_store, traffic
from orderhub.adapters.store.db import upsert, upsert_many
from orderhub.adapters.store.schema import (
    customer_profiles,
    customers,
    inbox,
    order_addresses,
    order_discounts,
    order_events,
    order_items,
    order_shipping_lines,
    order_units,
    orders,
    outbox,
    rate_buckets,
    refunds,
    workflows,
)
from orderhub.bootstrap import build
from orderhub.clock import utcnow
from orderhub.config import Settings
from orderhub.domain.approval import PAID
from orderhub.domain.brokering import NO_SHIPPING
from orderhub.domain.model import Order, OrderStatus, Refund
from orderhub.services import source_channels

Rows = list[dict[str, Any]]
# The statements of a batch, in the order they run, as kind:table. Kinds: insert, upsert (ON CONFLICT DO UPDATE by
# the key the processor uses), update (by id), replace (an order's rows deleted, then inserted again).
_ORDER = ("insert:orders", "insert:customer_profiles", "upsert:customers", "insert:order_items",
          "insert:order_addresses", "insert:order_units", "insert:workflows", "update:orders",
          "upsert:order_items", "upsert:order_addresses", "insert:order_shipping_lines", "insert:order_discounts",
          "replace:order_shipping_lines", "replace:order_discounts", "insert:refunds", "update:order_units",
          "update:order_status", "update:workflows", "insert:order_events", "insert:outbox")
_TABLES: dict[str, Table] = {t.name: t for t in (orders, customer_profiles, customers, order_items, order_addresses,
                                                 order_units, workflows, order_shipping_lines, order_discounts,
                                                 refunds, order_events, outbox)}
_UPSERT_KEYS = {"customers": ("shop_id", "shopify_id"), "order_items": ("order_id", "shopify_id"),
                "order_addresses": ("order_id", "kind")}


@dataclass
class Batch:
    inbox_ids: list[int]  # the records applied: the first of each identity
    topics: dict[str, int]
    rows: dict[str, Rows] = field(default_factory=dict)
    identities: Rows = field(default_factory=list)  # {"k_id", "v_identity"}: what the worker derives and sets
    repeats: list[int] = field(default_factory=list)  # records whose identity another holds: finished as duplicates

    replaced: dict[str, dict[int, Rows]] = field(default_factory=dict)  # table -> order id -> its rows now

    def add(self, kind: str, rows: Rows) -> None:
        if rows:
            self.rows.setdefault(kind, []).extend(rows)

    def replace(self, table: str, order_id: int, rows: Rows) -> None:
        """An order's rows of ``table`` deleted and inserted again (the last version of the batch stands)."""
        self.replaced.setdefault(table, {})[order_id] = rows


@dataclass
class _Stored:
    """What the processor would find of one order."""

    id: int
    shopify_id: str
    version: int
    updated_at: Any
    customer_id: int | None
    items: dict[str, int]  # line id -> item id
    units: dict[int, list[int]]  # item id -> live unit ids
    cancelled: bool = False


@dataclass
class Plan:
    batch: int
    records: int
    batches: list[Batch]


class _Ids:
    def __init__(self) -> None:
        self.next: dict[str, int] = {}

    def take(self, table: str) -> int:
        self.next[table] = self.next.get(table, 0) + 1
        return self.next[table]


def plan(url: str, workload: mixed_workload.Workload, batch: int,
         prepare: Callable[[str, mixed_workload.Workload], int]) -> Plan:
    """The rows of every batch, built before the clock starts (``url``: a database to read the inbox from)."""
    prepare(url, workload)
    hub = build(Settings(database_url=url))
    try:
        with hub.db.read() as conn:
            records = list(conn.execute(select(inbox.c.id, inbox.c.shop_id, inbox.c.topic, inbox.c.payload,
                                               inbox.c.webhook_id, inbox.c.received_at).order_by(inbox.c.id)))
            translator = source_channels.translator_for(conn, records[0].shop_id)
            shop_id = records[0].shop_id
            batches = []
            state = _State(conn, shop_id)
            held: set[str] = set()
            for first in range(0, len(records), batch):
                chunk = records[first:first + batch]
                topics: dict[str, int] = {}
                for r in chunk:
                    topics[r.topic] = topics.get(r.topic, 0) + 1
                b = Batch([], topics)
                for r in chunk:
                    payload = orjson.loads(r.payload)
                    name = identity(r.topic, payload, r.webhook_id, r.payload)
                    if name in held:
                        b.repeats.append(r.id)
                        continue
                    held.add(name)
                    b.inbox_ids.append(r.id)
                    b.identities.append({"k_id": r.id, "v_identity": name})
                    state.apply(b, translator.translate(r.topic, payload, r.received_at), r.id)
                batches.append(b)
    finally:
        hub.close()
    return Plan(batch, len(records), batches)


class _State:
    """The processor's view of the store, followed in memory while the rows are built."""

    def __init__(self, conn: Any, shop_id: int) -> None:
        self.conn = conn
        self.shop_id = shop_id
        self.ids = _Ids()
        self.orders: dict[str, _Stored] = {}
        self.customers: dict[str, tuple[int, int]] = {}  # the channel's id of a buyer -> (identity, profile)
        self.refunds: set[str] = set()
        self.now = utcnow()

    def event(self, b: Batch, order_id: str, inbox_id: int | None, kind: str, detail: dict[str, Any]) -> None:
        b.add("insert:order_events", [{"shop_id": self.shop_id, "order_shopify_id": order_id, "inbox_id": inbox_id,
                                       "kind": kind, "detail": order_store.to_json(detail), "at": self.now}])

    def apply(self, b: Batch, record: Any, inbox_id: int) -> None:
        if isinstance(record, Order):
            self.order(b, record, inbox_id)
            for r in record.refunds:
                self.refund(b, r, inbox_id)
        elif isinstance(record, Refund):
            self.refund(b, record, inbox_id)

    def refund(self, b: Batch, r: Refund, inbox_id: int) -> None:
        if r.shopify_id in self.refunds:
            return
        self.refunds.add(r.shopify_id)
        b.add("insert:refunds", [dict(
            shop_id=self.shop_id, shopify_id=r.shopify_id, order_shopify_id=r.order_id, note=r.note, amount=r.amount,
            currency=r.currency, lines=orjson.dumps([dataclasses.asdict(x) for x in r.lines], default=str).decode(),
            adjustments=orjson.dumps([dataclasses.asdict(x) for x in r.adjustments], default=str).decode(),
            source_created_at=r.created_at, time_source=r.time_source, created_at=self.now)])
        self.event(b, r.order_id, inbox_id, "refunded", {"refund_id": r.shopify_id, "amount": str(r.amount)})

    def customer(self, b: Batch, order: Order) -> int | None:
        rows = identities.order_rows(self.conn, [(self.shop_id, order)])
        if not rows:
            return None
        (key, row), = rows.items()
        known = self.customers.get(key[1])
        if known is None:
            profile = self.ids.take("customer_profiles")
            b.add("insert:customer_profiles", [{"id": profile, "created_at": self.now, "updated_at": self.now}])
            known = self.customers[key[1]] = (self.ids.take("customers"), profile)
        b.add("upsert:customers", [row | {"id": known[0], "profile_id": known[1], "linked_by": "new"}])
        return known[0]

    def order(self, b: Batch, order: Order, inbox_id: int) -> None:
        stored = self.orders.get(order.shopify_id)
        if stored is not None and order.updated_at <= stored.updated_at:
            self.event(b, order.shopify_id, inbox_id, "ignored_same" if order.updated_at == stored.updated_at
                       else "ignored_stale", {"incoming_updated_at": order.updated_at.isoformat()})
            return
        customer_id = self.customer(b, order)
        # every row of one executemany names the same columns: the optional ones the order leaves out are NULL
        values = (dict.fromkeys(order_store.OPTIONAL_ORDER_VALUES) | order_store.order_values(order)
                  | {"customer_id": customer_id, "updated_at": self.now})
        if stored is None:
            oid = self.ids.take("orders")
            b.add("insert:orders", [values | dict.fromkeys(order_store.LOCATION_VALUES)
                                    | {"id": oid, "shop_id": self.shop_id, "shopify_id": order.shopify_id,
                                       "version": 1, "created_at": self.now}])
            items = order_store.item_rows(oid, order)
            for item in items:
                item["id"] = self.ids.take("order_items")
            b.add("insert:order_items", items)
            b.add("insert:order_addresses", order_store.address_rows(oid, order))
            b.add("insert:order_shipping_lines", order_store.shipping_line_rows(oid, order))
            b.add("insert:order_discounts", order_store.discount_rows(oid, order))
            stored = self.orders[order.shopify_id] = _Stored(oid, order.shopify_id, 1, order.updated_at, customer_id,
                                                             {i["shopify_id"]: i["id"] for i in items}, {})
            units = []
            for item in items:
                ids = [self.ids.take("order_units") for _ in range(item["current_quantity"])]
                stored.units[item["id"]] = ids
                units += [{"id": uid, "order_id": oid, "item_id": item["id"], "seq": seq, "sku": item["sku"],
                           "status": "created", "queue": None,
                           "ship_group": "default" if item["requires_shipping"] else NO_SHIPPING,
                           "price": item["price"], "updated_at": self.now} for seq, uid in enumerate(ids, 1)]
            b.add("insert:order_units", units)
            b.add("insert:workflows", [{"kind": "place_order", "order_id": oid, "status": "running", "step": 0,
                                        "context": "{}", "attempts": 0, "available_at": self.now,
                                        "created_at": self.now, "updated_at": self.now}])
            self.event(b, order.shopify_id, inbox_id, "created", order_store.stored_detail(order, 0))
            return
        stored.version += 1
        stored.updated_at = order.updated_at
        b.add("update:orders", [values | {"id": stored.id, "version": stored.version}])
        b.add("upsert:order_items", order_store.item_rows(stored.id, order))
        b.add("upsert:order_addresses", order_store.address_rows(stored.id, order))
        b.replace("order_shipping_lines", stored.id, order_store.shipping_line_rows(stored.id, order))
        b.replace("order_discounts", stored.id, order_store.discount_rows(stored.id, order))
        self.event(b, order.shopify_id, inbox_id, "updated", order_store.stored_detail(order, 0))
        if stored.cancelled:
            return
        cancelled: list[int] = []
        for item in order.items:
            item_id = stored.items.get(item.shopify_id)
            live = stored.units.get(item_id, []) if item_id is not None else []
            want = item.quantity if item.current_quantity is None else item.current_quantity
            if len(live) > want:  # a line that lost quantity: its excess units are cancelled
                cancelled += live[want:]
                stored.units[item_id] = live[:want]
                self.timeline(b, stored, "cancelled")
        left = [u for us in stored.units.values() for u in us]
        if order.status is OrderStatus.CANCELLED or not left:  # cancelled in Shopify, or nothing left of it
            if left:
                cancelled += left
                stored.units = {k: [] for k in stored.units}
                self.timeline(b, stored, "cancelled")
            stored.cancelled = True
            b.add("insert:outbox", [{"event_type": "order.cancelled", "ordering_key": f"order:{stored.id}",
                                     "order_id": stored.id, "payload": "{}", "created_at": self.now}])
        elif order_store.channel_payment_status(order.financial_status) in PAID:
            b.add("update:workflows", [{"id": stored.id, "available_at": self.now}])
        b.add("update:order_units", [{"id": u, "status": "cancelled", "reason": "cancelled in Shopify",
                                      "updated_at": self.now} for u in cancelled])

    def timeline(self, b: Batch, stored: _Stored, kind: str) -> None:
        b.add("insert:order_events", [{"shop_id": self.shop_id, "order_shopify_id": stored.shopify_id, "inbox_id": None,
                                       "kind": kind, "detail": "{}", "actor": "shopify", "at": self.now}])
        b.add("update:order_status", [{"id": stored.id, "status": "created", "updated_at": self.now}])


def _statement(kind: str, table_name: str, rows: Rows, dialect: str) -> Any:
    if table_name == "order_status":
        table_name = "orders"
    table = _TABLES[table_name]
    if kind == "insert":
        return insert(table)
    columns = [c for c in rows[0] if c != "id"]
    return update(table).where(table.c.id == bindparam("k_id")).values({c: bindparam(f"v_{c}") for c in columns})


def run(url: str, the_plan: Plan, prepare: Callable[[str, mixed_workload.Workload], int],
        workload: mixed_workload.Workload) -> dict[str, Any]:
    """Fill ``url``'s inbox like the processor's, then write the plan's rows batch by batch; the figures."""
    prepare(url, workload)
    hub = build(Settings(database_url=url))
    try:
        dialect = hub.db.dialect
        counter = sqlcount.Counter().attach(hub.db.engine)
        statements: dict[tuple[str, str], Any] = {}
        done = (update(inbox).where(inbox.c.id == bindparam("k_id"))
                .values(status="done", outcome="applied", processed_at=bindparam("v_at"), attempts=1))
        named = update(inbox).where(inbox.c.id == bindparam("k_id")).values(identity=bindparam("v_identity"))
        repeated = (update(inbox).where(inbox.c.id.in_(bindparam("k_ids", expanding=True)))
                    .values(status="done", outcome="duplicate", processed_at=bindparam("v_at"), attempts=1))
        claim = select(inbox).where(inbox.c.status == "pending", inbox.c.available_at <= bindparam("now")) \
            .order_by(inbox.c.id).limit(the_plan.batch)
        if dialect == "postgresql":
            claim = claim.with_for_update(skip_locked=True)
        with hub.db.read() as conn:
            store = destinations.get(conn, destinations.STORE)
        assert store is not None
        started = time.perf_counter()
        for b in the_plan.batches:
            with hub.db.write() as conn:
                conn.execute(claim, {"now": utcnow() + timedelta(seconds=1)}).all()
                if b.identities:
                    conn.execute(named, b.identities)
                if b.repeats:
                    conn.execute(repeated, {"k_ids": b.repeats, "v_at": utcnow()})
                for name in _ORDER:
                    kind, table_name = name.split(":")
                    if kind == "replace":
                        replaced = b.replaced.get(table_name, {})
                        if replaced:
                            conn.execute(delete(_TABLES[table_name]).where(
                                _TABLES[table_name].c.order_id == bindparam("k_order_id")),
                                [{"k_order_id": i} for i in replaced])
                            rows = [r for rs in replaced.values() for r in rs]
                            if rows:
                                conn.execute(insert(_TABLES[table_name]), rows)
                        continue
                    rows = b.rows.get(name)
                    if not rows:
                        continue
                    if kind == "upsert":
                        keys = _UPSERT_KEYS[table_name]
                        # one row per key (PostgreSQL refuses a multi-row upsert touching a row twice): a row the
                        # processor writes twice in a batch is written once, its last version
                        rows = list({tuple(r[k] for k in keys): r for r in rows}.values())
                        upsert_many(conn, _TABLES[table_name], rows, keys=keys,
                                    update=[c for c in rows[0] if c not in _UPSERT_KEYS[table_name] and c != "id"])
                        continue
                    stmt = statements.get((name, dialect))
                    if stmt is None:
                        stmt = statements[(name, dialect)] = _statement(kind, table_name, rows, dialect)
                    if kind == "insert":
                        conn.execute(stmt, rows)
                    else:
                        conn.execute(stmt, [{"k_id": r["id"]} | {f"v_{c}": v for c, v in r.items() if c != "id"}
                                            for r in rows])
                now = utcnow()
                if b.inbox_ids:
                    conn.execute(done, [{"k_id": i, "v_at": now} for i in b.inbox_ids])
                traffic.add(conn, traffic.PROCESSED, b.topics, now)
                upsert(conn, rate_buckets, {"name": store.bucket, "tokens": store.burst, "updated_at": now},
                       keys=("name",), update=("tokens", "updated_at"))
        seconds = time.perf_counter() - started
    finally:
        hub.close()
    written = (sum(len(v) for b in the_plan.batches for v in b.rows.values())
               + sum(len(r) for b in the_plan.batches for t in b.replaced.values() for r in t.values())
               + the_plan.records  # and each record's inbox row, done or duplicate
               + sum(len(b.identities) for b in the_plan.batches))  # the identity set on the first of each
    return {"records": the_plan.records, "batch": the_plan.batch, "seconds": seconds,
            "records_per_second": the_plan.records / seconds, "rows_written": written,
            "sql": sqlcount.per(counter.snapshot(), the_plan.records)}



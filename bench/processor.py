"""Processor throughput: fill the inbox with N distinct orders, then time draining it.

The store destination's rate limit is raised far above what the processor can do,
so the figure is the processor's own speed (translate, validate, upsert order,
items, addresses, customer, event; mark the inbox record done), one transaction
per batch of ``worker_batch_size`` records, durably committed.

With ``processes > 1``, that many OS processes (each with its own Hub and
processor loop) drain the same inbox concurrently; on PostgreSQL they claim
disjoint batches with ``FOR UPDATE SKIP LOCKED``, on SQLite they take turns on
the write lock. Each process counts the SQL statements it sends (bench/sqlcount.py) and
hands the counts back; ``drain_counted`` also files them by shape and call site.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parent))
import payloads
import profiling
import sqlcount

from orderhub.adapters.store import destinations, inbox, migrate, shops
from orderhub.adapters.store.schema import inbox as inbox_table
from orderhub.adapters.store.schema import order_items, orders
from orderhub.bootstrap import build, freeze_start_up
from orderhub.config import Settings

TAG = 7  # processor orders never collide with the receivers' orders


def use_bench_key_file() -> None:
    """Shops' secrets are stored encrypted; a PostgreSQL database has no key file beside it as a SQLite file does,
    so the benches name one (ORDERHUB_SECRET_KEY_FILE, created on first use, 0600) unless one is set. Spawned
    processes inherit it."""
    os.environ.setdefault("ORDERHUB_SECRET_KEY_FILE", str(Path(tempfile.gettempdir()) / "orderhub-bench.keys"))


@dataclass
class ProcessorResult:
    database: str
    processes: int
    orders: int
    fill_seconds: float
    drain_seconds: float
    stored_orders: int
    stored_items: int
    expected_items: int
    inbox_done: int
    inbox_other: int
    statements: int = 0  # SQL statements the draining processes sent

    @property
    def statements_per_order(self) -> float:
        return self.statements / self.orders if self.orders else 0.0

    @property
    def orders_per_second(self) -> float:
        return self.orders / self.drain_seconds if self.drain_seconds else 0.0

    @property
    def ok(self) -> bool:
        return (self.stored_orders == self.orders and self.inbox_done == self.orders and self.inbox_other == 0
                and self.stored_items == self.expected_items)

    def as_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "orders_per_second": self.orders_per_second, "ok": self.ok,
                "statements_per_order": self.statements_per_order}


def prepare(url: str, n: int) -> tuple[float, int]:
    """Migrate, add the shop, raise the store's rate limit, insert ``n`` pending orders.

    Returns (seconds to fill, line items the orders carry).
    """
    use_bench_key_file()
    hub = build(Settings(database_url=url))
    try:
        migrate.upgrade(hub.db)
        with hub.db.write() as conn:
            shop = shops.add(conn, payloads.SHOP, payloads.SECRET)
            destinations.ensure_store(conn)
            destinations.change(conn, destinations.STORE, rate_per_second=1e6, burst=1e6)
        started = time.perf_counter()
        items = 0
        batch: list[inbox.InboxEntry] = []
        for k in range(n):
            body = payloads.order_body(TAG, k)
            payload = orjson.loads(body)
            items += len(payload["line_items"])
            wid = payloads.webhook_id(TAG, k)
            batch.append(inbox.InboxEntry(  # as the webhook door stores them: the identity is the worker's to derive
                shop_id=shop.id, source="webhook", topic=payloads.TOPIC,
                identity=None, payload=body.decode(), webhook_id=wid,
                event_id=payloads.webhook_id(TAG + 0x8000, k), api_version=payloads.API_VERSION))
            if len(batch) == 1000:
                inbox.insert_entries(hub.db, batch)
                batch = []
        if batch:
            inbox.insert_entries(hub.db, batch)
        return time.perf_counter() - started, items
    finally:
        hub.close()


def _drain(url: str, ready: Any, go: Any, out: Any, detail: bool = False, batch_size: int = 0) -> None:
    hub = build(Settings(database_url=url, worker_batch_size=batch_size))
    processor = hub.processor()
    counter = sqlcount.Counter(detail=detail).attach(hub.db.engine)
    freeze_start_up()  # as the worker does when it starts
    ready.put(1)
    go.wait()
    done = 0
    idle = 0
    while True:
        n, _wait = processor.run_once()
        done += n
        if n:
            idle = 0
            continue
        with hub.db.read() as conn:
            if not inbox.has_due(conn):
                break
        idle += 1  # another process holds the rows just now
        time.sleep(0.001 * min(idle, 20))
    finished = time.perf_counter()
    out.put((done, finished, counter.snapshot()))
    hub.close()


def drain_counted(url: str, processes: int = 1, *, detail: bool = False, batch_size: int = 0,
                  profile: Path | None = None) -> tuple[float, dict[str, Any]]:
    """(seconds from the start signal until every process found nothing left to do, the statements they sent:
    a sqlcount snapshot of all of them). ``batch_size`` 0 is the worker's default (ORDERHUB_WORKER_BATCH_SIZE).
    With ``profile`` (a path prefix), each process is sampled by py-spy while it works: ``<profile>-<i>.pyspy``."""
    ctx = mp.get_context("spawn")  # fresh interpreters: no engine or thread state inherited
    ready, out, go = ctx.Queue(), ctx.Queue(), ctx.Event()
    procs = [ctx.Process(target=_drain, args=(url, ready, go, out, detail, batch_size)) for _ in range(processes)]
    for p in procs:
        p.start()
    for _ in procs:
        ready.get(timeout=120)
    samplers = [profiling.Sampler(p.pid, Path(f"{profile}-{i}.pyspy")) for i, p in enumerate(procs)
                if p.pid is not None] if profile else []
    started = time.perf_counter()
    go.set()
    finished = [out.get(timeout=3600) for _ in procs]
    for sampler in samplers:
        sampler.stop()
    for p in procs:
        p.join(timeout=30)
    return max(t for _, t, _ in finished) - started, sqlcount.merge(s for _, _, s in finished)


def drain(url: str, processes: int = 1) -> float:
    """Seconds from the start signal until every process found nothing left to do."""
    return drain_counted(url, processes)[0]


def verify(url: str) -> tuple[int, int, int, int]:
    """(orders stored, line items stored, inbox records done, inbox records in any other state)."""
    hub = build(Settings(database_url=url))
    try:
        with hub.db.read() as conn:
            n_orders = conn.execute(select(func.count()).select_from(orders)).scalar_one()
            n_items = conn.execute(select(func.count()).select_from(order_items)).scalar_one()
            done = conn.execute(select(func.count()).select_from(inbox_table)
                                .where(inbox_table.c.status == "done")).scalar_one()
            other = conn.execute(select(func.count()).select_from(inbox_table)
                                 .where(inbox_table.c.status != "done")).scalar_one()
        return n_orders, n_items, done, other
    finally:
        hub.close()


def run(url: str, n: int, processes: int, label: str) -> ProcessorResult:
    fill, expected_items = prepare(url, n)
    seconds, counted = drain_counted(url, processes)
    stored, items, done, other = verify(url)
    return ProcessorResult(database=label, processes=processes, orders=n, fill_seconds=fill,
                           drain_seconds=seconds, stored_orders=stored, stored_items=items,
                           expected_items=expected_items, inbox_done=done, inbox_other=other,
                           statements=counted["statements"])

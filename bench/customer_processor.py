"""The processor part of bench/customers.py: one database made once with the records in the inbox, copied for
each run; each run drains its copy in a fresh child process set up as one design (customer_variants.py) with
``hub.processor().run_once()`` loops, as the worker runs it (the batch path for new orders, the per-record path
for the rest), and counts the SQL statements it sends."""

from __future__ import annotations

import multiprocessing as mp
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import customer_records
import customer_variants
import payloads
from sqlalchemy import func, select

from orderhub.adapters.store import accounts, destinations, inbox, migrate, shops
from orderhub.adapters.store.schema import customer_profiles, customers, orders
from orderhub.adapters.store.schema import inbox as inbox_table
from orderhub.bootstrap import build
from orderhub.config import Settings


def settings(url: str, work: Path) -> Settings:
    return Settings(database_url=url, secret_key_file=str(work / "bench.keys"))


def prepare(url: str, work: Path, workload: customer_records.Workload) -> None:
    """Migrate, add the Shopify shop and the Walmart account, raise the store's intake rate far above what the
    processor does (so the figure is the processor's own), and put the records in the inbox."""
    hub = build(settings(url, work))
    try:
        migrate.upgrade(hub.db)
        with hub.db.write() as conn:
            shop = shops.add(conn, payloads.SHOP, payloads.SECRET)
            walmart = accounts.add(conn, "walmart", customer_records.WALMART_ACCOUNT,
                                   {"client_id": "bench", "endpoint": "http://127.0.0.1:9"}, {"client_secret": "x"})
            destinations.ensure_store(conn)
            destinations.change(conn, destinations.STORE, rate_per_second=1e6, burst=1e6)
        entries = list(customer_records.bound(workload, shop.id, walmart.id))
        for start in range(0, len(entries), 1000):
            inbox.insert_entries(hub.db, entries[start:start + 1000])
    finally:
        hub.close()


@dataclass
class Template:
    """The prepared database, copied for each run."""

    kind: str  # sqlite | postgresql
    source: str  # SQLite file, or the PostgreSQL template database's name
    pg: Any = None

    def copy(self, name: str, work: Path) -> str:
        if self.kind == "sqlite":
            target = work / f"{name}.db"
            shutil.copyfile(self.source, target)
            return f"sqlite:///{target}"
        return str(self.pg.create_database(name, template=self.source))


def make_template(work: Path, workload: customer_records.Workload, pg: Any = None) -> Template:
    if pg is None:
        path = work / "template.db"
        prepare(f"sqlite:///{path}", work, workload)
        return Template("sqlite", str(path))
    url = pg.create_database("bench_customers_template")
    prepare(url, work, workload)
    return Template("postgresql", "bench_customers_template", pg)


def _timed(module: Any, name: str, spent: list[float]) -> None:
    """Add the CPU time of ``module.name``'s calls to ``spent`` (callers look it up in the module)."""
    inner = getattr(module, name)

    def timed(*args: Any, **kwargs: Any) -> Any:
        began = time.process_time()
        try:
            return inner(*args, **kwargs)
        finally:
            spent[0] += time.process_time() - began

    setattr(module, name, timed)


def _identities() -> Any:
    from orderhub.adapters.store import identities

    return identities


def _links() -> Any:
    from orderhub.adapters.store import customer_links

    return customer_links


# The buyers' storage, piece by piece: (module, function) looked up by their callers in the module at call time.
PARTS = ((_identities, "order_rows"), (_links, "account_rules"), (_identities, "keys_of"), (_identities, "store"),
         (_identities, "upsert_many"), (_links, "assign"))


def _drain(url: str, work: str, variant: str, out: Any) -> None:
    from sqlalchemy import event

    from orderhub.adapters.store import identities, new_orders

    customer_variants.apply(variant)
    # The buyers' storage on both paths: new orders' batch (new_orders._customers) and one order at a time
    # (identities.store_one, from order_store.apply_order); the same two calls in every design.
    customer_cpu = [0.0]
    _timed(new_orders, "_customers", customer_cpu)
    _timed(identities, "store_one", customer_cpu)
    # Its parts, each with what it calls (the designs that have them)
    parts: dict[str, list[float]] = {}
    for module, name in PARTS:
        if hasattr(module(), name):
            parts[name] = [0.0]
            _timed(module(), name, parts[name])
    hub = build(settings(url, Path(work)))
    processor = hub.processor()
    statements = [0]

    def count(*_args: Any) -> None:
        statements[0] += 1

    event.listen(hub.db.engine, "before_cursor_execute", count)
    done = 0
    began, cpu = time.perf_counter(), time.process_time()
    while True:
        n, _wait = processor.run_once()
        done += n
        if n:
            continue
        with hub.db.read() as conn:
            if not inbox.has_due(conn):
                break
    seconds, cpu_seconds = time.perf_counter() - began, time.process_time() - cpu
    hub.close()
    out.put({"records": done, "seconds": seconds, "cpu_seconds": cpu_seconds, "statements": statements[0],
             "customer_cpu_seconds": customer_cpu[0], "parts": {k: v[0] for k, v in parts.items()},
             "batch_size": processor.batch_size})


def run(template: Template, work: Path, variant: str, name: str) -> dict[str, Any]:
    """Drain a copy of the template as ``variant`` in a child process; its figures and what it stored."""
    url = template.copy(name, work)
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    child = ctx.Process(target=_drain, args=(url, str(work), variant, out))
    child.start()
    result = out.get(timeout=3600)
    child.join(timeout=60)
    result |= stored(url, work)
    result["variant"] = variant
    result["records_per_second"] = result["records"] / result["seconds"]
    result["cpu_us_per_record"] = 1e6 * result["cpu_seconds"] / result["records"]
    result["customer_cpu_us_per_record"] = 1e6 * result["customer_cpu_seconds"] / result["records"]
    result["parts_us_per_record"] = {k: 1e6 * v / result["records"] for k, v in result.pop("parts").items()}
    result["statements_per_record"] = result["statements"] / result["records"]
    return result


def stored(url: str, work: Path) -> dict[str, int]:
    hub = build(settings(url, work))
    try:
        with hub.db.read() as conn:
            def count(table: Any, *where: Any) -> int:
                return int(conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one())

            return {"orders": count(orders), "orders_with_customer": count(orders, orders.c.customer_id.is_not(None)),
                    "identities": count(customers), "linked": count(customers, customers.c.profile_id.is_not(None)),
                    "profiles": count(customer_profiles, customer_profiles.c.merged_into.is_(None)),
                    "inbox_done": count(inbox_table, inbox_table.c.status == "done"),
                    "inbox_other": count(inbox_table, inbox_table.c.status != "done")}
    finally:
        hub.close()

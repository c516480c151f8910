"""Order management throughput, side by side with baselines, in one run.

    .venv/bin/python bench/oms.py            # a few minutes
    .venv/bin/python bench/oms.py --quick    # about a minute
    .venv/bin/python bench/oms.py --quick --no-hot --statements    # where the SQL statements come from
    .venv/bin/python bench/oms.py --quick --no-hot --profile /tmp/oms-prof   # cProfile of the pipeline

(a) **Orders placed end to end**: N distinct 5-line Shopify orders wait in the inbox;
    one process runs the inbox processor and the placement workflow (validate, reserve
    via brokering, authorise - paid by the channel -, record with approval, finalise
    with events in the outbox) until every order is brokered. Orders per second, on
    SQLite and PostgreSQL, against the **raw ceiling**: inserting the same rows
    (orders, lines, addresses, units, ledger, workflow, timeline and outbox rows) with
    plain executemany, no logic, in transactions of the same size. Both are shown with the
    SQL statements they sent per order (bench/sqlcount.py); ``--statements`` adds a run that
    files each statement of the pipeline under its shape and call site, and prints the
    breakdown (the timed run counts only, so its rate is not slowed by the bookkeeping).
(b) **Reservations on one hot SKU** from 8 processes on PostgreSQL (bench/hot_sku.py):
    orderhub's batched conditional update against the naive ``SELECT ... FOR UPDATE``
    per order, with ample stock (throughput) and with 100 units for everyone (oversell
    must be 0).

Prints the tables and, last, one JSON line with every figure.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import sys
import tempfile
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
from rich.console import Console
from rich.table import Table
from sqlalchemy import func, insert, select

sys.path.insert(0, str(Path(__file__).resolve().parent))
import hot_sku
import processor
import sqlcount

from orderhub.adapters.store import destinations, facilities, inbox, inventory_store, migrate, shops
from orderhub.adapters.store.schema import (
    inventory_ledger,
    order_addresses,
    order_events,
    order_items,
    order_units,
    orders,
    outbox,
    workflow_steps,
    workflows,
)
from orderhub.bootstrap import build, freeze_start_up
from orderhub.clock import utcnow
from orderhub.config import Settings
from orderhub.domain.inventory import LedgerReason

SHOP = "bench-oms.myshopify.com"
SKUS = [f"SKU-{k:03d}-👕" for k in range(50)]
WAREHOUSES = [("WH-BER", 52.52, 13.40), ("WH-MUC", 48.14, 11.58), ("WH-HAM", 53.55, 9.99)]
TARGETS = {"end_to_end_sqlite": 2000.0, "hot_sku_ratio": 10.0}


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def order_payload(k: int) -> dict[str, Any]:
    oid = 7_000_000_000_000 + k
    lines = [{"id": oid * 10 + j, "sku": SKUS[(k * 7 + j * 11) % len(SKUS)], "title": f"Shirt {j} 👕",
              "quantity": 1, "price": "19.90", "product_id": 900 + j, "variant_id": 9000 + j}
             for j in range(5)]
    return {
        "id": oid, "name": f"#B{k}", "order_number": k, "email": f"kunde{k}@example.com",
        "created_at": "2026-11-23T09:00:00Z", "updated_at": "2026-11-23T09:00:00Z", "currency": "EUR",
        "financial_status": "paid", "fulfillment_status": None, "subtotal_price": "99.50", "total_discounts": "0.00",
        # German prices include VAT (19 %: 15.89 of 99.50); without saying so the total would not add up and
        # every order would go to the error log instead of being placed.
        "taxes_included": True, "total_tax": "15.89", "total_price": "99.50", "tags": "", "note": None,
        "customer": {"id": oid + 1, "email": f"kunde{k}@example.com", "first_name": "Zoë", "last_name": "Müller"},
        "shipping_address": {"name": "Zoë Müller", "address1": "Straße 1", "city": "Berlin", "zip": "10115",
                             "country_code": "DE", "latitude": 52.5 + (k % 10) / 100, "longitude": 13.4},
        "line_items": lines, "shipping_lines": [],
    }


def prepare(url: str, n: int) -> None:
    hub = build(Settings(database_url=url))
    try:
        migrate.upgrade(hub.db)
        with hub.db.write() as conn:
            shop = shops.add(conn, SHOP, "bench-secret")
            destinations.ensure_store(conn)
            destinations.change(conn, destinations.STORE, rate_per_second=1e6, burst=1e6)
            for code, lat, lon in WAREHOUSES:
                fid = facilities.add(conn, code, code, "warehouse", latitude=lat, longitude=lon)
                for sku in SKUS:
                    inventory_store.set_on_hand(conn, sku, fid, 10**6, reason=LedgerReason.RECEIVED, actor="bench")
        batch = []
        for k in range(n):
            p = order_payload(k)
            wid = f"bench-{k}"
            # As the webhook door stores them: the raw body, its identity left to the worker.
            batch.append(inbox.InboxEntry(shop_id=shop.id, source="webhook", topic="orders/create", identity=None,
                                          payload=orjson.dumps(p).decode(), webhook_id=wid))
            if len(batch) == 1000:
                inbox.insert_entries(hub.db, batch)
                batch = []
        if batch:
            inbox.insert_entries(hub.db, batch)
    finally:
        hub.close()


def _pipeline(url: str, out: Any, detail: bool = False, profile: str | None = None) -> None:
    # Batches of 200 for both loops (ORDERHUB_WORKER_BATCH_SIZE, ORDERHUB_PLACEMENT_BATCH_SIZE): the
    # processor's SQLite default of 25 keeps the write lock short for webhook receivers; here none run.
    hub = build(Settings(database_url=url, placement_batch_size=200, worker_batch_size=200))
    processor, placement = hub.processor(), hub.placement()
    counter = sqlcount.Counter(detail=detail).attach(hub.db.engine)
    freeze_start_up()  # as the worker does when it starts
    spent = {"processor": 0.0, "placement": 0.0, "poll": 0.0}
    profiler = None
    if profile is not None:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    started = time.perf_counter()
    while True:
        t0 = time.perf_counter()
        counter.phase = "processor"
        a, _ = processor.run_once()
        t1 = time.perf_counter()
        counter.phase = "placement"
        b, _ = placement.run_once()
        t2 = time.perf_counter()
        spent["processor"] += t1 - t0
        spent["placement"] += t2 - t1
        if not a and not b:
            counter.phase = "poll"
            with hub.db.read() as conn:
                if not inbox.has_due(conn):
                    break
            spent["poll"] += time.perf_counter() - t2
    elapsed = time.perf_counter() - started
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(profile)
    counter.phase = "verify"
    with hub.db.read() as conn:
        brokered = conn.execute(select(func.count()).where(orders.c.status == "brokered")).scalar_one()
        events = conn.execute(select(func.count()).where(outbox.c.event_type == "order.placed")).scalar_one()
    hub.close()
    snap = counter.snapshot()
    snap["phases"].pop("verify", None)
    snap["statements"] = sum(v["statements"] for v in snap["phases"].values())
    snap["detail"] = [d for d in snap["detail"] if d["phase"] != "verify"]
    out.put((elapsed, brokered, events, snap, spent))


def end_to_end(url: str, n: int, *, detail: bool = False, profile: str | None = None) -> dict[str, Any]:
    prepare(url, n)
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    p = ctx.Process(target=_pipeline, args=(url, out, detail, profile))
    p.start()
    elapsed, brokered, placed, snap, spent = out.get(timeout=3600)
    p.join()
    return {"orders": n, "seconds": elapsed, "per_second": n / elapsed, "brokered": brokered,
            "placed_events": placed, "ok": brokered == n == placed,
            "phase_seconds": spent, "sql": sqlcount.per(snap, n), "_snapshot": snap}


def ceiling(url: str, n: int, batch: int = 200) -> dict[str, Any]:
    """The same rows as the pipeline writes, inserted raw: one executemany per table per transaction
    of ``batch`` orders, ids assigned up front - the most this database takes through SQLAlchemy Core."""
    hub = build(Settings(database_url=url))
    try:
        migrate.upgrade(hub.db)
        with hub.db.write() as conn:
            shop = shops.add(conn, SHOP, "bench-secret")
        now = utcnow()
        counter = sqlcount.Counter().attach(hub.db.engine)
        started = time.perf_counter()
        for first in range(0, n, batch):
            ks = list(range(first, min(n, first + batch)))
            ids = [k + 1 for k in ks]
            with hub.db.write() as conn:
                conn.execute(insert(orders), [dict(
                    id=oid, shop_id=shop.id, shopify_id=str(7_000_000_000_000 + oid), name=f"#B{oid}",
                    source_status="open", currency="EUR", subtotal_price=Decimal("99.50"),
                    total_discounts=Decimal(0), total_tax=Decimal("15.89"), total_shipping=Decimal(0),
                    total_price=Decimal("99.50"), source_created_at=now, source_updated_at=now, version=1,
                    created_at=now, updated_at=now, status="brokered") for oid in ids])
                conn.execute(insert(order_items), [dict(
                    id=oid * 5 + j, order_id=oid, shopify_id=str(j), sku=SKUS[j], title="Shirt", quantity=1,
                    current_quantity=1, fulfillable_quantity=1, price=Decimal("19.90"), total_discount=Decimal(0),
                    tax=Decimal(0), requires_shipping=True) for oid in ids for j in range(5)])
                conn.execute(insert(order_addresses), [{"order_id": oid, "kind": "shipping", "city": "Berlin"}
                                                       for oid in ids])
                conn.execute(insert(order_units), [
                    {"order_id": oid, "item_id": oid * 5 + j, "seq": 1, "sku": SKUS[j], "status": "brokered",
                     "price": Decimal("19.90"), "facility_id": None, "updated_at": now}
                    for oid in ids for j in range(5)])
                conn.execute(insert(inventory_ledger), [
                    {"sku": SKUS[j], "facility_id": 1, "reason": "reserved", "on_hand_before": 1,
                     "on_hand_after": 1, "reserved_before": 0, "reserved_after": 1, "order_id": oid,
                     "actor": "bench", "at": now} for oid in ids for j in range(5)])
                conn.execute(insert(workflows), [
                    {"kind": "place_order", "order_id": oid, "status": "completed", "step": 5, "context": "{}",
                     "available_at": now, "created_at": now, "updated_at": now} for oid in ids])
                conn.execute(insert(workflow_steps), [
                    {"workflow_id": oid, "step": s, "action": "run", "outcome": "ok", "at": now}
                    for oid in ids for s in ("validate", "reserve", "authorise_payment", "record", "finalise")])
                conn.execute(insert(order_events), [
                    {"shop_id": shop.id, "order_shopify_id": str(oid), "kind": kind, "detail": "{}", "at": now}
                    for oid in ids for kind in ("created", "brokering", "approved", "placed")])
                conn.execute(insert(outbox), [
                    {"event_type": kind, "ordering_key": f"order:{oid}", "order_id": oid, "payload": "{}",
                     "created_at": now}
                    for oid in ids for kind in ("order.created", "order.approved", "order.brokered",
                                                "order.placed")])
        elapsed = time.perf_counter() - started
    finally:
        hub.close()
    return {"orders": n, "seconds": elapsed, "per_second": n / elapsed, "sql": sqlcount.per(counter.snapshot(), n)}


def run_end_to_end(work: Path, n: int, pg_server: Any, *, statements: bool = False,
                   profile: Path | None = None) -> list[dict[str, Any]]:
    results = []
    backends = [("sqlite", lambda name: f"sqlite:///{work / name}.db")]
    if pg_server is not None:
        backends.append(("postgresql", lambda name: pg_server.create_database(name)))
    for backend, make in backends:
        log(f"end to end on {backend}: {n:,} orders")
        e2e = end_to_end(make("e2e"), n)
        e2e.pop("_snapshot")
        log(f"  {e2e['per_second']:,.0f} orders/s, {e2e['sql']['statements_per']:.2f} statements/order; "
            "raw ceiling ...")
        ceil = ceiling(make("ceiling"), n)
        log(f"  ceiling {ceil['per_second']:,.0f} orders/s, {ceil['sql']['statements_per']:.2f} statements/order")
        row = {"database": backend, "orderhub": e2e, "ceiling": ceil, "ratio": e2e["per_second"] / ceil["per_second"]}
        if statements:
            log(f"  the statements of the pipeline, one by one ({n:,} orders again, not timed)")
            counted = end_to_end(make("e2e_statements"), n, detail=True)
            row["breakdown_run"] = {"per_second": counted["per_second"], "ok": counted["ok"]}
            row["statements"] = counted["sql"]
            for t in sqlcount.tables(counted.pop("_snapshot"), n, "order", f"{backend}, placement end to end"):
                Console(width=200).print(t)
        if profile is not None:
            profile.mkdir(parents=True, exist_ok=True)
            target = profile / f"e2e-{backend}.prof"
            log(f"  the pipeline under cProfile ({n:,} orders again, not timed) -> {target}")
            profiled = end_to_end(make("e2e_profile"), n, profile=str(target))
            row["profile"] = {"file": str(target), "per_second": profiled["per_second"]}
            print_profile(target, backend)
        results.append(row)
    return results


def print_profile(path: Path, backend: str, limit: int = 40) -> None:
    """The functions of src/orderhub with the most cumulative time in the profile."""
    import pstats

    stats = pstats.Stats(str(path))
    total = stats.total_tt  # type: ignore[attr-defined]  # the profiled run's time, every function's own time summed
    mine = [(ct, tt, nc, f"{file[len(sqlcount.ORDERHUB):]}:{line}:{name}")
            for (file, line, name), (_cc, nc, tt, ct, _callers) in stats.stats.items()  # type: ignore[attr-defined]
            if file.startswith(sqlcount.ORDERHUB)]
    t = Table(title=f"{backend}: top cumulative time in src/orderhub (cProfile; run total {total:.2f} s)")
    for c in ("cumulative s", "share", "own s", "calls", "function"):
        t.add_column(c, justify="left" if c == "function" else "right")
    for ct, tt, nc, name in sorted(mine, reverse=True)[:limit]:
        t.add_row(f"{ct:.3f}", f"{ct / total:.0%}", f"{tt:.3f}", f"{nc:,}", name)
    Console(width=200).print(t)


def run_hot(pg_server: Any, orders: int) -> list[dict[str, Any]]:
    out = []
    for method, batch, n in (("naive", 1, max(2000, orders // 4)), ("orderhub", 250, orders)):
        for stock in (10**7, 100):
            url = pg_server.create_database(f"hot_{method}_{stock}")
            log(f"hot SKU: {method}, 8 processes, {n:,} orders, stock {stock:,}")
            r = hot_sku.run(url, method, processes=8, orders=n, stock=stock, batch=batch)
            log(f"  {r.per_second:,.0f} reservations/s, reserved {r.reserved}, oversold {r.oversold}")
            out.append(r.as_dict())
    return out


def print_tables(e2e: list[dict[str, Any]], hot: list[dict[str, Any]], res: dict[str, Any]) -> None:
    console = Console(width=200)
    t = Table(title="(a) orders placed end to end (inbox → approved → brokered with reservations → outbox), "
                    "5-line orders")
    for c in ("database", "orderhub orders/s", "statements/order", "of which processor", "of which placement",
              "raw ceiling orders/s", "statements/order ", "ratio", "all brokered, placed events"):
        t.add_column(c, justify="right")
    for r in e2e:
        sql = r["orderhub"]["sql"]
        phases = sql["phases"]
        t.add_row(r["database"], f"{r['orderhub']['per_second']:,.0f}", f"{sql['statements_per']:.2f}",
                  f"{phases.get('processor', {}).get('statements_per', 0):.2f}",
                  f"{phases.get('placement', {}).get('statements_per', 0):.2f}",
                  f"{r['ceiling']['per_second']:,.0f}", f"{r['ceiling']['sql']['statements_per']:.2f}",
                  f"{r['ratio']:.2f}", "yes" if r["orderhub"]["ok"] else "NO")
    console.print(t)
    if hot:
        t = Table(title="(b) reservations on one hot SKU, 8 processes, PostgreSQL")
        for c in ("method", "stock", "orders", "reservations/s", "reserved", "oversold"):
            t.add_column(c, justify="right")
        for r in hot:
            t.add_row(r["method"], f"{r['stock']:,}", f"{r['orders']:,}", f"{r['per_second']:,.0f}",
                      f"{r['reserved']:,}", str(r["oversold"]))
        console.print(t)
    t = Table(title="Targets")
    for c in ("target", "measured", "met"):
        t.add_column(c)
    for name, (label, _measured, fmt) in res["targets"].items():
        t.add_row(label, fmt, "yes" if res["met"][name] else "NO")
    console.print(t)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--orders", type=int, default=None, help="orders end to end (default 3000; quick 600)")
    ap.add_argument("--hot-orders", type=int, default=None, help="hot-SKU orders for orderhub (default 20000)")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--no-pg", action="store_true")
    ap.add_argument("--no-hot", action="store_true", help="skip the hot-SKU race (b)")
    ap.add_argument("--statements", action="store_true",
                    help="also run the pipeline with every statement filed by shape and call site (not timed), "
                         "print the breakdown and put it in the JSON line")
    ap.add_argument("--profile", type=Path, default=None, metavar="DIR",
                    help="also run the pipeline under cProfile (not timed); DIR/e2e-DATABASE.prof, top functions")
    args = ap.parse_args(argv)
    n = args.orders or (600 if args.quick else 3000)
    hot_n = args.hot_orders or (8000 if args.quick else 20000)
    work = Path(tempfile.mkdtemp(prefix="orderhub-bench-oms-"))
    processor.use_bench_key_file()
    res: dict[str, Any] = {"bench": "oms", "date": datetime.now(UTC).isoformat(timespec="seconds"),
                           "cpus": mp.cpu_count()}
    server = None
    if not args.no_pg:
        from orderhub.testing.postgres import start_postgres

        log("starting a throwaway PostgreSQL")
        server = start_postgres()
    try:
        e2e = run_end_to_end(work, n, server, statements=args.statements, profile=args.profile)
        hot = run_hot(server, hot_n) if server is not None and not args.no_hot else []
    finally:
        if server is not None:
            server.stop()
    sqlite_rate = next(r["orderhub"]["per_second"] for r in e2e if r["database"] == "sqlite")
    naive = max((r["per_second"] for r in hot if r["method"] == "naive" and r["stock"] > 100), default=0.0)
    ours = max((r["per_second"] for r in hot if r["method"] == "orderhub" and r["stock"] > 100), default=0.0)
    ratio = ours / naive if naive else 0.0
    res.update({"end_to_end": e2e, "hot_sku": hot, "hot_sku_ratio": ratio,
                "oversold": sum(r["oversold"] for r in hot)})
    res["targets"] = {
        "end_to_end_sqlite": ("end to end ≥ 2,000 orders/s on SQLite", sqlite_rate, f"{sqlite_rate:,.0f}/s"),
        "hot_sku_ratio": ("hot SKU ≥ 10 × naive, 0 oversold", ratio, f"{ratio:.1f} ×, oversold {res['oversold']}"),
    }
    res["met"] = {"end_to_end_sqlite": sqlite_rate >= TARGETS["end_to_end_sqlite"],
                  "hot_sku_ratio": ratio >= TARGETS["hot_sku_ratio"] and res["oversold"] == 0}
    print_tables(e2e, hot, res)
    res["targets"] = {k: v[1] for k, v in res["targets"].items()}
    print(orjson.dumps(res).decode())
    return 0


if __name__ == "__main__":
    sys.exit(main())

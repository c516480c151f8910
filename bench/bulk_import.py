"""Bulk orders import: orderhub's streaming import side by side with a naive one, in one run.

    .venv/bin/python bench/bulk_import.py            # 1,000,000 orders (the file is made once, then reused)
    .venv/bin/python bench/bulk_import.py --quick    # 50,000 orders

The JSONL is **made by the Shopify simulator and downloaded to a local file first**: a
shop gets N synthetic orders (``POST /_sim/bulk_catalogue``), a bulk query with
orderhub's ``bulk.orders_query(version)`` writes its result file, and the file is downloaded once
and kept (``--cache-dir``; the products file likewise), so later runs reuse it. The
timings read that local file: they measure orderhub's import, not the simulator.

Each design runs in a spawned child process on a fresh SQLite database (migrated, the
shop's products imported first with ``initial_load.import_products``), with orderhub's
default settings (WAL, ``synchronous=FULL``):

* **orderhub**: ``initial_load.import_orders`` streams the file (one order with its lines
  at a time), checks each order's SKUs and writes batches of 2,000 to the inbox through
  the raw insert path (``inbox.insert_entries``);
* **naive**: reads the whole file, parses every line, groups every order with its lines,
  converts every order (the same ``bulk.parse_order``, SKU check and identity), then
  inserts all rows at once (one SQLAlchemy Core executemany, one transaction).

Orders per second count the import only (and the CPU time it took, per order, which
other work on the machine moves less than it moves throughput); peak memory is the child's peak resident set
(``VmHWM``: the whole process, interpreter, imports and SQLite's cache included), next to
what it was before the import began. The naive child runs under an address-space cap (``--naive-cap-gb``) so it
cannot take the machine down; a run that hits it is reported with how far it got. Each
run is checked: the inbox holds exactly one row per order.

Prints the tables and, last, one JSON line with every figure.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import queue
import resource
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
from rich.console import Console
from rich.table import Table
from sqlalchemy import func, select
from sqlalchemy.dialects import sqlite

from orderhub.adapters.shopify import api_versions, bulk
from orderhub.adapters.shopify.graphql import AdminClient
from orderhub.adapters.shopify.webhooks import identity
from orderhub.adapters.store import migrate, shops
from orderhub.adapters.store.schema import inbox
from orderhub.bootstrap import build
from orderhub.clock import utcnow
from orderhub.config import Settings
from orderhub.memory import own_peak_mb
from orderhub.services.jobs import initial_load
from orderhub.services.jobs.context import JobContext

SHOP = "bench-bulk.myshopify.com"
TOKEN = "shpat_bench_bulk"
TARGETS = {"peak_mb": 300.0, "per_second": 10_000.0}
MB = 1024 * 1024


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# -- the files ----------------------------------------------------------------------------------------------

def _download(client: AdminClient, query: str, target: Path) -> bulk.BulkOperation:
    op = bulk.wait(client, bulk.start(client, query).id, timeout=7200, interval=0.5, max_interval=2.0)
    assert op.url is not None, f"bulk operation {op.id} found nothing"
    part = target.with_suffix(".part")
    with httpx.stream("GET", op.url, timeout=120) as response, open(part, "wb") as out:
        response.raise_for_status()
        for chunk in response.iter_bytes(1 << 20):
            out.write(chunk)
    part.rename(target)
    return op


def make_files(directory: Path, orders: int, seed: int) -> tuple[Path, Path, float]:
    """The products and orders files of one simulated shop: (products, orders, seconds it took to make them;
    0 when they were there already)."""
    products_path, orders_path = directory / "products.jsonl", directory / f"orders-{orders}.jsonl"
    if products_path.exists() and orders_path.exists():
        return products_path, orders_path, 0.0
    from orderhub.simulators.shopify.server import start_in_thread

    directory.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    _sim, url, stop = start_in_thread([{"domain": SHOP, "api_secret": "bench", "access_token": TOKEN}], seed=seed)
    try:
        httpx.post(f"{url}/_sim/config", json={"bulk": {"start_delay": 0, "objects_per_second": None}})
        httpx.post(f"{url}/_sim/bulk_catalogue", json={"orders": orders, "seed": seed}).raise_for_status()
        version = api_versions.newest_stable(datetime.now(UTC).date())
        client = AdminClient(f"{url}/admin/api/{version}/graphql.json", TOKEN)
        _download(client, bulk.PRODUCTS_QUERY, products_path)
        log(f"the simulator writes {orders:,} orders (once; the file is kept in {directory}) ...")
        op = _download(client, bulk.orders_query(client.version), orders_path)
        assert op.root_object_count == orders, (op.root_object_count, orders)
    finally:
        stop()
    return products_path, orders_path, time.perf_counter() - began


def prefix_file(source: Path, orders: int) -> Path:
    """The first ``orders`` orders of a file (with their lines), as a file of its own."""
    target = source.with_name(f"orders-{orders}.jsonl")
    if target.exists():
        return target
    part = target.with_suffix(".part")
    seen = 0
    with open(source, "rb") as src, open(part, "wb") as out:
        for line in src:
            if b'"__parentId":' not in line:
                seen += 1
                if seen > orders:
                    break
            out.write(line)
    if seen < orders:
        raise SystemExit(f"{source} holds only {seen} orders, fewer than {orders}")
    part.rename(target)
    return target


# -- the two designs ----------------------------------------------------------------------------------------

def naive_import(ctx: JobContext, path: Path, progress: Any) -> int:
    """Read it all, parse it all, convert it all, insert it all."""
    assert ctx.shop is not None
    data = path.read_bytes()
    objects = []
    for line in data.splitlines():
        if line:
            objects.append(orjson.loads(line))
            progress[0] = len(objects)
    groups: dict[str, bulk.Group] = {}
    for number, obj in enumerate(objects, start=1):
        parent = obj.get("__parentId")
        if parent is None:
            groups[obj["id"]] = bulk.Group(obj, number)
        else:
            groups[parent].children.append(obj)
    known = initial_load.known_skus(ctx)
    now = utcnow()
    rows = []
    for group in groups.values():
        payload = bulk.parse_order(group).payload
        if any(item.get("sku") and item["sku"] not in known for item in payload["line_items"]):
            continue
        rows.append(dict(shop_id=ctx.shop.id, source="bulk", topic="orders/updated",
                         identity=identity("orders/updated", payload, None), received_at=now,
                         payload=orjson.dumps(payload).decode(), status="pending", attempts=0, available_at=now))
        progress[1] = len(rows)
    with ctx.hub.db.write() as conn:
        conn.execute(sqlite.insert(inbox).on_conflict_do_nothing(), rows)
    return len(rows)


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _child(design: str, url: str, products: str, orders: str, cap_bytes: int, progress: Any, out: Any) -> None:
    hub = build(Settings(database_url=url))
    migrate.upgrade(hub.db)
    with hub.db.write() as conn:
        shop = shops.add(conn, SHOP, "bench")
    ctx = JobContext(hub, shop, {}, 0)
    with open(products, "rb") as f:
        initial_load.import_products(ctx, f)
    result: dict[str, Any] = {"design": design, "baseline_mb": own_peak_mb(), "error": None}
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if cap_bytes:
        resource.setrlimit(resource.RLIMIT_AS, (cap_bytes, hard))
    started, cpu = time.perf_counter(), _cpu_seconds()
    try:
        if design == "orderhub":
            with open(orders, "rb") as f:
                initial_load.import_orders(ctx, f)
        else:
            naive_import(ctx, Path(orders), progress)
    except MemoryError:
        where = (f"after parsing {progress[0]:,} lines and converting {progress[1]:,} orders" if progress[0]
                 else f"before the first line was parsed (the file is {Path(orders).stat().st_size / 2**30:.1f} GiB)")
        result["error"] = f"MemoryError at the {cap_bytes / 2**30:g} GiB cap, {where}"
    result["seconds"] = time.perf_counter() - started
    result["cpu_seconds"] = _cpu_seconds() - cpu
    result["peak_mb"] = own_peak_mb()
    resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
    with hub.db.read() as conn:
        result["stored"] = conn.execute(select(func.count()).select_from(inbox)).scalar_one()
        result["distinct"] = conn.execute(select(func.count(func.distinct(inbox.c.identity)))).scalar_one()
    result["failed"] = ctx.counts["failed"]
    hub.close()
    out.put(result)


def run(design: str, work: Path, products: Path, orders: Path, count: int, cap_gb: float) -> dict[str, Any]:
    db = work / f"{design}-{count}.db"
    ctx = mp.get_context("spawn")
    out, progress = ctx.Queue(), ctx.Array("q", 2)  # naive: lines parsed, orders converted
    cap = int(cap_gb * 2**30) if design == "naive" and cap_gb else 0
    child = ctx.Process(target=_child, args=(design, f"sqlite:///{db}", str(products), str(orders), cap,
                                             progress, out))
    child.start()
    while True:
        try:
            result: dict[str, Any] = out.get(timeout=1.0)
            break
        except queue.Empty:
            if not child.is_alive():
                raise SystemExit(f"the {design} child process died (exit code {child.exitcode}); see above") from None
    child.join()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    done = not result["error"]
    result.update(orders=count, per_second=count / result["seconds"] if done else None,
                  cpu_us_per_order=result["cpu_seconds"] / count * 1e6 if done else None)
    result["ok"] = not result["error"] and result["stored"] == result["distinct"] == count
    shown = (f"{result['per_second']:,.0f} orders/s" if result["per_second"] else result["error"])
    log(f"  {design}: {shown}, peak {result['peak_mb']:,.0f} MB (before the import {result['baseline_mb']:,.0f} MB)")
    return result


# -- report -------------------------------------------------------------------------------------------------

def print_tables(res: dict[str, Any]) -> None:
    console = Console(width=120)
    t = Table(title=f"Bulk orders import into the inbox, SQLite, {res['cpus']} CPUs (file read from local disk)")
    for c in ("design", "orders", "orders/s", "seconds", "CPU µs/order", "peak RSS", "RSS before import",
              "inbox rows"):
        t.add_column(c, justify="right")
    for r in res["runs"]:
        t.add_row(r["design"], f"{r['orders']:,}", f"{r['per_second']:,.0f}" if r["per_second"] else "—",
                  f"{r['seconds']:,.1f}", f"{r['cpu_us_per_order']:,.0f}" if r["cpu_us_per_order"] else "—",
                  f"{r['peak_mb']:,.0f} MB", f"{r['baseline_mb']:,.0f} MB",
                  "one per order" if r["ok"] else (r["error"] or f"{r['stored']:,} ({r['distinct']:,} distinct)"))
    console.print(t)
    t = Table(title="Targets (orderhub, largest run)")
    for c in ("target", "measured", "met"):
        t.add_column(c)
    for name, (label, _value, shown) in res["targets"].items():
        t.add_row(label, shown, "yes" if res["met"][name] else "NO")
    console.print(t)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--orders", type=int, default=None, help="orders in the large run (default 1,000,000; quick "
                                                              "50,000)")
    ap.add_argument("--small", type=int, default=None, help="orders in the small run, both designs (default "
                                                             "100,000; quick 10,000)")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--naive-cap-gb", type=float, default=6.0, help="address-space cap of the naive child")
    ap.add_argument("--cache-dir", type=Path, default=Path(tempfile.gettempdir()) / "orderhub-bench-bulk",
                    help="where the simulator's files are kept between runs")
    args = ap.parse_args(argv)
    n = args.orders or (50_000 if args.quick else 1_000_000)
    small = min(n, args.small or (10_000 if args.quick else 100_000))
    res: dict[str, Any] = {"bench": "bulk_import", "date": datetime.now(UTC).isoformat(timespec="seconds"),
                           "cpus": mp.cpu_count(), "database": "sqlite", "seed": args.seed}
    products, orders, made = make_files(args.cache_dir / f"seed-{args.seed}", n, args.seed)
    source = (f"made by the Shopify simulator in {made:,.0f}s and downloaded to {orders}" if made
              else f"made by the Shopify simulator in an earlier run, reused from {orders}")
    log(f"orders file: {source} ({orders.stat().st_size / MB:,.0f} MB); the timings read it from local disk")
    res.update(file=str(orders), file_bytes=orders.stat().st_size, file_made_seconds=round(made, 1),
               file_reused=not made)
    work = Path(tempfile.mkdtemp(prefix="orderhub-bench-bulk-"))
    runs = []
    try:
        sizes = [small, n] if small < n else [n]
        for count in sizes:
            path = orders if count == n else prefix_file(orders, count)
            for design in ("orderhub", "naive"):
                log(f"{design}: {count:,} orders")
                runs.append(run(design, work, products, path, count, args.naive_cap_gb))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    res["runs"] = runs
    largest = next(r for r in reversed(runs) if r["design"] == "orderhub")
    rate, peak = largest["per_second"] or 0.0, largest["peak_mb"]
    res["targets"] = {
        "peak_mb": (f"peak memory < {TARGETS['peak_mb']:,.0f} MB at {largest['orders']:,} orders", peak,
                    f"{peak:,.0f} MB"),
        "per_second": (f"≥ {TARGETS['per_second']:,.0f} orders/s on SQLite", rate, f"{rate:,.0f} orders/s"),
    }
    res["met"] = {"peak_mb": largest["ok"] and peak < TARGETS["peak_mb"],
                  "per_second": largest["ok"] and rate >= TARGETS["per_second"]}
    print_tables(res)
    res["targets"] = {k: v[1] for k, v in res["targets"].items()}
    print(orjson.dumps(res).decode())
    return 0 if all(r["ok"] or r["design"] == "naive" for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())

"""PostgreSQL as the scale-out path: 1, 2 and 4 workers against one PostgreSQL, side by side in one run.

    PYTHONPATH=src .venv/bin/python bench/scale.py                   # 1, 2 and 4 workers, 3,000 orders each
    PYTHONPATH=src .venv/bin/python bench/scale.py --quick           # 1 and 2 workers, 600 orders
    PYTHONPATH=src .venv/bin/python bench/scale.py --workers 1,2,4,8 --orders 6000 --postgres-url postgresql://...

For each number of workers: a fresh database on one PostgreSQL server (a throwaway one unless
``--postgres-url``), the OMS benchmark's shop, three warehouses and N distinct 5-line Shopify orders
waiting in the inbox as the webhook door leaves them (raw bodies, identity not yet derived:
bench/oms.py's ``prepare``). Then W worker processes, each running the inbox processor and the
placement workflow the way ``orderhub worker`` does (``hub.processor().run_once()`` and
``hub.placement().run_once()`` in turn, batches of 200), share the database until every order is
placed. The parent watches the database and notes when the inbox is drained (records/s) and when
the last order is placed (orders placed/s).

CPU beside the rates: the workers' (getrusage of the finished children) and the database's (the
postmaster's own, its live children's and its reaped children's CPU from /proc), each as cores busy
over the run. Where the database's share of the busy cores grows while the rate stops growing, the
database is the limit; on a machine with fewer cores than workers + database, the cores are.

On paper: the CPU one order cost the workers and the database in the run with the fewest workers, turned
into the orders a second one core of each carries (planned 70 % busy) and the cores each side needs at a
retailer's peak of 1,000, 10,000 and 60,000 orders a minute.

The last line is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

import orjson
from rich.console import Console
from rich.table import Table
from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parent))
import oms
import processor as processor_bench

from orderhub.adapters.store.db import Database
from orderhub.adapters.store.schema import inbox, workflows
from orderhub.bootstrap import build
from orderhub.config import Settings

TICK = os.sysconf("SC_CLK_TCK")


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def _proc_cpu(pid: int, *, reaped: bool = False) -> float:
    """utime + stime of a process (and, with ``reaped``, of its children it has waited for), seconds."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = text[text.rindex(")") + 2:].split()
    ticks = int(fields[11]) + int(fields[12]) + ((int(fields[13]) + int(fields[14])) if reaped else 0)
    return ticks / TICK


def database_cpu(postmaster: int) -> float:
    """CPU seconds the PostgreSQL server has used: the postmaster, its live children (backends, the
    checkpointer, the WAL writer ...) and the backends that have exited (reaped by the postmaster)."""
    total = _proc_cpu(postmaster, reaped=True)
    for task in Path(f"/proc/{postmaster}/task").glob("*"):
        try:
            children = (task / "children").read_text().split()
        except OSError:
            continue
        total += sum(_proc_cpu(int(c)) for c in children)
    return total


def postmaster_pid(datadir: str) -> int:
    return int(Path(datadir, "postmaster.pid").read_text().split("\n", 1)[0])


def _work(url: str, go: Any, stop: Any) -> None:
    """One worker: the processor and the placement workflow in turn, as ``orderhub worker`` runs them."""
    hub = build(Settings(database_url=url, placement_batch_size=200, worker_batch_size=200))
    processor, placement = hub.processor(), hub.placement()
    go.wait()
    try:
        while not stop.is_set():
            a, _ = processor.run_once()
            b, _ = placement.run_once()
            if not a and not b:
                time.sleep(0.02)
    finally:
        hub.close()


def _progress(db: Database) -> tuple[int, int]:
    """Inbox records still pending, and placement workflows finished."""
    with db.read() as conn:
        pending = conn.execute(select(func.count()).select_from(inbox).where(inbox.c.status == "pending")).scalar_one()
        placed = conn.execute(select(func.count()).select_from(workflows).where(
            workflows.c.status.in_(("completed", "compensated")))).scalar_one()
    return int(pending), int(placed)


def run(url: str, orders: int, workers: int, postmaster: int | None, timeout: float) -> dict[str, Any]:
    oms.prepare(url, orders)
    db = Database(url)
    ctx = mp.get_context("spawn")
    go, stop = ctx.Event(), ctx.Event()
    procs = [ctx.Process(target=_work, args=(url, go, stop)) for _ in range(workers)]
    for p in procs:
        p.start()
    time.sleep(1.0)  # each worker builds its hub before the clock starts
    children0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    db0 = database_cpu(postmaster) if postmaster else float("nan")
    started = time.perf_counter()
    go.set()
    drained_at = placed_at = None
    deadline = started + timeout
    try:
        while time.perf_counter() < deadline:
            pending, placed = _progress(db)
            now = time.perf_counter()
            if drained_at is None and pending == 0:
                drained_at = now
            if placed >= orders:
                placed_at = now
                break
            time.sleep(0.05)
    finally:
        stop.set()
        for p in procs:
            p.join(timeout=60)
        elapsed = (placed_at or time.perf_counter()) - started
        db1 = database_cpu(postmaster) if postmaster else float("nan")
        children1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        _pending, placed = _progress(db)
        db.dispose()
    workers_cpu = (children1.ru_utime + children1.ru_stime) - (children0.ru_utime + children0.ru_stime)
    return {
        "workers": workers, "orders": orders, "placed": placed, "ok": placed >= orders,
        "records_per_second": orders / (drained_at - started) if drained_at else None,
        "placed_per_second": orders / elapsed if placed_at else None,
        "seconds": elapsed,
        # Cores busy over the run (the workers' CPU runs to their exit, a little after the last order).
        "workers_cores": workers_cpu / elapsed,
        "database_cores": (db1 - db0) / elapsed if postmaster else None,
    }


def limit_line(rows: list[dict[str, Any]], cpus: int) -> str:
    """Where adding workers stopped paying, and what was busy then."""
    for prev, cur in zip(rows, rows[1:], strict=False):
        if not (prev["placed_per_second"] and cur["placed_per_second"]):
            continue
        gain = cur["placed_per_second"] / prev["placed_per_second"]
        if gain < 1.2:
            busy = cur["workers_cores"] + (cur["database_cores"] or 0)
            who = ("the machine's cores" if busy >= 0.85 * cpus else
                   "the database" if (cur["database_cores"] or 0) >= 0.85 else "locks and round trips")
            return (f"from {prev['workers']} to {cur['workers']} workers orders placed/s grew {gain:.2f}×: the limit "
                    f"is {who} (workers {cur['workers_cores']:.2f} cores, database {cur['database_cores'] or 0:.2f} "
                    f"of {cpus})")
    return "every step up in workers still paid (≥ 1.2× more orders placed a second)"


HEADROOM = 0.7  # plan for cores 70 % busy at the peak: the rest absorbs bursts, vacuum, checkpoints, backups
PEAKS = (1_000, 10_000, 60_000)  # orders a minute at a retailer's peak, for the arithmetic on paper


def projection(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """What the measured CPU per order means on larger machines: the CPU seconds one order costs the workers and
    the database (from the run with the fewest workers: no time lost to contention), the orders a second a core of
    each carries at ``HEADROOM``, and the cores each side needs at ``PEAKS`` orders a minute."""
    base = next((r for r in rows if r["ok"] and r["database_cores"]), None)
    if base is None:
        return {}
    worker_s = base["workers_cores"] * base["seconds"] / base["orders"]
    database_s = base["database_cores"] * base["seconds"] / base["orders"]
    return {
        "from_workers": base["workers"], "worker_cpu_ms_per_order": round(worker_s * 1000, 3),
        "database_cpu_ms_per_order": round(database_s * 1000, 3), "headroom": HEADROOM,
        "orders_per_second_per_worker_core": round(HEADROOM / worker_s, 1),
        "orders_per_second_per_database_core": round(HEADROOM / database_s, 1),
        "peaks": [{"orders_per_minute": m, "orders_per_second": round(m / 60, 1),
                   "worker_cores": round(m / 60 * worker_s / HEADROOM, 2),
                   "database_cores": round(m / 60 * database_s / HEADROOM, 2)} for m in PEAKS],
    }


def print_projection(console: Console, p: dict[str, Any]) -> None:
    if not p:
        return
    console.print(f"On paper (CPU per order from the {p['from_workers']}-worker run, cores planned "
                  f"{p['headroom']:.0%} busy): an order costs the workers {p['worker_cpu_ms_per_order']:.2f} ms of CPU "
                  f"and the database {p['database_cpu_ms_per_order']:.2f} ms, so a worker core carries "
                  f"{p['orders_per_second_per_worker_core']:,.0f} orders/s and a database core "
                  f"{p['orders_per_second_per_database_core']:,.0f} orders/s.")
    t = Table(title="cores needed at a retailer's peak", title_justify="left")
    for col in ("orders a minute", "orders a second", "worker cores", "database cores"):
        t.add_column(col, justify="right")
    for peak in p["peaks"]:
        t.add_row(f"{peak['orders_per_minute']:,}", f"{peak['orders_per_second']:,.0f}", f"{peak['worker_cores']:.1f}",
                  f"{peak['database_cores']:.1f}")
    console.print(t)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workers", default=None, help="worker counts to measure (default 1,2,4; quick 1,2)")
    ap.add_argument("--orders", type=int, default=None, help="orders per run (default 3000; quick 600)")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--postgres-url", default=None,
                    help="an existing PostgreSQL server to create the databases on (its CPU is not measured)")
    ap.add_argument("--timeout", type=float, default=600.0, help="seconds a run may take")
    args = ap.parse_args(argv)
    counts = [int(x) for x in (args.workers or ("1,2" if args.quick else "1,2,4")).split(",")]
    orders = args.orders or (600 if args.quick else 3000)
    processor_bench.use_bench_key_file()
    server = None
    postmaster = None
    if args.postgres_url:
        base = args.postgres_url.rsplit("/", 1)[0]

        def make(name: str) -> str:
            import psycopg
            with psycopg.connect(args.postgres_url.replace("postgresql+psycopg", "postgresql"), autocommit=True) as c:
                c.execute(f'CREATE DATABASE "{name}"')
            return f"{base}/{name}"
    else:
        from orderhub.testing.postgres import start_postgres

        server = start_postgres()
        postmaster = postmaster_pid(server.datadir)
        make = server.create_database
    rows = []
    started = time.time()
    try:
        for w in counts:
            url = make(f"scale_{w}_{int(time.time())}")
            log(f"{w} worker(s), {orders:,} orders")
            r = run(url, orders, w, postmaster, args.timeout)
            log(f"  {r['records_per_second'] or 0:,.0f} records/s, {r['placed_per_second'] or 0:,.0f} placed/s, "
                f"workers {r['workers_cores']:.2f} cores, database {r['database_cores'] or 0:.2f} cores")
            rows.append(r)
    finally:
        if server is not None:
            server.stop()
    cpus = os.cpu_count() or 1
    console = Console(file=sys.stdout, width=140)
    t = Table(title=f"PostgreSQL, one server, {orders:,} 5-line orders per run, on {cpus} cores", title_justify="left")
    for col in ("workers", "records/s (inbox drained)", "orders placed/s", "workers' CPU, cores",
                "database CPU, cores", "all placed"):
        t.add_column(col, justify="right")
    for r in rows:
        t.add_row(str(r["workers"]), f"{r['records_per_second'] or 0:,.0f}", f"{r['placed_per_second'] or 0:,.0f}",
                  f"{r['workers_cores']:.2f}", "-" if r["database_cores"] is None else f"{r['database_cores']:.2f}",
                  "yes" if r["ok"] else "NO")
    console.print(t)
    line = limit_line(rows, cpus)
    console.print(line)
    paper = projection(rows)
    print_projection(console, paper)
    print(orjson.dumps({"bench": "scale", "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "cpus": cpus,
                        "orders": orders, "runs": rows, "limit": line, "projection": paper,
                        "elapsed_s": round(time.time() - started, 1)}).decode())
    return 0 if all(r["ok"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())

"""The inbox processor on a shop's real mix of order webhooks, against a raw ceiling of its own.

    PYTHONPATH=src .venv/bin/python bench/processor_mixed.py                # 2,000 orders' lives: a few minutes
    PYTHONPATH=src .venv/bin/python bench/processor_mixed.py --quick        # 300 orders, under a minute
    PYTHONPATH=src .venv/bin/python bench/processor_mixed.py --statements   # where the statements come from
    PYTHONPATH=src .venv/bin/python bench/processor_mixed.py --profile      # where the CPU goes (py-spy)
    PYTHONPATH=src .venv/bin/python bench/processor_mixed.py --help         # --orders, --processes, --batch, --no-pg

The inbox is filled as Shopify fills it through orderhub's door (bench/mixed_workload.py: every order's
``orders/create``, then its payment, note and tag changes, fulfilment, refunds and cancellations, interleaved as
they arrive, each webhook stored raw with no identity yet; the docstring there gives the shares and why),
then ``hub.processor().run_once()`` loops drain it, in 1 and 2 processes, on SQLite and on a throwaway
PostgreSQL. Every record must end applied or a duplicate: the inbox all done, and each order stored
as the simulator's last version of it (its updated_at, financial, fulfilment and cancelled status, lines and
refunds).

The **raw ceiling** (bench/mixed_ceiling.py) writes the same rows with no logic: the same records claimed in
the same batches, and for each the inserts and updates the processor makes for a record of its kind, with
plain executemany, one transaction per batch. Both are shown with their SQL statements per record
(bench/sqlcount.py); the row counts of the two databases are compared table by table, so the ceiling writes
no fewer rows. ``--statements`` adds a run (not timed) that files each statement by shape and call site;
``--profile`` adds one (not timed) with the processor sampled by py-spy (bench/profiling.py).
The last line is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from rich.console import Console
from rich.table import Table
from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parent))
import mixed_ceiling
import mixed_workload
import processor
import profiling
import sqlcount

from orderhub.adapters.store import destinations, inbox, migrate, shops
from orderhub.adapters.store.schema import inbox as inbox_table
from orderhub.adapters.store.schema import order_items, orders, refunds
from orderhub.bootstrap import build
from orderhub.config import Settings

TARGET_RATIO = 0.6


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def prepare(url: str, workload: mixed_workload.Workload) -> int:
    """Migrate, add the shop, raise the store's intake rate far above what the processor does, and store
    every webhook as the door does (the raw body, no identity: the worker derives it). Returns the records kept."""
    hub = build(Settings(database_url=url))
    try:
        migrate.upgrade(hub.db)
        with hub.db.write() as conn:
            shop = shops.add(conn, mixed_workload.SHOP, mixed_workload.SECRET)
            destinations.ensure_store(conn)
            destinations.change(conn, destinations.STORE, rate_per_second=1e6, burst=1e6)
        entries = workload.entries(shop.id)
        kept = 0
        for start in range(0, len(entries), 1000):
            kept += sum(inbox.insert_entries(hub.db, entries[start:start + 1000]))
        return kept
    finally:
        hub.close()


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value).astimezone(UTC)


def verify(url: str, workload: mixed_workload.Workload) -> dict[str, Any]:
    """Whether every record was applied: the inbox all done, each order as the simulator's last version."""
    hub = build(Settings(database_url=url))
    try:
        with hub.db.read() as conn:
            status = Counter({r[0]: r[1] for r in conn.execute(
                select(inbox_table.c.status, func.count()).group_by(inbox_table.c.status))})
            stored = {r.shopify_id: r for r in conn.execute(select(
                orders.c.id, orders.c.shopify_id, orders.c.source_updated_at, orders.c.source_status,
                orders.c.source_financial_status, orders.c.source_fulfillment_status))}
            lines = Counter({r[0]: r[1] for r in conn.execute(
                select(order_items.c.order_id, func.count()).group_by(order_items.c.order_id))})
            refunded = Counter({r[0]: r[1] for r in conn.execute(
                select(refunds.c.order_shopify_id, func.count()).group_by(refunds.c.order_shopify_id))})
    finally:
        hub.close()
    wrong: list[str] = []
    for oid, want in workload.final.items():
        got = stored.get(oid)
        if got is None:
            wrong.append(f"order {want['name']} ({oid}) not stored")
            continue
        expected = {"updated_at": _time(want["updated_at"]),
                    "status": "cancelled" if want.get("cancelled_at") else "closed" if want.get("closed_at")
                    else "open",
                    "financial": want["financial_status"], "fulfillment": want["fulfillment_status"],
                    "lines": len(want["line_items"]), "refunds": workload.refunds[oid]}
        actual = {"updated_at": got.source_updated_at, "status": got.source_status,
                  "financial": got.source_financial_status, "fulfillment": got.source_fulfillment_status,
                  "lines": lines[got.id], "refunds": refunded[oid]}
        for k, v in expected.items():
            if actual[k] != v:
                wrong.append(f"order {want['name']} ({oid}): {k} is {actual[k]!r}, the shop's last version says {v!r}")
    return {"inbox": dict(status), "orders": len(stored), "wrong": len(wrong), "examples": wrong[:5],
            "ok": not wrong and set(status) == {"done"} and len(stored) == workload.orders}


def run_orderhub(url: str, workload: mixed_workload.Workload, processes: int, batch: int,
                 detail: bool = False, profile: Path | None = None) -> dict[str, Any]:
    records = prepare(url, workload)
    seconds, counted = processor.drain_counted(url, processes, detail=detail, batch_size=batch, profile=profile)
    checked = verify(url, workload)
    out = {"processes": processes, "records": records, "seconds": seconds, "records_per_second": records / seconds,
           "verified": checked, "ok": checked["ok"], "sql": sqlcount.per(counted, records)}
    if detail:
        out["_snapshot"] = counted
    return out


def census(url: str) -> dict[str, int]:
    """Rows in each table that holds any."""
    hub = build(Settings(database_url=url))
    try:
        from orderhub.adapters.store.schema import metadata

        with hub.db.read() as conn:
            counts = {str(t.name): int(conn.execute(select(func.count()).select_from(t)).scalar_one())
                      for t in metadata.sorted_tables}
        return {k: v for k, v in counts.items() if v}
    finally:
        hub.close()


def run_backend(label: str, make_url: Any, workload: mixed_workload.Workload, counts: list[int], batch: int,
                statements: bool, profile: Path | None = None) -> dict[str, Any]:
    result: dict[str, Any] = {"database": label, "batch": batch, "orderhub": []}
    urls = {}
    for n in counts:
        log(f"{label}: orderhub, {n} process(es)")
        urls[n] = make_url(f"mixed_{n}")
        r = run_orderhub(urls[n], workload, n, batch)
        log(f"  {r['records_per_second']:,.0f} records/s, {r['sql']['statements_per']:.2f} statements/record, "
            f"{'all applied' if r['ok'] else 'NOT ALL APPLIED: ' + '; '.join(r['verified']['examples'])}")
        result["orderhub"].append(r)
    log(f"{label}: raw ceiling")
    ceiling_url = make_url("mixed_ceiling")
    plan = mixed_ceiling.plan(make_url("mixed_plan"), workload, batch, prepare)
    result["ceiling"] = mixed_ceiling.run(ceiling_url, plan, prepare, workload)
    log(f"  {result['ceiling']['records_per_second']:,.0f} records/s, "
        f"{result['ceiling']['sql']['statements_per']:.2f} statements/record")
    ours = census(urls[counts[0]])
    theirs = census(ceiling_url)
    result["rows"] = {t: {"orderhub": ours.get(t, 0), "ceiling": theirs.get(t, 0)}
                      for t in sorted(set(ours) | set(theirs))}
    # traffic_minutes rows are upserts into shards picked at random on PostgreSQL: how many there are is chance
    result["ceiling_writes_fewer"] = sorted(t for t, v in result["rows"].items()
                                            if v["ceiling"] < v["orderhub"] and t != "traffic_minutes")
    one = result["orderhub"][0]
    result["ratio"] = one["records_per_second"] / result["ceiling"]["records_per_second"]
    if profile is not None:
        log(f"{label}: one process under py-spy (not timed)")
        prefix = profile / f"mixed-{label}"
        run_orderhub(make_url("mixed_profile"), workload, 1, batch, profile=prefix)
        found = profiling.summarise(Path(f"{prefix}-0.pyspy"))
        result["profile"] = found.as_dict()
        profiling.print_profile(f"{label}: where the processor's CPU goes on the mixed inbox (py-spy)", found)
    if statements:
        log(f"{label}: the statements one by one (not timed)")
        counted = run_orderhub(make_url("mixed_statements"), workload, 1, batch, detail=True)
        snap = counted.pop("_snapshot")
        result["statements"] = counted["sql"]
        for t in sqlcount.tables(snap, counted["records"], "record", f"{label}, processor on the mixed inbox"):
            Console(width=220).print(t)
    return result


def print_tables(results: list[dict[str, Any]], workload: mixed_workload.Workload) -> None:
    console = Console(width=200)
    records = workload.records()
    mix = Counter(r.topic for r in records)
    console.print(f"{workload.orders:,} orders' lives: {len(workload.webhooks):,} webhooks stored by the door (the "
                  f"records/s below count them), {len(records):,} of them applied, the rest repeats "
                  f"({len(records) / workload.orders:.2f} applied per order): "
                  + ", ".join(f"{k} {v:,}" for k, v in mix.most_common())
                  + "; changes made: " + ", ".join(f"{k} {v:,}" for k, v in workload.changes.most_common()))
    t = Table(title="the processor on a shop's mix of order webhooks, against a raw ceiling of its own")
    for c in ("database", "batch", "design", "processes", "records/s", "statements/record", "ratio", "all applied"):
        t.add_column(c, justify="right")
    for r in results:
        ceiling = r["ceiling"]
        for o in r["orderhub"]:
            t.add_row(r["database"], str(r["batch"]), "orderhub", str(o["processes"]),
                      f"{o['records_per_second']:,.0f}", f"{o['sql']['statements_per']:.2f}",
                      f"{o['records_per_second'] / ceiling['records_per_second']:.2f}", "yes" if o["ok"] else "NO")
        t.add_row(r["database"], str(r["batch"]), "raw ceiling", "1", f"{ceiling['records_per_second']:,.0f}",
                  f"{ceiling['sql']['statements_per']:.2f}", "", "")
    console.print(t)
    t = Table(title="rows in each table after the run: orderhub (its first run) and the ceiling")
    for c in ("database", "table", "orderhub", "ceiling"):
        t.add_column(c, justify="right")
    for r in results:
        for table, v in r["rows"].items():
            t.add_row(r["database"], table, f"{v['orderhub']:,}", f"{v['ceiling']:,}"
                      + (" (fewer)" if v["ceiling"] < v["orderhub"] else ""))
    console.print(t)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--orders", type=int, default=None, help="orders whose lives fill the inbox (default 2000; "
                                                              "quick 300)")
    ap.add_argument("--processes", default="1,2", help="processor process counts (default 1,2)")
    ap.add_argument("--batch", type=int, default=0, help="records per processor transaction and ceiling batch "
                                                        "(default: the worker's, 25 on SQLite and 100 on PostgreSQL)")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--no-pg", action="store_true")
    ap.add_argument("--statements", action="store_true",
                    help="also run the processor with every statement filed by shape and call site (not timed), "
                         "print the breakdown and put it in the JSON line")
    ap.add_argument("--profile", action="store_true",
                    help="also run one processor under py-spy (not timed): where its CPU goes, by function and layer")
    args = ap.parse_args(argv)
    n = args.orders or (300 if args.quick else 2000)
    counts = [int(x) for x in args.processes.split(",") if x.strip()]
    work = Path(tempfile.mkdtemp(prefix="orderhub-bench-mixed-"))
    processor.use_bench_key_file()
    log(f"the shop's webhooks for {n:,} orders (Shopify simulator)")
    workload = mixed_workload.make(n)
    res: dict[str, Any] = {"bench": "processor_mixed", "date": datetime.now(UTC).isoformat(timespec="seconds"),
                           "cpus": mp.cpu_count(), "orders": n, "webhooks": len(workload.webhooks),
                           "records": len(workload.records()), "topics": dict(workload.topics),
                           "record_topics": dict(Counter(r.topic for r in workload.records())),
                           "changes": dict(workload.changes)}
    profile = work if args.profile else None
    results = [run_backend("sqlite", lambda name: f"sqlite:///{work / name}.db", workload, counts,
                           args.batch or 25, args.statements, profile)]
    if not args.no_pg:
        from orderhub.testing.postgres import start_postgres

        log("starting a throwaway PostgreSQL")
        server = start_postgres()
        try:
            results.append(run_backend("postgresql", server.create_database, workload, counts, args.batch or 100,
                                       args.statements, profile))
        finally:
            server.stop()
    print_tables(results, workload)
    res["results"] = results
    res["all_applied"] = all(o["ok"] for r in results for o in r["orderhub"])
    res["ceiling_writes_no_fewer_rows"] = not any(r["ceiling_writes_fewer"] for r in results)
    res["target_ratio"] = TARGET_RATIO
    res["met"] = {r["database"]: r["ratio"] >= TARGET_RATIO for r in results}
    print(orjson.dumps(res).decode())
    return 0 if res["all_applied"] else 1


if __name__ == "__main__":
    sys.exit(main())

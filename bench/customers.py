"""What the unified customer costs: the processor with identity linking against the same processor without it,
and looking a person up among a million identities against the same lookup without the key indexes.

    PYTHONPATH=src .venv/bin/python bench/customers.py            # SQLite: about 6 minutes
    PYTHONPATH=src .venv/bin/python bench/customers.py --quick    # about a minute
    PYTHONPATH=src .venv/bin/python bench/customers.py --pg       # a throwaway PostgreSQL

1. Processor. N records (customer_records.py: new and repeat Shopify customers, guest checkouts with an e-mail
   address only, ``orders/updated`` of earlier orders, Walmart orders with the buyer's phone) are put in the inbox
   of a database made once; each run drains a copy of it in a fresh child process with ``hub.processor()``'s
   ``run_once`` loop, as the worker does, set up as one design (customer_variants.py): ``baseline`` (the customer
   storage orderhub had before profiles), ``nolink`` (identities and keys, no linking) and ``linked`` (orderhub).
   Several rounds,
   the designs in a different order each round; records/s and CPU µs/record as median and range, SQL statements
   per record (SQLAlchemy's ``before_cursor_execute``), and the overhead 1 - linked/baseline, paired per round.
   Every run must leave every record done and every order stored; linked runs must make one profile per person.
2. Search. ``--customers`` identities with their profiles loaded in bulk (customer_search.py), then
   ``customer_links.find`` by e-mail, phone and loyalty id for existing and missing values (p50/p99 ms), beside
   the same lookups on the raw columns, which have no index (a few only: each reads the whole table).

Prints the tables and, last, one JSON line with every figure.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))
import customer_processor
import customer_records
import customer_search
import customer_variants

TARGET_OVERHEAD = 0.10
DEFAULT_VARIANTS = ("baseline", "nolink", "linked")
PART_NAMES = ("order_rows", "account_rules", "keys_of", "store", "upsert_many", "assign")


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def spread(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def run_processor(args: argparse.Namespace, work: Path, pg: Any) -> dict[str, Any]:
    workload = customer_records.build(args.records, args.seed)
    log(f"processor: {args.records:,} records {workload.counts}, {workload.people:,} people; "
        f"preparing the inbox ({'PostgreSQL' if pg else 'SQLite'})")
    template = customer_processor.make_template(work, workload, pg)
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    runs: dict[str, list[dict[str, Any]]] = {v: [] for v in variants}
    for r in range(args.rounds):
        order = variants[r % len(variants):] + variants[:r % len(variants)]
        for v in order:
            res = customer_processor.run(template, work, v, f"bench_customers_{r}_{v.replace('+', '_')}")
            runs[v].append(res)
            log(f"round {r + 1}/{args.rounds} {v:16s} {res['records_per_second']:7,.0f} records/s, "
                f"{res['cpu_us_per_record']:6,.0f} CPU µs/record, {res['statements_per_record']:.2f} statements/record")
    expected_orders = workload.shopify_orders + workload.walmart_orders
    out: dict[str, Any] = {"records": args.records, "rounds": args.rounds, "mix": workload.counts,
                           "people": workload.people, "expected_orders": expected_orders, "variants": {}}
    for v, results in runs.items():
        last = results[-1]
        ok = all(x["inbox_done"] == args.records and x["inbox_other"] == 0 and x["orders"] == expected_orders
                 for x in results)
        if v != "baseline" and v != "nolink":
            ok = ok and all(x["profiles"] == workload.people and x["linked"] == x["identities"] for x in results)
        out["variants"][v] = {
            "records_per_second": spread([x["records_per_second"] for x in results]),
            "cpu_us_per_record": spread([x["cpu_us_per_record"] for x in results]),
            "customer_cpu_us_per_record": spread([x["customer_cpu_us_per_record"] for x in results]),
            "statements_per_record": statistics.median(x["statements_per_record"] for x in results),
            "parts_us_per_record": {k: statistics.median(x["parts_us_per_record"][k] for x in results)
                                    for k in last["parts_us_per_record"]},
            "batch_size": last["batch_size"], "identities": last["identities"], "profiles": last["profiles"],
            "orders_with_customer": last["orders_with_customer"], "ok": ok}
    if "baseline" in runs:
        base = runs["baseline"]
        for v in variants:
            if v == "baseline":
                continue
            paired = [1 - x["records_per_second"] / b["records_per_second"] for x, b in zip(runs[v], base, strict=True)]
            cpu = [x["cpu_us_per_record"] / b["cpu_us_per_record"] - 1 for x, b in zip(runs[v], base, strict=True)]
            # what the buyers' storage adds, over the baseline's whole CPU: the least noisy of the three
            storage = [(x["customer_cpu_us_per_record"] - b["customer_cpu_us_per_record"]) / b["cpu_us_per_record"]
                       for x, b in zip(runs[v], base, strict=True)]
            out["variants"][v]["overhead"] = spread(paired)
            out["variants"][v]["cpu_overhead"] = spread(cpu)
            out["variants"][v]["storage_overhead"] = spread(storage)
    return out


def run_search(args: argparse.Namespace, work: Path, pg: Any) -> dict[str, Any]:
    url = str(pg.create_database("bench_customers_search")) if pg else f"sqlite:///{work / 'search.db'}"
    log(f"search: loading {args.customers:,} identities")
    loaded = customer_search.load(url, args.customers, work)
    log(f"  loaded in {loaded['load_seconds']:.1f} s (ANALYZE {loaded['analyze_seconds']:.1f} s); timing lookups")
    results = customer_search.measure(url, args.customers, work, args.lookups, args.naive_lookups, args.seed)
    return {**loaded, "keys": results, "ok": all(r["wrong"] == 0 and r["naive_wrong"] == 0 for r in results)}


def _range(s: dict[str, float], digits: int = 0, pct: bool = False) -> str:
    if pct:
        return f"{s['median']:+.1%} ({s['min']:+.1%}…{s['max']:+.1%})"
    return f"{s['median']:,.{digits}f} ({s['min']:,.{digits}f}–{s['max']:,.{digits}f})"


def print_tables(res: dict[str, Any]) -> None:
    console = Console(width=200)
    p = res.get("processor")
    if p:
        mix = ", ".join(f"{v} {k}" for k, v in p["mix"].items())
        t = Table(title=f"Processor, {res['database']}: {p['records']:,} records ({mix}; {p['people']:,} people), "
                        f"{p['rounds']} rounds; median (range); overhead = 1 - records/s ÷ baseline's, CPU overhead "
                        "= CPU ÷ baseline's - 1, buyers' share = the buyers' storage CPU less the baseline's, ÷ the "
                        "baseline's whole CPU; each against the baseline of the same round", title_justify="left")
        for c in ("design", "records/s", "overhead (paired)", "CPU µs/record", "CPU overhead", "buyers' CPU µs/rec",
                  "buyers' share", "statements/record", "identities", "profiles", "checks"):
            t.add_column(c, justify="left" if c == "design" else "right")
        for v, s in p["variants"].items():
            paired = ("overhead", "cpu_overhead", "storage_overhead")
            o, c, b = (_range(s[k], pct=True) if k in s else "" for k in paired)
            t.add_row(v, _range(s["records_per_second"]), o, _range(s["cpu_us_per_record"]), c,
                      _range(s["customer_cpu_us_per_record"]), b,
                      f"{s['statements_per_record']:.2f}", f"{s['identities']:,}", f"{s['profiles']:,}",
                      "ok" if s["ok"] else "FAILED")
        console.print(t)
        linked = p["variants"].get("linked", {})
        if "overhead" in linked:
            wall, share = linked["overhead"]["median"], linked["storage_overhead"]["median"]
            met = "met" if max(wall, share) <= TARGET_OVERHEAD else "NOT met"
            console.print(f"Profiles cost the processor {wall:.1%} of its records/s and add {share:.1%} to its CPU "
                          f"(target ≤ {TARGET_OVERHEAD:.0%}: {met}).")
        names = [n for n in PART_NAMES if any(n in v["parts_us_per_record"] for v in p["variants"].values())]
        t = Table(title="The buyers' storage piece by piece: CPU µs per record, median, each with what it calls "
                        "(order_rows: keys and rules; store: upsert and link)", title_justify="left")
        for c in ("design", *names):
            t.add_column(c, justify="left" if c == "design" else "right")
        for v, s in p["variants"].items():
            t.add_row(v, *(f"{s['parts_us_per_record'][n]:,.0f}" if n in s["parts_us_per_record"] else "—"
                           for n in names))
        console.print(t)
    s = res.get("search")
    if s:
        t = Table(title=f"customer_links.find among {s['identities']:,} identities ({s['profiles']:,} profiles), "
                        f"{res['database']}; loaded in {s['load_seconds']:.1f} s", title_justify="left")
        for c in ("key", "lookups (half missing)", "p50 ms", "p99 ms", "max ms", "wrong",
                  "without the index: lookups", "p50 ms ", "max ms ", "wrong "):
            t.add_column(c, justify="left" if c == "key" else "right")
        for r in s["keys"]:
            t.add_row(r["key"], f"{r['lookups']:,}", f"{r['p50_ms']:.3f}", f"{r['p99_ms']:.3f}", f"{r['max_ms']:.3f}",
                      str(r["wrong"]), str(r["naive_lookups"]), f"{r['naive_p50_ms']:,.1f}",
                      f"{r['naive_max_ms']:,.1f}", str(r["naive_wrong"]))
        console.print(t)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--records", type=int, default=None,
                    help="records for the processor runs (default 3000; quick 600)")
    ap.add_argument("--rounds", type=int, default=None, help="rounds of every design (default 5; quick 2)")
    ap.add_argument("--variants", default=",".join(DEFAULT_VARIANTS),
                    help=f"designs, of {', '.join(customer_variants.VARIANTS)}")
    ap.add_argument("--customers", type=int, default=None, help="identities for the search (default 1,000,000; "
                                                                "quick 100,000)")
    ap.add_argument("--lookups", type=int, default=1000, help="existing and as many missing values per key")
    ap.add_argument("--naive-lookups", type=int, default=6, help="lookups without the index per key")
    ap.add_argument("--pg", action="store_true", help="run on a throwaway PostgreSQL the bench starts")
    ap.add_argument("--skip-processor", action="store_true")
    ap.add_argument("--skip-search", action="store_true")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--keep", action="store_true", help="keep the working directory")
    args = ap.parse_args(argv)
    args.records = args.records or (600 if args.quick else 3000)
    args.rounds = args.rounds or (2 if args.quick else 5)
    args.customers = args.customers or (100_000 if args.quick else 1_000_000)
    unknown = {v.strip() for v in args.variants.split(",")} - set(customer_variants.VARIANTS)
    if unknown:
        ap.error(f"--variants: unknown {', '.join(sorted(unknown))}")
    work = Path(tempfile.mkdtemp(prefix="orderhub-bench-customers-"))
    res: dict[str, Any] = {"bench": "customers", "date": datetime.now(UTC).isoformat(timespec="seconds"),
                           "cpus": os.cpu_count(), "database": "postgresql" if args.pg else "sqlite"}
    pg = None
    started = time.perf_counter()
    try:
        if args.pg:
            from orderhub.testing.postgres import start_postgres

            log("starting a throwaway PostgreSQL")
            pg = start_postgres()
        if not args.skip_processor:
            res["processor"] = run_processor(args, work, pg)
        if not args.skip_search:
            res["search"] = run_search(args, work, pg)
    finally:
        if pg is not None:
            pg.stop()
        if args.keep:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    res["elapsed_s"] = round(time.perf_counter() - started, 1)
    print_tables(res)
    print(orjson.dumps(res).decode(), flush=True)
    ok = all(v["ok"] for v in res.get("processor", {}).get("variants", {}).values()) and \
        res.get("search", {}).get("ok", True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

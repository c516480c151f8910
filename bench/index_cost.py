"""What the order search index and the filter indexes cost the processor, side by side in one run.

    .venv/bin/python bench/index_cost.py                 # 3,000 orders, 2 rounds, SQLite and PostgreSQL
    .venv/bin/python bench/index_cost.py --orders 1000 --rounds 1 --no-postgres
    .venv/bin/python bench/index_cost.py --without 0027   # what 0028's quantity index alone costs

The same N distinct Shopify orders (bench/payloads.py) are put in the inbox of a fresh database and
drained by one processor process (bench/processor.py's prepare, drain and verify, unchanged), twice:

- ``with``: the schema at head: the search indexes (FTS5 trigram tables kept by triggers on SQLite,
  pg_trgm GIN indexes on PostgreSQL, on orders, order_addresses and customers) and the filter indexes
  are kept;
- ``without``: the same database taken back to the revision before them (0026; ``--without`` another)
  after the inbox is filled, so the processor writes orders exactly as before the indexes existed.

Rounds alternate the two so the machine's drift falls on both. Prints records/s for each and the
difference, per database, and one JSON line with every figure.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))
import processor

from orderhub.adapters.store import migrate
from orderhub.bootstrap import build
from orderhub.config import Settings

BEFORE_INDEXES = "0026"  # the revision before the search index and the filter indexes (0027)


def without_indexes(url: str, revision: str = BEFORE_INDEXES) -> None:
    hub = build(Settings(database_url=url))
    try:
        migrate.downgrade(hub.db, revision)
    finally:
        hub.close()


def one(url: str, n: int, variant: str, label: str, revision: str = BEFORE_INDEXES) -> dict[str, Any]:
    fill, expected_items = processor.prepare(url, n)
    if variant == "without":
        without_indexes(url, revision)
    seconds = processor.drain(url, 1)
    stored, items, done, other = processor.verify(url)
    ok = stored == n and done == n and other == 0 and items == expected_items
    if not ok:
        raise SystemExit(f"{label} {variant}: {stored} of {n} orders stored, {done} done, {other} not")
    return {"database": label, "variant": variant, "orders": n, "fill_seconds": fill, "drain_seconds": seconds,
            "records_per_second": n / seconds}


def rounds(make_url: Any, n: int, count: int, label: str, console: Console,
           revision: str = BEFORE_INDEXES) -> list[dict[str, Any]]:
    out = []
    for r in range(count):
        for variant in (("without", "with") if r % 2 == 0 else ("with", "without")):
            result = one(make_url(f"{variant}{r}"), n, variant, label, revision)
            out.append(result | {"round": r})
            console.print(f"  {label} round {r} {variant}: {result['records_per_second']:,.0f} records/s")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--orders", type=int, default=3000)
    ap.add_argument("--rounds", type=int, default=2, help="pairs of runs (with and without), alternating")
    ap.add_argument("--no-postgres", action="store_true")
    ap.add_argument("--without", default=BEFORE_INDEXES,
                    help="the revision 'without' is taken back to (0027: without 0028's quantity index only)")
    args = ap.parse_args(argv)
    console = Console(width=120)
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="orderhub-bench-index-cost-") as work:
        results += rounds(lambda name: f"sqlite:///{work}/{name}.db", args.orders, args.rounds, "sqlite", console,
                          args.without)
    if not args.no_postgres:
        from orderhub.testing.postgres import start_postgres

        server = start_postgres()
        keys = tempfile.mkdtemp(prefix="orderhub-bench-index-cost-keys-")
        # A PostgreSQL database has no file beside it for its secret keys: every process shares this one.
        os.environ.setdefault("ORDERHUB_SECRET_KEY_FILE", f"{keys}/secret.keys")
        try:
            results += rounds(server.create_database, args.orders, args.rounds, "postgresql", console, args.without)
        finally:
            server.stop()
            shutil.rmtree(keys, ignore_errors=True)
    summary = []
    table = Table(title=f"The processor at head and at revision {args.without} ({args.orders:,} orders, "
                        f"{args.rounds} round(s), 1 process)")
    for col in ("database", "without: records/s", "with: records/s", "difference"):
        table.add_column(col, justify="left" if col == "database" else "right")
    for label in dict.fromkeys(r["database"] for r in results):
        rates = {v: [r["records_per_second"] for r in results if r["database"] == label and r["variant"] == v]
                 for v in ("without", "with")}
        without, with_ = statistics.median(rates["without"]), statistics.median(rates["with"])
        change = (with_ - without) / without * 100
        summary.append({"database": label, "without_per_second": without, "with_per_second": with_,
                        "difference_percent": change, "without_all": rates["without"], "with_all": rates["with"]})
        table.add_row(label, f"{without:,.0f} ({', '.join(f'{x:,.0f}' for x in rates['without'])})",
                      f"{with_:,.0f} ({', '.join(f'{x:,.0f}' for x in rates['with'])})", f"{change:+.1f}%")
    console.print(table)
    print(orjson.dumps({"bench": "index_cost", "date": datetime.now(UTC).isoformat(timespec="seconds"),
                        "orders": args.orders, "rounds": args.rounds, "without": args.without, "summary": summary,
                        "runs": results}).decode())
    return 0


if __name__ == "__main__":
    sys.exit(main())

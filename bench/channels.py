"""How fast stock moves between channels: orderhub's stock pusher against a naive design, in one run.

    PYTHONPATH=src .venv/bin/python bench/channels.py              # about 3 minutes
    PYTHONPATH=src .venv/bin/python bench/channels.py --quick      # about 1.5 minutes
    PYTHONPATH=src .venv/bin/python bench/channels.py --designs orderhub,naive,orderhub-singles \
        --seconds 120 --drain 420                                  # about 20 minutes

A hub on SQLite (``--postgres-url`` or ``--pg`` for PostgreSQL) with one Amazon, one Walmart and one
TikTok Shop account, each pointing at its simulator (``orderhub simulate KIND``, its own process on
loopback, at its default limits: Amazon's usage plans, Walmart's throttling, TikTok's 50 requests a
second, and their feed processing times). N SKUs are listed on every account; a stream of sales, each a
reservation of one unit (``inventory_store.reserve``, one transaction, like an order's), comes at a fixed
rate, a share of it on a few hot SKUs, each sale from one of the channels.

* ``orderhub``: the sale's transaction marks every listing's wanted value (``channel_stock.refresh``); the
  stock pusher (``channel_loops.worker_steps``' ``stock-pusher``, in its own process, looped as
  ``orderhub worker`` loops it) sends each listing's latest value: single calls for a few SKUs, a feed for
  many, within each channel's limits.
* ``naive``: after each sale commits, one call per channel with the SKU's new value, in order, one at a
  time per channel (a sender thread per channel, in its own process), through the same adapters'
  single-SKU calls; a throttled call waits the time the channel gives (or one request's share of its
  rate) and goes again.
* ``orderhub-singles`` (a diagnostic variant, not what orderhub ships): orderhub's pusher with the
  adapters' feed thresholds out of reach, so every round goes by single calls, still one value per
  listing and within each channel's limits. It shows what the choice of feeds costs or saves.

Measured for each: sales absorbed per second (committed), calls each channel answered and how many were
429, and the lag from each sale's commit until every *other* channel shows that SKU's new quantity (or a
later one), read from the simulators' control API every ``--poll`` seconds. A sale some channel still did
not show when the run ended counts with its lag so far: figures with such sales are lower bounds (≥).
Then ``--peak`` sales as fast as one writer commits them, with the design's sender still running: the
most sales a second the hub takes in (orderhub's include working out every listing's value).

Prints the tables and, last, one JSON line with every figure.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import random
import signal
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from rich.console import Console
from rich.table import Table
from sqlalchemy import create_engine, text, update
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent))
import channel_sims
from channel_lag import Committed, Watch, lags, percentile, watch
from channel_senders import hub_settings, naive_sender, orderhub_pusher

from orderhub.adapters.store import accounts, channel_stock, facilities, inventory_store, migrate
from orderhub.adapters.store.inventory_store import Movement
from orderhub.adapters.store.schema import channel_stock as channel_stock_table
from orderhub.bootstrap import Hub, build
from orderhub.clock import utcnow
from orderhub.domain.inventory import LedgerReason

KINDS = channel_sims.KINDS
FACILITY = "WH-BENCH"
DESIGNS = ("orderhub", "naive", "orderhub-singles")
DEFAULT_DESIGNS = ("orderhub", "naive")


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# -- the workload -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Sale:
    at: float  # seconds after the stream starts
    sku: str
    origin: str  # the channel it was sold on


def plan(skus: list[str], *, rate: float, seconds: float, hot: int, hot_share: float, seed: int) -> list[Sale]:
    """Sales at ``rate`` a second for ``seconds``: ``hot_share`` of them on the first ``hot`` SKUs."""
    rng = random.Random(seed)
    hot_skus, count = skus[:hot], int(rate * seconds)
    return [Sale(i / rate, rng.choice(hot_skus) if hot and rng.random() < hot_share else rng.choice(skus),
                 rng.choice(KINDS)) for i in range(count)]


# -- the hub ----------------------------------------------------------------------------------------------

def prepare(url: str, work: Path, sims: channel_sims.Simulators, skus: list[str], stock: int,
            listed: bool) -> tuple[int, dict[str, int], str]:
    """The database: the facility with ``stock`` of each SKU, one account per kind, and (``listed``) every SKU
    listed on every account with the value the channel already shows marked as sent. Returns the facility's
    id, the account ids by kind and the TikTok shop's default warehouse."""
    hub = build(hub_settings(url, work))
    try:
        migrate.upgrade(hub.db)
        with hub.db.write() as conn:
            fid = facilities.add(conn, FACILITY, "Bench warehouse", "warehouse")
            for sku in skus:
                inventory_store.set_on_hand(conn, sku, fid, stock, reason=LedgerReason.RECEIVED, actor="bench")
            ids = {kind: accounts.add(conn, kind, f"bench-{kind}", settings, secrets).id
                   for kind, (settings, secrets) in channel_sims.account_settings(sims).items()}
        from orderhub.adapters.tiktok.channel import stock_channel as tiktok_stock

        with hub.db.read() as conn:
            tiktok = accounts.by_id(conn, ids["tiktok"])
        assert tiktok is not None
        warehouse = tiktok_stock(tiktok, None).default_warehouse()
        channel_sims.seed(sims, skus, stock, warehouse)
        if listed:
            with hub.db.write() as conn:
                for kind, account_id in ids.items():
                    channel_stock.list_skus(conn, account_id, skus,
                                            refs=sims.tiktok_refs if kind == "tiktok" else None)
                # The channels show these values already (seeded): nothing to send before the clock starts.
                conn.execute(update(channel_stock_table).values(
                    sent=channel_stock_table.c.wanted, sent_version=channel_stock_table.c.version, sent_at=utcnow()))
        return fid, ids, warehouse
    finally:
        hub.close()


# -- one run ----------------------------------------------------------------------------------------------

def stream(hub: Hub, fid: int, sales: list[Sale], left: dict[str, int], after_commit: Any) -> list[Committed]:
    """Each sale in its own transaction, at its scheduled time (or at once when behind: open loop). ``left``
    holds each SKU's quantity for the channels, kept up to date."""
    done = []
    start = time.monotonic()
    for sale in sales:
        due = start + sale.at
        now = time.monotonic()
        if now < due:
            time.sleep(due - now)
        late = max(0.0, time.monotonic() - due)
        with hub.db.write() as conn:
            granted = inventory_store.reserve(conn, [Movement(sale.sku, fid, 1)], actor=f"bench-{sale.origin}")
        if granted != [1]:
            raise RuntimeError(f"{sale.sku}: the reservation was refused; give more --stock")
        value = left[sale.sku] = left[sale.sku] - 1
        committed = Committed(sale.sku, sale.origin, value, time.time(), late)
        done.append(committed)
        if after_commit is not None:
            after_commit((sale.sku, value))
    return done


def run_design(design: str, url: str, work: Path, args: argparse.Namespace, skus: list[str],
               sales: list[Sale]) -> dict[str, Any]:
    log(f"{design}: starting the simulators")
    sims = channel_sims.start(str(work))
    try:
        fid, ids, warehouse = prepare(url, work, sims, skus, args.stock, listed=design != "naive")
        log(f"{design}: hub and channels ready")
        ctx = mp.get_context("spawn")
        stop, ready = ctx.Event(), ctx.Event()
        sale_queue, out = ctx.Queue(), ctx.Queue()
        if design != "naive":
            child = ctx.Process(target=orderhub_pusher, args=(url, str(work), design, stop, ready))
        else:
            child = ctx.Process(target=naive_sender, args=(url, str(work), ids, sims.tiktok_refs, sale_queue,
                                                           stop, ready, out))
        child.daemon = True  # never outlives the run, whatever happens to it
        child.start()
        if not ready.wait(60):
            raise RuntimeError(f"the {design} sender did not start; see {work}")
        seen, watching = Watch(), threading.Event()
        watcher = threading.Thread(target=watch, args=(sims, warehouse, set(skus), args.poll, watching, seen),
                                   daemon=True)
        watcher.start()
        hub = build(hub_settings(url, work))
        log(f"{design}: {len(sales):,} sales at {args.rate:g}/s over {len(skus)} SKUs "
            f"({args.hot} hot, {args.hot_share:.0%} of sales)")
        began = time.monotonic()
        left = dict.fromkeys(skus, args.stock)
        after_commit = sale_queue.put if design == "naive" else None
        done = stream(hub, fid, sales, left, after_commit)
        streamed = time.monotonic() - began
        final = {c.sku: c.value for c in done}
        log(f"{design}: {len(done) / streamed:,.1f} sales/s committed; waiting up to {args.drain:g} s for the "
            "channels to show the last values")
        deadline = time.monotonic() + args.drain
        while time.monotonic() < deadline:
            if all(seen.current(k, s) == v for k in KINDS for s, v in final.items()):
                break
            time.sleep(args.poll)
        watching.set()
        watcher.join(timeout=30)
        ended = time.time()
        shown_final = {k: sum(seen.current(k, s) == v for s, v in final.items()) for k in KINDS}
        drained = sum(shown_final.values()) == len(final) * len(KINDS)
        with hub.db.read() as conn:
            pending = {kind: channel_stock.pending_count(conn, account_id) for kind, account_id in ids.items()} \
                if design != "naive" else {}
        counted = channel_sims.calls(sims)
        # The most sales one writer commits, one transaction each, with the design's sender still running.
        burst = [Sale(0.0, s.sku, s.origin) for s in plan(skus, rate=1.0, seconds=args.peak, hot=args.hot,
                                                           hot_share=args.hot_share, seed=args.seed + 1)]
        peak_began = time.monotonic()
        stream(hub, fid, burst, left, after_commit)
        peak_seconds = time.monotonic() - peak_began
        stop.set()
        extra = out.get(timeout=30) if design == "naive" else {}
        child.join(timeout=30)
        if child.is_alive():
            child.kill()
        with hub.db.read() as conn:
            atp = {s: p.on_hand - p.reserved - p.safety_stock
                   for (s, _), p in inventory_store.positions(conn, skus).items()}
        hub.close()
        if atp != {s: v for s, v in left.items() if s in atp}:
            raise RuntimeError(f"{design}: the database's stock differs from the sales made")
        lag, open_ = lags(done, seen, ended)
        late_lag = lags(done[-max(1, len(done) // 10):], seen, ended)[0]
        by_channel = {}
        for kind in KINDS:
            one, open_one = lags(done, seen, ended, (kind,))
            by_channel[kind] = {"p50": round(percentile(one, 50), 2), "p99": round(percentile(one, 99), 2),
                                "lower_bounds": open_one}
        result = {
            "design": design, "sales": len(done), "stream_seconds": round(streamed, 2),
            "sales_per_second": round(len(done) / streamed, 1),
            "max_behind_schedule_seconds": round(max((c.late for c in done), default=0.0), 2),
            "peak_sales": len(burst), "peak_sales_per_second": round(len(burst) / peak_seconds, 1),
            "calls": {k: v["calls"] for k, v in counted.items()},
            "throttled": {k: v["throttled"] for k, v in counted.items()},
            "by_operation": {k: v["by_operation"] for k, v in counted.items()},
            "lag_p50": round(percentile(lag, 50), 2), "lag_p99": round(percentile(lag, 99), 2),
            "lag_max": round(max(lag, default=0.0), 2),
            "lag_p50_last_tenth": round(percentile(late_lag, 50), 2), "lag_by_channel": by_channel,
            "lower_bounds": open_, "drained": drained, "skus_sold": len(final),
            "final_values_shown": shown_final, "pending_at_end": pending, "watch_reads": seen.reads,
            "run_seconds": round(time.monotonic() - began, 1), **extra,
        }
        log(f"{design}: lag p50 {result['lag_p50']} s, p99 {result['lag_p99']} s"
            + (f" ({open_:,} sales not shown everywhere when the run ended: lower bounds)" if open_ else ""))
        return result
    finally:
        sims.stop()


# -- databases --------------------------------------------------------------------------------------------

def database_for(args: argparse.Namespace, work: Path, name: str, pg_server: Any) -> str:
    if pg_server is not None:
        return str(pg_server.create_database(name))
    if args.postgres_url:
        admin = create_engine(args.postgres_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        return make_url(args.postgres_url).set(database=name).render_as_string(hide_password=False)
    return f"sqlite:///{work / name}.db"


# -- output -----------------------------------------------------------------------------------------------

def _lag(r: dict[str, Any], key: str) -> str:
    return ("≥ " if r["lower_bounds"] else "") + f"{r[key]:,.1f}"


def print_tables(res: dict[str, Any]) -> None:
    console = Console(width=170)
    t = Table(title=f"Stock between channels: {res['sales']:,} sales at {res['rate']:g}/s over {res['skus']} SKUs "
                    f"({res['hot']} hot: {res['hot_share']:.0%}), {res['database']}; lag = sale committed → every "
                    "other channel shows it")
    for c in ("design", "sales/s committed", "peak sales/s", "calls amazon / walmart / tiktok", "429s",
              "lag p50 s", "lag p99 s", "lag p50 s, last tenth", "all shown at end",
              "listings behind at end"):
        t.add_column(c, justify="right")
    for r in res["results"]:
        calls = " / ".join(f"{r['calls'][k]:,}" for k in KINDS)
        stale = r["skus_sold"] * len(KINDS) - sum(r["final_values_shown"].values())
        t.add_row(r["design"], f"{r['sales_per_second']:,.1f}", f"{r['peak_sales_per_second']:,.0f}", calls,
                  f"{sum(r['throttled'].values()):,}", _lag(r, "lag_p50"), _lag(r, "lag_p99"),
                  _lag(r, "lag_p50_last_tenth"), "yes" if r["drained"] else f"no ({r['lower_bounds']:,} sales)",
                  f"{stale:,} of {r['skus_sold'] * len(KINDS):,}")
    console.print(t)
    t = Table(title="Lag by channel (sales made on the other two): p50 / p99 seconds")
    for c in ("design", *KINDS):
        t.add_column(c, justify="right")
    for r in res["results"]:
        t.add_row(r["design"], *(("≥ " if r["lag_by_channel"][k]["lower_bounds"] else "")
                                 + f"{r['lag_by_channel'][k]['p50']:,.1f} / {r['lag_by_channel'][k]['p99']:,.1f}"
                                 for k in KINDS))
    console.print(t)
    t = Table(title="Calls by operation")
    for c in ("design", "channel", "operations"):
        t.add_column(c)
    for r in res["results"]:
        for k in KINDS:
            t.add_row(r["design"], k, ", ".join(f"{op} {n:,}" for op, n in sorted(r["by_operation"][k].items())))
    console.print(t)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--skus", type=int, default=200, help="SKUs listed on every channel (default 200)")
    ap.add_argument("--hot", type=int, default=10, help="hot SKUs (default 10)")
    ap.add_argument("--hot-share", type=float, default=0.5, help="share of sales on the hot SKUs (default 0.5)")
    ap.add_argument("--rate", type=float, default=20.0, help="sales per second (default 20)")
    ap.add_argument("--seconds", type=float, default=None, help="seconds of sales (default 40; quick 20)")
    ap.add_argument("--drain", type=float, default=None,
                    help="seconds to wait after the last sale for the channels to show it (default 30; quick 20)")
    ap.add_argument("--peak", type=int, default=None,
                    help="sales committed as fast as one writer can, after the paced ones (default 1,000; quick 300)")
    ap.add_argument("--stock", type=int, default=10_000, help="units of each SKU at the start (default 10,000)")
    ap.add_argument("--poll", type=float, default=0.25, help="seconds between reads of what the channels show")
    ap.add_argument("--designs", default=",".join(DEFAULT_DESIGNS),
                    help=f"designs to run, of {', '.join(DESIGNS)} (default {','.join(DEFAULT_DESIGNS)})")
    ap.add_argument("--postgres-url", help="a PostgreSQL server (URL of a database there) to make the hubs' "
                                           "databases on, instead of SQLite: bench_channels_DESIGN, dropped first "
                                           "if they exist")
    ap.add_argument("--pg", action="store_true", help="start a throwaway PostgreSQL for the hubs' databases")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args(argv)
    args.seconds = args.seconds or (20.0 if args.quick else 40.0)
    args.drain = args.drain if args.drain is not None else (20.0 if args.quick else 30.0)
    args.peak = args.peak if args.peak is not None else (300 if args.quick else 1000)
    designs = [d.strip() for d in args.designs.split(",") if d.strip()]
    unknown = set(designs) - set(DESIGNS)
    if unknown:
        ap.error(f"--designs: {', '.join(sorted(unknown))} unknown; choose from {', '.join(DESIGNS)}")
    os.environ["ORDERHUB_OUTBOUND_ALLOWED_HOSTS"] = "127.0.0.1"  # the simulators are on loopback
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the simulators and senders on the way out
    work = Path(tempfile.mkdtemp(prefix="orderhub-bench-channels-"))
    skus = [f"BENCH-{k:04d}" for k in range(args.skus)]
    sales = plan(skus, rate=args.rate, seconds=args.seconds, hot=min(args.hot, args.skus), hot_share=args.hot_share,
                 seed=args.seed)
    pg_server = None
    if args.pg:
        from orderhub.testing.postgres import start_postgres

        log("starting a throwaway PostgreSQL")
        pg_server = start_postgres()
    database = "postgresql" if (args.pg or args.postgres_url) else "sqlite"
    results = []
    try:
        for design in designs:
            url = database_for(args, work, f"bench_channels_{design}", pg_server)
            results.append(run_design(design, url, work, args, skus, sales))
    finally:
        if pg_server is not None:
            pg_server.stop()
    res = {"bench": "channels", "date": datetime.now(UTC).isoformat(timespec="seconds"), "cpus": mp.cpu_count(),
           "database": database, "sales": len(sales), "rate": args.rate, "seconds": args.seconds, "skus": args.skus,
           "hot": args.hot, "hot_share": args.hot_share, "drain": args.drain, "poll": args.poll,
           "results": results, "logs": str(work)}
    print_tables(res)
    print(orjson.dumps(res).decode())
    return 0


if __name__ == "__main__":
    sys.exit(main())

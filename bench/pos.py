"""How fast stores' tills can sync their sales, and how soon the online channels show them: orderhub's POS
sync API against a naive design, in one run.

    PYTHONPATH=src .venv/bin/python bench/pos.py              # about 6 minutes
    PYTHONPATH=src .venv/bin/python bench/pos.py --quick      # about 3 minutes
    PYTHONPATH=src .venv/bin/python bench/pos.py --pg         # the hubs on a throwaway PostgreSQL

A hub on SQLite (``--pg`` or ``--postgres-url`` for PostgreSQL) with one store holding N SKUs, and one
Amazon, Walmart and TikTok Shop account, each on its simulator (``orderhub simulate KIND``, own process
on loopback), listing every SKU; the stock pusher runs in its own process as ``orderhub worker`` runs it.
M tills (threads here, each its own HTTP client and credential) make sales for T seconds, each sale of 1 to 3
lines queued on its till when made, and send what they hold as soon as their last request was answered. Each
design runs twice: flat out (a request full of new sales each time: what the API absorbs) and steady
(``--rate`` sales a second made together: how long a sale takes to reach the channels, its wait on the
till included, when tills sell faster than a design takes them).

* ``orderhub``: ``orderhub serve --no-worker`` (its own process): ``POST /api/pos/sales`` with ``--batch``
  sales a request; each sale stored once in the inbox, applied at once (stock, channels' quantities).
* ``naive``: one HTTP request and one commit per sale line (bench/pos_naive.py, its own process under
  the same uvicorn stack): each line recorded as a sale of its own, with the same rows orderhub writes.

Measured for each: sales and sale lines recorded a second, requests a second and their p50/p99 latency, the
most sales waiting on one till and those still there when the tills gave up, and, for a few probe sales made
during the load (a SKU of their own, one unit), the time from the sale being made until every channel's
simulator shows the new quantity. The store's stock is checked against what was recorded. Prints the table
and, last, one JSON line with every figure.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import orjson
from rich.console import Console
from rich.table import Table
from sqlalchemy import update

sys.path.insert(0, str(Path(__file__).resolve().parent))
import channel_sims
from channel_lag import Committed, Watch, lags, percentile, watch
from channel_senders import hub_settings, orderhub_pusher
from channels import database_for, log

from orderhub.adapters.store import accounts, channel_stock, facilities, inventory_store, migrate, pos_devices
from orderhub.adapters.store.schema import channel_stock as channel_stock_table
from orderhub.adapters.store.schema import inbox as inbox_table
from orderhub.bootstrap import build
from orderhub.clock import utcnow
from orderhub.domain.inventory import LedgerReason
from orderhub.simulators.pos.catalogue import Item
from orderhub.simulators.pos.sales import SaleMaker

STORE = "ST-BENCH"
KINDS = channel_sims.KINDS
DESIGNS = ("orderhub", "naive")


class NoState:
    """SaleMaker's view of a till's history, for a bench till that makes no returns."""

    def returnable(self) -> list[tuple[str, str, int, str]]:
        return []


@dataclass
class Till:
    """One till's figures."""

    latencies: list[float] = field(default_factory=list)
    sales: int = 0  # recorded
    lines: int = 0  # recorded
    units: dict[str, int] = field(default_factory=dict)  # SKU -> units recorded
    failed: int = 0  # requests not answered 200 (or sales not answered recorded)
    backlog: int = 0  # the most sales waiting on the till at once
    queued: int = 0  # answered queued: stored, applied by a worker afterwards
    unsent: int = 0  # sales still on the till when it gave up


def prepare(url: str, work: Path, sims: channel_sims.Simulators, skus: list[str], stock: int,
            devices: int) -> tuple[int, list[str], str]:
    """The store with ``stock`` of each SKU, the accounts (every SKU listed, the value each channel shows
    marked as sent) and ``devices`` enrolled tills. Returns the store's id, the tills' credentials and the
    TikTok shop's default warehouse."""
    hub = build(hub_settings(url, work))
    try:
        migrate.upgrade(hub.db)
        with hub.db.write() as conn:
            fid = facilities.add(conn, STORE, "Bench store", "store", ship_from_store=True)
            for sku in skus:
                inventory_store.set_on_hand(conn, sku, fid, stock, reason=LedgerReason.RECEIVED, actor="bench")
            ids = {kind: accounts.add(conn, kind, f"bench-{kind}", settings, secrets).id
                   for kind, (settings, secrets) in channel_sims.account_settings(sims).items()}
            tokens = []
            for n in range(devices):
                code, _ = pos_devices.new_code(conn, fid, actor="bench")
                tokens.append(pos_devices.enrol(conn, code, f"till-{n + 1}", "bench")[1])
        from orderhub.adapters.tiktok.channel import stock_channel as tiktok_stock

        with hub.db.read() as conn:
            tiktok = accounts.by_id(conn, ids["tiktok"])
        assert tiktok is not None
        warehouse = tiktok_stock(tiktok, None).default_warehouse()
        channel_sims.seed(sims, skus, stock, warehouse)
        with hub.db.write() as conn:
            for kind, account_id in ids.items():
                channel_stock.list_skus(conn, account_id, skus, refs=sims.tiktok_refs if kind == "tiktok" else None)
            conn.execute(update(channel_stock_table).values(
                sent=channel_stock_table.c.wanted, sent_version=channel_stock_table.c.version, sent_at=utcnow()))
        return fid, tokens, warehouse
    finally:
        hub.close()


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(design: str, url: str, work: Path) -> tuple[subprocess.Popen[bytes], str]:
    """The design's receiver in its own process, answering before this returns."""
    port = _free_port()
    env = dict(os.environ, ORDERHUB_DATABASE_URL=url, ORDERHUB_SECRET_KEY_FILE=str(work / "bench.keys"),
               ORDERHUB_LOG_LEVEL="WARNING")
    if design == "orderhub":
        command = [sys.executable, "-c", "from orderhub.entrypoints.cli import main; main()", "serve", "--no-worker",
                   "--host", "127.0.0.1", "--port", str(port)]
        ready = "/healthz"
    else:
        command = [sys.executable, str(Path(__file__).resolve().parent / "pos_naive.py"), url, str(work), str(port)]
        ready = "/"
    with open(work / f"{design}-server.log", "ab") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(base + ready, timeout=2)
            return process, base
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"the {design} receiver did not start; see {work}/{design}-server.log")


def send(http: httpx.Client, design: str, token: str, sales: list[dict[str, Any]], till: Till) -> bool:
    """The sales as the design takes them; their recorded lines counted in ``till``. True when all were."""
    headers = {"authorization": f"Bearer {token}"}
    ok = True
    if design == "orderhub":
        began = time.perf_counter()
        answer = http.post("/api/pos/sales", json={"device": {"version": "bench"}, "sales": sales}, headers=headers)
        till.latencies.append(time.perf_counter() - began)
        if answer.status_code != 200:
            till.failed += 1
            return False
        status = {r["id"]: r["status"] for r in answer.json()["results"]}
        for sale in sales:
            said = status.get(sale["id"])
            if said in ("recorded", "queued"):  # queued: stored, a worker applies it (the bench does, at the end)
                _count(till, sale["lines"], sale=True)
                till.queued += said == "queued"
            elif said != "duplicate":  # a duplicate was counted when it was first answered
                till.failed += 1
                ok = False
        return ok
    for sale in sales:
        for n, line in enumerate(sale["lines"]):
            began = time.perf_counter()
            answer = http.post("/sale-line", content=orjson.dumps({
                "sale": sale["id"], "line": n, "sku": line["sku"], "quantity": line["quantity"],
                "unit_price": line["unit_price"], "device_time": sale["device_time"]}), headers=headers)
            till.latencies.append(time.perf_counter() - began)
            if answer.status_code == 200:
                _count(till, [line], sale=False)
            else:
                till.failed += 1
                ok = False
        till.sales += ok
    return ok


def _count(till: Till, lines: list[dict[str, Any]], *, sale: bool) -> None:
    till.sales += sale
    for line in lines:
        till.lines += 1
        till.units[line["sku"]] = till.units.get(line["sku"], 0) + int(line["quantity"])


def load(design: str, base: str, token: str, skus: list[str], args: argparse.Namespace, rate: float, seed: int,
         till: Till, probes: list[tuple[float, str]], probed: list[Committed]) -> None:
    """One till: it sells at its share of ``rate`` (sales a second, all tills together; 0: as fast as it is
    answered) for ``--seconds`` (every sale queued on the till when it is
    made, as a till does) and sends what is queued as soon as the last request was answered - up to
    ``--batch`` sales a request for orderhub, one sale line a request for the naive design - until its queue is
    empty or ``--drain`` runs out. ``probes`` (seconds into the load, SKU): one-unit sales this till makes then,
    each timed from the moment it was made until every channel shows it."""
    maker = SaleMaker([Item(s, Decimal(random.Random(s).choice(("9.90", "19.90", "29.90")))) for s in skus],
                      random.Random(seed))
    state = NoState()
    queue: deque[tuple[dict[str, Any], float, str | None]] = deque()  # (sale, made at, probe SKU)
    sequence = 0
    start = time.monotonic()
    deadline, gave_up = start + args.seconds, start + args.seconds + args.drain
    flood = rate <= 0  # no rate: a request full of new sales as soon as the last one was answered
    per_request = args.batch if design == "orderhub" else 1
    every = args.devices / rate if not flood else 0.0
    next_sale, pending_probes = start, sorted(probes)
    with httpx.Client(base_url=base, timeout=60) as http:
        while True:
            now = time.monotonic()
            while now < deadline and (len(queue) < per_request if flood else next_sale <= now):
                sequence += 1
                queue.append((maker.sale(state) | {"sequence": sequence}, time.time(), None))  # type: ignore[arg-type]
                next_sale += every
            while pending_probes and start + pending_probes[0][0] <= now:
                _, sku = pending_probes.pop(0)
                sequence += 1
                queue.append(({"id": str(uuid.uuid4()), "sequence": sequence, "currency": "USD",
                               "device_time": datetime.now(UTC).isoformat(),
                               "lines": [{"sku": sku, "quantity": 1, "unit_price": "10.00"}],
                               "tenders": [{"kind": "card", "amount": "10.00"}]}, time.time(), sku))
            till.backlog = max(till.backlog, len(queue))
            if not queue:
                if now >= deadline and not pending_probes:
                    break
                time.sleep(max(0.0, min(next_sale - now, 0.05)))
                continue
            if now >= gave_up:
                till.unsent = len(queue)
                break
            taken = [queue.popleft() for _ in range(min(len(queue), per_request))]
            if send(http, design, token, [sale for sale, _, _ in taken], till):
                probed.extend(Committed(sku, "store", args.stock - 1, made, 0.0) for _, made, sku in taken if sku)
            else:
                queue.extendleft(reversed(taken))  # kept on the till, sent again
                time.sleep(0.2)


def run_design(design: str, rate: float, url: str, work: Path, args: argparse.Namespace, skus: list[str],
               probes: list[str]) -> dict[str, Any]:
    log(f"{design}: starting the simulators")
    sims = channel_sims.start(str(work))
    server = pusher = None
    stop = None
    try:
        fid, tokens, warehouse = prepare(url, work, sims, skus + probes, args.stock, args.devices + 1)
        server, base = serve(design, url, work)
        ctx = mp.get_context("spawn")
        stop, ready = ctx.Event(), ctx.Event()
        pusher = ctx.Process(target=orderhub_pusher, args=(url, str(work), "orderhub", stop, ready))
        pusher.daemon = True
        pusher.start()
        if not ready.wait(60):
            raise RuntimeError(f"the stock pusher did not start; see {work}")
        seen, watching = Watch(), threading.Event()
        watcher = threading.Thread(target=watch, args=(sims, warehouse, set(probes), args.poll, watching, seen),
                                   daemon=True)
        watcher.start()
        log(f"{design}: {args.devices} tills selling "
            + (f"{rate:g} sales/s together" if rate > 0 else "as fast as they are answered")
            + f" for {args.seconds:g} s"
            + (f", up to {args.batch} sales a request" if design == "orderhub" else ", one request per sale line"))
        tills = [Till() for _ in range(args.devices)]
        probed: list[Committed] = []
        gap = args.seconds / (len(probes) + 1)
        schedule = [(gap * (n + 1), sku) for n, sku in enumerate(probes)]
        threads = [threading.Thread(target=load, args=(
            design, base, tokens[n], skus, args, rate, args.seed + n, tills[n], schedule if n == 0 else [], probed))
            for n in range(args.devices)]
        began = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        loaded = time.monotonic() - began
        deadline = time.monotonic() + args.drain
        while time.monotonic() < deadline and not all(seen.current(k, c.sku) == c.value for k in KINDS
                                                      for c in probed):
            time.sleep(args.poll)
        watching.set()
        watcher.join(timeout=30)
        ended = time.time()
        lag, open_ = lags(probed, seen, ended)
        counted = channel_sims.calls(sims)
        stop.set()
        pusher.join(timeout=30)
        hub = build(hub_settings(url, work))
        with hub.db.write() as conn:  # what a worker applies later (answered queued): now, as the worker would
            conn.execute(update(inbox_table).where(inbox_table.c.status == "pending").values(available_at=utcnow()))
        processor = hub.processor()
        while processor.run_once()[0]:
            pass
        with hub.db.read() as conn:
            on_hand = {s: p.on_hand for (s, f), p in inventory_store.positions(conn, skus).items() if f == fid}
        hub.close()
        units: dict[str, int] = {}
        for till in tills:
            for sku, n in till.units.items():
                units[sku] = units.get(sku, 0) + n
        stock_agrees = on_hand == {s: args.stock - units.get(s, 0) for s in skus}
        latencies = [x for t in tills for x in t.latencies]
        sales, lines = sum(t.sales for t in tills), sum(t.lines for t in tills)
        result = {
            "design": design, "seconds": round(loaded, 2), "sales": sales, "lines": lines,
            "sales_per_second": round(sales / loaded, 1), "lines_per_second": round(lines / loaded, 1),
            "requests": len(latencies), "requests_per_second": round(len(latencies) / loaded, 1),
            "latency_p50_ms": round(percentile(latencies, 50) * 1000, 1),
            "latency_p99_ms": round(percentile(latencies, 99) * 1000, 1),
            "failed": sum(t.failed for t in tills), "stock_agrees": stock_agrees,
            "offered_per_second": rate or None, "most_waiting_on_a_till": max(t.backlog for t in tills),
            "left_on_tills": sum(t.unsent for t in tills), "queued": sum(t.queued for t in tills),
            "probes": len(probed), "channel_lag_p50": round(percentile(lag, 50), 2),
            "channel_lag_p99": round(percentile(lag, 99), 2), "channel_lag_max": round(max(lag, default=0.0), 2),
            "lag_lower_bounds": open_, "calls": {k: v["calls"] for k, v in counted.items()},
            "throttled": {k: v["throttled"] for k, v in counted.items()},
        }
        log(f"{design}: {result['sales_per_second']:,} sales/s ({result['lines_per_second']:,} lines/s), "
            f"p50 {result['latency_p50_ms']} ms, p99 {result['latency_p99_ms']} ms; channels show a store sale "
            f"{result['channel_lag_p50']} s (p50) after it was made; {result['left_on_tills']} left on the tills")
        if not stock_agrees:
            raise RuntimeError(f"{design}: the store's stock differs from the sales recorded")
        return result
    finally:
        if stop is not None:
            stop.set()
        if pusher is not None and pusher.is_alive():
            pusher.kill()
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
        sims.stop()


def print_table(res: dict[str, Any]) -> None:
    t = Table(title=f"Store sales synced: {res['devices']} tills for {res['seconds']:g} s over {res['skus']} SKUs, "
                    f"{res['database']}; lag = the sale made → every channel shows the new quantity")
    for c in ("design", "tills sell", "sales/s", "lines/s", "requests/s", "p50 ms", "p99 ms", "most waiting",
              "left on tills", "stock agrees", "lag p50 s", "lag p99 s", "calls amazon / walmart / tiktok"):
        t.add_column(c, justify="right")
    for r in res["results"]:
        bound = "≥ " if r["lag_lower_bounds"] else ""
        load = f"{r['offered_per_second']:g}/s" if r["offered_per_second"] else "flat out"
        t.add_row(r["design"], load, f"{r['sales_per_second']:,.1f}", f"{r['lines_per_second']:,.1f}",
                  f"{r['requests_per_second']:,.1f}", f"{r['latency_p50_ms']:,.1f}", f"{r['latency_p99_ms']:,.1f}",
                  f"{r['most_waiting_on_a_till']:,}", f"{r['left_on_tills']:,}",
                  "yes" if r["stock_agrees"] else "NO", f"{bound}{r['channel_lag_p50']:,.2f}",
                  f"{bound}{r['channel_lag_p99']:,.2f}", " / ".join(f"{r['calls'][k]:,}" for k in KINDS))
    Console(width=170).print(t)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--skus", type=int, default=100, help="SKUs the store sells, all listed on every channel")
    ap.add_argument("--devices", type=int, default=4, help="tills syncing at once (default 4)")
    ap.add_argument("--seconds", type=float, default=None, help="seconds of syncing (default 30; quick 12)")
    ap.add_argument("--batch", type=int, default=50, help="sales a request at most, orderhub's design (default 50)")
    ap.add_argument("--rate", type=float, default=60.0, help="sales a second the tills make together in the steady "
                                                             "run (default 60; each design also runs flat out)")
    ap.add_argument("--probes", type=int, default=None, help="probe sales timed to the channels (default 10; "
                                                             "quick 5)")
    ap.add_argument("--drain", type=float, default=30.0, help="seconds the tills go on sending what they still hold "
                                                              "after the load, and then to wait for the channels")
    ap.add_argument("--stock", type=int, default=1_000_000, help="units of each SKU at the start")
    ap.add_argument("--poll", type=float, default=0.25, help="seconds between reads of what the channels show")
    ap.add_argument("--designs", default=",".join(DESIGNS), help=f"of {', '.join(DESIGNS)}")
    ap.add_argument("--postgres-url", help="a PostgreSQL database URL to make the hubs' databases beside "
                                           "(bench_pos_DESIGN, dropped first)")
    ap.add_argument("--pg", action="store_true", help="start a throwaway PostgreSQL for the hubs' databases")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args(argv)
    args.seconds = args.seconds or (12.0 if args.quick else 30.0)
    args.probes = args.probes or (5 if args.quick else 10)
    designs = [d.strip() for d in args.designs.split(",") if d.strip()]
    if set(designs) - set(DESIGNS):
        ap.error(f"--designs: choose from {', '.join(DESIGNS)}")
    os.environ["ORDERHUB_OUTBOUND_ALLOWED_HOSTS"] = "127.0.0.1"  # the simulators are on loopback
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    work = Path(tempfile.mkdtemp(prefix="orderhub-bench-pos-"))
    skus = [f"POS-{k:04d}" for k in range(args.skus)]
    probes = [f"PROBE-{k:02d}" for k in range(args.probes)]
    pg_server = None
    if args.pg:
        from orderhub.testing.postgres import start_postgres

        log("starting a throwaway PostgreSQL")
        pg_server = start_postgres()
    results = []
    try:
        for rate in (0.0, args.rate):  # flat out: what the API absorbs; steady: how soon the channels show a sale
            for design in designs:
                url = database_for(args, work, f"bench_pos_{design}_{'steady' if rate else 'flat'}", pg_server)
                results.append(run_design(design, rate, url, work, args, skus, probes))
    finally:
        if pg_server is not None:
            pg_server.stop()
    res = {"bench": "pos", "date": datetime.now(UTC).isoformat(timespec="seconds"), "cpus": mp.cpu_count(),
           "database": "postgresql" if (args.pg or args.postgres_url) else "sqlite", "devices": args.devices,
           "seconds": args.seconds, "skus": args.skus, "batch": args.batch, "rate": args.rate, "probes": args.probes,
           "results": results, "logs": str(work)}
    print_table(res)
    print(orjson.dumps(res).decode())
    return 0


if __name__ == "__main__":
    sys.exit(main())

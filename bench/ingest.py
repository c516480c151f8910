"""Webhook ingestion, side by side: ceiling, naive and orderhub receivers; then the processor.

    .venv/bin/python bench/ingest.py            # about 2 minutes
    .venv/bin/python bench/ingest.py --quick    # under a minute
    .venv/bin/python bench/ingest.py --breakdown --skip-processor   # where orderhub's receiver time goes

Receivers (see bench/receivers.py) each run in their own process under uvicorn
(uvloop + httptools). The load generator (bench/loadgen.py) runs in another
process and sends the same pre-built, distinct, signed orders to each. By default
the server is pinned to CPU 0 and the load generator to CPU 1 (the machine this
was written on has two); ``--no-pin`` lets the OS place them.

For each receiver: peak throughput in closed loop (C connections), its p50/p99 at
that peak, and p50/p99 in open loop at half of orderhub's peak rate (the same
offered rate for all three). After orderhub's run the inbox is checked: every
webhook answered 200 is stored once, and nothing else is.

Then the processor: N orders are put in the inbox and drained by
``hub.processor().run_once()`` loops, in 1 and 2 processes, on SQLite and on a
throwaway PostgreSQL.

The last line of output is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import payloads
import profiling
from loadgen import build_pool

PY = sys.executable
TARGETS = {"ratio_ceiling": 0.65, "ratio_naive": 8.0, "p99_half_ms": 25.0}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# -- databases ----------------------------------------------------------------------------------------

def prepare_sqlite(path: Path) -> str:
    """A fresh, migrated SQLite database with the bench shop: the same for every receiver."""
    from orderhub.adapters.store import migrate, shops
    from orderhub.bootstrap import build
    from orderhub.config import Settings

    url = f"sqlite:///{path}"
    hub = build(Settings(database_url=url))
    try:
        migrate.upgrade(hub.db)
        with hub.db.write() as conn:
            shops.add(conn, payloads.SHOP, payloads.SECRET)
    finally:
        hub.close()
    return url


def check_inbox(url: str, statuses_path: Path) -> dict[str, Any]:
    """Every webhook answered 200 is in the inbox exactly once; nothing else is (bar unanswered ones)."""
    import array

    from sqlalchemy import func, select

    from orderhub.adapters.shopify.webhooks import identity
    from orderhub.adapters.store.schema import inbox
    from orderhub.bootstrap import build
    from orderhub.config import Settings

    statuses = array.array("H")
    statuses.frombytes(statuses_path.read_bytes())
    ok = {i for i, s in enumerate(statuses) if s == 200}
    unanswered = {i for i, s in enumerate(statuses) if s == 1}
    hub = build(Settings(database_url=url))
    try:
        with hub.db.read() as conn:
            rows, distinct_wid = conn.execute(select(func.count(), func.count(inbox.c.webhook_id.distinct()))).one()
            wids = [r[0] for r in conn.execute(select(inbox.c.webhook_id))]
            # The door leaves the content identity to the worker: derive it here as the worker will.
            distinct_identity = len({identity(r.topic, orjson.loads(r.payload), r.webhook_id, r.payload)
                                     for r in conn.execute(select(inbox.c.topic, inbox.c.webhook_id, inbox.c.payload))})
    finally:
        hub.close()
    stored = {payloads.webhook_index(w)[1] for w in wids}
    lost = len(ok - stored)
    unexpected = len(stored - ok - unanswered)
    return {
        "answered_200": len(ok), "inbox_rows": rows, "lost": lost, "unexpected": unexpected,
        "duplicates": rows - min(distinct_wid, distinct_identity), "unanswered": len(unanswered),
        "ok": lost == 0 and unexpected == 0 and rows == distinct_wid == distinct_identity
        and (rows == len(ok) or len(unanswered) > 0),
    }


def wait_quiet(limit: float, *, threshold: float = 0.15) -> float:
    """Wait (up to ``limit`` s) until other processes use under ``threshold`` of one core; returns their share."""
    from loadgen import machine_busy_seconds

    deadline = time.monotonic() + limit
    while True:
        b0, t0 = machine_busy_seconds(), time.perf_counter()
        time.sleep(0.5)
        share = (machine_busy_seconds() - b0) / (time.perf_counter() - t0)
        if share < threshold or time.monotonic() > deadline:
            return share


# -- one receiver --------------------------------------------------------------------------------------

@dataclass
class Run:
    kind: str
    phases: dict[str, dict[str, Any]]
    statuses: Path
    url: str


PROFILES: dict[str, Any] = {}  # receiver -> profiling.Profile, with --profile
SERVE_2 = "orderhub, 2 processes"  # `orderhub serve --workers 2`, unpinned
SERVE_2_PEAK: dict[str, Any] = {}  # its closed-loop peak


def run_receiver(kind: str, plan: list[dict[str, Any]], pool: Path, work: Path, *, pin: bool,
                 shards: int, quiet: float = 0.0, profile: bool = False) -> Run:
    db = work / f"{kind.replace('+', '_')}.db"
    url = prepare_sqlite(db)
    if quiet:
        busy = wait_quiet(quiet)
        if busy >= 0.15:
            log(f"the machine is busy with other work ({busy:.0%} of a core); measuring anyway")
    port = free_port()
    server_log = open(work / f"{kind}.log", "wb")  # noqa: SIM115 - closed below
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    if kind == SERVE_2:  # the real `orderhub serve` with two server processes on one port
        cmd = [PY, "-c", "from orderhub.entrypoints.cli import main; main()", "serve", "--no-worker",
               "--workers", "2", "--host", "127.0.0.1", "--port", str(port)]
        env["ORDERHUB_DATABASE_URL"] = url
    else:
        cmd = [PY, str(HERE / "receivers.py"), kind, "--db", url, "--port", str(port)]
    server = subprocess.Popen(cmd, stdout=server_log, stderr=subprocess.STDOUT, env=env)
    try:
        if pin:  # before it starts threads: they inherit it
            os.sched_setaffinity(server.pid, {0})
        deadline = time.monotonic() + 30
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"{kind} receiver exited; see {work / f'{kind}.log'}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{kind} receiver did not listen on {port}") from None
                time.sleep(0.05)
        out = work / f"{kind}.json"
        statuses = work / f"{kind}.statuses"
        cmd = [PY, str(HERE / "loadgen.py"), "--pool", str(pool), "--port", str(port),
               "--plan", orjson.dumps(plan).decode(), "--server-pid", str(server.pid), "--out", str(out),
               "--statuses", str(statuses), "--shards", str(shards)]
        if pin:
            cmd += ["--cpus", "1"]
        sampler = profiling.Sampler(server.pid, work / f"{kind}.pyspy") if profile else None
        try:
            subprocess.run(cmd, check=True, stdout=sys.stderr)
        finally:
            written = sampler.stop() if sampler else None
        if written:
            PROFILES[kind] = profiling.summarise(written)
        phases = {p["name"]: p for p in orjson.loads(out.read_bytes())}
        return Run(kind, phases, statuses, url)
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        server_log.close()


# -- report ---------------------------------------------------------------------------------------------

def fmt(x: Any, digits: int = 1) -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        if math.isnan(x):
            return "n/a"
        return f"{x:,.{digits}f}"
    return f"{x:,}" if isinstance(x, int) else str(x)


def overloaded(p: dict[str, Any]) -> bool:
    """An open-loop phase the receiver could not keep up with (its latencies then measure the backlog)."""
    return bool(p["unsent"] or p["cut_off"]) or p["ok_rps"] < 0.95 * (p["rate_target"] or 0)


def latency(p: dict[str, Any], key: str) -> str:
    """A latency, marked >= when some requests were never answered (their wait so far is a lower bound)."""
    lower_bound = p.get("unsent", 0) or p.get("cut_off", 0)
    return ("≥" if lower_bound else "") + fmt(p[key], 2)


def print_tables(res: dict[str, Any], runs: dict[str, Run], proc: list[dict[str, Any]], breakdown: list[Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(file=sys.stdout, width=160)
    half = res["half_rate"]
    t = Table(title=f"Webhook ingestion: {res['concurrency']} connections, {res['duration']:g} s per phase, "
                    f"{'server on CPU 0, load generator on CPU 1' if res['pinned'] else 'unpinned'}",
              title_justify="left")
    for col in ("receiver", "peak webhooks/s", "p50 ms", "p99 ms", "server CPU", "CPU µs/req", "errors",
                f"open loop at {half:,.0f}/s: p50 ms", "p99 ms", "achieved/s", "errors "):
        t.add_column(col, justify="right" if col != "receiver" else "left")
    for kind in ("ceiling", "naive", "orderhub"):
        r = runs[kind]
        peak, op = r.phases["peak"], r.phases["half"]
        t.add_row(kind, fmt(peak["ok_rps"], 0), fmt(peak["p50_ms"], 2), fmt(peak["p99_ms"], 2),
                  f"{peak['server_cpu_pct']:.0f}%", fmt(peak["server_cpu_us_per_request"], 0),
                  fmt(peak["errors"]), latency(op, "p50_ms"), latency(op, "p99_ms"), fmt(op["ok_rps"], 0),
                  fmt(op["errors"]))
    if SERVE_2_PEAK:
        peak = SERVE_2_PEAK
        t.add_row(f"{SERVE_2} (unpinned)", fmt(peak["ok_rps"], 0), fmt(peak["p50_ms"], 2), fmt(peak["p99_ms"], 2),
                  f"{peak['server_cpu_pct']:.0f}%", fmt(peak["server_cpu_us_per_request"], 0), fmt(peak["errors"]),
                  "", "", "", "")
    if "half_own" in runs["naive"].phases:
        op = runs["naive"].phases["half_own"]
        t.add_row(f"naive at half its own peak ({op['rate_target']:,.0f}/s)", "", "", "", "", "", "",
                  latency(op, "p50_ms"), latency(op, "p99_ms"), fmt(op["ok_rps"], 0), fmt(op["errors"]))
    console.print(t)
    other = max(0.0, max(p["other_cpu_pct"] for r in runs.values() for p in r.phases.values()))
    lg = max(p["loadgen_cpu_pct"] for r in runs.values() for p in r.phases.values())
    console.print(f"Load generator CPU at most {lg:.0f}% of a core; other processes on the machine used up to "
                  f"{other:.0f}% of a core during a phase" + (" - figures are noisy" if other > 20 else "") + ".")
    for kind in ("ceiling", "naive", "orderhub"):
        op = runs[kind].phases["half"]
        if overloaded(op):
            console.print(f"{kind} cannot sustain {half:,.0f}/s (it answered {op['ok_rps']:,.0f}/s): requests "
                          "queue in the load generator, so its open-loop latencies measure that backlog"
                          + (f"; {op['unsent']:,} were still queued and {op['cut_off']:,} in progress when the "
                             "phase ended, so the figures are lower bounds (≥)." if op["unsent"] or op["cut_off"]
                             else "."))
    c = res["correctness"]
    console.print(f"orderhub inbox: {c['inbox_rows']:,} rows for {c['answered_200']:,} webhooks answered 200 - "
                  f"lost {c['lost']}, duplicates {c['duplicates']}, unexpected {c['unexpected']}: "
                  + ("OK" if c["ok"] else "FAILED"))

    t2 = Table(title="Targets", title_justify="left")
    for col in ("target", "measured", "met"):
        t2.add_column(col)
    t2.add_row("orderhub ≥ 0.65 × ceiling", f"{res['ratio_ceiling']:.2f} ×", "yes" if res["met"]["ratio_ceiling"] else "NO")
    t2.add_row("orderhub ≥ 8 × naive", f"{res['ratio_naive']:.1f} ×", "yes" if res["met"]["ratio_naive"] else "NO")
    t2.add_row("orderhub p99 ≤ 25 ms at half its peak", f"{res['p99_half_ms']:.2f} ms",
               "yes" if res["met"]["p99_half_ms"] else "NO")
    console.print(t2)

    if breakdown:
        t3 = Table(title="orderhub receiver, diagnostic variants (closed loop; see receivers.orderhub_app)",
                   title_justify="left")
        for col in ("variant", "webhooks/s", "p50 ms", "p99 ms", "server CPU", "CPU µs/req", "batches"):
            t3.add_column(col, justify="left" if col in ("variant", "batches") else "right")
        for name, p, stats in breakdown:
            b = (f"mean {stats['mean_batch']:.1f}, p50 {stats['p50_batch']}, writer CPU "
                 f"{stats['cpu_per_row_us']:.0f} µs/row") if stats else ""
            t3.add_row(name, fmt(p["ok_rps"], 0), fmt(p["p50_ms"], 2), fmt(p["p99_ms"], 2),
                       f"{p['server_cpu_pct']:.0f}%", fmt(p["server_cpu_us_per_request"], 0), b)
        console.print(t3)

    if proc:
        t4 = Table(title="Processor: inbox → order store (durable commits, store rate limit raised to 1e6/s)",
                   title_justify="left")
        for col in ("database", "processes", "orders", "seconds", "orders/s", "all stored"):
            t4.add_column(col, justify="left" if col == "database" else "right")
        for p in proc:
            t4.add_row(p["database"], str(p["processes"]), fmt(p["orders"]), fmt(p["drain_seconds"], 1),
                       fmt(p["orders_per_second"], 0),
                       "yes" if p["ok"] else f"NO ({p['stored_orders']} orders, {p['inbox_other']} not done)")
        console.print(t4)


# -- main -----------------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration", type=float, default=None, help="seconds per measured phase (default 6; quick 3)")
    ap.add_argument("--warmup", type=float, default=None, help="seconds of closed-loop warm-up (default 2; quick 1)")
    ap.add_argument("--concurrency", type=int, default=64, help="connections, for every receiver and phase")
    ap.add_argument("--quick", action="store_true", help="short phases and a small processor run (< 1 minute)")
    ap.add_argument("--orders", type=int, default=None,
                    help="orders for the processor runs (default 1500; quick 200)")
    ap.add_argument("--processes", default="1,2", help="processor process counts to measure (default 1,2)")
    ap.add_argument("--no-pg", action="store_true", help="skip PostgreSQL")
    ap.add_argument("--skip-processor", action="store_true")
    ap.add_argument("--skip-receivers", action="store_true")
    ap.add_argument("--no-workers2", dest="workers2", action="store_false",
                    help="skip the run of `orderhub serve --workers 2` (two server processes, unpinned)")
    ap.add_argument("--profile", action="store_true",
                    help="sample the ceiling's and orderhub's server with py-spy and say where their CPU goes "
                         "(the sampler costs a few per cent: compare rates from runs without it)")
    ap.add_argument("--no-pin", action="store_true", help="let the OS place server and load generator")
    ap.add_argument("--loadgen-procs", type=int, default=1,
                    help="load-generator processes (on 2 cores, more than 1 competes with the server)")
    ap.add_argument("--breakdown", action="store_true",
                    help="also run diagnostic variants of the orderhub receiver (adds ~1 minute)")
    ap.add_argument("--pool", type=int, default=None, help="pre-built requests (default sized from the phases)")
    ap.add_argument("--quiet-wait", type=float, default=None,
                    help="before each receiver, wait up to this many seconds for other processes to go quiet "
                         "(default 5; quick 1)")
    ap.add_argument("--keep", action="store_true", help="keep the working directory (databases, logs)")
    args = ap.parse_args(argv)

    duration = args.duration or (3.0 if args.quick else 6.0)
    warmup = args.warmup if args.warmup is not None else (1.0 if args.quick else 2.0)
    orders = args.orders or (200 if args.quick else 1500)
    if args.quiet_wait is None:
        args.quiet_wait = 1.0 if args.quick else 5.0
    conc = args.concurrency
    pin = not args.no_pin and len(os.sched_getaffinity(0)) >= 2
    work = Path(tempfile.mkdtemp(prefix="orderhub-bench-"))
    started = time.perf_counter()
    res: dict[str, Any] = {"bench": "ingest", "date": datetime.now(UTC).isoformat(timespec="seconds"),
                           "cpus": os.cpu_count(), "pinned": pin, "duration": duration, "warmup": warmup,
                           "concurrency": conc, "loadgen_procs": args.loadgen_procs}
    runs: dict[str, Run] = {}
    breakdown: list[Any] = []
    proc: list[dict[str, Any]] = []
    try:
        if not args.skip_receivers:
            # Enough distinct requests for a receiver ~8,000/s in closed loop; beyond, the load generator
            # builds more on the fly (reported as inline_built).
            size = args.pool or int(min(200_000, max(30_000, 8_000 * (warmup + 1.5 * duration))))
            log(f"building {size:,} signed requests (distinct orders, {work})")
            pool = work / "pool.bin"
            took = build_pool(pool, host="127.0.0.1", port=0, tag=1, count=size)
            log(f"built in {took:.1f} s")
            closed = [{"name": "warmup", "mode": "closed", "duration": warmup, "concurrency": conc},
                      {"name": "peak", "mode": "closed", "duration": duration, "concurrency": conc}]
            log("orderhub: closed loop, then open loop at half its peak")
            runs["orderhub"] = run_receiver("orderhub", closed + [
                {"name": "half", "mode": "open", "duration": duration, "concurrency": conc, "rate": "half:peak"}],
                pool, work, pin=pin, shards=args.loadgen_procs,
                quiet=args.quiet_wait, profile=args.profile)
            half = runs["orderhub"].phases["half"]["rate_target"]
            res["correctness"] = check_inbox(runs["orderhub"].url, runs["orderhub"].statuses)
            log(f"orderhub peak {runs['orderhub'].phases['peak']['ok_rps']:,.0f}/s; inbox check "
                f"{'OK' if res['correctness']['ok'] else 'FAILED'}")
            if args.workers2:
                log("orderhub serve --workers 2: closed loop, unpinned (two server processes on two cores, "
                    "with the load generator)")
                runs[SERVE_2] = run_receiver(SERVE_2, closed, pool, work, pin=False, shards=args.loadgen_procs,
                                             quiet=args.quiet_wait)
            log(f"ceiling: closed loop, then open loop at {half:,.0f}/s")
            runs["ceiling"] = run_receiver("ceiling", [dict(p, wrap=True) for p in closed] + [
                {"name": "half", "mode": "open", "duration": duration, "concurrency": conc, "rate": half,
                 "wrap": True}], pool, work, pin=pin, shards=args.loadgen_procs,
                quiet=args.quiet_wait, profile=args.profile)
            log(f"naive: closed loop, then open loop at {half:,.0f}/s and at half its own peak")
            runs["naive"] = run_receiver("naive", closed + [
                {"name": "half", "mode": "open", "duration": duration, "concurrency": conc, "rate": half,
                 "drain": 2.0},
                {"name": "half_own", "mode": "open", "duration": duration, "concurrency": conc,
                 "rate": "half:peak"}], pool, work, pin=pin, shards=args.loadgen_procs,
                quiet=args.quiet_wait)
            if SERVE_2 in runs:
                peak = runs.pop(SERVE_2).phases["peak"]
                res["orderhub_2p_rps"] = round(peak["ok_rps"], 1)
                res["orderhub_2p_p99_ms"] = round(peak["p99_ms"], 3)
                res["orderhub_2p_cpu_us_per_req"] = round(peak["server_cpu_us_per_request"], 1)
                res["orderhub_2p_errors"] = peak["errors"]
                SERVE_2_PEAK.update(peak)
            for kind, r in runs.items():
                peak, op = r.phases["peak"], r.phases["half"]
                res[f"{kind}_rps"] = round(peak["ok_rps"], 1)
                res[f"{kind}_p50_ms"] = round(peak["p50_ms"], 3)
                res[f"{kind}_p99_ms"] = round(peak["p99_ms"], 3)
                res[f"{kind}_errors"] = peak["errors"] + op["errors"] + r.phases["warmup"]["errors"]
                res[f"{kind}_cpu_us_per_req"] = round(peak["server_cpu_us_per_request"], 1)
                res[f"{kind}_half_p50_ms"] = round(op["p50_ms"], 3)
                res[f"{kind}_half_p99_ms"] = round(op["p99_ms"], 3)
                res[f"{kind}_half_achieved_rps"] = round(op["ok_rps"], 1)
                res[f"{kind}_half_overloaded"] = overloaded(op)
            if "half_own" in runs["naive"].phases:
                res["naive_half_own_p99_ms"] = round(runs["naive"].phases["half_own"]["p99_ms"], 3)
            res["half_rate"] = round(half, 1)
            res["ratio_ceiling"] = round(res["orderhub_rps"] / res["ceiling_rps"], 3)
            res["ratio_naive"] = round(res["orderhub_rps"] / res["naive_rps"], 2)
            res["p99_half_ms"] = res["orderhub_half_p99_ms"]
            res["met"] = {"ratio_ceiling": res["ratio_ceiling"] >= TARGETS["ratio_ceiling"],
                          "ratio_naive": res["ratio_naive"] >= TARGETS["ratio_naive"],
                          "p99_half_ms": res["p99_half_ms"] <= TARGETS["p99_half_ms"]}
            res["other_cpu_pct_max"] = round(max(p["other_cpu_pct"] for r in runs.values()
                                                 for p in r.phases.values()), 1)
            res["loadgen_cpu_pct_max"] = round(max(p["loadgen_cpu_pct"] for r in runs.values()
                                                   for p in r.phases.values()), 1)
            res["inline_built"] = sum(p["inline_built"] for r in runs.values() for p in r.phases.values())

            if args.breakdown:
                breakdown = run_breakdown(closed, pool, work, pin, args.loadgen_procs, args.quiet_wait)
                res["breakdown"] = {name: round(p["ok_rps"], 1) for name, p, _ in breakdown}

        if not args.skip_processor:
            proc = run_processor(work, orders, [int(x) for x in args.processes.split(",") if x.strip()],
                                 pg=not args.no_pg)
            res["processor_orders"] = orders
            for p in proc:
                key = "sqlite" if p["database"] == "sqlite" else "pg"
                suffix = "" if p["processes"] == 1 else f"_{p['processes']}p"
                res[f"processor_{key}{suffix}_ops"] = round(p["orders_per_second"], 1)
            res["processor_all_stored"] = all(p["ok"] for p in proc)

        res["elapsed_s"] = round(time.perf_counter() - started, 1)
        if PROFILES:
            res["profiles"] = {kind: p.as_dict() for kind, p in PROFILES.items()}
        if runs:
            for kind, p in PROFILES.items():
                profiling.print_profile(f"Where the {kind} server's CPU goes (py-spy)", p)
            print_tables(res, runs, proc, breakdown)
        elif proc:
            print_tables_processor_only(proc)
    finally:
        if args.keep:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(orjson.dumps(res).decode(), flush=True)
    failed = (res.get("correctness", {}).get("ok") is False) or (res.get("processor_all_stored") is False)
    return 1 if failed else 0


def print_tables_processor_only(proc: list[dict[str, Any]]) -> None:
    for p in proc:
        print(f"processor {p['database']:10s} {p['processes']} process(es): {p['orders']:,} orders in "
              f"{p['drain_seconds']:.1f} s = {p['orders_per_second']:,.0f} orders/s, all stored: {p['ok']}")


# See receivers.orderhub_app: the app as it ships, with its group-commit batches counted; then storing nothing.
BREAKDOWN = [
    "orderhub+batchstats",
    "orderhub+nostore",
]


def run_breakdown(closed: list[dict[str, Any]], pool: Path, work: Path, pin: bool, shards: int,
                  quiet: float) -> list[Any]:
    out = []
    for kind in BREAKDOWN:
        log(f"breakdown: {kind}")
        r = run_receiver(kind, closed, pool, work, pin=pin, shards=shards, quiet=quiet)
        stats = None
        for line in (work / f"{kind}.log").read_text(errors="replace").splitlines():
            if line.startswith('{"batchstats"'):
                stats = orjson.loads(line)["batchstats"]
        out.append((kind.replace("+batchstats", ""), r.phases["peak"], stats))
    return out


def run_processor(work: Path, orders: int, counts: list[int], *, pg: bool) -> list[dict[str, Any]]:
    import processor

    results = []
    for n in counts:
        log(f"processor: SQLite, {n} process(es), {orders:,} orders")
        url = f"sqlite:///{work / f'processor-{n}.db'}"
        results.append(processor.run(url, orders, n, "sqlite").as_dict())
        log(f"  {results[-1]['orders_per_second']:,.0f} orders/s")
    if pg:
        from orderhub.testing.postgres import start_postgres

        log("starting a throwaway PostgreSQL")
        server = start_postgres()
        try:
            for n in counts:
                log(f"processor: PostgreSQL, {n} process(es), {orders:,} orders")
                url = server.create_database(f"bench_processor_{n}")
                results.append(processor.run(url, orders, n, "postgresql").as_dict())
                log(f"  {results[-1]['orders_per_second']:,.0f} orders/s")
        finally:
            server.stop()
    return results


if __name__ == "__main__":
    sys.exit(main())

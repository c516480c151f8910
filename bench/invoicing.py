"""Invoicing's first two jobs (feed, then transform) side by side with a naive load-everything design, in one run.

    .venv/bin/python bench/invoicing.py            # 1,000,000 completed orders (the database is made once, then reused)
    .venv/bin/python bench/invoicing.py --quick    # 50,000

The data is a SQLite database of N completed orders (bench/invoicing_data.py: 20 stores, 500
variants with barcodes, 1-4 lines of 1-3 units, addresses with names in many scripts, about 10%
of the orders fulfilled by two stores), made once and kept (``--cache-dir``); each design gets
its own copy of that file, and its own SFTP server in a process of its own, so the server's
CPU is not the measured child's (it is shown apart): OpenSSH's sshd (``bench/openssh_sftp.py``,
as a retailer's server would be; installed when missing; needs root) or, with
``--sftp-server asyncssh``, the test suite's (``orderhub.testing.sftp_server``), which costs
about twice the CPU on the same two cores.

Each design runs in a spawned child process, with orderhub's default settings (WAL,
``synchronous=FULL``):

* **orderhub**: the jobs ``feed-completed-orders`` then ``transform-invoices``, through the job
  manager as production runs them (``run_job``, default parameters: gzip on). The feed marks
  10,000 orders ``feeding`` a transaction, and reader processes turn them into JSON lines 2,000
  at a time (SQLite's JSON functions write them), gzip members streamed to SFTP in order; the
  transform streams that file back, a gzip member at a time, worker processes transform the
  lines, and the invoices file is written in order.
* **naive**: loads every completed order with all its items, units, shipments, addresses,
  shipping lines and customers with plain SQLAlchemy queries (no batching), builds the whole
  feed as one JSON array in memory (``json.dumps``), writes it in one ``write_atomic`` and
  marks every order fed in one executemany; then reads the file back whole, ``json.loads`` it,
  transforms every record with the same ``orderhub.domain.invoicing.transform`` and writes the
  output as one JSON array. It runs under an address-space cap (``--naive-cap-gb``) so it
  cannot take the machine down; a run that hits it is reported with how far it got.

Orders per second are given for the feed, the transform and both (N / (t_feed + t_transform)),
with the child's CPU time (all its threads, paramiko's included, and its worker processes': the
feed's SQLite readers and the transform's workers, ``orderhub.services.invoicing.workers``).
Peak memory is the child's ``VmHWM`` (the whole process: interpreter, imports, SQLite's cache),
next to what it was before the jobs began, plus the workers': the sum of their ``VmHWM`` (each
read just before it ends), for the job whose workers add up to more (the feed's and the
transform's never run at the same time). So it is the sum of the ``VmHWM`` of the job process and
its workers: an upper bound of the peak of their sum. Each run is checked afterwards: the invoice
file holds exactly N orders and every order's ``order_invoices.status`` is ``fed``.

Prints the tables and, last, one JSON line with every figure.
"""

from __future__ import annotations

import argparse
import gzip
import multiprocessing as mp
import queue
import resource
import shutil
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from rich.console import Console
from rich.table import Table
from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parent))
import invoicing_data
import invoicing_naive
import openssh_sftp

from orderhub.bootstrap import build
from orderhub.config import Settings
from orderhub.memory import own_peak_mb

TARGETS = {"peak_mb": 200.0, "per_second": 20_000.0}
MB = 1024 * 1024


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# -- measuring ----------------------------------------------------------------------------------------------

def _cpu_seconds() -> float:
    """This process's CPU time and that of its children that ended (the jobs' worker processes)."""
    usage, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime + children.ru_utime + children.ru_stime


def _workers_mb(stats: dict[str, Any]) -> float:
    """The sum of the peaks of a job's worker processes (the job reports them)."""
    return float(sum(stats.get("worker_peak_mb") or ()))


# -- the SFTP server, in a process of its own ----------------------------------------------------------------

def _sftp_server(root: str, out: Any, stop: Any) -> None:
    from orderhub.testing.sftp_server import SftpTestServer

    server = SftpTestServer(root)
    info = server.start()
    out.put({"host": info.host, "port": info.port, "username": info.username,
             "key_file": str(info.client_key_path), "host_key_sha256": info.host_key_sha256})
    stop.wait()
    cpu = _cpu_seconds()
    server.stop()
    out.put({"cpu_seconds": cpu})


def _settings(url: str, sftp: dict[str, Any]) -> Settings:
    return replace(Settings(database_url=url), sftp_host=sftp["host"], sftp_port=sftp["port"],
                   sftp_user=sftp["username"], sftp_key_file=sftp["key_file"],
                   sftp_host_key_sha256=sftp["host_key_sha256"])


# -- orderhub -----------------------------------------------------------------------------------------------

def _orderhub(hub: Any, result: dict[str, Any]) -> None:
    from orderhub.services.jobs.runner import run_job

    started, cpu = time.perf_counter(), _cpu_seconds()
    _, stats = run_job(hub, "feed-completed-orders", None, {})
    result.update(feed_s=time.perf_counter() - started, feed_cpu_s=_cpu_seconds() - cpu,
                  peak_feed_mb=own_peak_mb() + _workers_mb(stats), feed_workers_mb=_workers_mb(stats), feed_stats=stats)
    started, cpu = time.perf_counter(), _cpu_seconds()
    _, stats = run_job(hub, "transform-invoices", None, {})
    result.update(transform_s=time.perf_counter() - started, transform_cpu_s=_cpu_seconds() - cpu,
                  transform_workers_mb=_workers_mb(stats), transform_stats=stats)


# -- naive (bench/invoicing_naive.py) ------------------------------------------------------------------

def _naive(hub: Any, result: dict[str, Any], progress: Any) -> None:
    times: dict[str, float] = {}
    clock = [time.perf_counter()]
    result["stage_seconds"] = times
    started, cpu = time.perf_counter(), _cpu_seconds()
    result["fed_records"] = invoicing_naive.feed(hub, progress, times, clock)
    result.update(feed_s=time.perf_counter() - started, feed_cpu_s=_cpu_seconds() - cpu, peak_feed_mb=own_peak_mb())
    started, cpu = time.perf_counter(), _cpu_seconds()
    result["written"], result["rejected"] = invoicing_naive.transform(hub, progress, times, clock)
    result.update(transform_s=time.perf_counter() - started, transform_cpu_s=_cpu_seconds() - cpu)
    invoicing_naive.done(progress, times, clock)


def _out_of_memory(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, MemoryError) or "out of memory" in str(seen).lower():
            return True
        seen = seen.__cause__ or seen.__context__
    return False


# -- one design in one child ----------------------------------------------------------------------------------

def _child(design: str, url: str, sftp: dict[str, Any], cap_bytes: int, progress: Any, out: Any) -> None:
    from orderhub import logs
    from orderhub.adapters.store import invoice_store
    from orderhub.adapters.store.schema import orders
    from orderhub.services.jobs import registry

    logs.configure("INFO", json=True)  # as the CLI and the worker do: JSON lines on stderr
    hub = build(_settings(url, sftp))
    registry.get("feed-completed-orders")  # every job module imported (paramiko too) before the clock starts

    result: dict[str, Any] = {"design": design, "baseline_mb": own_peak_mb(), "error": None}
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if cap_bytes:
        resource.setrlimit(resource.RLIMIT_AS, (cap_bytes, hard))
    started, cpu = time.perf_counter(), _cpu_seconds()
    try:
        if design == "orderhub":
            _orderhub(hub, result)
        else:
            _naive(hub, result, progress)
    except BaseException as exc:  # noqa: BLE001 - reported, with how far it got
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
        where = invoicing_naive.where(progress) if design == "naive" else "in the jobs"
        if _out_of_memory(exc):
            result["error"] = f"ran out of memory at the {cap_bytes / 2**30:g} GiB cap {where}"
        else:
            result["error"] = f"{type(exc).__name__}: {exc} ({where})"[:500]
    result["seconds"] = time.perf_counter() - started
    result["cpu_seconds"] = _cpu_seconds() - cpu
    result["process_peak_mb"] = own_peak_mb()
    result["workers_peak_mb"] = max(result.get("feed_workers_mb", 0.0), result.get("transform_workers_mb", 0.0))
    result["peak_mb"] = result["process_peak_mb"] + result["workers_peak_mb"]
    resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
    with hub.db.read() as conn:
        result["statuses"] = invoice_store.status_counts(conn)
        result["completed_orders"] = conn.execute(
            select(func.count()).select_from(orders).where(orders.c.status.in_(invoice_store.COMPLETED_ORDERS))
        ).scalar_one()
    hub.close()
    out.put(result)


def _count_lines(path: Path) -> tuple[int, int]:
    """(lines, uncompressed bytes) of a .jsonl(.gz) file, read in pieces."""
    lines = size = 0
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rb") as f:
        while chunk := f.read(4 * MB):
            lines += chunk.count(b"\n")
            size += len(chunk)
    return lines, size


def _count_records(path: Path, marker: bytes = b'"order_id":') -> int:
    """Orders in a JSON array written by the naive design (each record has one top-level ``order_id``)."""
    count, tail = 0, b""
    with open(path, "rb") as f:
        while chunk := f.read(4 * MB):
            block = tail + chunk
            count += block.count(marker)
            tail = block[-(len(marker) - 1):]  # shorter than the marker: nothing in it is counted twice
    return count


def _files(design: str, root: Path) -> dict[str, Any]:
    """The files the design left on the SFTP server (read straight from its root on local disk)."""
    found: dict[str, Any] = {}
    if design == "orderhub":
        feeds = sorted(root.glob("retailpro/feed/**/completed-orders-*.jsonl*"))
        invoices = sorted(root.glob("retailpro/invoices/invoices-*.jsonl*"))
        for key, paths in (("feed", feeds), ("invoices", invoices)):
            if len(paths) == 1:
                lines, raw = _count_lines(paths[0])
                found[key] = {"name": paths[0].name, "bytes": paths[0].stat().st_size, "json_bytes": raw,
                              "orders": lines}
            elif paths:
                found[key] = {"error": f"{len(paths)} files: {', '.join(p.name for p in paths)}"}
    else:
        for key, name in (("feed", invoicing_naive.FEED_PATH), ("invoices", invoicing_naive.INVOICES_PATH)):
            path = root / name.lstrip("/")
            if path.exists():
                size = path.stat().st_size
                found[key] = {"name": path.name, "bytes": size, "json_bytes": size, "orders": _count_records(path)}
    return found


def run(design: str, work: Path, source: Path, count: int, cap_gb: float, sftp_server: str) -> dict[str, Any]:
    db = work / f"{design}.db"
    log(f"{design}: copying the database ({source.stat().st_size / MB:,.0f} MB)")
    shutil.copyfile(source, db)
    root = work / f"{design}-sftp"
    ctx = mp.get_context("spawn")
    server_out, stop = ctx.Queue(), ctx.Event()
    target = openssh_sftp.serve if sftp_server == "openssh" else _sftp_server
    server = ctx.Process(target=target, args=(str(root), server_out, stop), daemon=True)
    server.start()
    try:
        sftp = server_out.get(timeout=60)
        out, progress = ctx.Queue(), ctx.Array("q", 2, lock=False)  # naive: stage, rows in it
        cap = int(cap_gb * 2**30) if design == "naive" and cap_gb else 0
        log(f"{design}: {count:,} orders" + (f" (address space capped at {cap_gb:g} GiB)" if cap else ""))
        child = ctx.Process(target=_child, args=(design, f"sqlite:///{db}", sftp, cap, progress, out))
        child.start()
        began = time.perf_counter()
        while True:
            try:
                result: dict[str, Any] = out.get(timeout=1.0)
                break
            except queue.Empty:
                if child.is_alive():
                    continue
                if design == "orderhub":
                    raise SystemExit(f"the {design} child process died (exit code {child.exitcode}); "
                                     "see above") from None
                where = invoicing_naive.where(progress)
                result = {"design": design, "error": f"the child process died (exit code {child.exitcode}) {where}",
                          "seconds": time.perf_counter() - began, "cpu_seconds": None, "peak_mb": None,
                          "baseline_mb": None, "statuses": {}, "completed_orders": None}
                break
        child.join()
    finally:
        stop.set()
        try:
            result_server = server_out.get(timeout=30)
        except queue.Empty:
            result_server = {"cpu_seconds": None}
        server.join(timeout=30)
    result["sftp_server_cpu_s"] = result_server["cpu_seconds"]
    result["files"] = _files(design, root)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    shutil.rmtree(root, ignore_errors=True)
    _figures(result, count)
    shown = (f"feed {result['feed_per_s']:,.0f}/s, transform {result['transform_per_s']:,.0f}/s, "
             f"both {result['per_second']:,.0f} orders/s" if result["per_second"] else result["error"])
    log(f"  {design}: {shown}; peak {_num(result['peak_mb'], ' MB')} "
        f"(before the jobs {_num(result['baseline_mb'], ' MB')})"
        + ("" if result["ok"] else f"; CHECK FAILED: {result['check']}"))
    return result


def _figures(r: dict[str, Any], n: int) -> None:
    done = not r["error"]
    r["orders"] = n
    r["total_s"] = (r["feed_s"] + r["transform_s"]) if done else None
    r["feed_per_s"] = n / r["feed_s"] if done else None
    r["transform_per_s"] = n / r["transform_s"] if done else None
    r["per_second"] = n / r["total_s"] if done else None
    r["cpu_us_per_order"] = (r["feed_cpu_s"] + r["transform_cpu_s"]) / n * 1e6 if done else None
    problems = []
    if r["error"]:
        problems.append(r["error"])
    else:
        invoices = r["files"].get("invoices", {})
        if invoices.get("orders") != n:
            problems.append(f"invoice file holds {invoices.get('orders', invoices.get('error', 'no file'))}, "
                            f"not {n:,} orders")
        if r["statuses"] != {"fed": n}:
            problems.append(f"order_invoices statuses {r['statuses']}, not {{'fed': {n}}}")
        if r["completed_orders"] != n:
            problems.append(f"{r['completed_orders']:,} completed orders in the database, not {n:,}")
    r["ok"] = not problems
    r["check"] = "; ".join(problems) if problems else f"{n:,} invoices, every order fed"


# -- report -------------------------------------------------------------------------------------------------

def _num(value: float | None, unit: str = "", digits: int = 0) -> str:
    return "—" if value is None else f"{value:,.{digits}f}{unit}"


def _mb(size: int | None) -> str:
    return "—" if size is None else f"{size / MB:,.1f} MB"


def _file(f: dict[str, Any] | None) -> str:
    if not f:
        return "—"
    if "error" in f:
        return f["error"]
    extra = f" ({_mb(f['json_bytes'])} JSON)" if f["json_bytes"] != f["bytes"] else ""
    return f"{_mb(f['bytes'])}{extra}"


def print_tables(res: dict[str, Any]) -> None:
    console = Console(width=150)
    n = res["orders"]
    for r in res["runs"]:
        what = ("feed-completed-orders then transform-invoices, through the job manager" if r["design"] == "orderhub"
                else "load everything, one JSON array per file")
        t = Table(title=f"{r['design']}: {what}; {n:,} completed orders, SQLite, {res['cpus']} CPUs")
        for c in ("step", "orders", "seconds", "orders/s", "CPU s", "CPU µs/order", "peak RSS", "file"):
            t.add_column(c, justify="right")
        if r["error"]:
            t.add_row("feed + transform", f"{n:,}", f"{r['seconds']:,.1f}", "—", _num(r["cpu_seconds"], "", 1), "—",
                      _num(r["peak_mb"], " MB"), r["error"])
        else:
            files = r["files"]
            t.add_row("feed", f"{n:,}", f"{r['feed_s']:,.1f}", f"{r['feed_per_s']:,.0f}", f"{r['feed_cpu_s']:,.1f}",
                      f"{r['feed_cpu_s'] / n * 1e6:,.0f}", f"{r['peak_feed_mb']:,.0f} MB", _file(files.get("feed")))
            t.add_row("transform", f"{n:,}", f"{r['transform_s']:,.1f}", f"{r['transform_per_s']:,.0f}",
                      f"{r['transform_cpu_s']:,.1f}", f"{r['transform_cpu_s'] / n * 1e6:,.0f}",
                      f"{r['peak_mb']:,.0f} MB", _file(files.get("invoices")))
            t.add_row("feed + transform", f"{n:,}", f"{r['total_s']:,.1f}", f"{r['per_second']:,.0f}",
                      f"{r['feed_cpu_s'] + r['transform_cpu_s']:,.1f}", f"{r['cpu_us_per_order']:,.0f}",
                      f"{r['peak_mb']:,.0f} MB", "")
        workers = (f"peak = job process {r['process_peak_mb']:,.0f} MB + its workers {r['workers_peak_mb']:,.0f} MB "
                   "(sum of VmHWM); " if r.get("workers_peak_mb") else "")
        t.caption = (f"{workers}RSS before the jobs {_num(r['baseline_mb'], ' MB')}; SFTP server process CPU "
                     + (f"{r['sftp_server_cpu_s']:,.1f} s" if r["sftp_server_cpu_s"] is not None else "—")
                     + f"; check: {'ok, ' if r['ok'] else 'FAILED, '}{r['check']}")
        console.print(t)
    console.print(res["comparison"])
    t = Table(title="Targets (orderhub)")
    for c in ("target", "measured", "met"):
        t.add_column(c)
    for name, (label, _value, shown) in res["targets"].items():
        t.add_row(label, shown, "yes" if res["met"][name] else "NO")
    console.print(t)


def _comparison(runs: dict[str, dict[str, Any]]) -> str:
    ours, naive = runs.get("orderhub"), runs.get("naive")
    if not ours or not naive:
        return ""
    if ours["error"]:
        return f"orderhub failed: {ours['error']}"
    head = f"orderhub {ours['per_second']:,.0f} orders/s at {ours['peak_mb']:,.0f} MB peak"
    if naive["error"]:
        return f"{head}; naive {naive['error']}, after {naive['seconds']:,.0f}s at {_num(naive['peak_mb'], ' MB')} peak"
    return (f"{head}; naive {naive['per_second']:,.0f} orders/s at {naive['peak_mb']:,.0f} MB peak: orderhub is "
            f"{ours['per_second'] / naive['per_second']:.2f}× the throughput with "
            f"{naive['peak_mb'] / ours['peak_mb']:.1f}× less peak memory")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--orders", type=int, default=None, help="completed orders (default 1,000,000; quick 50,000)")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--designs", default="orderhub,naive", help="which designs to run, comma-separated")
    ap.add_argument("--naive-cap-gb", type=float, default=6.0, help="address-space cap of the naive child")
    ap.add_argument("--cache-dir", type=Path, default=Path(tempfile.gettempdir()) / "orderhub-bench-invoicing",
                    help="where the prepared database is kept between runs")
    ap.add_argument("--sftp-server", choices=("openssh", "asyncssh"), default="openssh",
                    help="the SFTP server on loopback: OpenSSH's sshd (as a retailer's; needs root) or the asyncssh "
                         "test server")
    args = ap.parse_args(argv)
    if args.sftp_server == "openssh":
        openssh_sftp.ensure_installed()
    n = args.orders or (50_000 if args.quick else 1_000_000)
    designs = [d.strip() for d in args.designs.split(",") if d.strip()]
    unknown = set(designs) - {"orderhub", "naive"}
    if unknown:
        ap.error(f"unknown design(s) {', '.join(sorted(unknown))}: use orderhub and/or naive")
    res: dict[str, Any] = {"bench": "invoicing", "date": datetime.now(UTC).isoformat(timespec="seconds"),
                           "cpus": mp.cpu_count(), "database": "sqlite", "seed": args.seed, "orders": n,
                           "sftp_server": args.sftp_server}
    source, facts = invoicing_data.prepare(args.cache_dir, n, args.seed, log)
    log(f"database: {'reused from an earlier run' if facts['reused'] else 'made now'}: {source} "
        f"({facts['bytes'] / MB:,.0f} MB, made in {facts['made_seconds']:,.0f}s)")
    res["data"] = {"path": str(source), "bytes": facts["bytes"], "made_seconds": facts["made_seconds"],
                   "reused": facts["reused"], "rows": facts["rows"]}
    # sshd chroots only into a folder whose every parent is root's and closed to others (not /tmp)
    work = Path(tempfile.mkdtemp(prefix="orderhub-bench-invoicing-",
                                 dir=openssh_sftp.CHROOT_PARENT if args.sftp_server == "openssh" else None))
    runs = []
    try:
        for design in designs:
            runs.append(run(design, work, source, n, args.naive_cap_gb, args.sftp_server))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    res["runs"] = runs
    by_design = {r["design"]: r for r in runs}
    res["designs"] = {r["design"]: {k: r.get(k) for k in (
        "ok", "error", "feed_s", "transform_s", "total_s", "feed_per_s", "transform_per_s", "per_second",
        "feed_cpu_s", "transform_cpu_s", "cpu_us_per_order", "baseline_mb", "peak_feed_mb", "peak_mb",
        "process_peak_mb", "workers_peak_mb", "sftp_server_cpu_s")} | {
        "feed_bytes": r["files"].get("feed", {}).get("bytes"),
        "invoices_bytes": r["files"].get("invoices", {}).get("bytes")} for r in runs}
    res["comparison"] = _comparison(by_design)
    ours = by_design.get("orderhub")
    rate = (ours or {}).get("per_second") or 0.0
    peak = (ours or {}).get("peak_mb") or 0.0
    res["targets"] = {
        "per_second": (f"feed + transform ≥ {TARGETS['per_second']:,.0f} orders/s at {n:,} orders", rate,
                       f"{rate:,.0f} orders/s"),
        "peak_mb": (f"peak memory < {TARGETS['peak_mb']:,.0f} MB at {n:,} orders", peak, f"{peak:,.0f} MB"),
    }
    ok = bool(ours and ours["ok"])
    res["met"] = {"per_second": ok and rate >= TARGETS["per_second"], "peak_mb": ok and peak < TARGETS["peak_mb"]}
    print_tables(res)
    res["targets"] = {k: v[1] for k, v in res["targets"].items()}
    print(orjson.dumps(res, default=str).decode())
    return 0 if all(r["ok"] or r["design"] == "naive" for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())

"""How fast the web console's pages answer on a large database, beside the server's floor, in one run.

    .venv/bin/python bench/console.py            # 1,000,000 orders (the invoicing benchmark's database)
    .venv/bin/python bench/console.py --quick    # 50,000

The database is bench/invoicing_data.py's (made once and cached: one shop, 20 stores, N orders
with their lines, units, shipments, addresses and customers), copied, brought to the current
schema and given a console user. ``orderhub serve --no-worker`` serves it from a process of its
own (as in production; the measuring client would otherwise share its interpreter), and one
signed-in client asks for each page in turn, one request at a time, as a person clicking would:
a few warm-up requests, then ``--requests`` timed ones. The baseline is the same server's
``/healthz`` (no template, one trivial query) and a static file: the floor any page stands on.

Prints a table of the latency per page (p50, p95, max) and its size, and one JSON line with
every figure.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
import invoicing_data

from orderhub.adapters.store import migrate
from orderhub.bootstrap import build
from orderhub.config import Settings
from orderhub.services.console import accounts
from orderhub.testing.postgres import free_port

PASSWORD = "bench console password"
TARGET_P95_MS = 500.0  # a page a person waits for: well under half a second, even on a million orders


def _pages(sample: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(kind, label, path): the baseline first, then the console's pages."""
    return [
        ("baseline", "health probe /healthz", "/healthz"),
        ("baseline", "static file", "/static/console.css"),
        ("page", "dashboard", "/"),
        ("page", "orders: newest first", "/orders"),
        ("page", "orders: by status", "/orders?status=completed"),
        ("page", "orders: by number", f"/orders?order={sample['number']}"),
        ("page", "orders: by customer (substring)", f"/orders?customer={sample['customer']}"),
        ("page", "an order", f"/orders/{sample['order_id']}"),
        ("page", "error log", "/errors"),
        ("page", "jobs: categories", "/jobs"),
        ("page", "jobs: a category", "/jobs/category/fulfilment"),
        ("page", "routing", "/routing"),
        ("page", "facilities", "/inventory/facilities"),
    ]


def _sample(db_path: Path) -> dict[str, Any]:
    """An order in the middle of the table, and a customer's surname to search for."""
    import sqlite3

    conn = sqlite3.connect(db_path)
    try:
        (count,) = conn.execute("SELECT count(*) FROM orders").fetchone()
        order_id, name = conn.execute("SELECT id, name FROM orders WHERE id >= ? ORDER BY id LIMIT 1",
                                      (count // 2,)).fetchone()
    finally:
        conn.close()
    return {"order_id": order_id, "number": name.lstrip("#"), "customer": "Østergaard", "orders": count}


def _serve(url: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ, ORDERHUB_LOG_LEVEL="WARNING")
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "orderhub.entrypoints.cli", "serve", "--no-worker",
                                 "--port", str(port), "--db", url], stdout=out, stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
        if proc.poll() is not None:
            break
    proc.kill()
    raise SystemExit(f"orderhub serve did not start; see {log}:\n{log.read_text()[-2000:]}")


def _sign_in(client: httpx.Client) -> None:
    form = client.get("/sign-in")
    token = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert token, form.text[:300]
    answer = client.post("/sign-in", data={"username": "bench", "password": PASSWORD, "csrf": token.group(1)})
    if answer.status_code != 200 or answer.url.path != "/":
        raise SystemExit(f"could not sign in: {answer.status_code} {answer.text[:300]}")


def measure(client: httpx.Client, path: str, warm: int, timed: int) -> dict[str, Any]:
    for _ in range(warm):
        client.get(path)
    times, size, status = [], 0, 0
    for _ in range(timed):
        started = time.perf_counter()
        answer = client.get(path)
        times.append((time.perf_counter() - started) * 1000)
        size, status = len(answer.content), answer.status_code
    times.sort()
    return {"status": status, "bytes": size, "p50_ms": statistics.median(times),
            "p95_ms": times[min(len(times) - 1, round(0.95 * (len(times) - 1)))], "max_ms": times[-1]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--orders", type=int, default=None, help="orders in the database (default 1,000,000)")
    ap.add_argument("--quick", action="store_true", help="50,000 orders")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--requests", type=int, default=30, help="timed requests per page")
    ap.add_argument("--warm", type=int, default=3, help="warm-up requests per page")
    ap.add_argument("--cache-dir", type=Path, default=Path(tempfile.gettempdir()) / "orderhub-bench-invoicing")
    args = ap.parse_args(argv)
    n = args.orders or (50_000 if args.quick else 1_000_000)
    console = Console(width=130)
    source, facts = invoicing_data.prepare(args.cache_dir, n, args.seed, lambda m: console.print(m))
    work = Path(tempfile.mkdtemp(prefix="orderhub-bench-console-"))
    proc = None
    try:
        db_path = work / "console.db"
        shutil.copyfile(source, db_path)
        url = f"sqlite:///{db_path}"
        hub = build(Settings(database_url=url))
        try:
            migrate.upgrade(hub.db)
            accounts.add_user(hub.db, "bench", PASSWORD, "viewer")
        finally:
            hub.close()
        sample = _sample(db_path)
        port = free_port()
        proc = _serve(url, port, work / "serve.log")
        results = []
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", follow_redirects=True, timeout=120) as client:
            _sign_in(client)
            for kind, label, path in _pages(sample):
                figures = measure(client, path, args.warm, args.requests)
                if figures["status"] != 200:
                    raise SystemExit(f"{path} answered {figures['status']}")
                results.append({"kind": kind, "page": label, "path": path, **figures})
                console.print(f"  {label}: p50 {figures['p50_ms']:.1f} ms, p95 {figures['p95_ms']:.1f} ms")
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=20)
        shutil.rmtree(work, ignore_errors=True)

    floor = min(r["p50_ms"] for r in results if r["kind"] == "baseline")
    pages = [r for r in results if r["kind"] == "page"]
    worst = max(r["p95_ms"] for r in pages)
    table = Table(title=f"Console pages on {sample['orders']:,} orders (SQLite, one request at a time)")
    for col in ("", "page", "p50 ms", "p95 ms", "max ms", "× floor (p50)", "KB"):
        table.add_column(col, justify="right" if col not in ("", "page") else "left")
    for r in results:
        table.add_row(r["kind"], r["page"], f"{r['p50_ms']:,.1f}", f"{r['p95_ms']:,.1f}", f"{r['max_ms']:,.1f}",
                      f"{r['p50_ms'] / floor:,.1f}", f"{r['bytes'] / 1024:,.1f}")
    console.print(table)
    met = worst <= TARGET_P95_MS
    console.print(f"slowest page p95 {worst:,.1f} ms (aim ≤ {TARGET_P95_MS:,.0f} ms: {'met' if met else 'NOT met'})")
    print(orjson.dumps({"bench": "console", "date": datetime.now(UTC).isoformat(timespec="seconds"),
                        "orders": sample["orders"], "requests": args.requests, "floor_p50_ms": floor,
                        "slowest_p95_ms": worst, "target_p95_ms": TARGET_P95_MS, "met": met,
                        "data_reused": facts.get("reused"), "pages": results}).decode())
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""How fast the web console's pages answer on a large database, warm and cold, beside the server's floor.

    .venv/bin/python bench/console.py            # 1,000,000 orders (the invoicing benchmark's database)
    .venv/bin/python bench/console.py --quick    # 50,000

The database is bench/invoicing_data.py's (made once and cached: one shop, 20 stores, N orders
with their lines, units, shipments, addresses and customers), copied, brought to the current
schema and given a console user. As every order there is shipped or completed, online, in one shop
and without a note, the copy is given the rare values a shop has (``_sprinkle``): a few cancelled
and refunded orders, a few sold at a store, a small second shop, notes in several scripts.

``orderhub serve --no-worker`` serves it from a process of its own (as in production; the measuring
client would otherwise share its interpreter), and one signed-in client asks for each page in
turn, one request at a time, as a person clicking would:

- warm: a few warm-up requests, then ``--requests`` timed ones;
- cold: ``--cold`` times per page, the database's cache cold, not the server: a freshly started
  server process (its SQLite connections hold no page) warmed with requests that read no order data
  (``/healthz``, a static file, the routing page), then the database file and its -wal evicted from
  the operating system's page cache (``posix_fadvise(POSIX_FADV_DONTNEED)``, no root needed), then
  one timed request.

The baseline is the same server's ``/healthz`` (no template, one trivial query) and a static file:
the floor any page stands on (cold, they show what the eviction costs a page that reads nothing). Prints a table
of the latency per page (p50, p95, max) warm and cold, what a cold request made the server read from the disk
(the median of its ``read_bytes`` in /proc/PID/io: page cache misses, with the kernel's read-ahead), the page's
size, whether every page met the target (p95 under 50 ms, warm and cold), and one JSON line with every figure.
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

from orderhub.adapters.store import migrate, shops
from orderhub.bootstrap import build
from orderhub.config import Settings
from orderhub.services.console import accounts
from orderhub.testing.postgres import free_port

PASSWORD = "bench console password"
TARGET_P95_MS = 50.0  # every page and filter, warm and cold, on a million orders
SMALL_SHOP = "small-shop.myshopify.com"
NOTES = ["Bitte beim Nachbarn abgeben 📦", "ギフト包装をお願いします 🎁", "اتصل قبل التسليم", "Leave by the back door"]


def _pages(sample: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(kind, label, path): the baseline first, then the console's pages, every filter and the search."""
    return [
        ("baseline", "health probe /healthz", "/healthz"),
        ("baseline", "static file", "/static/console.css"),
        ("page", "dashboard", "/"),
        ("page", "orders: newest first", "/orders"),
        ("page", "orders: later page", f"/orders?before={sample['order_id']}"),
        ("page", "orders: status completed (70%)", "/orders?status=completed"),
        ("page", "orders: status cancelled (rare)", "/orders?status=cancelled"),
        ("page", "orders: payment refunded (rare)", "/orders?payment=refunded"),
        ("page", "orders: channel pos (rare)", "/orders?channel=pos"),
        ("page", "orders: small shop", f"/orders?shop={SMALL_SHOP}"),
        ("page", "orders: one day", f"/orders?from={sample['day']}&to={sample['day']}"),
        ("page", "orders: cancelled, one day", f"/orders?status=cancelled&from={sample['day']}&to={sample['day']}"),
        ("page", "orders: by number", f"/orders?order={sample['number']}"),
        ("page", "search: a customer's e-mail", f"/orders?q={sample['email']}"),
        ("page", "search: e-mail fragment", "/orders?q=kunde4242"),
        ("page", "search: name fragment", "/orders?q=stergaard"),
        ("page", "search: note fragment", "/orders?q=Nachbarn"),
        ("page", "search: non-Latin fragment", "/orders?q=ギフト包装"),
        ("page", "search: Arabic name", "/orders?q=الفارسي"),
        ("page", "search: no match", "/orders?q=zzqxv"),
        ("page", "search: 2 characters", "/orders?q=42"),
        ("page", "search + status", "/orders?q=stergaard&status=cancelled"),
        ("page", "an order", f"/orders/{sample['order_id']}"),
        ("page", "error log", "/errors"),
        ("page", "jobs: categories", "/jobs"),
        ("page", "jobs: a category", "/jobs/category/fulfilment"),
        ("page", "routing", "/routing"),
        ("page", "facilities", "/inventory/facilities"),
    ]


def _sprinkle(db_path: Path) -> None:
    """The rare values a shop's orders have: every 5,000th order cancelled, every 7,919th refunded, every
    9,973rd sold at a store, every 10,007th in a second, small shop, every 1,000th with a note. Written with
    the search triggers on, as any writer's would be (a connection of its own: no orderhub functions)."""
    import sqlite3

    conn = sqlite3.connect(db_path, isolation_level=None)
    try:
        conn.execute("BEGIN")
        conn.execute("UPDATE orders SET status = 'cancelled', cancelled_at = updated_at WHERE id % 5000 = 0")
        conn.execute("UPDATE orders SET payment_status = 'refunded' WHERE id % 7919 = 0")
        conn.execute("UPDATE orders SET channel = 'pos' WHERE id % 9973 = 0")
        (small,) = conn.execute("SELECT id FROM shops WHERE domain = ?", (SMALL_SHOP,)).fetchone()
        conn.execute("UPDATE orders SET shop_id = ? WHERE id % 10007 = 0", (small,))
        for k, note in enumerate(NOTES):
            conn.execute("UPDATE orders SET note = ? WHERE id % 4000 = ?", (note, k * 1000))
        conn.execute("COMMIT")
    finally:
        conn.close()


def _sample(db_path: Path) -> dict[str, Any]:
    """An order in the middle of the table, its customer's e-mail and its day."""
    import sqlite3

    conn = sqlite3.connect(db_path)
    try:
        (count,) = conn.execute("SELECT max(id) FROM orders").fetchone()
        order_id, name, email, created = conn.execute(
            "SELECT id, name, email, source_created_at FROM orders WHERE id >= ? ORDER BY id LIMIT 1",
            (count // 2,)).fetchone()
    finally:
        conn.close()
    return {"order_id": order_id, "number": name.lstrip("#"), "email": email, "day": created[:10], "orders": count}


def evict(db_path: Path) -> None:
    """Drop the database file and its -wal from the operating system's page cache (clean pages only: the
    server is stopped and has written everything)."""
    for suffix in ("", "-wal"):
        path = Path(f"{db_path}{suffix}")
        if not path.exists():
            continue
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


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
    return {"status": status, "bytes": size, **_figures(times)}


def _figures(times: list[float]) -> dict[str, float]:
    times = sorted(times)
    return {"p50_ms": statistics.median(times), "p95_ms": times[min(len(times) - 1, round(0.95 * (len(times) - 1)))],
            "max_ms": times[-1]}


class Server:
    """``orderhub serve`` on the database, restarted at will; the client's session survives restarts (the
    console keeps sessions in the database)."""

    def __init__(self, url: str, port: int, log: Path) -> None:
        self.url, self.port, self.log = url, port, log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = _serve(self.url, self.port, self.log)

    def read_bytes(self) -> int:
        """What the server process has read from the disk so far (its page cache misses: /proc/PID/io)."""
        assert self.proc is not None
        with open(f"/proc/{self.proc.pid}/io") as io:
            return next(int(line.split()[1]) for line in io if line.startswith("read_bytes:"))

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=20)
            self.proc = None


WARM_UP = ("/healthz", "/static/console.css", "/routing")  # a fresh process's first requests: none reads orders


def measure_cold(server: Server, db_path: Path, client: httpx.Client, path: str, rounds: int) -> dict[str, Any]:
    """``rounds`` requests with the database's cache cold, not the server's: each to a freshly started server (its
    SQLite connections hold no page), warmed with requests that read no order data (its code, templates and a
    connection ready), then the database file and its -wal evicted from the operating system's page cache."""
    times, read = [], []
    for _ in range(rounds):
        server.stop()
        server.start()
        for warm in WARM_UP:
            client.get(warm)
        evict(db_path)
        before = server.read_bytes()
        started = time.perf_counter()
        answer = client.get(path)
        times.append((time.perf_counter() - started) * 1000)
        read.append(server.read_bytes() - before)
        if answer.status_code != 200:
            raise SystemExit(f"{path} answered {answer.status_code} (cold)")
    return {**_figures(times), "read_kib": statistics.median(read) / 1024}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--orders", type=int, default=None, help="orders in the database (default 1,000,000)")
    ap.add_argument("--quick", action="store_true", help="50,000 orders")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--requests", type=int, default=30, help="timed warm requests per page")
    ap.add_argument("--warm", type=int, default=3, help="warm-up requests per page")
    ap.add_argument("--cold", type=int, default=5, help="cold requests per page (0: warm only)")
    ap.add_argument("--cache-dir", type=Path, default=Path(tempfile.gettempdir()) / "orderhub-bench-invoicing")
    args = ap.parse_args(argv)
    n = args.orders or (50_000 if args.quick else 1_000_000)
    console = Console(width=150)
    source, facts = invoicing_data.prepare(args.cache_dir, n, args.seed, lambda m: console.print(m))
    work = Path(tempfile.mkdtemp(prefix="orderhub-bench-console-"))
    server = None
    try:
        db_path = work / "console.db"
        shutil.copyfile(source, db_path)
        if Path(f"{source}.keys").exists():  # the key file its encrypted secrets need
            shutil.copyfile(f"{source}.keys", f"{db_path}.keys")
            os.chmod(f"{db_path}.keys", 0o600)
        url = f"sqlite:///{db_path}"
        hub = build(Settings(database_url=url))
        try:
            migrate.upgrade(hub.db)
            accounts.add_user(hub.db, "bench", PASSWORD, "viewer")
            with hub.db.write() as conn:
                shops.add(conn, SMALL_SHOP, "bench")
        finally:
            hub.close()
        _sprinkle(db_path)
        sample = _sample(db_path)
        server = Server(url, free_port(), work / "serve.log")
        server.start()
        results = []
        with httpx.Client(base_url=f"http://127.0.0.1:{server.port}", follow_redirects=True, timeout=120) as client:
            _sign_in(client)
            for kind, label, path in _pages(sample):
                figures = measure(client, path, args.warm, args.requests)
                if figures["status"] != 200:
                    raise SystemExit(f"{path} answered {figures['status']}")
                results.append({"kind": kind, "page": label, "path": path, **figures})
                console.print(f"  warm {label}: p50 {figures['p50_ms']:.1f} ms, p95 {figures['p95_ms']:.1f} ms")
            for r in results if args.cold else []:
                r["cold"] = measure_cold(server, db_path, client, r["path"], args.cold)
                console.print(f"  cold {r['page']}: p50 {r['cold']['p50_ms']:.1f} ms, "
                              f"p95 {r['cold']['p95_ms']:.1f} ms, {r['cold']['read_kib']:,.0f} KiB read")
    except BaseException:
        log = work / "serve.log"
        if log.exists():
            console.print(f"the server's log ends:\n{log.read_text()[-3000:]}")
        raise
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)
    return _report(console, results, sample, args, facts)


def _report(console: Console, results: list[dict[str, Any]], sample: dict[str, Any], args: Any,
            facts: dict[str, Any]) -> int:
    floor = min(r["p50_ms"] for r in results if r["kind"] == "baseline")
    pages = [r for r in results if r["kind"] == "page"]
    worst = max(r["p95_ms"] for r in pages)
    worst_cold = max((r["cold"]["p95_ms"] for r in pages if "cold" in r), default=None)
    table = Table(title=f"Console pages on {sample['orders']:,} orders (SQLite, one request at a time; "
                        f"warm: {args.requests} requests, cold: {args.cold} fresh servers with the file evicted)")
    for col in ("", "page", "warm p50", "p95", "max", "cold p50", "p95", "max", "read KiB", "× floor", "KB",
                "target"):
        table.add_column(col, justify="right" if col not in ("", "page") else "left")
    for r in results:
        cold = r.get("cold") or {}
        ok = r["p95_ms"] <= TARGET_P95_MS and cold.get("p95_ms", 0) <= TARGET_P95_MS
        table.add_row(r["kind"], r["page"], f"{r['p50_ms']:,.1f}", f"{r['p95_ms']:,.1f}", f"{r['max_ms']:,.1f}",
                      *(f"{cold[k]:,.1f}" if cold else "-" for k in ("p50_ms", "p95_ms", "max_ms")),
                      f"{cold['read_kib']:,.0f}" if cold else "-",
                      f"{r['p50_ms'] / floor:,.1f}", f"{r['bytes'] / 1024:,.1f}", "met" if ok else "NOT met")
    console.print(table)
    met = worst <= TARGET_P95_MS and (worst_cold is None or worst_cold <= TARGET_P95_MS)
    console.print(f"slowest page p95 {worst:,.1f} ms warm, "
                  + (f"{worst_cold:,.1f} ms cold" if worst_cold is not None else "cold not measured")
                  + f" (target < {TARGET_P95_MS:,.0f} ms: {'met' if met else 'NOT met'})")
    print(orjson.dumps({"bench": "console", "date": datetime.now(UTC).isoformat(timespec="seconds"),
                        "orders": sample["orders"], "requests": args.requests, "cold_rounds": args.cold,
                        "floor_p50_ms": floor, "slowest_p95_ms": worst, "slowest_cold_p95_ms": worst_cold,
                        "target_p95_ms": TARGET_P95_MS, "met": met, "data_reused": facts.get("reused"),
                        "pages": results}).decode())
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Slow, large webhook bodies against `orderhub serve`, beside an unbounded receiver, in one run.

    PYTHONPATH=src .venv/bin/python bench/slow_bodies.py                 # 200 and 1,000 connections
    PYTHONPATH=src .venv/bin/python bench/slow_bodies.py --counts 200 --hold 10

The attack of the security finding: N connections to ``/webhooks/shopify`` that name a real
shop, declare 5 MiB, send all of it but the last byte as fast as the server takes it, and
hold the connection open for ``--hold`` seconds; then they close. Meanwhile ``/healthz`` is
asked every 0.25 s and the server's RSS read from /proc every 0.1 s.

Each run gets a fresh server process on loopback (SQLite, ``--no-worker``):

* **orderhub** - ``orderhub serve`` with its default settings (body budget, deadlines, caps);
* **orderhub idle** - the same server with no attack: the floor;
* **unbounded** - a bare uvicorn app with the receiver's body reading as it was before the
  doors were bounded (read up to 5 MiB into a list of chunks, then join; no deadline, no
  budget): the ceiling, so the comparison is in the same run on the same machine.

Reports per run the server's RSS peak (VmHWM), its RSS after the connections closed, the
/healthz latency during the attack, and what the attacking connections were answered; ends
with one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import orjson

from orderhub.testing.postgres import free_port

SHOP = "bench-shop.myshopify.com"
DECLARED = 5 * 1024 * 1024
CHUNK = b"x" * 65536


def _proc_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


# -- the servers ---------------------------------------------------------------------------------------------

def _unbounded_app() -> Any:
    """The receiver's body reading before this change, with nothing else: the ceiling."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    async def read_body(request: Request, limit: int) -> bytes:
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise ValueError
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise ValueError
            chunks.append(chunk)
        return b"".join(chunks)

    async def webhook(request: Request) -> Response:
        body = await read_body(request, DECLARED)
        return JSONResponse({"status": "read", "bytes": len(body)})

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    return Starlette(routes=[Route("/webhooks/shopify", webhook, methods=["POST"]),
                             Route("/healthz", healthz)])


def _wait_healthy(proc: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
        if proc.poll() is not None:
            break
    proc.kill()
    raise SystemExit(f"the server did not start; see {log}:\n{log.read_text()[-2000:]}")


def _start(kind: str, work: Path, port: int) -> subprocess.Popen[bytes]:
    log = work / f"{kind}-{port}.log"
    env = dict(os.environ, ORDERHUB_LOG_LEVEL="WARNING")
    if kind == "unbounded":
        cmd = [sys.executable, __file__, "--serve-unbounded", str(port)]
    else:
        cmd = [sys.executable, "-m", "orderhub.entrypoints.cli", "serve", "--no-worker", "--port", str(port),
               "--db", f"sqlite:///{work / 'bench.db'}"]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
    _wait_healthy(proc, port, log)
    return proc


def _prepare_db(work: Path) -> None:
    from orderhub.adapters.store import migrate, shops
    from orderhub.bootstrap import build
    from orderhub.config import Settings

    hub = build(Settings(database_url=f"sqlite:///{work / 'bench.db'}"))
    try:
        migrate.upgrade(hub.db)
        with hub.db.write() as conn:
            shops.add(conn, SHOP, "bench-secret")
    finally:
        hub.close()


# -- the attack ----------------------------------------------------------------------------------------------

def _head(n: int) -> bytes:
    return (f"POST /webhooks/shopify HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {DECLARED}\r\nX-Shopify-Topic: orders/create\r\nX-Shopify-Shop-Domain: {SHOP}\r\n"
            f"X-Shopify-Hmac-Sha256: bm90LWEtc2lnbmF0dXJl\r\nX-Shopify-Webhook-Id: slow-{n}\r\n\r\n").encode()


async def _slow_connection(port: int, n: int, until: float, outcomes: dict[str, int]) -> None:
    """Declare 5 MiB, send all but the last byte as fast as the server reads, hold until ``until``."""
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        outcomes["connect failed"] = outcomes.get("connect failed", 0) + 1
        return
    answer = asyncio.ensure_future(reader.read(256))
    reset = False
    try:
        writer.write(_head(n))
        left = DECLARED - 1
        while left > 0 and not answer.done():
            piece = CHUNK if left >= len(CHUNK) else CHUNK[:left]
            writer.write(piece)
            left -= len(piece)
            await writer.drain()
    except (ConnectionError, OSError):
        reset = True  # the server closed while bytes were still coming: its answer may be lost
    await asyncio.wait([answer], timeout=max(0.5, until - time.monotonic()))
    outcome = "held open"
    if answer.done() and not answer.cancelled() and answer.exception() is None and answer.result():
        outcome = f"answered {answer.result().split(b' ', 2)[1].decode(errors='replace')}"
    elif answer.done() or reset:
        outcome = "closed by server"
    answer.cancel()
    outcomes[outcome] = outcomes.get(outcome, 0) + 1
    writer.close()


async def _probe(port: int, until: float, latencies: list[float], statuses: list[int]) -> None:
    async with httpx.AsyncClient(timeout=30) as client:
        while time.monotonic() < until:
            started = time.perf_counter()
            try:
                status = (await client.get(f"http://127.0.0.1:{port}/healthz")).status_code
            except httpx.HTTPError:
                status = 0
            latencies.append((time.perf_counter() - started) * 1000)
            statuses.append(status)
            await asyncio.sleep(0.25)


async def _sample(pid: int, until: float, rss: list[int]) -> None:
    while time.monotonic() < until:
        rss.append(_proc_kib(pid, "VmRSS"))
        await asyncio.sleep(0.1)


async def _attack(port: int, pid: int, count: int, hold: float) -> dict[str, Any]:
    until = time.monotonic() + hold
    outcomes: dict[str, int] = {}
    latencies: list[float] = []
    statuses: list[int] = []
    rss: list[int] = []
    conns = [asyncio.ensure_future(_slow_connection(port, n, until, outcomes)) for n in range(count)]
    await asyncio.gather(_probe(port, until, latencies, statuses), _sample(pid, until, rss), *conns)
    latencies.sort()
    return {"outcomes": outcomes, "healthz_ok": sum(s == 200 for s in statuses), "healthz_asked": len(statuses),
            "healthz_p50_ms": round(statistics.median(latencies), 1) if latencies else None,
            "healthz_p95_ms": round(latencies[int(0.95 * (len(latencies) - 1))], 1) if latencies else None,
            "healthz_max_ms": round(latencies[-1], 1) if latencies else None}


def run(kind: str, count: int, hold: float, settle: float, work: Path) -> dict[str, Any]:
    port = free_port()
    proc = _start("unbounded" if kind == "unbounded" else "orderhub", work, port)
    try:
        time.sleep(1)
        idle = _proc_kib(proc.pid, "VmRSS")
        figures = asyncio.run(_attack(port, proc.pid, count, hold))
        time.sleep(settle)  # the connections are closed: what does the server give back?
        after = _proc_kib(proc.pid, "VmRSS")
        peak = _proc_kib(proc.pid, "VmHWM")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    mib = 1024
    return {"server": kind, "connections": count, "rss_idle_mib": round(idle / mib, 1),
            "rss_peak_mib": round(peak / mib, 1), "rss_after_mib": round(after / mib, 1), **figures}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--counts", default="200,1000", help="attacking connections per run, comma-separated")
    ap.add_argument("--unbounded-counts", default="200", help="runs against the unbounded ceiling (5 MiB each!)")
    ap.add_argument("--hold", type=float, default=15.0, help="seconds the connections stay open")
    ap.add_argument("--settle", type=float, default=3.0, help="seconds after closing before RSS is read")
    ap.add_argument("--serve-unbounded", type=int, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.serve_unbounded is not None:
        import uvicorn

        uvicorn.run(_unbounded_app(), host="127.0.0.1", port=args.serve_unbounded, log_level="warning",
                    access_log=False)
        return 0
    work = Path(tempfile.mkdtemp(prefix="orderhub-bench-slow-"))
    results = []
    try:
        _prepare_db(work)
        plan = [("orderhub idle", 0)]
        plan += [("orderhub", int(c)) for c in args.counts.split(",") if c]
        plan += [("unbounded", int(c)) for c in args.unbounded_counts.split(",") if c]
        for kind, count in plan:
            result = run(kind, count, args.hold, args.settle, work)
            results.append(result)
            print(f"{kind:>14} {count:>5} conns: RSS idle {result['rss_idle_mib']:>7.1f} MiB, "
                  f"peak {result['rss_peak_mib']:>7.1f} MiB, after {result['rss_after_mib']:>7.1f} MiB; "
                  f"/healthz {result['healthz_ok']}/{result['healthz_asked']} ok, "
                  f"p50 {result['healthz_p50_ms']} ms, p95 {result['healthz_p95_ms']} ms, "
                  f"max {result['healthz_max_ms']} ms; "
                  f"connections {result['outcomes']}", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(orjson.dumps({"bench": "slow_bodies", "declared_bytes": DECLARED, "hold_seconds": args.hold,
                        "runs": results}).decode())
    return 0


if __name__ == "__main__":
    sys.exit(main())

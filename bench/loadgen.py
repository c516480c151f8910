"""An HTTP/1.1 load generator for signed webhooks: asyncio + uvloop, raw keep-alive sockets.

Why not wrk: every request must be a different order with its own HMAC, which wrk
would have to compute in Lua per request. Here the requests are built before the
clock starts (see :func:`build_pool`) and the hot loop only writes pre-built bytes
and parses status lines, on protocol callbacks (no task per request).

Two modes:

* **closed loop** - C connections, each sends its next request as soon as the
  previous answer arrives: the peak throughput the server sustains at concurrency C.
* **open loop** - requests are *scheduled* at a fixed rate R whatever the server
  does; a request waits for a free connection if all C are busy. Latency is
  measured from the scheduled send time, not the actual one, so a server that
  stalls is charged for every request it delayed (no coordinated omission).

Timer granularity: libuv timers tick in whole milliseconds, so a scheduled request
may leave up to ~1 ms late; that lag is inside the reported open-loop latency.

Run as a process (``python bench/loadgen.py --plan ...``); bench/ingest.py does.
Results go to ``--out`` as JSON; the HTTP status of every request, by pool index,
goes to ``--statuses`` (uint16 per index; 0 = not sent, 1 = sent but unanswered).
"""

from __future__ import annotations

import argparse
import array
import asyncio
import multiprocessing as mp
import os
import struct
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
import payloads

UNANSWERED = 1
_MAGIC = b"OHBPOOL1"

# -- the request pool --------------------------------------------------------------------------


def _build_chunk(args: tuple[str, int, int, int, int]) -> tuple[int, bytes, bytes]:
    host, port, tag, start, stop = args
    target = payloads.Target(host, port)
    reqs = [payloads.request_bytes(target, tag, n) for n in range(start, stop)]
    offsets = array.array("Q", [0])
    for r in reqs:
        offsets.append(offsets[-1] + len(r))
    return start, offsets.tobytes(), b"".join(reqs)


def build_pool(path: Path, *, host: str, port: int, tag: int, count: int, procs: int = 2) -> float:
    """Write ``count`` pre-built signed requests to ``path``. Returns seconds taken."""
    started = time.perf_counter()
    step = 5000
    chunks = [(host, port, tag, s, min(count, s + step)) for s in range(0, count, step)]
    with mp.get_context("fork").Pool(procs) as pool:
        parts = sorted(pool.map(_build_chunk, chunks))
    offsets = array.array("Q", [0])
    for _, offs, _blob in parts:
        a = array.array("Q")
        a.frombytes(offs)
        base = offsets[-1]
        offsets.extend(base + o for o in a[1:])
    with open(path, "wb") as f:
        f.write(_MAGIC + struct.pack("<QQ", tag, count))
        f.write(offsets.tobytes())
        for _, _offs, blob in parts:
            f.write(blob)
    return time.perf_counter() - started


def load_pool(path: Path) -> tuple[int, list[bytes]]:
    data = Path(path).read_bytes()
    if data[:8] != _MAGIC:
        raise SystemExit(f"{path} is not a request pool written by build_pool")
    tag, count = struct.unpack_from("<QQ", data, 8)
    head = 24
    offsets = array.array("Q")
    offsets.frombytes(data[head:head + 8 * (count + 1)])
    base = head + 8 * (count + 1)
    view = memoryview(data)
    return tag, [bytes(view[base + offsets[i]:base + offsets[i + 1]]) for i in range(count)]


# -- connections ---------------------------------------------------------------------------------


class Conn(asyncio.Protocol):
    """One keep-alive connection with at most one request in flight."""

    __slots__ = ("alive", "buf", "close_after", "d", "idx", "need", "status", "t_ref", "tr")

    def __init__(self, driver: Driver) -> None:
        self.d = driver
        self.tr: Any = None
        self.buf = b""
        self.need = -1
        self.status = 0
        self.close_after = False
        self.idx = -1  # pool index in flight, -1 when idle
        self.t_ref = 0.0  # latency reference: send time (closed) or scheduled time (open)
        self.alive = False

    def connection_made(self, transport: Any) -> None:
        self.tr = transport
        self.alive = True

    def data_received(self, data: bytes) -> None:
        buf = self.buf + data if self.buf else data
        while True:
            if self.need < 0:
                end = buf.find(b"\r\n\r\n")
                if end < 0:
                    break
                head = buf[:end].lower()
                try:
                    self.status = int(head[9:12])
                    p = head.index(b"\r\ncontent-length:")
                    q = head.find(b"\r\n", p + 2)
                    length = int(head[p + 17:q if q >= 0 else len(head)])
                except ValueError:  # no status or no content-length: we cannot frame the next answer
                    self.d.protocol_errors += 1
                    self.tr.close()
                    return
                self.close_after = b"\r\nconnection: close" in head
                self.need = end + 4 + length
            if len(buf) < self.need:
                break
            buf = buf[self.need:]
            self.need = -1
            self.d.on_response(self, self.status, time.perf_counter())
        self.buf = buf

    def connection_lost(self, exc: Exception | None) -> None:
        self.alive = False
        self.d.on_lost(self)

    def send(self, idx: int, req: bytes, t_ref: float) -> None:
        self.idx = idx
        self.t_ref = t_ref
        self.tr.write(req)


# -- phases ---------------------------------------------------------------------------------------


@dataclass
class Phase:
    name: str
    mode: str  # closed | open
    duration: float
    concurrency: int
    rate: float = 0.0  # open loop: requests per second (for the whole load generator)
    drain: float = 5.0  # open loop: how long to wait for stragglers after the last scheduled send
    wrap: bool = False  # reuse the pool from the start when it runs out (only for receivers that store nothing)


@dataclass
class ShardResult:
    latencies: array.array = field(default_factory=lambda: array.array("d"))
    counts: dict[int, int] = field(default_factory=dict)
    sent: int = 0
    completed: int = 0
    unanswered: int = 0  # sent, then the connection was lost before the answer
    cut_off: int = 0  # sent, still unanswered when the phase's drain time ran out
    unsent: int = 0  # scheduled, still queued when the phase's drain time ran out
    protocol_errors: int = 0
    reconnects: int = 0
    inline_built: int = 0
    started: float = 0.0
    first_answer: float = 0.0
    last_answer: float = 0.0
    cpu: float = 0.0
    max_index: int = -1
    window: float = 0.0  # seconds between the phase's first send and its end
    server_cpu: float = float("nan")  # CPU seconds the server used in that window (shard 0 only)
    machine_busy: float = float("nan")  # CPU seconds the whole machine was busy in that window (shard 0 only)


class Meter:
    """CPU of this process, of the server and of the whole machine over one window."""

    def __init__(self, server_pid: int | None) -> None:
        self.pid = server_pid
        self.t0 = time.perf_counter()
        self.cpu0 = time.process_time()
        self.srv0 = proc_cpu_seconds(server_pid) if server_pid else float("nan")
        self.busy0 = machine_busy_seconds()

    def stop(self, r: ShardResult) -> None:
        r.window = time.perf_counter() - self.t0
        r.cpu = time.process_time() - self.cpu0
        if self.pid:
            r.server_cpu = proc_cpu_seconds(self.pid) - self.srv0
            r.machine_busy = machine_busy_seconds() - self.busy0


class Driver:
    """Runs one phase on one shard: indexes base + shard + k * shards."""

    def __init__(self, pool: list[bytes], tag: int, host: str, port: int, statuses: array.array,
                 base: int, shard: int, shards: int, wrap: bool = False) -> None:
        self.pool = pool
        self.wrap = wrap
        self.tag = tag
        self.host = host
        self.port = port
        self.target = payloads.Target(host, port)
        self.statuses = statuses
        self.next_idx = base + shard
        self.stride = shards
        self.r = ShardResult()
        self.protocol_errors = 0
        self.conns: list[Conn] = []
        self.loop = asyncio.get_running_loop()
        self.done: asyncio.Future[None] = self.loop.create_future()
        self.accepting = True

    # request bytes --------------------------------------------------------------------------
    def take(self) -> tuple[int, bytes]:
        idx = self.next_idx
        self.next_idx += self.stride
        if idx < len(self.pool):
            req = self.pool[idx]
        elif self.wrap:
            req = self.pool[idx % len(self.pool)]
        else:  # pool exhausted: build on the fly (costs load-generator CPU; reported)
            req = payloads.request_bytes(self.target, self.tag, idx)
            self.r.inline_built += 1
        while idx >= len(self.statuses):
            self.statuses.extend(bytes(2 * 65536))
        self.r.sent += 1
        self.r.max_index = max(self.r.max_index, idx)
        return idx, req

    async def connect(self, n: int) -> None:
        for _ in range(n):
            _, conn = await self.loop.create_connection(lambda: Conn(self), self.host, self.port)
            self.conns.append(conn)

    def record(self, conn: Conn, status: int, now: float) -> None:
        self.r.latencies.append(now - conn.t_ref)
        self.statuses[conn.idx] = status
        self.r.counts[status] = self.r.counts.get(status, 0) + 1
        self.r.completed += 1
        if not self.r.first_answer:
            self.r.first_answer = now
        self.r.last_answer = now
        conn.idx = -1

    def on_response(self, conn: Conn, status: int, now: float) -> None:
        raise NotImplementedError

    def on_lost(self, conn: Conn) -> None:
        if conn.idx >= 0:
            self.statuses[conn.idx] = UNANSWERED
            self.r.unanswered += 1
            conn.idx = -1
        if self.accepting and not self.done.done():
            self.r.reconnects += 1
            self.loop.create_task(self._replace(conn))

    async def _replace(self, old: Conn) -> None:
        try:
            _, conn = await self.loop.create_connection(lambda: Conn(self), self.host, self.port)
        except OSError:
            await asyncio.sleep(0.05)
            if self.accepting:
                self.loop.create_task(self._replace(old))
            return
        self.conns[self.conns.index(old)] = conn
        self.on_idle(conn)

    def on_idle(self, conn: Conn) -> None:
        raise NotImplementedError

    def close(self) -> None:
        self.accepting = False
        for c in self.conns:
            if c.tr is not None:
                c.tr.close()


class ClosedDriver(Driver):
    async def run(self, phase: Phase, start_at: float, server_pid: int | None) -> ShardResult:
        await self.connect(phase.concurrency)
        await _sleep_until(start_at)
        meter = Meter(server_pid)
        self.deadline = time.perf_counter() + phase.duration
        self.r.started = time.perf_counter()
        for c in self.conns:
            self.on_idle(c)
        try:
            await asyncio.wait_for(asyncio.shield(self.done), phase.duration + 30)
        except TimeoutError:
            pass
        meter.stop(self.r)
        self.close()
        return self.r

    def on_idle(self, conn: Conn) -> None:
        if time.perf_counter() < self.deadline and conn.alive:
            idx, req = self.take()
            conn.send(idx, req, time.perf_counter())
        elif all(c.idx < 0 for c in self.conns) and not self.done.done():
            self.done.set_result(None)

    def on_response(self, conn: Conn, status: int, now: float) -> None:
        self.record(conn, status, now)
        if conn.close_after:
            conn.tr.close()  # on_lost opens a replacement
            return
        self.on_idle(conn)


class OpenDriver(Driver):
    async def run(self, phase: Phase, start_at: float, rate: float, offset: float,
                  server_pid: int | None) -> ShardResult:
        await self.connect(phase.concurrency)
        self.idle: list[Conn] = list(self.conns)
        self.backlog: deque[tuple[int, bytes, float]] = deque()
        self.interval = 1.0 / rate
        self.total = int(rate * phase.duration)
        self.k = 0
        await _sleep_until(start_at)
        meter = Meter(server_pid)
        self.t0 = time.perf_counter() + offset  # shards interleave their schedules
        self.r.started = self.t0
        self.tick()
        try:
            await asyncio.wait_for(asyncio.shield(self.done), phase.duration + phase.drain)
        except TimeoutError:
            pass
        now = time.perf_counter()
        self.accepting = False
        # Whatever is left is charged at least the time it has waited so far.
        for idx, _req, sched in self.backlog:
            self.r.latencies.append(now - sched)
            self.r.unsent += 1
        for c in self.conns:
            if c.idx >= 0:  # still being served at the cut-off: not an error, but not answered either
                self.r.latencies.append(now - c.t_ref)
                self.statuses[c.idx] = UNANSWERED
                self.r.cut_off += 1
                c.idx = -1
        meter.stop(self.r)
        self.close()
        return self.r

    def tick(self) -> None:
        now = time.perf_counter()
        while self.k < self.total:
            sched = self.t0 + self.k * self.interval
            if sched > now:
                break
            self.k += 1
            idx, req = self.take()
            if self.idle:
                self.idle.pop().send(idx, req, sched)
            else:
                self.backlog.append((idx, req, sched))
        if self.k < self.total:
            self.loop.call_later(max(0.0, self.t0 + self.k * self.interval - time.perf_counter()), self.tick)
        else:
            self._maybe_done()

    def _maybe_done(self) -> None:
        if self.k >= self.total and not self.backlog and len(self.idle) == len(self.conns) \
                and not self.done.done():
            self.done.set_result(None)

    def on_idle(self, conn: Conn) -> None:
        if self.backlog:
            idx, req, sched = self.backlog.popleft()
            conn.send(idx, req, sched)
        else:
            self.idle.append(conn)
            self._maybe_done()

    def on_response(self, conn: Conn, status: int, now: float) -> None:
        self.record(conn, status, now)
        if conn.close_after:
            conn.tr.close()
            return
        self.on_idle(conn)

    def on_lost(self, conn: Conn) -> None:
        if conn in self.idle:
            self.idle.remove(conn)
        super().on_lost(conn)


async def _sleep_until(when_wall: float) -> None:
    delay = when_wall - time.time()
    if delay > 0:
        await asyncio.sleep(delay)


def run_shard(pool: list[bytes], tag: int, host: str, port: int, statuses: array.array, phase: Phase,
              base: int, shard: int, shards: int, start_at: float, server_pid: int | None = None) -> ShardResult:
    import uvloop

    async def main() -> ShardResult:
        if phase.mode == "closed":
            d = ClosedDriver(pool, tag, host, port, statuses, base, shard, shards, phase.wrap)
            res = await d.run(phase, start_at, server_pid)
        else:
            d2 = OpenDriver(pool, tag, host, port, statuses, base, shard, shards, phase.wrap)
            res = await d2.run(phase, start_at, phase.rate / shards, shard / phase.rate, server_pid)
            d = d2
        res.protocol_errors = d.protocol_errors
        return res

    return uvloop.run(main())


# -- summaries ------------------------------------------------------------------------------------


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    k = min(len(sorted_values) - 1, max(0, round(q / 100 * len(sorted_values) + 0.5) - 1))
    return sorted_values[k]


def _own_cpu_seconds(pid: int) -> float:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return float("nan")
    fields = text[text.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return found


def proc_cpu_seconds(pid: int) -> float:
    """utime + stime of a whole process (all threads) and of its live children (``serve --workers``: the
    server processes), from /proc."""
    total = _own_cpu_seconds(pid)
    for child in _children(pid):
        used = _own_cpu_seconds(child)
        if used == used:  # not NaN: it was still there
            total += used
    return total


def machine_busy_seconds() -> float:
    """CPU seconds all cores spent busy (not idle or iowait) since boot, from /proc/stat."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except OSError:
        return float("nan")
    user, nice, system, _idle, _iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    busy = user + nice + system + irq + softirq + steal
    return busy / os.sysconf("SC_CLK_TCK")


def summarise(phase: Phase, shards: list[ShardResult], base: int, next_base: int) -> dict[str, Any]:
    lat = sorted(x for s in shards for x in s.latencies)
    counts: dict[int, int] = {}
    for s in shards:
        for k, v in s.counts.items():
            counts[k] = counts.get(k, 0) + v
    completed = sum(s.completed for s in shards)
    first = min((s.first_answer for s in shards if s.first_answer), default=0.0)
    started = min((s.started for s in shards if s.started), default=0.0)
    last = max((s.last_answer for s in shards), default=0.0)
    wall = shards[0].window
    server_cpu = shards[0].server_cpu
    machine_busy = shards[0].machine_busy
    elapsed = (last - started) if last and started else wall
    ok = counts.get(200, 0)
    out = {
        "name": phase.name, "mode": phase.mode, "concurrency": phase.concurrency, "shards": len(shards),
        "duration": phase.duration, "rate_target": phase.rate if phase.mode == "open" else None,
        "sent": sum(s.sent for s in shards), "completed": completed, "ok": ok,
        "status_counts": {str(k): v for k, v in sorted(counts.items())},
        # Answers other than 200, and requests sent but never answered (connection lost or timed out).
        "errors": completed - ok + sum(s.unanswered + s.protocol_errors for s in shards),
        "unanswered": sum(s.unanswered for s in shards), "unsent": sum(s.unsent for s in shards),
        "cut_off": sum(s.cut_off for s in shards),
        "protocol_errors": sum(s.protocol_errors for s in shards),
        "reconnects": sum(s.reconnects for s in shards),
        "inline_built": sum(s.inline_built for s in shards),
        "elapsed": elapsed, "rps": completed / elapsed if elapsed > 0 else 0.0,
        "ok_rps": ok / elapsed if elapsed > 0 else 0.0,
        "p50_ms": percentile(lat, 50) * 1e3, "p90_ms": percentile(lat, 90) * 1e3,
        "p99_ms": percentile(lat, 99) * 1e3, "p999_ms": percentile(lat, 99.9) * 1e3,
        "max_ms": (lat[-1] * 1e3) if lat else float("nan"),
        "loadgen_cpu_pct": 100 * sum(s.cpu for s in shards) / wall / len(shards) if wall else 0.0,
        "server_cpu_pct": 100 * server_cpu / wall if wall else float("nan"),
        "server_cpu_us_per_request": 1e6 * server_cpu / completed if completed else float("nan"),
        # Everything else the machine did meanwhile (other processes), in % of one core.
        # (approximate: /proc tick accounting; clamped at 0)
        "other_cpu_pct": max(0.0, 100 * (machine_busy - server_cpu - sum(s.cpu for s in shards)) / wall)
        if wall else 0.0,
        "first_index": base, "next_index": next_base,
        "time_to_first_answer_ms": (first - started) * 1e3 if first and started else None,
    }
    return out


# -- the plan runner ----------------------------------------------------------------------------


def _child(conn: Any, pool: list[bytes], tag: int, host: str, port: int, shard: int, shards: int,
           capacity: int) -> None:
    statuses = array.array("H", bytes(2 * capacity))
    while True:
        msg = conn.recv()
        if msg is None:
            conn.send(statuses.tobytes())
            return
        phase, base, start_at = msg
        res = run_shard(pool, tag, host, port, statuses, phase, base, shard, shards, start_at)
        conn.send(res)


def run_plan(pool_path: Path, host: str, port: int, plan: list[dict[str, Any]], *, shards: int = 1,
             server_pid: int | None = None, first_index: int = 0, cpus: set[int] | None = None
             ) -> tuple[list[dict[str, Any]], array.array]:
    """Run phases in order. A phase's ``rate`` may be ``"half:NAME"``: half the rps of phase NAME."""
    if cpus:
        os.sched_setaffinity(0, cpus)
    tag, pool = load_pool(pool_path)
    capacity = len(pool) + 65536
    statuses = array.array("H", bytes(2 * capacity))
    children = []
    ctx = mp.get_context("fork")
    for shard in range(1, shards):
        parent_end, child_end = ctx.Pipe()
        p = ctx.Process(target=_child, args=(child_end, pool, tag, host, port, shard, shards, capacity),
                        daemon=True)
        p.start()
        children.append((p, parent_end))
    results: list[dict[str, Any]] = []
    by_name: dict[str, dict[str, Any]] = {}
    base = first_index
    try:
        for spec in plan:
            spec = dict(spec)
            rate = spec.get("rate", 0.0)
            if isinstance(rate, str) and rate.startswith("half:"):
                spec["rate"] = by_name[rate[5:]]["ok_rps"] / 2
            phase = Phase(**{k: v for k, v in spec.items() if k in Phase.__dataclass_fields__})
            per_shard = max(1, phase.concurrency // shards)
            shard_phase = Phase(**{**phase.__dict__, "concurrency": per_shard})
            start_at = time.time() + 0.3
            for _, pipe in children:
                pipe.send((shard_phase, base, start_at))
            mine = run_shard(pool, tag, host, port, statuses, shard_phase, base, 0, shards, start_at, server_pid)
            rs = [mine] + [pipe.recv() for _, pipe in children]
            next_base = max(r.max_index for r in rs) + 1
            next_base = max(next_base, base)
            summary = summarise(phase, rs, base, next_base)
            summary["rate_target"] = phase.rate if phase.mode == "open" else None
            results.append(summary)
            by_name[phase.name] = summary
            base = next_base
            print(orjson.dumps({"phase": summary["name"], "rps": round(summary["rps"]),
                                "p99_ms": round(summary["p99_ms"], 2), "errors": summary["errors"]}).decode(),
                  file=sys.stderr, flush=True)
    finally:
        for p, pipe in children:
            pipe.send(None)
            other = array.array("H")
            other.frombytes(pipe.recv())
            for i, v in enumerate(other):
                if v and i < len(statuses):
                    statuses[i] = v
            p.join(timeout=5)
    return results, statuses


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pool", type=Path, required=True, help="request pool written by build_pool")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--plan", required=True, help="JSON list of phases (name, mode, duration, concurrency, rate)")
    ap.add_argument("--shards", type=int, default=1, help="load-generator processes")
    ap.add_argument("--server-pid", type=int, default=None, help="measure this process's CPU per phase")
    ap.add_argument("--cpus", default="", help="pin the load generator to these CPUs, e.g. 1 or 0,1")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--statuses", type=Path, default=None)
    args = ap.parse_args(argv)
    results, statuses = run_plan(args.pool, args.host, args.port, orjson.loads(args.plan), shards=args.shards,
                                 server_pid=args.server_pid,
                                 cpus={int(c) for c in args.cpus.split(",") if c.strip()})
    args.out.write_bytes(orjson.dumps(results))
    if args.statuses:
        args.statuses.write_bytes(statuses.tobytes())


if __name__ == "__main__":
    main()

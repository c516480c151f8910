"""Scale-out on PostgreSQL: two receivers and three workers, real processes over real HTTP.

One stream of signed Shopify webhooks is split across two ``orderhub serve
--no-worker`` processes while three ``orderhub worker`` processes share the
inbox, the outbox and the rate limits through the database. Nothing may be
stored twice, applied twice or sent twice, and each destination's rate must
hold in total across the workers.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import orjson
import pytest
from sqlalchemy import func, select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from orderhub.adapters.fields import parse_time
from orderhub.adapters.store.db import Database
from orderhub.adapters.store.schema import (
    deliveries,
    error_log,
    inbox,
    order_events,
    orders,
)
from orderhub.services.process import event_id
from orderhub.testing.server import ServerThread
from tests.processes import Processes, running, wait_for
from tests.support import BIG_ID, SECRET, SHOP, Webhook, order_payload, webhook_headers

pytestmark = pytest.mark.slow

SINK_SECRET = "sink-secret-✓"
# Below what three workers manage on a small machine, so the limits are what paces the run.
STORE_RATE, STORE_BURST = 40.0, 10.0
SINK_RATE, SINK_BURST = 25.0, 5.0
# A worker takes tokens, then applies or sends the records they cover, one after another: each effect
# lands a little after its token was granted (the claim, earlier records of the batch, a process waiting
# for the CPU). The shared bucket bounds the grants exactly; times taken at the effect (processed_at,
# arrival at the sink) obey it only up to rate x that delay, which reached 0.25 s on a loaded two-CPU
# machine. A limiter that is not shared, or runs fast by a few percent, still fails by far more.
GRANT_TO_EFFECT_SECONDS = 0.5
N_ORDERS = 300
FIRST_VERSION = "2026-11-23T10:00:00-05:00"
SECOND_VERSION = "2026-11-23T11:30:00-05:00"


class Sink:
    """The external system behind the HTTP destination: checks signatures, records arrivals."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.arrivals: list[tuple[float, str]] = []  # (monotonic time, X-Orderhub-Event-Id)
        self.rejected: list[str] = []

    async def events(self, request: Request) -> Response:
        at = time.monotonic()
        body = await request.body()
        expected = "sha256=" + hmac.new(SINK_SECRET.encode(), body, hashlib.sha256).hexdigest()
        event = request.headers.get("x-orderhub-event-id", "")
        problem = None
        if not hmac.compare_digest(expected, request.headers.get("x-orderhub-signature", "")):
            problem = "bad signature"
        elif orjson.loads(body).get("id") != event:
            problem = "body id differs from X-Orderhub-Event-Id"
        with self.lock:
            if problem:
                self.rejected.append(f"{event}: {problem}")
            else:
                self.arrivals.append((at, event))
        return Response(problem or "{}", status_code=401 if problem else 200)

    def count(self) -> int:
        with self.lock:
            return len(self.arrivals)


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Processes]:
    yield from running(tmp_path)


@pytest.fixture
def sink() -> Iterator[tuple[Sink, str]]:
    s = Sink()
    with ServerThread(Starlette(routes=[Route("/events", s.events, methods=["POST"])])) as server:
        yield s, f"{server.url}/events"


def make_webhook(topic: str, order_id: int, updated_at: str, **changes: object) -> Webhook:
    body = orjson.dumps(order_payload(order_id, updated_at=updated_at, **changes))
    return Webhook(topic, body, str(uuid.uuid4()), order_id, updated_at)


def webhook_stream() -> tuple[list[Webhook], list[Webhook]]:
    """Two waves: every order's first version with re-deliveries and the same version under another
    topic, then second versions of some orders, again with re-deliveries."""
    ids = [BIG_ID + i * 1000 for i in range(N_ORDERS)]
    first = [make_webhook("orders/create", oid, FIRST_VERSION) for oid in ids]
    redelivered = first[::10]                                                   # same webhook id, same body
    same_version = [make_webhook("orders/paid", w.order_id, FIRST_VERSION) for w in first[5::25]]
    second = [make_webhook("orders/updated", oid, SECOND_VERSION, note="second version") for oid in ids[::5]]
    wave1 = interleave(first, redelivered + same_version)
    wave2 = interleave(second, second[::4])
    return wave1, wave2


def interleave(main: Sequence[Webhook], extra: Sequence[Webhook]) -> list[Webhook]:
    """Spread ``extra`` through the second half of ``main`` (redeliveries come after the original)."""
    out = list(main)
    step = max(1, len(main) // (2 * max(1, len(extra))))
    for k, w in enumerate(extra):
        out.insert(min(len(out), len(main) // 2 + k * (step + 1)), w)
    return out


def send_all(webhooks: Sequence[Webhook], urls: Sequence[str], threads: int = 8) -> list[httpx.Response]:
    """Send concurrently; the i-th webhook goes to server i mod len(urls), so a redelivery often
    reaches the other server than the original did."""
    local = threading.local()
    clients: list[httpx.Client] = []
    clients_lock = threading.Lock()

    def post(i: int) -> httpx.Response:
        client = getattr(local, "client", None)
        if client is None:
            client = local.client = httpx.Client(timeout=30.0)
            with clients_lock:
                clients.append(client)
        w = webhooks[i]
        headers = webhook_headers(w.topic, w.body, shop=SHOP, secret=SECRET, webhook_id=w.webhook_id)
        return client.post(f"{urls[i % len(urls)]}/webhooks/shopify", content=w.body, headers=headers)

    try:
        with ThreadPoolExecutor(threads) as pool:
            return list(pool.map(post, range(len(webhooks))))
    finally:
        for c in clients:
            c.close()


def max_excess(times: Sequence[float], rate: float, burst: float) -> tuple[float, int, int]:
    """Largest ``count - (burst + rate * w)`` over every window [t_i, t_j] of the sorted times.

    Returns (excess, i, j) for the worst window; a token bucket of ``rate`` and ``burst``
    keeps the excess at or below 0.
    """
    ts = sorted(times)
    best, best_i, best_j = float("-inf"), 0, 0
    low, low_i = float("inf"), 0  # min over i of (i - rate * t_i)
    for j, t in enumerate(ts):
        if j - rate * t < low:
            low, low_i = j - rate * t, j
        excess = (j - rate * t) - low + 1 - burst
        if excess > best:
            best, best_i, best_j = excess, low_i, j
    return best, best_i, best_j


def describe_window(times: Sequence[float], i: int, j: int, rate: float, burst: float) -> str:
    ts = sorted(times)
    w = ts[j] - ts[i]
    return (f"{j - i + 1} in {w:.3f}s (allowed {burst:g} + {rate:g}/s x {w:.3f}s = {burst + rate * w:.1f}); "
            f"{len(ts)} over {ts[-1] - ts[0]:.2f}s in all")


def test_two_servers_three_workers_share_one_postgresql(processes: Processes, pg_server,
                                                         tmp_path: Path, sink: tuple[Sink, str]) -> None:
    receiver, sink_url = sink
    if pg_server is None:
        pytest.skip("PostgreSQL server programs not installed (the README's test command installs them)")
    url = pg_server.create_database(f"scale_{uuid.uuid4().hex[:10]}")  # empty: `orderhub migrate` builds it
    processes.database_url = url
    processes.cli("migrate")
    processes.cli("shop", "add", SHOP, "--secret", SECRET)
    processes.cli("destination", "add", "sink", "--url", sink_url, "--secret", SINK_SECRET,
                  "--rate", str(SINK_RATE), "--burst", str(SINK_BURST), "--backoff-base", "0.2",
                  "--backoff-max", "1")
    processes.cli("destination", "set", "store", "--rate", str(STORE_RATE), "--burst", str(STORE_BURST))

    servers = [processes.serve(workers=2), processes.serve()]  # three server processes on two ports
    workers = [processes.worker() for _ in range(3)]
    urls = [s.url for s in servers]
    wave1, wave2 = webhook_stream()

    responses = send_all(wave1, urls) + send_all(wave2, urls)
    sent = wave1 + wave2
    bad = [(w.topic, w.webhook_id, r.status_code, r.text) for w, r in zip(sent, responses) if r.status_code != 200]
    assert not bad, f"{len(bad)} webhooks not acknowledged, e.g. {bad[:3]}\n{processes.report()}"

    identities = {(w.order_id, w.updated_at) for w in sent}
    latest: dict[int, str] = {}
    for w in sent:  # both versions have the same UTC offset, so text order is time order
        latest[w.order_id] = max(latest.get(w.order_id, w.updated_at), w.updated_at)
    # The doors store every delivery; a redelivery (its webhook id again), like the same version under another
    # topic, is the workers' to find: they derive the content identity.
    assert len({w.webhook_id for w in sent}) < len(sent)  # the stream does redeliver
    accepted = Counter(r.json()["status"] for r in responses)
    assert accepted == {"accepted": len(sent)}, accepted

    db = Database(url)
    try:
        def settled() -> bool:
            processes.check(*servers, *workers)
            with db.read() as conn:
                pending = conn.execute(select(func.count()).select_from(inbox).where(
                    inbox.c.status == "pending")).scalar_one()
                outbox = conn.execute(select(func.count()).select_from(deliveries).where(
                    deliveries.c.status.in_(("pending", "sending")))).scalar_one()
                total = conn.execute(select(func.count()).select_from(deliveries)).scalar_one()
            return pending == 0 and outbox == 0 and receiver.count() >= total

        def progress() -> str:
            with db.read() as conn:
                by_status = dict(conn.execute(select(inbox.c.status, func.count()).group_by(inbox.c.status)).all())
                out = dict(conn.execute(select(deliveries.c.status, func.count())
                                        .group_by(deliveries.c.status)).all())
            return (f"inbox {by_status}, deliveries {out}, sink got {receiver.count()}, "
                    f"rejected {receiver.rejected[:3]}\n{processes.report()}")

        wait_for(settled, timeout=45, interval=0.1, what="inbox drained and every delivery received",
                 describe=progress)

        with db.read() as conn:
            rows = conn.execute(select(inbox.c.id, inbox.c.shop_id, inbox.c.identity, inbox.c.status,
                                       inbox.c.outcome, inbox.c.processed_at)).all()
            timeline = Counter(r.inbox_id for r in conn.execute(  # inbound events; OMS entries have none
                select(order_events.c.inbox_id).where(order_events.c.inbox_id.is_not(None))))
            stored = {r.shopify_id: r for r in conn.execute(select(orders.c.shopify_id, orders.c.source_updated_at))}
            outbox = conn.execute(select(deliveries.c.inbox_id, deliveries.c.event_id, deliveries.c.status,
                                         deliveries.c.attempts)).all()
            errors = conn.execute(select(error_log.c.kind, error_log.c.error)).all()
    finally:
        db.dispose()

    # Held once: one inbox record per distinct order version, however many times and ways it came; the
    # other deliveries of a version are finished as duplicates, without an identity of their own.
    assert len(rows) == len(sent)
    kept = [r for r in rows if r.outcome != "duplicate"]
    assert len(kept) == len(identities)
    assert len({r.identity for r in kept}) == len(kept)
    assert {r.identity for r in rows if r.outcome == "duplicate"} == {None}
    # Applied once: every record done, with exactly one timeline row each.
    assert Counter(r.status for r in rows) == {"done": len(rows)}, errors[:3]
    assert not errors, errors[:3]
    assert set(timeline) == {r.id for r in kept}
    assert {n for n in timeline.values()} == {1}, [i for i, n in timeline.items() if n != 1][:5]
    # Every order once, at its latest version.
    assert len(stored) == N_ORDERS
    wrong = [oid for oid, at in latest.items() if stored[str(oid)].source_updated_at != parse_time(at)]
    assert not wrong, f"{len(wrong)} orders not at their latest version, e.g. {wrong[:3]}"

    # One outbound event per applied record, sent once, with the canonical (deterministic) id.
    applied = {r.id: event_id(r.identity, r.shop_id) for r in rows if r.outcome == "applied"}
    assert {d.inbox_id: d.event_id for d in outbox} == applied
    assert all(d.status == "done" and d.attempts == 1 for d in outbox), \
        [d for d in outbox if d.status != "done" or d.attempts != 1][:3]
    assert not receiver.rejected, receiver.rejected[:3]
    got = Counter(e for _, e in receiver.arrivals)
    assert set(got) == set(applied.values())
    assert [e for e, n in got.items() if n > 1] == []

    # The rates held in total across the three workers: in any window of w seconds at most
    # burst + rate x (w + latency allowance) + 1 (rounding).
    sink_times = [t for t, _ in receiver.arrivals]
    store_times = [r.processed_at.timestamp() for r in rows]
    for what, times, rate, burst in (("sink", sink_times, SINK_RATE, SINK_BURST),
                                     ("store", store_times, STORE_RATE, STORE_BURST)):
        assert len(times) > 10 * burst  # long enough for the rate, not the burst, to dominate
        excess, i, j = max_excess(times, rate, burst)
        assert excess <= 1 + rate * GRANT_TO_EFFECT_SECONDS, \
            f"{what} rate exceeded by {excess:.1f}: " + describe_window(times, i, j, rate, burst)

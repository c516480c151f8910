"""Crash safety: SIGKILL the receiver and the worker under load, restart, and lose nothing.

Client threads send signed webhooks to a real ``orderhub serve --no-worker``
while a real ``orderhub worker`` processes them. Mid-stream both processes are
killed with SIGKILL (no shutdown code runs), then started again on the same
port; the clients keep going and retry whatever was not answered 200, as
Shopify does. Every webhook acknowledged with 200 must then be in the inbox
once and applied once; one that failed may or may not have been stored, but
never twice.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import orjson
import pytest
from sqlalchemy import func, select

from orderhub.adapters.fields import parse_time
from orderhub.adapters.store.db import Database
from orderhub.adapters.store.schema import error_log, inbox, order_events, orders
from tests.processes import Processes, running, wait_for
from tests.support import BIG_ID, SECRET, SHOP, Webhook, order_payload, webhook_headers

pytestmark = pytest.mark.slow

N_ORDERS = 800
CLIENTS = 4
WARM_UP = 5
# Smaller batches than the default 100: the worker commits often, so a kill lands inside one
# (and on SQLite its write transaction does not hold up the receiver for long).
WORKER_ENV = {"ORDERHUB_WORKER_BATCH_SIZE": "20"}
FIRST_VERSION = "2026-11-23T10:00:00-05:00"
SECOND_VERSION = "2026-11-23T11:30:00-05:00"


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Processes]:
    yield from running(tmp_path)


def make_webhooks() -> list[Webhook]:
    """Every order's first version, then second versions of some, with redeliveries spread through."""
    rng = random.Random(7)
    ids = [BIG_ID + i * 1000 for i in range(N_ORDERS)]
    first = [_webhook("orders/create", oid, FIRST_VERSION) for oid in ids]
    second = [_webhook("orders/updated", oid, SECOND_VERSION, note="second version") for oid in ids[::5]]
    stream = first + second
    for original in rng.sample(first[: N_ORDERS // 2], 20) + rng.sample(second, 10):
        # A deliberate redelivery: the same webhook (id and body) again, some time after the original.
        stream.insert(rng.randrange(stream.index(original) + 1, len(stream) + 1), original)
    return stream


def _webhook(topic: str, order_id: int, updated_at: str, **changes: object) -> Webhook:
    body = orjson.dumps(order_payload(order_id, updated_at=updated_at, **changes))
    return Webhook(topic, body, str(uuid.uuid4()), order_id, updated_at)


@dataclass
class Attempt:
    at: float
    status: int | None  # None: no HTTP answer (refused, reset, timed out)
    answer: str


@dataclass
class Stream:
    """Client threads that send every webhook until it is answered 200, retrying failures later."""

    url: str
    webhooks: list[Webhook]
    attempts: dict[int, list[Attempt]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.todo: deque[int] = deque(range(len(self.webhooks)))
        self.retry: deque[tuple[float, int]] = deque()  # (not before, index), Shopify-style redelivery
        self.acked: set[int] = set()
        self.attempts = {i: [] for i in range(len(self.webhooks))}
        self.threads = [threading.Thread(target=self._client, name=f"client-{n}", daemon=True)
                        for n in range(CLIENTS)]

    def start(self) -> Stream:
        for t in self.threads:
            t.start()
        return self

    def join(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(timeout=15)

    def take_next(self) -> int | None:
        with self.lock:
            if self.retry and self.retry[0][0] <= time.monotonic():
                return self.retry.popleft()[1]
            if self.todo:
                return self.todo.popleft()
            return None

    def done(self) -> bool:
        with self.lock:
            return len(self.acked) == len(self.webhooks)

    def count(self, predicate) -> int:  # type: ignore[no-untyped-def]
        with self.lock:
            return sum(1 for tries in self.attempts.values() for a in tries if predicate(a))

    def send(self, client: httpx.Client, i: int) -> bool:
        """One attempt at webhook ``i``; a failure is queued to be retried a little later."""
        w = self.webhooks[i]
        headers = webhook_headers(w.topic, w.body, shop=SHOP, secret=SECRET, webhook_id=w.webhook_id)
        try:
            r = client.post(f"{self.url}/webhooks/shopify", content=w.body, headers=headers)
            attempt = Attempt(time.monotonic(), r.status_code, r.text)
        except httpx.HTTPError as exc:
            attempt = Attempt(time.monotonic(), None, f"{type(exc).__name__}: {exc}")
        with self.lock:
            self.attempts[i].append(attempt)
            if attempt.status == 200:
                self.acked.add(i)
            else:
                self.retry.append((time.monotonic() + 0.2, i))
        return attempt.status == 200

    def _client(self) -> None:
        with httpx.Client(timeout=10.0) as client:
            while not self.stop.is_set() and not self.done():
                i = self.take_next()
                if i is None:
                    time.sleep(0.01)
                elif not self.send(client, i):
                    time.sleep(0.05)  # the server is down or struggling: do not spin


def _inbox_progress(db: Database) -> tuple[int, int]:
    with db.read() as conn:
        total = conn.execute(select(func.count()).select_from(inbox)).scalar_one()
        done = conn.execute(select(func.count()).select_from(inbox).where(inbox.c.status == "done")).scalar_one()
    return int(total), int(done)


@pytest.mark.timeout(120)
def test_sigkill_under_load_loses_nothing_and_applies_everything_once(processes: Processes, db_url: str) -> None:
    processes.database_url = db_url
    processes.cli("shop", "add", SHOP, "--secret", SECRET)
    server = processes.serve()
    worker = processes.worker(env=WORKER_ENV)
    webhooks = make_webhooks()
    stream = Stream(server.url, webhooks)
    db = Database(db_url)
    try:
        # A first few, one by one, until the worker is seen applying them; then the load.
        with httpx.Client(timeout=10.0) as client:
            for _ in range(WARM_UP):
                i = stream.take_next()
                assert i is not None and stream.send(client, i), stream.attempts[i]
        wait_for(lambda: processes.check(server, worker) or _inbox_progress(db)[1] == WARM_UP, timeout=30,
                 what="the worker to apply the first webhooks", describe=processes.report)
        stream.start()

        # Mid-stream, with the receiver busy and the worker applying records (it has just committed a
        # batch of the stream and gone on to the next): kill both.
        def busy() -> bool:
            processes.check(server, worker)
            total, done = _inbox_progress(db)
            return WARM_UP < done < total or stream.done()

        wait_for(busy, timeout=30, what="the worker to apply records of the stream",
                 describe=lambda: f"acked {len(stream.acked)}, inbox {_inbox_progress(db)}\n{processes.report()}")
        server.kill()
        worker.kill()
        killed_at = time.monotonic()
        with stream.lock:
            acked_before_kill = {webhooks[i].webhook_id for i in stream.acked}
        assert len(stream.acked) < len(webhooks), "the stream ended before the worker started on it"
        # Acknowledged means durable: with both processes dead, every 200 so far is in the inbox.
        with db.read() as conn:
            stored_at_kill = set(conn.execute(select(inbox.c.webhook_id)).scalars())
        assert acked_before_kill <= stored_at_kill, len(acked_before_kill - stored_at_kill)

        # Clients see the outage (refused or cut connections) before the hub comes back.
        wait_for(lambda: stream.count(lambda a: a.status is None and a.at > killed_at) >= 5, timeout=10,
                 what="requests to fail while the hub is down")
        server = processes.serve(server.port)
        worker = processes.worker(env=WORKER_ENV)

        wait_for(stream.done, timeout=40, interval=0.1, what="every webhook to be acknowledged",
                 describe=lambda: f"acked {len(stream.acked)} of {len(webhooks)}\n{processes.report()}")
        stream.join()

        def drained() -> bool:
            processes.check(server, worker)
            total, done = _inbox_progress(db)
            return done == total

        wait_for(drained, timeout=30, interval=0.1, what="the inbox to drain",
                 describe=lambda: f"inbox (total, done) {_inbox_progress(db)}\n{processes.report()}")

        with db.read() as conn:
            rows = conn.execute(select(inbox.c.id, inbox.c.webhook_id, inbox.c.identity, inbox.c.status)).all()
            timeline = Counter(r.inbox_id for r in conn.execute(  # inbound events; OMS entries have none
                select(order_events.c.inbox_id).where(order_events.c.inbox_id.is_not(None))))
            stored = dict(conn.execute(select(orders.c.shopify_id, orders.c.source_updated_at)).all())
            errors = conn.execute(select(error_log.c.kind, error_log.c.error)).all()
    finally:
        stream.join()
        db.dispose()

    failed_sends = stream.count(lambda a: a.status != 200)
    assert failed_sends >= 5  # the crash really interrupted the stream
    distinct_ids = {w.webhook_id for w in webhooks}

    # Nothing lost, nothing held twice: every acknowledged webhook (those acknowledged before the kill
    # included) is in the inbox, and one record per webhook id holds its content; a delivery the stream
    # sent again after the crash is kept as the repeat it is.
    by_webhook = Counter(r.webhook_id for r in rows)
    assert set(by_webhook) == distinct_ids
    holders = [r for r in rows if r.identity is not None]
    assert sorted(r.webhook_id for r in holders) == sorted(distinct_ids)
    assert len({r.identity for r in holders}) == len(distinct_ids)
    # Every answer was "accepted": stored for good, before it was sent.
    answers = Counter(orjson.loads(a.answer)["status"] for tries in stream.attempts.values() for a in tries
                      if a.status == 200)
    assert set(answers) == {"accepted"}

    # Applied exactly once: every record done, one timeline row for each one holding its content, no
    # error-log entries.
    assert Counter(r.status for r in rows) == {"done": len(rows)}, errors[:3]
    assert not errors, errors[:3]
    assert set(timeline) == {r.id for r in holders}
    assert [i for i, n in timeline.items() if n != 1] == []

    # Every order once, at its latest version.
    latest: dict[int, str] = {}
    for w in webhooks:  # both versions have the same UTC offset, so text order is time order
        latest[w.order_id] = max(latest.get(w.order_id, w.updated_at), w.updated_at)
    assert len(stored) == N_ORDERS
    wrong = [oid for oid, at in latest.items() if stored[str(oid)] != parse_time(at)]
    assert not wrong, f"{len(wrong)} orders not at their latest version, e.g. {wrong[:3]}"

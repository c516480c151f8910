"""Outbound webhooks from the outbox: fan-out, Standard Webhooks signing, order per key, retries, the error log.

A real receiver on loopback verifies every request with orderhub's own ``verify`` and
answers from a per-message plan (200, 429 with Retry-After, 5xx, 4xx, or slow).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from email.utils import format_datetime
from typing import Any

import orjson
import pytest
from sqlalchemy import func, select, update
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from orderhub.adapters import standard_webhooks
from orderhub.adapters.store import error_log, outbox
from orderhub.adapters.store import subscriptions as subscription_store
from orderhub.adapters.store.schema import outbox as outbox_table
from orderhub.adapters.store.schema import rate_buckets, subscription_deliveries
from orderhub.clock import utcnow
from orderhub.services import errors as error_service
from orderhub.services import http_attempts
from orderhub.services.notify import Notifier, due, worker_steps
from orderhub.services.publish import Publisher, fan_out
from orderhub.testing.server import ServerThread

D = subscription_deliveries
Answer = int | tuple[int, dict[str, str]] | tuple[str, float]  # status, (status, headers), ("slow", seconds)


@dataclass
class Receiver:
    """A subscriber: verifies the Standard Webhooks signature, answers from a plan per webhook-id."""

    secrets: dict[str, str] = field(default_factory=dict)  # endpoint name -> whsec_ secret
    plan: dict[str, list[Answer]] = field(default_factory=dict)  # webhook-id -> answers, in order; then 200
    requests: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    base_url: str = ""

    def url(self, name: str) -> str:
        return f"{self.base_url}/hooks/{name}"

    async def hook(self, request: Request) -> Response:
        name = request.path_params["name"]
        raw = await request.body()
        try:
            msg_id = standard_webhooks.verify(self.secrets[name], request.headers, raw)
        except (standard_webhooks.WebhookVerificationError, KeyError) as exc:
            with self.lock:
                self.requests.append({"endpoint": name, "status": 401, "error": str(exc)})
            return Response("bad signature", status_code=401)
        with self.lock:
            answers = self.plan.get(msg_id)
            answer: Answer = answers.pop(0) if answers else 200
            status, headers = (answer, {}) if isinstance(answer, int) else answer
            self.requests.append({"endpoint": name, "webhook_id": msg_id, "status": status,
                                  "headers": dict(request.headers), "raw": raw, "body": orjson.loads(raw)})
        if status == "slow":
            await asyncio.sleep(float(headers))  # type: ignore[arg-type]
            return Response("{}", status_code=200)
        return Response("{}" if status < 300 else "nope", status_code=int(status), headers=headers)

    def ids(self, status: int | None = 200, endpoint: str | None = None) -> list[str]:
        """webhook-ids of the requests answered ``status`` (None: all), in arrival order."""
        with self.lock:
            return [r["webhook_id"] for r in self.requests if r["status"] != 401
                    and (status is None or r["status"] == status) and (endpoint is None or r["endpoint"] == endpoint)]


@pytest.fixture(scope="module")
def receiver_server() -> Iterator[tuple[ServerThread, list[Receiver]]]:
    current: list[Receiver] = []

    async def hook(request: Request) -> Response:
        return await current[-1].hook(request)

    with ServerThread(Starlette(routes=[Route("/hooks/{name}", hook, methods=["POST"])])) as server:
        yield server, current


@pytest.fixture
def receiver(receiver_server: tuple[ServerThread, list[Receiver]]) -> Receiver:
    server, current = receiver_server
    r = Receiver(base_url=server.url)
    current.append(r)
    return r


@pytest.fixture
def notifiers(hub) -> Iterator[list[Notifier]]:  # type: ignore[no-untyped-def]
    made: list[Notifier] = []
    yield made
    for n in made:
        n.close()


def make_notifier(hub, made: list[Notifier], worker: str = "w1", **kw: Any) -> Notifier:  # type: ignore[no-untyped-def]
    kw = {"backoff_base": 0.01, "backoff_max": 0.02} | kw
    n = Notifier(hub.db, worker=worker, limiter=hub.limiter, **kw)
    made.append(n)
    return n


def subscribe(hub, receiver: Receiver, name: str, events: str, **kw: Any) -> subscription_store.Subscription:  # type: ignore[no-untyped-def]
    with hub.db.write() as conn:
        sub = subscription_store.add(conn, receiver.url(name), events, **({"rate_per_second": 1000.0} | kw))
    receiver.secrets[name] = sub.secret
    return sub


def emit(hub, *events: tuple[str, dict[str, Any], str]) -> list[int]:  # type: ignore[no-untyped-def]
    """Write events to the outbox in one committed transaction; returns their outbox ids."""
    with hub.db.write() as conn:
        return [outbox.add(conn, t, p, ordering_key=k, order_id=int(k.split(":")[1]) if k.startswith("order:")
                           else None) for t, p, k in events]


def msg(outbox_id: int) -> str:
    return f"msg_{outbox_id}"


def settle(hub, notifier: Notifier, rounds: int = 400) -> None:  # type: ignore[no-untyped-def]
    """Fan out and send until nothing is left that could still go (failed ones and those they hold stay)."""
    publisher = Publisher(hub.db)
    for _ in range(rounds):
        publisher.run_once()
        sent, wait = notifier.run_once()
        if sent:
            continue
        with hub.db.read() as conn:
            unfanned = conn.execute(select(outbox_table.c.id).where(outbox_table.c.fanned_out_at.is_(None))).first()
            enabled = [s.id for s in subscription_store.all_subscriptions(conn, enabled_only=True)]
            could_go = conn.execute(select(D.c.id).where(due(utcnow() + timedelta(days=1)),
                                                         D.c.subscription_id.in_(enabled))).first()
        if unfanned is None and could_go is None:
            return
        time.sleep(min(wait, 0.02))
    raise AssertionError("deliveries did not settle")


def delivery(hub, sub_id: int, outbox_id: int) -> Any:  # type: ignore[no-untyped-def]
    with hub.db.read() as conn:
        return conn.execute(select(D).where(D.c.subscription_id == sub_id, D.c.outbox_id == outbox_id)).one()


def history(row: Any) -> list[dict[str, Any]]:
    return orjson.loads(row.history)  # type: ignore[no-any-return]


# -- fan-out -----------------------------------------------------------------------------------------

def test_fan_out_matches_patterns_and_ignores_disabled_subscriptions(hub, receiver):  # type: ignore[no-untyped-def]
    orders = subscribe(hub, receiver, "orders", "order.*")
    stock = subscribe(hub, receiver, "stock", "inventory.changed")
    everything = subscribe(hub, receiver, "all", "*")
    shipping = subscribe(hub, receiver, "shipping", "order.shipped, order.cancelled")
    with hub.db.write() as conn:
        subscription_store.set_enabled(conn, everything.id, False)
    created, changed, shipped = emit(hub, ("order.created", {"id": 1}, "order:1"),
                                     ("inventory.changed", {"sku": "S"}, "sku:S"),
                                     ("order.shipped", {"id": 1}, "order:1"))

    assert Publisher(hub.db).run_once()[0] == 3
    with hub.db.read() as conn:
        rows = {(r.subscription_id, r.outbox_id): r for r in conn.execute(select(D))}
        assert conn.execute(select(func.count()).select_from(outbox_table).where(
            outbox_table.c.fanned_out_at.is_(None))).scalar_one() == 0
    assert set(rows) == {(orders.id, created), (orders.id, shipped), (stock.id, changed), (shipping.id, shipped)}
    assert rows[(stock.id, changed)].ordering_key == "sku:S" and rows[(orders.id, shipped)].ordering_key == "order:1"
    assert {r.status for r in rows.values()} == {"pending"}

    with hub.db.write() as conn:  # idempotent: nothing left to fan out, nothing doubled
        assert fan_out(conn) == 0
        conn.execute(update(outbox_table).values(fanned_out_at=None))  # as if a worker died before commit
        assert fan_out(conn) == 3
    with hub.db.read() as conn:
        assert conn.execute(select(func.count()).select_from(D)).scalar_one() == 4

    # A subscription created later gets only later events, even those not yet fanned out are older.
    (older,) = emit(hub, ("order.cancelled", {"id": 2}, "order:2"))
    late = subscribe(hub, receiver, "late", "*")
    (newer,) = emit(hub, ("order.cancelled", {"id": 3}, "order:3"))
    Publisher(hub.db).run_once()
    with hub.db.read() as conn:
        late_got = [r.outbox_id for r in conn.execute(select(D).where(D.c.subscription_id == late.id))]
        shipping_got = {r.outbox_id for r in conn.execute(select(D).where(D.c.subscription_id == shipping.id))}
    assert late_got == [newer]
    assert {older, newer} <= shipping_got


def test_outbox_rows_of_a_rolled_back_transaction_are_never_delivered(hub, receiver, notifiers):  # type: ignore[no-untyped-def]
    subscribe(hub, receiver, "all", "*")
    with pytest.raises(RuntimeError), hub.db.write() as conn:
        outbox.add(conn, "order.placed", {"id": 66}, ordering_key="order:66", order_id=66)
        raise RuntimeError("payment declined after the event was written")
    (kept,) = emit(hub, ("order.placed", {"id": 67}, "order:67"))
    settle(hub, make_notifier(hub, notifiers))
    assert receiver.ids() == [msg(kept)]
    with hub.db.read() as conn:
        assert conn.execute(select(outbox_table.c.id)).scalars().all() == [kept]


# -- delivery ----------------------------------------------------------------------------------------

def test_delivery_is_signed_with_standard_webhooks_headers(hub, receiver, notifiers):  # type: ignore[no-untyped-def]
    sub = subscribe(hub, receiver, "erp", "order.*")
    (event_id,) = emit(hub, ("order.created", {"id": 5, "total": "38.20"}, "order:5"))
    before = int(time.time())
    settle(hub, make_notifier(hub, notifiers))

    (request,) = receiver.requests
    assert request["status"] == 200  # the receiver verified the signature
    headers = request["headers"]
    assert headers["webhook-id"] == msg(event_id)
    assert before <= int(headers["webhook-timestamp"]) <= int(time.time())
    assert headers["webhook-signature"].startswith("v1,")
    assert headers["content-type"] == "application/json"
    with hub.db.read() as conn:
        created_at = conn.execute(select(outbox_table.c.created_at).where(
            outbox_table.c.id == event_id)).scalar_one()
    assert request["body"] == {"type": "order.created", "timestamp": created_at.isoformat(),
                               "data": {"id": 5, "total": "38.20"}}
    row = delivery(hub, sub.id, event_id)
    assert (row.status, row.attempts, row.last_status, row.last_error) == ("delivered", 1, 200, None)
    assert row.delivered_at is not None and row.locked_by is None
    (attempt,) = history(row)
    assert attempt["status"] == 200 and attempt["duration_ms"] >= 0


def test_unicode_and_money_payloads_arrive_intact(hub, receiver, notifiers):  # type: ignore[no-untyped-def]
    subscribe(hub, receiver, "crm", "order.placed")
    payload = {"name": "Zoë Ångström 🦋", "note": "שדרות רוטשילד 1 · زهرة · Сувенир 👕", "total": Decimal("38.20"),
               "placed_at": datetime(2026, 11, 23, 15, 0, tzinfo=timezone.utc), "emoji": "👩‍👩‍👧‍👦🏳️‍🌈"}
    emit(hub, ("order.placed", payload, "order:9"))
    settle(hub, make_notifier(hub, notifiers))
    (request,) = receiver.requests
    assert request["status"] == 200
    assert request["body"]["data"] == {"name": "Zoë Ångström 🦋", "note": "שדרות רוטשילד 1 · زهرة · Сувенир 👕",
                                       "total": "38.20", "placed_at": "2026-11-23T15:00:00+00:00",
                                       "emoji": "👩‍👩‍👧‍👦🏳️‍🌈"}
    assert "🦋".encode() in request["raw"]  # UTF-8 on the wire, not \\u escapes


def test_redelivery_keeps_the_same_webhook_id(hub, receiver, notifiers):  # type: ignore[no-untyped-def]
    sub = subscribe(hub, receiver, "erp", "order.*", timeout_seconds=0.3)
    (event_id,) = emit(hub, ("order.shipped", {"id": 8}, "order:8"))
    receiver.plan[msg(event_id)] = [500, ("slow", 1.0), 200]
    settle(hub, make_notifier(hub, notifiers))
    assert receiver.ids(status=None) == [msg(event_id)] * 3
    row = delivery(hub, sub.id, event_id)
    assert row.status == "delivered" and row.attempts == 3
    statuses = [a["status"] for a in history(row)]
    assert statuses == [500, None, 200]
    assert "Timeout" in history(row)[1]["error"]


def test_events_of_one_order_arrive_in_order_while_other_orders_flow(hub, receiver, notifiers):  # type: ignore[no-untyped-def]
    sub = subscribe(hub, receiver, "erp", "order.*")
    a1, b1, a2, b2, a3 = emit(hub, ("order.created", {"id": 1}, "order:1"), ("order.created", {"id": 2}, "order:2"),
                              ("order.approved", {"id": 1}, "order:1"), ("order.approved", {"id": 2}, "order:2"),
                              ("order.shipped", {"id": 1}, "order:1"))
    receiver.plan[msg(a1)] = [500]
    slow_retry = make_notifier(hub, notifiers, backoff_base=3600, backoff_max=3600)
    publisher = Publisher(hub.db)
    for _ in range(10):
        publisher.run_once()
        slow_retry.run_once()
    # order 2 went through while order 1's first event waits for its retry; nothing of order 1 overtook it
    assert receiver.ids() == [msg(b1), msg(b2)]
    assert receiver.ids(status=500) == [msg(a1)]
    assert delivery(hub, sub.id, a2).attempts == 0 and delivery(hub, sub.id, a3).attempts == 0

    with hub.db.write() as conn:  # the backoff is over
        conn.execute(update(D).where(D.c.outbox_id == a1).values(available_at=utcnow()))
    settle(hub, make_notifier(hub, notifiers, worker="w2"))
    order_1 = [i for i in receiver.ids(status=None) if i in {msg(a1), msg(a2), msg(a3)}]
    assert order_1 == [msg(a1), msg(a1), msg(a2), msg(a3)]
    assert {delivery(hub, sub.id, e).status for e in (a1, a2, a3, b1, b2)} == {"delivered"}


def test_429_pauses_the_subscription_for_retry_after_without_using_an_attempt(hub, receiver, notifiers):  # type: ignore[no-untyped-def]
    sub = subscribe(hub, receiver, "erp", "*")
    e1, e2 = emit(hub, ("order.created", {"id": 1}, "order:1"), ("order.created", {"id": 2}, "order:2"))
    later = format_datetime(utcnow() + timedelta(hours=1), usegmt=True)
    receiver.plan[msg(e1)] = [(429, {"Retry-After": "120"}), (429, {"Retry-After": later})]
    notifier = make_notifier(hub, notifiers)
    Publisher(hub.db).run_once()

    assert notifier.run_once()[0] == 1
    assert receiver.ids(status=None) == [msg(e1)]  # e2 was handed back unsent
    with hub.db.read() as conn:
        paused_until = conn.execute(select(rate_buckets.c.paused_until).where(
            rate_buckets.c.name == sub.bucket)).scalar_one()
    assert timedelta(seconds=100) < paused_until - utcnow() <= timedelta(seconds=120)
    first, second = delivery(hub, sub.id, e1), delivery(hub, sub.id, e2)
    assert (first.status, first.attempts, [a["status"] for a in history(first)]) == ("pending", 0, [429])
    assert (second.status, second.attempts, history(second)) == ("pending", 0, [])
    other_worker = make_notifier(hub, notifiers, worker="w2")
    for n in (notifier, other_worker, notifier):  # paused for every worker
        sent, wait = n.run_once()
        assert sent == 0 and wait > 0
    assert len(receiver.requests) == 1

    hub.limiter.reset(sub.bucket)  # Retry-After has passed
    with hub.db.write() as conn:
        conn.execute(update(D).where(D.c.outbox_id == e1).values(available_at=utcnow()))
    notifier.run_once()
    with hub.db.read() as conn:  # Retry-After as an HTTP date
        paused_until = conn.execute(select(rate_buckets.c.paused_until).where(
            rate_buckets.c.name == sub.bucket)).scalar_one()
    assert paused_until - utcnow() > timedelta(minutes=55)

    hub.limiter.reset(sub.bucket)
    with hub.db.write() as conn:
        conn.execute(update(D).where(D.c.outbox_id == e1).values(available_at=utcnow()))
    settle(hub, notifier)
    first = delivery(hub, sub.id, e1)
    assert (first.status, first.attempts, [a["status"] for a in history(first)]) == ("delivered", 1, [429, 429, 200])
    assert delivery(hub, sub.id, e2).status == "delivered"


def test_exhausted_retries_go_to_the_error_log_and_a_retry_delivers(hub, receiver, notifiers):  # type: ignore[no-untyped-def]
    sub = subscribe(hub, receiver, "erp", "order.*", max_attempts=3)
    a1, b1, a2 = emit(hub, ("order.created", {"id": 1}, "order:1"), ("order.created", {"id": 2}, "order:2"),
                      ("order.cancelled", {"id": 1}, "order:1"))
    receiver.plan[msg(a1)] = [500, 503, 502]
    notifier = make_notifier(hub, notifiers)
    settle(hub, notifier)

    failed = delivery(hub, sub.id, a1)
    assert (failed.status, failed.attempts, failed.last_status) == ("failed", 3, 502)
    assert delivery(hub, sub.id, a2).status == "pending"  # held behind the failed one
    assert delivery(hub, sub.id, b1).status == "delivered"  # another order is not held
    with hub.db.read() as conn:
        (entry,) = error_log.list_entries(conn, error_log.ErrorFilter())
    assert (entry.record_type, entry.record_id, entry.kind, entry.status, entry.topic) == (
        "subscription", failed.id, "retries_exhausted", "open", "order.created")
    assert f"subscription {sub.id}" in entry.error and "in 3 attempts" in entry.error and "HTTP 502" in entry.error
    assert "order:1" in entry.error and "held" in entry.error and "orderhub errors retry" in entry.error
    assert len(orjson.loads(entry.attempts)) == 3
    assert orjson.loads(entry.payload) == {"id": 1}

    with pytest.raises(error_service.NotRetryable, match="cannot be edited"):
        error_service.retry(hub.db, entry.id, payload='{"id": 1}')
    error_service.retry(hub.db, entry.id)
    with hub.db.read() as conn:
        assert error_log.get(conn, entry.id).status == "retrying"
    retried = delivery(hub, sub.id, a1)
    assert (retried.status, retried.attempts) == ("pending", 0)
    settle(hub, notifier)

    done = delivery(hub, sub.id, a1)
    assert done.status == "delivered" and delivery(hub, sub.id, a2).status == "delivered"
    assert [a.get("status", a.get("event")) for a in history(done)] == [500, 503, 502, "retried", 200]
    with hub.db.read() as conn:
        assert error_log.get(conn, entry.id).status == "resolved"
    order_1 = [i for i in receiver.ids(status=None) if i != msg(b1)]
    assert order_1 == [msg(a1)] * 4 + [msg(a2)]


def test_a_4xx_fails_at_once_and_dismissing_it_unblocks_the_order(hub, receiver, notifiers):  # type: ignore[no-untyped-def]
    sub = subscribe(hub, receiver, "erp", "order.*")
    a1, a2 = emit(hub, ("order.created", {"id": 1}, "order:1"), ("order.returned", {"id": 1}, "order:1"))
    receiver.plan[msg(a1)] = [422]
    notifier = make_notifier(hub, notifiers)
    settle(hub, notifier)

    rejected = delivery(hub, sub.id, a1)
    assert (rejected.status, rejected.attempts) == ("failed", 1)
    assert delivery(hub, sub.id, a2).status == "pending"
    with hub.db.read() as conn:
        (entry,) = error_log.list_entries(conn, error_log.ErrorFilter(kind="destination_rejected"))
    assert entry.record_id == rejected.id and "HTTP 422" in entry.error and "rejected" in entry.error

    assert error_service.dismiss(hub.db, [entry.id], by="ops@example", reason="ERP has this order already") == 1
    assert delivery(hub, sub.id, a1).status == "dismissed"
    settle(hub, notifier)
    assert delivery(hub, sub.id, a2).status == "delivered"
    assert receiver.ids(status=None) == [msg(a1), msg(a2)]  # the dismissed one was not sent again
    with pytest.raises(error_service.NotRetryable, match="only open entries"):
        error_service.retry(hub.db, entry.id)


def test_rate_limit_holds_across_workers(hub, receiver, notifiers):  # type: ignore[no-untyped-def]
    sub = subscribe(hub, receiver, "slow-erp", "*", rate_per_second=0.001)  # one token, refilled in 1000 s
    with hub.db.write() as conn:  # a batch pipeline's events: one executemany
        outbox.add_many(conn, [outbox.Event("order.created", {"id": i}, f"order:{i}", i) for i in range(6)])
    assert Publisher(hub.db).run_once()[0] == 6
    workers = [make_notifier(hub, notifiers, worker=f"w{i}") for i in range(3)]
    for _ in range(3):
        for w in workers:
            w.run_once()
    assert len(receiver.requests) == 1  # the bucket's one token, however many workers ask
    for _ in range(2):  # each token the shared bucket gains lets exactly one more through
        with hub.db.write() as conn:
            conn.execute(update(rate_buckets).where(rate_buckets.c.name == sub.bucket).values(
                tokens=1.0, updated_at=utcnow()))
        for w in workers * 2:
            w.run_once()
    assert len(receiver.requests) == 3
    with hub.db.read() as conn:
        assert conn.execute(select(func.count()).select_from(D).where(D.c.status == "delivered")).scalar_one() == 3


def test_a_worker_that_dies_mid_send_is_replaced_after_its_lease(hub, receiver, notifiers):  # type: ignore[no-untyped-def]
    sub = subscribe(hub, receiver, "erp", "*")
    (event_id,) = emit(hub, ("order.placed", {"id": 4}, "order:4"))
    Publisher(hub.db).run_once()
    dead = make_notifier(hub, notifiers, worker="dead")
    with hub.db.write() as conn:  # claimed, then the worker died: its lease runs out
        (claimed,) = http_attempts.claim(conn, D, due, worker="dead", limit=10, lease_seconds=-1)
    settle(hub, make_notifier(hub, notifiers, worker="alive"))
    row = delivery(hub, sub.id, event_id)
    assert (row.status, row.attempts) == ("delivered", 2)
    assert receiver.ids() == [msg(event_id)]
    # The dead worker coming back late does not overwrite the outcome.
    late = http_attempts.Attempt(at=utcnow(), status=500, error="HTTP 500", duration_ms=1).record()
    assert dead._update(claimed, late, status="pending") is False
    assert delivery(hub, sub.id, event_id).status == "delivered"


def test_worker_steps_fan_out_and_deliver(hub, receiver):  # type: ignore[no-untyped-def]
    subscribe(hub, receiver, "erp", "inventory.*")
    (event_id,) = emit(hub, ("inventory.changed", {"sku": "SKU-1", "atp": 3}, "sku:SKU-1"))
    steps = dict(worker_steps(hub))
    assert set(steps) == {"outbox-fan-out", "subscription-notifier"}
    assert steps["outbox-fan-out"]()[0] == 1
    assert steps["subscription-notifier"]()[0] == 1
    assert receiver.ids() == [msg(event_id)]


# -- admin API -----------------------------------------------------------------------------------------

def test_subscriptions_api(hub, receiver, notifiers):  # type: ignore[no-untyped-def]
    import httpx

    from orderhub.adapters.store import tokens
    from orderhub.entrypoints.http.api_subscriptions import router
    from orderhub.entrypoints.http.app import create_app

    with hub.db.write() as conn:
        admin = tokens.create(conn, "admin-api", role="admin")
        viewer = tokens.create(conn, "viewer-api", role="viewer")
    app = create_app(hub)
    app.include_router(router)
    with ServerThread(app) as server, httpx.Client(base_url=server.url) as client:
        check_subscriptions_api(hub, receiver, notifiers, client, admin, viewer)


def check_subscriptions_api(hub, receiver, notifiers, client, admin, viewer):  # type: ignore[no-untyped-def]
    as_admin = {"Authorization": f"Bearer {admin}"}
    as_viewer = {"Authorization": f"Bearer {viewer}"}

    assert client.get("/api/subscriptions").status_code == 401
    body = {"url": receiver.url("api"), "events": ["order.*"], "rate_per_second": 500, "description": "ERP 🏭"}
    assert client.post("/api/subscriptions", json=body, headers=as_viewer).status_code == 403
    bad = client.post("/api/subscriptions", json=body | {"url": "ftp://erp.example"}, headers=as_admin)
    assert bad.status_code == 422 and "http://" in bad.json()["error"]
    created = client.post("/api/subscriptions", json=body, headers=as_admin)
    assert created.status_code == 201
    sub = created.json()
    assert sub["secret"].startswith("whsec_") and len(sub["secret"]) > 20
    receiver.secrets["api"] = sub["secret"]

    listed = client.get("/api/subscriptions", headers=as_viewer).json()["subscriptions"]
    assert [(s["id"], s["events"], s["secret"], s["description"]) for s in listed] == [
        (sub["id"], "order.*", "whsec_…", "ERP 🏭")]
    assert sub["secret"] not in client.get("/api/subscriptions", headers=as_viewer).text

    (event_id,) = emit(hub, ("order.created", {"id": 3}, "order:3"))
    settle(hub, make_notifier(hub, notifiers))
    deliveries = client.get(f"/api/subscriptions/{sub['id']}/deliveries", headers=as_viewer).json()["deliveries"]
    assert [(x["outbox_id"], x["event_type"], x["status"], x["last_status"], x["order_id"]) for x in deliveries] == [
        (event_id, "order.created", "delivered", 200, 3)]
    assert client.get("/api/subscriptions/999/deliveries", headers=as_viewer).status_code == 404

    assert client.post(f"/api/subscriptions/{sub['id']}/disable", headers=as_admin).json()["enabled"] is False
    emit(hub, ("order.approved", {"id": 3}, "order:3"))
    settle(hub, make_notifier(hub, notifiers))
    assert len(client.get(f"/api/subscriptions/{sub['id']}/deliveries", headers=as_admin).json()["deliveries"]) == 1
    assert client.post(f"/api/subscriptions/{sub['id']}/enable", headers=as_admin).json()["enabled"] is True
    assert client.post("/api/subscriptions/999/enable", headers=as_admin).status_code == 404

"""HTTP destinations: signed delivery, 429/Retry-After, 5xx backoff, 4xx and exhaustion to the error log."""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections.abc import Iterator

import orjson
import pytest
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from orderhub.adapters.store import destinations, error_log
from orderhub.adapters.store.schema import deliveries, rate_buckets
from orderhub.services.deliver import Deliverer
from orderhub.testing.server import ServerThread
from tests.integration.test_processor import put
from tests.support import BIG_ID, add_shop, drain, order_payload

SINK_SECRET = "sink-secret"


class Sink:
    """An external OMS endpoint: verifies signatures, answers from a script of status codes."""

    def __init__(self) -> None:
        self.script: list[tuple[int, dict[str, str]]] = []
        self.received: list[dict[str, object]] = []
        self.lock = threading.Lock()

    async def events(self, request: Request) -> Response:
        body = await request.body()
        expected = "sha256=" + hmac.new(SINK_SECRET.encode(), body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, request.headers.get("x-orderhub-signature", "")):
            return Response("bad signature", status_code=401)
        with self.lock:
            status, headers = self.script.pop(0) if self.script else (200, {})
            self.received.append({"at": time.monotonic(), "status": status, "body": orjson.loads(body),
                                  "event_id": request.headers["x-orderhub-event-id"]})
        return Response("{}", status_code=status, headers=headers)


@pytest.fixture
def sink() -> Iterator[tuple[Sink, str]]:
    s = Sink()
    with ServerThread(Starlette(routes=[Route("/events", s.events, methods=["POST"])])) as server:
        yield s, f"{server.url}/events"


def deliver_all(hub, rounds: int = 400) -> None:  # type: ignore[no-untyped-def]
    d = Deliverer(hub.db, worker="test", limiter=hub.limiter)
    for _ in range(rounds):
        with hub.db.read() as conn:
            left = conn.execute(select(deliveries.c.id).where(
                deliveries.c.status.in_(("pending", "sending")))).first()
        if left is None:
            return
        sent, wait = d.run_once()
        if not sent:
            time.sleep(min(wait, 0.05))
    raise AssertionError("deliveries did not finish")


def test_canonical_events_are_delivered_signed_once(hub, sink):  # type: ignore[no-untyped-def]
    s, url = sink
    shop = add_shop(hub)
    with hub.db.write() as conn:
        destinations.add_http(conn, "oms", url, SINK_SECRET, rate_per_second=1000, backoff_base_seconds=0.01)
    put(hub, "orders/create", order_payload(), shop_id=shop.id)
    put(hub, "orders/updated", order_payload(updated_at="2026-11-23T20:00:00Z"), shop_id=shop.id)
    put(hub, "orders/updated", order_payload(updated_at="2026-11-23T19:00:00Z"), shop_id=shop.id)  # stale
    drain(hub)
    deliver_all(hub)
    types = [r["body"]["type"] for r in s.received]  # type: ignore[index]
    assert types == ["order.created", "order.updated"]  # the stale version caused no outbound effect
    first = s.received[0]["body"]
    assert first["shop"] == "test-shop.myshopify.com"  # type: ignore[index]
    assert first["data"]["shopify_id"] == str(BIG_ID)  # type: ignore[index]
    assert first["data"]["total_price"] == "38.20"  # type: ignore[index]
    assert len({r["event_id"] for r in s.received}) == 2
    # The discount as the API and the console show it: the application, and the line it fell on.
    data = first["data"]  # type: ignore[index]
    [code] = data["discount_applications"]
    assert (code["code"], code["value"], code["value_type"]) == ("WELCOME🦋", "2.50", "fixed_amount")
    assert [(i["total_discount"], i["discount_allocations"]) for i in data["items"]] == [
        ("0.00", []), ("2.50", [{"amount": "2.50", "application_index": 0}])]  # EUR: always two decimals
    assert (data["total_discounts"], data["subtotal_price"]) == ("2.50", "27.50")


def test_429_pauses_then_5xx_backs_off_then_succeeds(hub, sink):  # type: ignore[no-untyped-def]
    s, url = sink
    shop = add_shop(hub)
    s.script = [(429, {"Retry-After": "0.3"}), (503, {}), (500, {})]
    with hub.db.write() as conn:
        dest = destinations.add_http(conn, "oms", url, SINK_SECRET, rate_per_second=1000,
                                     backoff_base_seconds=0.01, backoff_max_seconds=0.02)
    put(hub, "orders/create", order_payload(), shop_id=shop.id)
    drain(hub)
    deliver_all(hub)
    statuses = [r["status"] for r in s.received]
    assert statuses == [429, 503, 500, 200]
    assert s.received[1]["at"] - s.received[0]["at"] >= 0.25  # type: ignore[operator]
    assert len({r["event_id"] for r in s.received}) == 1  # one event, retried
    with hub.db.read() as conn:
        row = conn.execute(select(deliveries)).one()
        assert conn.execute(select(rate_buckets.c.paused_until).where(
            rate_buckets.c.name == dest.bucket)).scalar_one() is not None
    assert row.status == "done" and row.attempts == 3  # the 429 did not use up an attempt
    assert [a["status"] for a in orjson.loads(row.history)] == [429, 503, 500, 200]


def test_4xx_and_exhausted_retries_go_to_error_log_and_can_be_retried(hub, sink):  # type: ignore[no-untyped-def]
    from orderhub.services import errors as service

    s, url = sink
    shop = add_shop(hub)
    s.script = [(422, {})] + [(502, {})] * 3
    with hub.db.write() as conn:
        destinations.add_http(conn, "oms", url, SINK_SECRET, rate_per_second=1000, max_attempts=3,
                              backoff_base_seconds=0.01, backoff_max_seconds=0.02)
    put(hub, "orders/create", order_payload(), shop_id=shop.id)
    put(hub, "orders/create", order_payload(BIG_ID + 10), shop_id=shop.id)
    drain(hub)
    deliver_all(hub)
    with hub.db.read() as conn:
        entries = {e.kind: e for e in error_log.list_entries(conn, error_log.ErrorFilter())}
    assert set(entries) == {"destination_rejected", "retries_exhausted"}
    assert "HTTP 422" in entries["destination_rejected"].error
    assert len(orjson.loads(entries["retries_exhausted"].attempts)) == 3
    service.retry(hub.db, entries["retries_exhausted"].id)
    deliver_all(hub)
    with hub.db.read() as conn:
        assert error_log.get(conn, entries["retries_exhausted"].id).status == "resolved"


def test_shared_limiter_holds_rate(hub):  # type: ignore[no-untyped-def]
    granted_at = []
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline:
        n, wait = hub.limiter.take("test", 5, rate=40, burst=10)
        granted_at.extend([time.monotonic()] * n)
        if not n:
            time.sleep(min(wait, 0.02))
    # burst 10 at once, then about 40 per second
    assert 10 + 30 <= len(granted_at) <= 10 + 40 + 5

"""End to end against the Shopify simulator: webhooks, the batch backup, throttling, downtime."""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import func, select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from orderhub.adapters.shopify import subscriptions
from orderhub.adapters.store import destinations, shops
from orderhub.adapters.store.schema import inbox, orders
from orderhub.bootstrap import Hub
from orderhub.entrypoints.http.app import create_app
from orderhub.services.deliver import Deliverer
from orderhub.services.jobs import registry
from orderhub.services.jobs.import_orders import admin_client
from orderhub.services.jobs.runner import run_job
from orderhub.simulators.shopify.server import start_in_thread
from orderhub.testing.postgres import free_port
from orderhub.testing.server import ServerThread
from tests.support import drain

SHOP = "flows.myshopify.com"
SECRET = "flows-secret-🔑"
TOKEN = "shpat_flows"
ORDER_TOPICS = ["orders/create", "orders/updated", "orders/paid", "orders/cancelled", "orders/fulfilled",
                "orders/partially_fulfilled", "orders/edited", "refunds/create"]


@pytest.fixture
def sim() -> Iterator[tuple[Any, str, httpx.Client]]:
    simulator, url, stop = start_in_thread([{"domain": SHOP, "api_secret": SECRET, "access_token": TOKEN}],
                                           retry_schedule=[0.1, 0.2, 0.4, 0.8, 1.0, 1.0, 1.0, 1.0], seed=3,
                                           restore_rate=2000)  # a fast bucket keeps the tests quick
    with httpx.Client(base_url=url, timeout=30) as control:
        yield simulator, url, control
    stop()


def connect(hub: Hub, sim_url: str) -> shops.Shop:
    with hub.db.write() as conn:
        return shops.add(conn, SHOP, SECRET, admin_url=f"{sim_url}/shops/{SHOP}", access_token=TOKEN)


def sim_orders(control: httpx.Client) -> dict[str, dict[str, Any]]:
    return {str(o["id"]): o for o in control.get("/_sim/orders").json()["orders"]}


def stored_versions(hub: Hub) -> dict[str, str]:
    with hub.db.read() as conn:
        rows = conn.execute(select(orders.c.shopify_id, orders.c.source_updated_at)).all()
    return {r.shopify_id: r.source_updated_at.strftime("%Y-%m-%dT%H:%M:%S") for r in rows}


def latest_versions(control: httpx.Client) -> dict[str, str]:
    from orderhub.adapters.fields import parse_time

    return {i: parse_time(o["updated_at"]).strftime("%Y-%m-%dT%H:%M:%S") for i, o in sim_orders(control).items()}


def change_some(control: httpx.Client, ids: list[int]) -> None:
    """Pay, cancel, fulfil, refund, edit: the simulator refuses (409) what Shopify would not allow."""
    changed = 0
    for order_id, action in zip(ids, ["pay", "pay", "cancel", "fulfill", "refund", "edit", "update", "pay"]):
        r = control.post(f"/_sim/orders/{order_id}/{action}", json={})
        assert r.status_code in (200, 409), r.text
        changed += r.status_code == 200
    assert changed >= 4


class Sink:
    def __init__(self) -> None:
        self.event_ids: list[str] = []
        self.lock = threading.Lock()

    async def events(self, request: Request) -> Response:
        body = await request.body()
        expected = "sha256=" + hmac.new(b"sink", body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, request.headers.get("x-orderhub-signature", "")):
            return Response(status_code=401)
        with self.lock:
            self.event_ids.append(request.headers["x-orderhub-event-id"])
        return Response("{}")


def test_webhooks_and_poll_together_give_each_order_once_and_one_outbound_effect(hub, hub_server, sim):  # type: ignore[no-untyped-def]
    simulator, sim_url, control = sim
    shop = connect(hub, sim_url)
    sink = Sink()
    with ServerThread(Starlette(routes=[Route("/events", sink.events, methods=["POST"])])) as sink_server:
        with hub.db.write() as conn:
            destinations.add_http(conn, "erp", f"{sink_server.url}/events", "sink", rate_per_second=1000)
        client = admin_client(shop)
        for topic in ORDER_TOPICS:
            assert subscriptions.subscribe(client, topic, f"{hub_server.url}/webhooks/shopify")["status"] == "subscribed"
        control.post("/_sim/config", json={"duplicate_rate": 0.3, "jitter": 0.2})
        ids = control.post("/_sim/orders", json={"count": 25, "seed": 5}).json()["order_ids"]
        change_some(control, ids)
        # The batch backup runs while webhooks are still arriving, and again afterwards.
        run_job(hub, "import-new-orders", shop, {})
        run_job(hub, "import-order-updates", shop, {})
        assert control.post("/_sim/wait_idle", json={"timeout": 20}).json()["idle"]
        for job in ("import-new-orders", "import-order-updates"):
            _run, stats = run_job(hub, job, shop, {})
            assert stats["fetched"] >= 25 and stats["stored"] == 0  # everything already in the inbox
        drain(hub)
        deliverer = Deliverer(hub.db, worker="t", limiter=hub.limiter)
        while deliverer.run_once()[0]:
            pass
        assert stored_versions(hub) == latest_versions(control)  # exactly N orders, each at its latest version
        with hub.db.read() as conn:
            applied = conn.execute(select(func.count()).select_from(inbox).where(
                inbox.c.outcome == "applied", inbox.c.topic.like("orders/%"))).scalar_one()
        assert len(sink.event_ids) == len(set(sink.event_ids))  # no duplicate outbound effect
        assert len(sink.event_ids) >= applied > 0


def test_poll_alone_catches_up_and_resumes_from_its_watermark(hub, sim):  # type: ignore[no-untyped-def]
    _simulator, sim_url, control = sim
    shop = connect(hub, sim_url)
    ids = control.post("/_sim/orders", json={"count": 12, "seed": 9}).json()["order_ids"]
    _run, first = run_job(hub, "import-order-updates", shop, {})
    assert (first["fetched"], first["stored"]) == (12, 12)
    assert first["pages"] > 1  # cursor pages
    control.post(f"/_sim/orders/{ids[0]}/pay", json={})
    control.post(f"/_sim/orders/{ids[1]}/cancel", json={})
    _run, second = run_job(hub, "import-order-updates", shop, {"overlap_seconds": "0"})
    # Orders updated in the watermark's own second are read again (>=) and deduplicated.
    assert second["stored"] == 2 and second["duplicates"] == second["fetched"] - 2
    drain(hub)
    assert stored_versions(hub) == latest_versions(control)


def test_poll_waits_for_the_cost_bucket_and_survives_throttling(hub, sim):  # type: ignore[no-untyped-def]
    _simulator, sim_url, control = sim
    shop = connect(hub, sim_url)
    control.post("/_sim/orders", json={"count": 8, "seed": 2})
    registry.all_jobs()  # loaded now: the bucket below must still be empty when the job asks
    control.post("/_sim/config", json={"throttle": {"maximum_available": 1000, "restore_rate": 500,
                                                    "currently_available": 0}})
    _run, stats = run_job(hub, "import-new-orders", shop, {})
    assert stats["stored"] == 8
    assert stats["throttled"] >= 1 and stats["waited_seconds"] > 0


def test_bad_access_token_fails_the_run_clearly(hub, sim):  # type: ignore[no-untyped-def]
    from orderhub.services.jobs.runner import JobFailed

    _simulator, sim_url, _control = sim
    with hub.db.write() as conn:
        shop = shops.add(conn, SHOP, SECRET, admin_url=f"{sim_url}/shops/{SHOP}", access_token="wrong")
    with pytest.raises(JobFailed, match="refused the access token"):
        run_job(hub, "import-new-orders", shop, {})


def test_nothing_is_lost_while_orderhub_is_down(hub, sim):  # type: ignore[no-untyped-def]
    _simulator, sim_url, control = sim
    shop = connect(hub, sim_url)
    port = free_port()
    client = admin_client(shop)
    for topic in ("orders/create", "orders/updated"):
        subscriptions.subscribe(client, topic, f"http://127.0.0.1:{port}/webhooks/shopify")
    control.post("/_sim/orders", json={"count": 10, "seed": 4})  # orderhub is not running: deliveries fail
    with ServerThread(create_app(hub), port=port):  # back up before Shopify gives up
        assert control.post("/_sim/wait_idle", json={"timeout": 20}).json()["idle"]
    failed = [d for d in control.get("/_sim/deliveries").json()["deliveries"] if d.get("status") != 200]
    assert failed, "deliveries should have failed while orderhub was down"
    drain(hub)
    assert stored_versions(hub) == latest_versions(control)
    assert orjson.loads(control.get("/_sim/subscriptions").content)["subscriptions"]  # not removed


def test_new_orders_cancelled_orders_and_cancelled_items_each_take_their_own(hub, sim):  # type: ignore[no-untyped-def]
    _simulator, sim_url, control = sim
    shop = connect(hub, sim_url)
    ids = control.post("/_sim/orders", json={"count": 6, "seed": 3}).json()["order_ids"]
    _run, new = run_job(hub, "import-new-orders", shop, {})
    assert (new["fetched"], new["stored"]) == (6, 6)
    control.post(f"/_sim/orders/{ids[0]}/cancel", json={})
    control.post(f"/_sim/orders/{ids[1]}/edit", json={"quantity": 0})  # one line cancelled, the order stays
    _run, cancelled = run_job(hub, "import-cancelled-orders", shop, {})
    assert (cancelled["fetched"], cancelled["stored"]) == (1, 1)
    _run, items = run_job(hub, "import-cancelled-items", shop, {})
    assert (items["stored"], items["skipped"]) == (1, items["fetched"] - 1)
    _run, again = run_job(hub, "import-new-orders", shop, {})
    assert again["stored"] == 0  # nothing new was created
    drain(hub)
    assert stored_versions(hub) == latest_versions(control)



def test_after_downtime_queued_import_runs_do_not_pile_up_or_double_orders(hub, sim):  # type: ignore[no-untyped-def]
    """The scheduler was down for two hours of a 5-minute import, then ticked on while no node ran jobs:
    one run is queued, it imports each order once, and the next tick queues again."""
    from datetime import timedelta

    from orderhub.adapters.store.schema import job_runs, job_schedules
    from orderhub.clock import utcnow
    from orderhub.services.jobs.manager import JobManager

    _simulator, sim_url, control = sim
    shop = connect(hub, sim_url)
    control.post("/_sim/orders", json={"count": 8, "seed": 12})
    manager = JobManager(hub)
    manager.schedule("import-order-updates", [shop], expression="every-5-minutes")
    for minutes_late in (120, 5, 5, 5):  # down for 24 ticks; then ticks come while no executor runs
        with hub.db.write() as conn:
            conn.execute(job_schedules.update().values(next_run_at=utcnow() - timedelta(minutes=minutes_late)))
        manager.tick()
    with hub.db.read() as conn:
        assert [r.status for r in conn.execute(select(job_runs.c.status))] == ["queued"]
    assert manager.work_once()[0] == 1 and manager.work_once()[0] == 0
    drain(hub)
    with hub.db.read() as conn:
        assert conn.execute(select(func.count()).select_from(orders)).scalar_one() == 8
        [run] = conn.execute(select(job_runs)).all()
    assert (run.status, run.read_count, run.processed_count) == ("succeeded", 8, 8)
    assert stored_versions(hub) == latest_versions(control)

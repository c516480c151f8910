"""The initial-load jobs against the Shopify simulator's bulk operations, on SQLite and PostgreSQL.

``import-products-bulk`` then ``import-orders-bulk`` over a few hundred synthetic orders
(``/_sim/bulk_catalogue``) and a few real ones: every order lands in the inbox once,
under the identity its webhook gets; a second run adds nothing; orders naming SKUs
orderhub does not know go to the error log, linked to the run, and import once the SKU
is known. Also: the orders import is refused before a products import succeeded, a
FAILED operation fails the run with its id and error code, and the finish webhook,
through the receiver and the processor, ends the wait.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import func, select

from orderhub.adapters.shopify import subscriptions
from orderhub.adapters.shopify.webhooks import identity
from orderhub.adapters.store import order_store, shops
from orderhub.adapters.store.schema import error_log, inbox, job_runs, job_state, orders, products, variants
from orderhub.bootstrap import Hub
from orderhub.domain.model import Product, Variant
from orderhub.services import errors as errors_service
from orderhub.services.errors import NotRetryable
from orderhub.services.jobs import initial_load
from orderhub.services.jobs.import_orders import admin_client
from orderhub.services.jobs.runner import JobFailed, run_job
from orderhub.simulators.shopify.bulk_catalogue import synthetic_id
from orderhub.simulators.shopify.server import start_in_thread
from orderhub.simulators.shopify.simulator import Simulator
from orderhub.testing.server import ServerThread
from tests.support import drain, put

SHOP = "initial-load.myshopify.com"
SECRET = "initial-load-secret-🔑"
TOKEN = "shpat_initial_load"
SYNTHETIC_ORDERS = 300
SYNTHETIC_PRODUCTS = 12
UNKNOWN_SKU = "SKU-nie-gesehen-🦄"


@dataclass
class Sim:
    simulator: Simulator
    url: str
    control: httpx.Client

    def post(self, path: str, body: dict[str, Any]) -> Any:
        response = self.control.post(f"/_sim{path}", json=body)
        assert response.is_success, response.text
        return response.json()

    def bulk_settings(self, **settings: Any) -> None:
        self.post("/config", {"bulk": {"start_delay": 0, "objects_per_second": None, **settings}})

    def bulk_operations(self) -> list[dict[str, Any]]:
        return list(self.control.get("/_sim/bulk_operations", params={"shop": SHOP}).json()["bulk_operations"])


@pytest.fixture
def sim() -> Iterator[Sim]:
    simulator, url, stop = start_in_thread([{"domain": SHOP, "api_secret": SECRET, "access_token": TOKEN}],
                                           seed=23, retry_schedule=[0.05], restore_rate=5000)
    with httpx.Client(base_url=url, timeout=30) as control:
        yield Sim(simulator, url, control)
    stop()


def connect(hub: Hub, sim: Sim) -> shops.Shop:
    with hub.db.write() as conn:
        return shops.add(conn, SHOP, SECRET, admin_url=f"{sim.url}/shops/{SHOP}", access_token=TOKEN)


def run_row(hub: Hub, run_id: int) -> Any:
    with hub.db.read() as conn:
        return conn.execute(select(job_runs).where(job_runs.c.id == run_id)).one()


def bulk_rows(hub: Hub) -> list[Any]:
    with hub.db.read() as conn:
        return list(conn.execute(select(inbox.c.identity, inbox.c.payload, inbox.c.topic, inbox.c.source)
                                 .where(inbox.c.source.in_(("bulk", "webhook")))))


def error_entries(hub: Hub) -> list[Any]:
    with hub.db.read() as conn:
        return list(conn.execute(select(error_log).where(error_log.c.record_type == initial_load.RECORD_TYPE)
                                 .order_by(error_log.c.id)))


def unknown_sku_orders(sim: Sim, order_ids: list[int]) -> dict[str, int]:
    """Give real orders a line with a SKU orderhub never hears of: {order id: index of that line}."""
    lines = {}
    for k, order_id in enumerate(order_ids):
        _shop, order = sim.simulator.store.order(order_id, SHOP)
        with sim.simulator.store.lock:
            index = min(k, len(order["line_items"]) - 1)
            order["line_items"][index]["sku"] = UNKNOWN_SKU
        lines[str(order_id)] = index
    return lines


def test_products_then_orders_each_order_once(hub: Hub, sim: Sim) -> None:
    sim.bulk_settings()
    shop = connect(hub, sim)
    real = sim.post("/orders", {"count": 6, "seed": 3})["order_ids"]
    sim.post("/bulk_catalogue", {"orders": SYNTHETIC_ORDERS, "products": SYNTHETIC_PRODUCTS, "seed": 9})
    own_products = sim.control.get("/_sim/products").json()["products"]

    run_id, stats = run_job(hub, initial_load.PRODUCTS_JOB, shop, {})
    with hub.db.read() as conn:
        stored = {r.shopify_id: r for r in conn.execute(select(products))}
        stored_variants = {r.shopify_id: r for r in conn.execute(select(variants))}
    expected = {str(p["id"]) for p in own_products} | {str(synthetic_id("product", i))
                                                       for i in range(SYNTHETIC_PRODUCTS)}
    assert set(stored) == expected and stats["products"] == len(expected)
    for p in own_products:
        assert (stored[str(p["id"])].title, stored[str(p["id"])].status) == (p["title"], "active")
        for v in p["variants"]:
            row = stored_variants[str(v["id"])]
            assert (row.sku, row.product_shopify_id, row.inventory_item_id) == (
                v["sku"], str(p["id"]), str(v["inventory_item_id"]))
    run = run_row(hub, run_id)
    assert (run.status, run.read_count, run.processed_count, run.failed_count) == (
        "succeeded", len(expected), len(expected), 0)

    bad = unknown_sku_orders(sim, real[:2])
    rest = {str(o["id"]): o for o in sim.control.get("/_sim/orders").json()["orders"]}
    assert put(hub, "orders/create", rest[str(real[2])], shop_id=shop.id), "one order came by webhook already"

    run_id, stats = run_job(hub, initial_load.ORDERS_JOB, shop, {})
    synthetic = {str(synthetic_id("order", i)) for i in range(SYNTHETIC_ORDERS)}
    wanted = synthetic | {str(i) for i in real[2:]}
    rows = bulk_rows(hub)
    by_order = {str(orjson.loads(r.payload)["id"]): r for r in rows}
    assert len(rows) == len(by_order) == len(wanted) and set(by_order) == wanted, "each order once, bad ones out"
    for order_id, row in by_order.items():
        assert row.identity == identity("orders/create", orjson.loads(row.payload), None)
        assert (row.source, row.topic) == (("webhook", "orders/create") if order_id == str(real[2])
                                           else ("bulk", "orders/updated"))
    run = run_row(hub, run_id)
    total = SYNTHETIC_ORDERS + len(real)
    assert (run.status, run.read_count, run.processed_count, run.skipped_count, run.failed_count) == (
        "succeeded", total, total - 3, 1, 2)
    assert stats["unknown_sku"] == 2 and stats["orders"] == total

    entries = error_entries(hub)
    assert len(entries) == 2
    for entry in entries:
        payload = orjson.loads(entry.payload)
        order_id = str(payload["id"])
        assert (entry.kind, entry.status, entry.shop_id, entry.job_run_id) == ("validation", "open", shop.id, run_id)
        assert entry.field == f"line_items[{bad[order_id]}].sku"
        assert payload["line_items"][bad[order_id]]["sku"] == UNKNOWN_SKU
        assert UNKNOWN_SKU in entry.error and order_id in entry.error and "import-orders-bulk again" in entry.error

    again_id, again = run_job(hub, initial_load.ORDERS_JOB, shop, {})
    assert len(bulk_rows(hub)) == len(wanted), "a second run adds nothing"
    run = run_row(hub, again_id)
    assert (run.read_count, run.processed_count, run.skipped_count, run.failed_count) == (total, 0, total - 2, 2)
    entries = error_entries(hub)
    assert len(entries) == 2 and {e.job_run_id for e in entries} == {again_id}
    assert all(len(orjson.loads(e.attempts)) == 2 for e in entries)
    with pytest.raises(NotRetryable, match="then run import-orders-bulk again"):  # a person is told what to do
        errors_service.retry(hub.db, entries[0].id)

    with hub.db.write() as conn:  # the product arrives (say by its webhook): the orders now import
        order_store.apply_product(conn, shop.id, Product("9" * 15, datetime.now().astimezone(), "Einhorn",
                                                         variants=(Variant("9" * 16, sku=UNKNOWN_SKU),)))
    fixed_id, fixed = run_job(hub, initial_load.ORDERS_JOB, shop, {})
    assert fixed["resolved"] == 2 and run_row(hub, fixed_id).processed_count == 2
    assert {str(orjson.loads(r.payload)["id"]) for r in bulk_rows(hub)} == wanted | {str(i) for i in real[:2]}
    assert {e.status for e in error_entries(hub)} == {"resolved"}

    assert drain(hub) == len(wanted) + 2
    with hub.db.read() as conn:
        assert conn.execute(select(func.count()).select_from(orders)).scalar_one() == len(wanted) + 2
        assert conn.execute(select(func.count()).select_from(inbox).where(inbox.c.status != "done")).scalar_one() == 0


def test_a_time_window_imports_only_the_orders_created_in_it(hub: Hub, sim: Sim) -> None:
    sim.bulk_settings()
    shop = connect(hub, sim)
    until = datetime.fromisoformat(sim.post("/bulk_catalogue", {"orders": 50, "seed": 2})["until"])
    run_job(hub, initial_load.PRODUCTS_JOB, shop, {})
    since = until - timedelta(seconds=10)  # synthetic order i is placed at until - (50 - i) seconds
    _run, stats = run_job(hub, initial_load.ORDERS_JOB, shop, {"since": since.isoformat(),
                                                               "until": until.isoformat()})
    assert {str(orjson.loads(r.payload)["id"]) for r in bulk_rows(hub)} == {
        str(synthetic_id("order", i)) for i in range(40, 50)}
    assert stats["orders"] == 10
    assert "created_at:>=" in sim.bulk_operations()[-1]["query"]
    with pytest.raises(JobFailed, match="must be before until"):
        run_job(hub, initial_load.ORDERS_JOB, shop, {"since": until.isoformat(), "until": since.isoformat()})


def test_orders_are_refused_before_a_products_import_succeeded(hub: Hub, sim: Sim) -> None:
    sim.bulk_settings()
    shop = connect(hub, sim)
    with pytest.raises(JobFailed) as refused:
        run_job(hub, initial_load.ORDERS_JOB, shop, {})
    message = str(refused.value)
    assert "needs a successful run of import-products-bulk first" in message and "run that, then this" in message
    assert run_row(hub, refused.value.run_id).status == "failed"
    assert sim.bulk_operations() == [], "no bulk operation was started"


def test_a_failed_bulk_operation_fails_the_run(hub: Hub, sim: Sim) -> None:
    sim.bulk_settings(fail_next={"error_code": "ACCESS_DENIED", "after_objects": 3})
    shop = connect(hub, sim)
    with pytest.raises(JobFailed) as failed:
        run_job(hub, initial_load.PRODUCTS_JOB, shop, {})
    [operation] = sim.bulk_operations()
    assert operation["status"] == "FAILED"
    run = run_row(hub, failed.value.run_id)
    assert run.status == "failed"
    assert operation["id"] in run.error and "FAILED with error code ACCESS_DENIED" in run.error
    assert "grant that scope and start again" in run.error
    with hub.db.read() as conn:
        assert conn.execute(select(func.count()).select_from(products)).scalar_one() == 0, "no partial import"
    with pytest.raises(JobFailed, match="needs a successful run of import-products-bulk"):
        run_job(hub, initial_load.ORDERS_JOB, shop, {})


@pytest.fixture
def processor(hub: Hub) -> Iterator[None]:
    """The inbox processor, running as ``orderhub worker`` would."""
    stop = threading.Event()

    def work() -> None:
        p = hub.processor()
        while not stop.is_set():
            done, wait = p.run_once()
            if not done:
                stop.wait(min(wait, 0.05))

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    yield
    stop.set()
    thread.join()


def test_the_finish_webhook_ends_the_wait(hub: Hub, hub_server: ServerThread, processor: None, sim: Sim) -> None:
    sim.bulk_settings(start_delay=1.0)
    shop = connect(hub, sim)
    subscriptions.subscribe(admin_client(shop), initial_load.FINISH_TOPIC, f"{hub_server.url}/webhooks/shopify")

    began = time.monotonic()
    _run, stats = run_job(hub, initial_load.PRODUCTS_JOB, shop, {"poll_seconds": "300s"})
    assert time.monotonic() - began < 60, "polling alone would have paused 300s after the first poll"
    assert stats["finish_webhook"] is True
    [operation] = sim.bulk_operations()
    assert stats["operation"] == operation["id"] and operation["status"] == "COMPLETED"
    with hub.db.read() as conn:
        hook = conn.execute(select(inbox).where(inbox.c.topic == initial_load.FINISH_TOPIC)).one()
        left = conn.execute(select(func.count()).select_from(job_state).where(
            job_state.c.job == initial_load.FINISH_TOPIC)).scalar_one()
    assert (hook.source, hook.status, hook.outcome) == ("webhook", "done", "recorded")
    assert orjson.loads(hook.payload)["admin_graphql_api_id"] == operation["id"]
    assert left == 0, "the job forgets the finish it used"


def test_a_finish_webhook_without_an_operation_id_goes_to_the_error_log(hub: Hub) -> None:
    with hub.db.write() as conn:
        shop = shops.add(conn, SHOP, SECRET)
    assert put(hub, initial_load.FINISH_TOPIC, {"status": "completed"}, shop_id=shop.id)
    drain(hub)
    with hub.db.read() as conn:
        entry = conn.execute(select(error_log).where(error_log.c.topic == initial_load.FINISH_TOPIC)).one()
    assert (entry.kind, entry.field) == ("validation", "admin_graphql_api_id")

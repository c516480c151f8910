"""orderhub's bulk operations client against the Shopify simulator over loopback HTTP."""

from __future__ import annotations

import threading
import time
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import httpx
import orjson
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from orderhub.adapters.shopify import bulk, subscriptions, webhooks
from orderhub.adapters.shopify.graphql import AdminClient
from orderhub.domain.errors import InvalidRecord
from orderhub.services.jobs.import_orders import poll_orders
from orderhub.simulators.shopify.server import start_in_thread
from orderhub.simulators.shopify.simulator import Simulator
from orderhub.testing.server import ServerThread
from tests.versions import NEWEST, SUPPORTED, TEST_DAY

SHOP = "bulk-store.myshopify.com"
SECRET = "bulk-secret-🦋"
TOKEN = "shpat_bulk"
SMALL_ORDERS = "{ orders { edges { node { id name updatedAt lineItems { edges { node { id sku quantity } } } } } } }"


class Sim:
    def __init__(self, sim: Simulator, url: str, version: str) -> None:
        self.sim, self.url, self.version = sim, url, version
        sim.store.clock.fixed_day = TEST_DAY
        self.client = AdminClient(f"{url}/admin/api/{version}/graphql.json", TOKEN, sleep=time.sleep,
                                  today=lambda: TEST_DAY)

    def control(self, path: str, body: dict[str, Any]) -> Any:
        response = httpx.post(f"{self.url}/_sim{path}", json=body, timeout=10)
        assert response.is_success, response.text
        return response.json()

    def bulk_settings(self, **settings: Any) -> None:
        self.control("/config", {"bulk": {"start_delay": 0, "objects_per_second": None, **settings}})


@contextmanager
def _simulated(version: str) -> Iterator[Sim]:
    sim, url, stop = start_in_thread([{"domain": SHOP, "api_secret": SECRET, "access_token": TOKEN}], seed=11,
                                     retry_schedule=[0.05])
    try:
        yield Sim(sim, url, version)
    finally:
        stop()


@pytest.fixture(params=SUPPORTED)
def shopify(request: pytest.FixtureRequest) -> Iterator[Sim]:
    """The simulator, and a client of one API version (each test runs on every supported version)."""
    with _simulated(request.param) as sim:
        yield sim


@pytest.fixture
def shopify_newest() -> Iterator[Sim]:
    """The simulator and a client of the newest version, for what does not depend on the version."""
    with _simulated(NEWEST) as sim:
        yield sim


class FinishHooks:
    """Receives webhooks; ``arrived`` is set when a verified bulk_operations/finish comes in."""

    def __init__(self) -> None:
        self.arrived = threading.Event()
        self.payloads: list[dict[str, Any]] = []

        async def hook(request: Request) -> Response:
            body = await request.body()
            if not webhooks.verify(SECRET, body, request.headers.get("x-shopify-hmac-sha256")):
                return Response(status_code=401)
            if request.headers.get("x-shopify-topic") == "bulk_operations/finish":
                self.payloads.append(orjson.loads(body))
                self.arrived.set()
            return Response(status_code=200)

        self.server = ServerThread(Starlette(routes=[Route("/hooks", hook, methods=["POST"])]))


@pytest.fixture
def finish_hooks() -> Iterator[FinishHooks]:
    hooks = FinishHooks()
    with hooks.server:
        yield hooks


def _lines(op: bulk.BulkOperation) -> Iterator[bytes]:
    assert op.url is not None
    return bulk.download_lines(op.url, operation_id=op.id)


def test_products_are_read_with_their_variants_and_inventory_items(shopify: Sim) -> None:
    shopify.bulk_settings()
    started = bulk.start(shopify.client, bulk.PRODUCTS_QUERY)
    assert started.status == "CREATED" and started.id.startswith("gid://shopify/BulkOperation/")
    assert shopify.client.served_version == shopify.version  # a supported version serves itself
    done = bulk.wait(shopify.client, started.id, interval=0.05)
    assert done.status == "COMPLETED" and done.url and done.completed_at is not None

    products = list(bulk.products(bulk.grouped(_lines(done))))
    store = shopify.sim.store.shop(SHOP)
    expected = sorted(store.products.values(), key=lambda p: p["id"])
    assert [p.id for p in products] == [str(p["id"]) for p in expected]
    assert done.root_object_count == len(products)
    assert done.object_count == len(products) + sum(len(p.variants) for p in products)
    for got, rest in zip(products, expected, strict=True):
        assert (got.title, got.handle, got.vendor, got.status) == (rest["title"], rest["handle"], rest["vendor"],
                                                                   "ACTIVE")
        assert [(v.id, v.sku, v.price) for v in got.variants] == [
            (str(v["id"]), v["sku"], Decimal(v["price"])) for v in rest["variants"]]
        assert [v.inventory_item.id for v in got.variants if v.inventory_item] == [
            str(v["inventory_item_id"]) for v in rest["variants"]]
        assert [v.inventory_quantity for v in got.variants] == [
            store.inventory_levels[(v["inventory_item_id"], store.locations[0])]["available"]
            for v in rest["variants"]]


def test_orders_come_in_the_same_shape_as_the_batch_poll(shopify: Sim) -> None:
    shopify.bulk_settings()
    placed = shopify.control("/orders", {"count": 6})["order_ids"]
    shopify.control(f"/orders/{placed[0]}/pay", {})
    query = bulk.orders_query(shopify.client.version)
    done = bulk.wait(shopify.client, bulk.start(shopify.client, query).id, interval=0.05)
    orders = list(bulk.orders(bulk.grouped(_lines(done))))
    assert [o.id for o in orders] == [str(i) for i in placed]

    polled = {str(p["id"]): p for page in poll_orders(shopify.client, None) for p in page}
    for order in orders:
        assert order.payload == polled[order.id], "bulk and poll give the processor the same order"
        assert order.name == order.payload["name"] and order.updated_at.tzinfo is not None
        assert len(order.payload["line_items"]) == len(shopify.sim.store.shop(SHOP).orders[int(order.id)]
                                                       ["line_items"])


def test_a_large_file_is_streamed_with_flat_memory(shopify_newest: Sim) -> None:
    shopify = shopify_newest
    shopify.bulk_settings()
    shopify.control("/bulk_catalogue", {"orders": 100_000, "seed": 4})
    done = bulk.wait(shopify.client, bulk.start(shopify.client, SMALL_ORDERS).id, timeout=600, interval=0.2,
                     max_interval=1.0)
    assert done.root_object_count == 100_000 and done.file_size and done.file_size > 25_000_000

    tracemalloc.start()
    try:
        count, children, previous = 0, 0, 0
        for group in bulk.grouped(_lines(done), operation_id=done.id):
            number = int(group.record["id"].rsplit("/", 1)[1])
            assert number > previous and group.children
            assert all(c["__parentId"] == group.record["id"] for c in group.children)
            previous, count, children = number, count + 1, children + len(group.children)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert (count, count + children) == (100_000, done.object_count)
    assert peak < 4_000_000, f"peak {peak} bytes while streaming a file of {done.file_size} bytes"


def test_wait_returns_as_soon_as_the_finish_webhook_arrives(shopify: Sim, finish_hooks: FinishHooks) -> None:
    shopify.bulk_settings(start_delay=0.3)
    subscriptions.subscribe(shopify.client, "bulk_operations/finish", f"{finish_hooks.server.url}/hooks")
    for finished in (finish_hooks.arrived, finish_hooks.arrived.is_set):
        finish_hooks.arrived.clear()
        op = bulk.start(shopify.client, bulk.PRODUCTS_QUERY)
        began = time.monotonic()
        done = bulk.wait(shopify.client, op.id, interval=30, finished=finished)
        assert done.status == "COMPLETED" and time.monotonic() - began < 10, "without the webhook it sleeps 30s"
        assert finish_hooks.payloads[-1]["admin_graphql_api_id"] == op.id


def test_a_failed_operation_is_reported_with_its_error_code_and_partial_data(shopify: Sim) -> None:
    shopify.bulk_settings(fail_next={"error_code": "INTERNAL_SERVER_ERROR", "after_objects": 5})
    op = bulk.start(shopify.client, bulk.PRODUCTS_QUERY)
    with pytest.raises(bulk.BulkOperationFailed) as failed:
        bulk.wait(shopify.client, op.id, interval=0.05)
    message = str(failed.value)
    assert failed.value.operation_id == op.id and op.id in message
    assert "FAILED with error code INTERNAL_SERVER_ERROR" in message and "start the operation again" in message
    partial = failed.value.operation.partial_data_url
    assert partial and partial in message
    assert len(list(bulk.download_lines(partial, operation_id=op.id))) >= 5


def test_a_second_start_is_refused_while_one_runs_and_cancel_ends_it(shopify: Sim) -> None:
    shopify.bulk_settings(objects_per_second=2)
    running = bulk.start(shopify.client, bulk.PRODUCTS_QUERY)
    with pytest.raises(bulk.BulkStartRefused) as refused:
        bulk.start(shopify.client, bulk.orders_query(shopify.client.version))
    assert refused.value.running_id == running.id == refused.value.operation_id
    assert f"Bulk operation {running.id} is still running" in str(refused.value)
    current = bulk.current(shopify.client)
    assert current is not None and current.id == running.id

    with pytest.raises(bulk.BulkTimeout) as late:
        bulk.wait(shopify.client, running.id, timeout=0.3, interval=0.05)
    assert running.id in str(late.value) and "did not finish within 0.3s" in str(late.value)

    assert bulk.cancel(shopify.client, running.id).status == "CANCELING"
    with pytest.raises(bulk.BulkOperationFailed, match="was CANCELED"):
        bulk.wait(shopify.client, running.id, interval=0.05)
    with pytest.raises(bulk.BulkError, match="cannot be canceled when it is canceled"):
        bulk.cancel(shopify.client, running.id)
    with pytest.raises(bulk.BulkStartRefused, match="Field 'colour' doesn't exist on type 'Product'.*Fix the query"):
        bulk.start(shopify.client, "{ products { edges { node { id colour } } } }")


def test_an_expired_result_url_is_reported(shopify: Sim) -> None:
    shopify.bulk_settings(url_ttl=1)
    done = bulk.wait(shopify.client, bulk.start(shopify.client, bulk.PRODUCTS_QUERY).id, interval=0.05)
    time.sleep(2.1)
    with pytest.raises(bulk.BulkUrlExpired) as expired:
        list(_lines(done))
    assert done.id in str(expired.value) and "has expired" in str(expired.value)
    with pytest.raises(bulk.BulkOperationFailed, match="EXPIRED"):
        bulk.wait(shopify.client, done.id)
    with pytest.raises(bulk.BulkError, match="does not exist"):
        bulk.poll(shopify.client, "gid://shopify/BulkOperation/1")


def test_grouped_yields_each_parent_once_the_next_one_starts() -> None:
    read: list[int] = []

    def source() -> Iterator[bytes]:
        rows = [b'{"id":"gid://shopify/Product/1"}',
                b'{"id":"gid://shopify/ProductVariant/11","__parentId":"gid://shopify/Product/1"}',
                b'{"id":"gid://shopify/Collection/5","__parentId":"gid://shopify/Product/1"}',
                b"",
                b'{"id":"gid://shopify/Product/2"}',
                b'{"id":"gid://shopify/ProductVariant/21","__parentId":"gid://shopify/Product/2"}']
        for number, row in enumerate(rows, start=1):
            read.append(number)
            yield row

    groups = bulk.grouped(source())
    first = next(groups)
    assert read == [1, 2, 3, 4, 5], "the first product comes out when the second one starts, not at the end"
    assert [c["id"] for c in first.of_type("ProductVariant")] == ["gid://shopify/ProductVariant/11"]
    assert [c["id"] for c in first.of_type("Collection")] == ["gid://shopify/Collection/5"]
    assert [(g.id, g.line) for g in groups] == [("gid://shopify/Product/2", 5)]


@pytest.mark.parametrize(("rows", "line", "says"), [
    ([b'{"id":"gid://shopify/Order/1"}', b'{"id":"gid://shopify/LineItem/2","__parentId":"gid://shopify/Order/1"}',
      b'{"id":"gid://shopify/LineItem/3","__parentId":"gid'], 3, "not valid JSON"),
    ([b'{"id":"gid://shopify/Order/1"}', b'{"id":"gid://shopify/Order/2"}',
      b'{"id":"gid://shopify/LineItem/3","__parentId":"gid://shopify/Order/1"}'], 3, "not grouped by parent"),
    ([b'{"id":"gid://shopify/LineItem/3","__parentId":"gid://shopify/Order/1"}'], 1, "not grouped by parent"),
    ([b'{"id":"gid://shopify/Order/1"}', b"[1, 2]"], 2, "is a JSON list, not an object"),
])
def test_a_malformed_file_names_the_operation_and_the_line(rows: list[bytes], line: int, says: str) -> None:
    with pytest.raises(bulk.BulkFileError) as bad:
        list(bulk.grouped(rows, operation_id="gid://shopify/BulkOperation/77"))
    assert bad.value.line == line and says in str(bad.value)
    assert f"line {line} of the results of bulk operation gid://shopify/BulkOperation/77" in str(bad.value)


def test_an_invalid_record_names_its_line_and_field() -> None:
    [group] = bulk.grouped([b'{"id":"gid://shopify/Product/1","title":"Mug"}',
                            b'{"id":"gid://shopify/ProductVariant/2","price":"cheap",'
                            b'"__parentId":"gid://shopify/Product/1"}'])
    with pytest.raises(InvalidRecord) as bad:
        bulk.parse_product(group)
    assert str(bad.value) == "line 1 (gid://shopify/Product/1).variants[0].price: not an amount: 'cheap'"
    [order] = bulk.grouped([b'{"id":"gid://shopify/Order/1","name":"#1001"}'])
    with pytest.raises(InvalidRecord, match=r"line 1 \(gid://shopify/Order/1\).updatedAt"):
        bulk.parse_order(order)

"""A viral spike: 2,000 TikTok orders within about a minute for a SKU with 300 units, while Shopify and Amazon
customers buy it too, all through orderhub's doors and a running worker, each simulator at its default limits.

Nothing is oversold; the orders that cannot be filled are cancelled back on their channel as out of stock
(TikTok's and Amazon's by the channel-operations sender; Shopify's by `upload-cancellations`, on its schedule);
every channel (Shopify, Amazon, Walmart, TikTok) shows 0 for the SKU soon after the last unit went; no
channel's rate limit is exceeded.

It runs on PostgreSQL, the database for many processes and for volume; the same guarantees on SQLite are
proven at a smaller scale by the stock-push and placement properties.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from copy import deepcopy
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from orderhub.adapters.amazon.client import forget_tokens
from orderhub.adapters.channels import account_values
from orderhub.adapters.store import accounts, channel_stock, facilities, routing_store, shopify_listings, shops, tokens
from orderhub.adapters.store.schema import channel_operations, inventory, order_units, orders
from orderhub.adapters.walmart import client as walmart_client
from orderhub.bootstrap import Hub
from orderhub.entrypoints.worker import Worker
from orderhub.services import inventory as inventory_service
from orderhub.services.brokering import DEFAULT_RUN
from orderhub.services.jobs.manager import JobManager
from orderhub.services.jobs.runner import run_job
from orderhub.simulators.amazon import defaults as az
from orderhub.simulators.amazon.server import start_in_thread as start_amazon
from orderhub.simulators.shopify.server import start_in_thread as start_shopify
from orderhub.simulators.tiktok.defaults import DEFAULT_APP_KEY, DEFAULT_APP_SECRET
from orderhub.simulators.tiktok.server import start_in_thread as start_tiktok
from orderhub.simulators.walmart.defaults import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
from orderhub.simulators.walmart.server import start_in_thread as start_walmart
from orderhub.testing.server import ServerThread
from tests.integration.test_tiktok_support import CIPHER, SHOP_ID, TOKEN
from tests.support import drain, order_payload, post_webhook
from tests.versions import NEWEST

pytestmark = pytest.mark.timeout(600)

SKU = "GLOSS-VIRAL"
SHOPIFY_SHOP, SHOPIFY_SECRET, SHOPIFY_TOKEN = "viral-gloss.myshopify.com", "gloss-secret-💋", "shpat_gloss"
UNITS = 300
TIKTOK_ORDERS = 2000
SHOPIFY_ORDERS = 100
AMAZON_EVERY_SECONDS = 2.0  # Amazon's getOrder allows a burst of 20 and then one every 2 s
AMAZON_AFTER = 3  # Amazon orders placed after the last unit went
AMAZON_MOST = 60
SETTLE_SECONDS = 240.0  # how long the whole spike may take to be in orderhub and placed, on a loaded machine
ZERO_WITHIN_SECONDS = 60.0  # every channel shows 0 this soon after the last unit went


def _wait(what: str, done: Callable[[], bool], seconds: float, state: Callable[[], Any] = lambda: None) -> float:
    start = time.monotonic()
    while not done():
        if time.monotonic() - start > seconds:
            raise AssertionError(f"{what}: not within {seconds:.0f} s; {state()}")
        time.sleep(0.25)
    return time.monotonic() - start


class Channels:
    """The Shopify store's and the three marketplaces' simulators on loopback, at their default limits, and
    their control APIs."""

    def __init__(self) -> None:
        self._stops: list[Callable[[], None]] = []
        self.shopify_sim, self.shopify, stop = start_shopify(
            [{"domain": SHOPIFY_SHOP, "api_secret": SHOPIFY_SECRET, "access_token": SHOPIFY_TOKEN}], seed=21)
        self._stops.append(stop)
        self.tiktok_sim, self.tiktok, stop = start_tiktok()
        self._stops.append(stop)
        _, self.amazon, stop = start_amazon(seed=11)
        self._stops.append(stop)
        _, self.walmart, stop = start_walmart(seed=11)
        self._stops.append(stop)
        self.http = httpx.Client(timeout=30)

    def close(self) -> None:
        self.http.close()
        for stop in self._stops:
            stop()

    def call(self, base: str, method: str, path: str, body: Any = None, **params: str) -> Any:
        answer = self.http.request(method, f"{base}/_sim{path}", json=body, params=params or None)
        assert answer.status_code < 300, answer.text
        data = answer.json()
        return data["data"] if base == self.tiktok else data

    def shopify_location(self) -> dict[str, Any]:
        return self.call(self.shopify, "GET", "/locations", shop=SHOPIFY_SHOP)["locations"][0]

    def shown(self) -> dict[str, int | None]:
        """What each channel shows for the SKU, read from the channel itself."""
        store = self.call(self.shopify, "GET", "/products", shop=SHOPIFY_SHOP)
        item = next(v["inventory_item_id"] for p in store["products"] for v in p["variants"] if v["sku"] == SKU)
        location = self.shopify_location()["id"]
        shopify = [level["available"] for level in store["inventory_levels"]
                   if level["inventory_item_id"] == item and level["location_id"] == location]
        tiktok = [s["total"] for s in self.call(self.tiktok, "GET", "/stock")["stock"] if s["seller_sku"] == SKU]
        amazon = [r["quantities"].get("DEFAULT") for r in self.call(self.amazon, "GET", "/listings")["listings"]
                  if r["sku"] == SKU]
        walmart = [r["quantity"] for r in self.call(self.walmart, "GET", "/inventory", seller=DEFAULT_CLIENT_ID)
                   ["inventory"] if r["sku"] == SKU]
        return {"shopify": shopify[0] if shopify else None, "tiktok": tiktok[0] if tiktok else None,
                "amazon": amazon[0] if amazon else None, "walmart": walmart[0] if walmart else None}

    def throttled(self) -> dict[str, int]:
        """Requests each channel refused for its rate limit: 429s, and Shopify's THROTTLED answers."""
        found = {name: sum(1 for r in self.call(base, "GET", "/requests")["requests"] if r.get("status") == 429)
                 for name, base in (("tiktok", self.tiktok), ("amazon", self.amazon), ("walmart", self.walmart))}
        shops = self.call(self.shopify, "GET", "/shops")["shops"]
        return found | {"shopify": sum(shop["throttled"] for shop in shops)}


@pytest.fixture
def channels(monkeypatch: pytest.MonkeyPatch) -> Iterator[Channels]:
    monkeypatch.setenv("ORDERHUB_OUTBOUND_ALLOWED_HOSTS", "127.0.0.1,localhost")
    forget_tokens()
    walmart_client.forget_tokens()
    found = Channels()
    try:
        yield found
    finally:
        found.close()
        forget_tokens()
        walmart_client.forget_tokens()


def _scene(hub: Hub, server: ServerThread, ch: Channels) -> dict[str, accounts.Account]:
    """300 units in one warehouse, the SKU listed on every marketplace, orders that cannot be filled cancelled
    at once, and each channel's notifications pointed at orderhub."""
    main_warehouse = ch.tiktok_sim.store.shops[SHOP_ID].warehouses[0].id  # the shop's one, orderhub's stock
    tiktok_ids = ch.call(ch.tiktok, "POST", "/products", {"title": "Viral lip gloss 💋", "skus": [
        {"seller_sku": SKU, "name": "Cherry 🍒", "price": "12.00"}], "stock": {main_warehouse: 0}})
    ch.call(ch.amazon, "POST", "/listings", {"listings": [{"sku": SKU, "quantity": 0, "title": "Lip gloss"}]})
    ch.call(ch.walmart, "POST", "/inventory", {"sku": SKU, "quantity": 0})
    ch.call(ch.shopify, "POST", "/products", {"shop": SHOPIFY_SHOP, "title": "Viral lip gloss 💋", "sku": SKU,
                                              "price": "12.00"})
    with hub.db.write() as conn:
        shop = shops.add(conn, SHOPIFY_SHOP, SHOPIFY_SECRET, admin_url=f"{ch.shopify}/shops/{SHOPIFY_SHOP}",
                         access_token=SHOPIFY_TOKEN, api_version=NEWEST)
    run_job(hub, "sync-products", shop, {"collections": "false"})  # the variants orderhub knows
    drain(hub)
    location = ch.shopify_location()
    run = deepcopy(DEFAULT_RUN)  # park what cannot be filled, with an auto-cancel date of today
    run["routings"][0]["rules"][-1]["action"]["auto_cancel_days"] = 0
    with hub.db.write() as conn:
        shopify_listings.set_stock_location(conn, shop.id, shopify_listings.StockLocation(str(location["id"]),
                                                                                          location["name"]))
        routing_store.save_run(conn, run)
        facilities.add(conn, "WH-1", "Lager 🏭", "warehouse")
        inventory_service.adjust(conn, SKU, "WH-1", actor="test", reason="received", delta=UNITS)
        bearer = f"Bearer {tokens.create(conn, 'bridge', ('eventbridge',))}"
        made = {
            "tiktok": accounts.add(conn, "tiktok", "tiktok-us", *account_values("tiktok", {
                "app_key": DEFAULT_APP_KEY, "app_secret": DEFAULT_APP_SECRET, "access_token": TOKEN,
                "shop_cipher": CIPHER, "endpoint": ch.tiktok})),
            "amazon": accounts.add(conn, "amazon", "amazon-us", *account_values("amazon", {
                "marketplace_id": az.DEFAULT_MARKETPLACE_ID, "seller_id": az.DEFAULT_SELLER_ID,
                "client_id": az.DEFAULT_CLIENT_ID, "client_secret": az.DEFAULT_CLIENT_SECRET,
                "refresh_token": az.DEFAULT_REFRESH_TOKEN, "endpoint": ch.amazon,
                "lwa_endpoint": f"{ch.amazon}/auth/o2/token"})),
            "walmart": accounts.add(conn, "walmart", "walmart-us", *account_values("walmart", {
                "client_id": DEFAULT_CLIENT_ID, "client_secret": DEFAULT_CLIENT_SECRET, "endpoint": ch.walmart})),
        }
        product, sku_id = tiktok_ids["product_id"], tiktok_ids["sku_ids"][SKU]
        channel_stock.list_skus(conn, made["tiktok"].id, [SKU], refs={SKU: f"{product}:{sku_id}"})
        channel_stock.list_skus(conn, made["amazon"].id, [SKU])
        channel_stock.list_skus(conn, made["walmart"].id, [SKU])
    ch.call(ch.tiktok, "PUT", "/webhooks", {"shop_id": SHOP_ID, "event_type": "ORDER_STATUS_CHANGE",
                                            "address": f"{server.url}/webhooks/tiktok/tiktok-us"})
    ch.call(ch.amazon, "POST", "/destinations", {"url": f"{server.url}/webhooks/eventbridge", "authorization": bearer})
    return made


def _shopify_order(n: int) -> dict[str, Any]:
    line = {"id": 7_000_000 + n, "sku": SKU, "title": "Lip gloss 💋", "quantity": 1, "price": "12.00",
            "variant_id": 42, "product_id": 43, "tax_lines": []}
    return order_payload(order_id=6_000_000 + n, line_items=[line], discount_codes=[], discount_applications=[])


def _spike(hub_url: str, ch: Channels, gone: threading.Event) -> int:
    """The buyers: TikTok's flood, and Shopify's and Amazon's customers at the same time. Returns how many
    orders Amazon's customers placed."""
    failures: list[BaseException] = []
    amazon_orders: list[str] = []

    def guarded(work: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                work()
            except BaseException as exc:  # reported by the test, not lost in a thread
                failures.append(exc)
        return run

    def tiktok() -> None:
        with httpx.Client(timeout=30) as http:
            for _ in range(TIKTOK_ORDERS):
                answer = http.post(f"{ch.tiktok}/_sim/orders", json={
                    "lines": [{"seller_sku": SKU, "quantity": 1}], "status": "AWAITING_SHIPMENT"})
                assert answer.status_code == 200, answer.text

    def shopify() -> None:
        with httpx.Client(timeout=30) as http:
            for n in range(SHOPIFY_ORDERS):
                answer = post_webhook(http, hub_url, "orders/create", _shopify_order(n), shop=SHOPIFY_SHOP,
                                      secret=SHOPIFY_SECRET)
                assert answer.status_code == 200, answer.text

    def amazon() -> None:  # through the flood and after the last unit went: those find nothing left
        after = 0
        while after < AMAZON_AFTER and len(amazon_orders) < AMAZON_MOST:
            amazon_orders.extend(ch.call(ch.amazon, "POST", "/orders", {"orders": [
                {"lines": [{"sku": SKU, "quantity": 1}], "status": "Unshipped"}]})["order_ids"])
            after += gone.is_set()
            time.sleep(AMAZON_EVERY_SECONDS)

    threads = [threading.Thread(target=guarded(work)) for work in (tiktok, shopify, amazon)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures, failures
    return len(amazon_orders)


class Watch(threading.Thread):
    """Notes, once a second, when the last unit went (every unit taken by an order) and when every channel
    first showed 0 afterwards."""

    def __init__(self, hub: Hub, channels: Channels) -> None:
        super().__init__(daemon=True)
        self.hub, self.channels = hub, channels
        self.gone_at: float | None = None
        self.zero_at: float | None = None
        self.gone = threading.Event()
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.wait(1.0) and self.zero_at is None:  # gone: set at once, the channels follow
            if self.gone_at is None and sum(n for s, n in _units(self.hub).items() if s == "brokered") >= UNITS:
                self.gone_at = time.monotonic()
                self.gone.set()
            if self.gone_at is not None and set(self.channels.shown().values()) == {0}:
                self.zero_at = time.monotonic()


def _listings(hub: Hub, made: dict[str, accounts.Account]) -> dict[str, Any]:
    with hub.db.read() as conn:
        return {kind: channel_stock.shown(conn, account.id) for kind, account in made.items()}


def _ops(hub: Hub) -> Any:
    with hub.db.read() as conn:
        return conn.execute(select(channel_operations.c.status, channel_operations.c.kind, func.count(),
                                   func.max(channel_operations.c.last_error))
                            .group_by(channel_operations.c.status, channel_operations.c.kind)).all()


def _unfilled(hub: Hub, made: dict[str, accounts.Account]) -> dict[str, list[str]]:
    """The channel's order ids of the orders orderhub cancelled for want of stock, per marketplace."""
    with hub.db.read() as conn:
        return {kind: sorted(conn.execute(select(orders.c.shopify_id).distinct().join(
            order_units, order_units.c.order_id == orders.c.id).where(
            orders.c.shop_id == made[kind].id, order_units.c.status == "cancelled")).scalars())
            for kind in ("tiktok", "amazon")}


def _orders_in(hub: Hub) -> int:
    with hub.db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(orders)).scalar_one())


def _units(hub: Hub) -> dict[str, int]:
    with hub.db.read() as conn:
        return {status: n for status, n in conn.execute(
            select(order_units.c.status, func.count()).where(order_units.c.sku == SKU).group_by(order_units.c.status))}


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_viral_spike_oversells_nothing_cancels_the_rest_as_out_of_stock_and_every_channel_shows_zero(
        hub: Hub, hub_server: ServerThread, channels: Channels) -> None:
    made = _scene(hub, hub_server, channels)
    worker = Worker(hub).start()
    try:
        _wait("every channel shows the 300 units", lambda: set(channels.shown().values()) == {UNITS}, 60,
              lambda: (channels.shown(), _listings(hub, made)))
        watch = Watch(hub, channels)
        watch.start()
        amazon_orders = _spike(hub_server.url, channels, watch.gone)
        expected = TIKTOK_ORDERS + SHOPIFY_ORDERS + amazon_orders
        _wait("every order in orderhub", lambda: _orders_in(hub) == expected, SETTLE_SECONDS)
        _wait("every unit placed", lambda: "created" not in _units(hub) and sum(_units(hub).values()) == expected,
              SETTLE_SECONDS)

        units = _units(hub)
        taken = sum(n for status, n in units.items() if status != "approved")
        assert taken == UNITS, units  # every unit sold, none twice
        with hub.db.read() as conn:
            position = conn.execute(select(inventory).where(inventory.c.sku == SKU)).one()
        assert position.on_hand == UNITS and position.reserved == UNITS
        _wait("every channel shows 0", lambda: watch.zero_at is not None, ZERO_WITHIN_SECONDS,
              lambda: channels.shown())
        assert watch.gone_at is not None and watch.zero_at - watch.gone_at <= ZERO_WITHIN_SECONDS
        watch.halt.set()

        JobManager(hub).run_now("auto-cancel", None, {})  # its schedule would; here and now
        assert _units(hub).get("approved") is None
        cancelled = _units(hub)["cancelled"]
        assert cancelled == expected - UNITS

        unfilled = _unfilled(hub, made)
        assert unfilled["amazon"], "the last Amazon customers came after the last unit went"

        def told() -> bool:
            on_tiktok = channels.call(channels.tiktok, "GET", "/operations", kind="cancellation")["operations"]
            on_amazon = [ref for ref in unfilled["amazon"] if channels.call(
                channels.amazon, "GET", f"/orders/{ref}")["order"]["OrderStatus"] == "Canceled"]
            return len(on_tiktok) == len(unfilled["tiktok"]) and len(on_amazon) == len(unfilled["amazon"])
        _wait("every unfilled order cancelled on its channel", told, 240,
              lambda: ({k: len(v) for k, v in unfilled.items()}, _ops(hub)))
        for ref in unfilled["amazon"]:
            assert channels.call(channels.amazon, "GET", f"/orders/{ref}")["cancel_reason"] == "NoInventory"
        reasons = {op.get("reason") for op in channels.call(channels.tiktok, "GET", "/operations", kind="cancellation")
                   ["operations"]}
        assert reasons == {"seller_cancel_reason_out_of_stock"}
        assert channels.throttled() == {"shopify": 0, "tiktok": 0, "amazon": 0, "walmart": 0}
    finally:
        worker.stop()

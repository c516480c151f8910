"""One simulated TikTok Shop platform: apps, sellers and shops, their data, the clock, rates, faults,
webhooks, and the log of requests it answered."""

from __future__ import annotations

import copy
import threading
from typing import Any

from orderhub.simulators.tiktok.accounts import Accounts
from orderhub.simulators.tiktok.cancellations import Cancellations
from orderhub.simulators.tiktok.catalog import seed_catalogue
from orderhub.simulators.tiktok.clock import SimClock
from orderhub.simulators.tiktok.defaults import DEFAULT_APP_KEY, DEFAULT_APP_SECRET, DEFAULT_QPS, DEFAULT_SEED
from orderhub.simulators.tiktok.faults import Faults
from orderhub.simulators.tiktok.generator import order_specs
from orderhub.simulators.tiktok.lifecycle import Lifecycle
from orderhub.simulators.tiktok.model import Order
from orderhub.simulators.tiktok.orders import create_order
from orderhub.simulators.tiktok.ratelimit import RateLimits
from orderhub.simulators.tiktok.store import Store
from orderhub.simulators.tiktok.webhooks import EVENT_NAMES, WebhookSender

DEFAULT_SELLERS: list[dict[str, Any]] = [
    {"name": "Zoë's Studio ✨", "auth_code": "sim-auth-code-1", "access_token": "sim-access-token-1",
     "shops": [{"id": "7494049642642441621", "name": "Zoë's Studio US", "cipher": "ROW_sim_cipher_studio_us"},
               {"id": "7494049642642441622", "name": "Zoë's Outlet", "cipher": "ROW_sim_cipher_outlet"}]},
    {"name": "Björk & Co", "auth_code": "sim-auth-code-2", "access_token": "sim-access-token-2",
     "shops": [{"id": "7494049642642441623", "name": "Björk & Co", "cipher": "ROW_sim_cipher_bjork"}]},
]


class Simulator:
    """Everything the app and the control API share."""

    def __init__(self, apps: dict[str, str] | None = None, sellers: list[dict[str, Any]] | None = None, *,
                 seed: int = DEFAULT_SEED, qps: float = DEFAULT_QPS, clock: SimClock | None = None) -> None:
        self.apps = dict(apps or {DEFAULT_APP_KEY: DEFAULT_APP_SECRET})
        self.seller_config = copy.deepcopy(sellers if sellers is not None else DEFAULT_SELLERS)
        self.seed = seed
        self.clock = clock or SimClock()
        self.rates = RateLimits(qps)
        self.faults = Faults()
        self.webhooks = WebhookSender(self.clock, self.apps)
        self._log_lock = threading.Lock()
        self._requests: list[dict[str, Any]] = []
        self._build()
        self.clock.on_change(lambda: self.lifecycle.tick())  # the lifecycle is rebuilt by reset()

    def _build(self) -> None:
        self.accounts = Accounts(self.clock, self.apps, self.seller_config)
        self.store = Store()
        self.lifecycle = Lifecycle(self.store, self.clock, self._emit)
        self.cancellations = Cancellations(self.lifecycle)
        for shop in self.accounts.shops():
            seed_catalogue(self.store, self.store.add_shop(shop.id, shop.currency), self.clock.now())

    def start(self) -> Simulator:
        self.webhooks.start()
        return self

    def stop(self) -> None:
        self.webhooks.stop()

    def reset(self) -> None:
        """Back to the wall clock, the configured sellers and catalogues; forget orders, tokens issued, faults,
        logs."""
        self.clock.reset()
        with self.store.lock:
            self._build()
        self.faults.clear()
        self.webhooks.reset()
        with self._log_lock:
            self._requests.clear()

    def _emit(self, shop_id: str, event_type: int, data: dict[str, Any]) -> None:
        hook = self.store.shops[shop_id].webhooks.get(EVENT_NAMES.get(event_type, ""))
        if hook:
            self.webhooks.emit(shop_id, event_type, data, hook["address"], hook["app_key"])

    # -- orders ------------------------------------------------------------------------------------------
    def shop_id(self, shop_id: str | None) -> str:
        return shop_id or self.accounts.shops()[0].id

    def create_order(self, spec: dict[str, Any], shop_id: str | None = None) -> Order:
        with self.store.lock:
            shop = self.store.shops[self.shop_id(shop_id)]
            return create_order(self.lifecycle, self.cancellations, shop, spec)

    def generate(self, count: int, shop_id: str | None = None, seed: int | None = None) -> list[Order]:
        with self.store.lock:
            shop = self.store.shops[self.shop_id(shop_id)]
            specs = order_specs(self.seed if seed is None else seed, count, list(shop.products.values()))
            return [create_order(self.lifecycle, self.cancellations, shop, spec) for spec in specs]

    # -- the request log ---------------------------------------------------------------------------------
    def log_request(self, entry: dict[str, Any]) -> None:
        with self._log_lock:
            self._requests.append(dict(entry, seq=len(self._requests) + 1))

    def requests(self) -> list[dict[str, Any]]:
        with self._log_lock:
            return copy.deepcopy(self._requests)

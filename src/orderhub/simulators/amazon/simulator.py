"""One simulated Selling Partner API: its sellers and tokens, orders, listings, feeds, limits, faults and clock."""

from __future__ import annotations

import copy
import random
import threading
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from orderhub.simulators.amazon import defaults
from orderhub.simulators.amazon.auth import Seller, Tokens
from orderhub.simulators.amazon.clock import Clock
from orderhub.simulators.amazon.errors import SpApiError
from orderhub.simulators.amazon.faults import Faults
from orderhub.simulators.amazon.feeds import Feeds
from orderhub.simulators.amazon.generator import build_order, generate
from orderhub.simulators.amazon.listings import Listings
from orderhub.simulators.amazon.notifications import Sender, eventbridge_event, order_change
from orderhub.simulators.amazon.operation import Handler, Operation
from orderhub.simulators.amazon.order_store import OrderStore
from orderhub.simulators.amazon.orders import Order
from orderhub.simulators.amazon.ratelimit import RateLimiter

DEFAULT_SELLERS = (
    {"seller_id": defaults.DEFAULT_SELLER_ID, "refresh_token": defaults.DEFAULT_REFRESH_TOKEN,
     "marketplace_ids": [defaults.DEFAULT_MARKETPLACE_ID]},
)


def parse_sellers(sellers: Iterable[dict[str, Any]]) -> list[Seller]:
    out = []
    for s in sellers:
        out.append(Seller(s["seller_id"], s["refresh_token"],
                          tuple(s.get("marketplace_ids") or [defaults.DEFAULT_MARKETPLACE_ID])))
    return out


class Simulator:
    """Everything the app and the control API share. ``start()`` starts notification delivery."""

    def __init__(self, sellers: Iterable[dict[str, Any]] | None = None, apps: dict[str, str] | None = None, *,
                 seed: int = 0, start: datetime | None = None, frozen_clock: bool = False,
                 visibility_delay: float = defaults.VISIBILITY_DELAY_SECONDS,
                 retry_schedule: Iterable[float] = defaults.NOTIFICATION_RETRY_SCHEDULE,
                 seed_listings: bool = True) -> None:
        self.clock = Clock(start, frozen=frozen_clock)
        self.seed = seed
        self._sellers_config = list(sellers or DEFAULT_SELLERS)
        self._apps = dict(apps or {defaults.DEFAULT_CLIENT_ID: defaults.DEFAULT_CLIENT_SECRET})
        self._seed_listings = seed_listings
        self.visibility_delay = float(visibility_delay)
        self.order_items_page_size = 100
        self.max_body_bytes = defaults.MAX_BODY_BYTES
        self.max_document_bytes = defaults.MAX_DOCUMENT_BYTES
        self.restricted_token_seconds = defaults.RESTRICTED_TOKEN_SECONDS
        self.limiter = RateLimiter(self.clock)
        self.faults = Faults()
        self.orders = OrderStore(self.clock)
        self.listings = Listings(self.clock)
        self.feeds = Feeds(self.clock, self.listings, self.orders, queue_seconds=defaults.FEED_QUEUE_SECONDS,
                           processing_seconds=defaults.FEED_PROCESSING_SECONDS,
                           url_seconds=defaults.DOCUMENT_URL_SECONDS, max_document_bytes=defaults.MAX_DOCUMENT_BYTES)
        self.sender = Sender(list(retry_schedule))
        self.destinations: list[dict[str, str | None]] = []
        self.orders.listeners.append(self._order_changed)
        self._lock = threading.Lock()
        self._requests: list[dict[str, Any]] = []
        self._rng = random.Random(seed)
        self._generated = 0
        self._set_up()

    def _set_up(self) -> None:
        sellers = parse_sellers(self._sellers_config)
        self.tokens = Tokens(self.clock, self._apps, sellers, defaults.ACCESS_TOKEN_SECONDS)
        if self._seed_listings:
            for seller in sellers:
                self.listings.seed_catalogue(seller.seller_id, seller.marketplace_ids[0], 0)

    # -- life

    def start(self) -> Simulator:
        self.sender.start()
        return self

    def stop(self) -> None:
        self.sender.stop()

    def reset(self) -> None:
        """Forget orders, listings (the catalogue is listed again at 0), feeds, tokens, faults, destinations,
        deliveries and the request log; limits and settings go back to their defaults."""
        self.orders.reset()
        self.listings.reset()
        self.feeds.reset()
        self.faults.reset()
        self.limiter.reset()
        self.sender.clear()
        self.destinations.clear()
        self.visibility_delay = defaults.VISIBILITY_DELAY_SECONDS
        self.order_items_page_size = 100
        with self._lock:
            self._requests.clear()
        self._rng = random.Random(self.seed)
        self._generated = 0
        self._set_up()

    def tick(self) -> None:
        """Let simulated time do its work (feeds move on and are processed)."""
        self.feeds.advance()

    # -- sellers and operations

    def seller(self, seller_id: str) -> Seller:
        seller = self.tokens.sellers.get(seller_id)
        if seller is None:
            raise SpApiError(403, "Unauthorized", "Access to requested resource is denied.",
                             f"Seller {seller_id} is not configured in the simulator.")
        return seller

    def operation(self, name: str, handler: Handler, *, restricted: bool = False) -> Operation:
        return Operation(self, name, handler, restricted=restricted)

    def log_request(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self._requests.append(dict(entry, seq=len(self._requests) + 1, at=self.clock.now().isoformat()))

    def requests(self) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self._requests)

    # -- orders

    def generate_orders(self, seller_id: str, count: int, marketplace_id: str | None = None) -> list[Order]:
        seller = self.seller(seller_id)
        made = generate(self._rng, seller_id, marketplace_id or seller.marketplace_ids[0], self.clock.now(), count,
                        start=self._generated)
        self._generated += count
        return [self.orders.add(o) for o in made]

    def create_order(self, seller_id: str, spec: dict[str, Any]) -> Order:
        seller = self.seller(seller_id)
        order = build_order(self._rng, seller_id, spec.get("marketplace_id") or seller.marketplace_ids[0],
                            self.clock.now(), spec)
        return self.orders.add(order)

    # -- notifications

    def _order_changed(self, order: Order, change_type: str, reason: str) -> None:
        for destination in list(self.destinations):
            self.notify(order, destination["url"] or "", destination.get("authorization"), change_type, reason)

    def notify(self, order: Order, url: str, authorization: str | None, change_type: str = "OrderStatusChange",
               reason: str = "Order status changed") -> dict[str, Any]:
        now = self.clock.now()
        event = eventbridge_event(order_change(order, change_type, reason, now), now)
        self.sender.submit(url, authorization, event)
        return event

    def settings(self) -> dict[str, Any]:
        return {"visibility_delay_seconds": self.visibility_delay,
                "order_items_page_size": self.order_items_page_size,
                "access_token_seconds": self.tokens.lifetime,
                "restricted_token_seconds": self.restricted_token_seconds,
                "feed_queue_seconds": self.feeds.queue_seconds,
                "feed_processing_seconds": self.feeds.processing_seconds,
                "max_body_bytes": self.max_body_bytes,
                "notification_retry_schedule": self.sender.retry_schedule,
                "rate_limits": self.limiter.describe(),
                "sellers": [{"seller_id": s.seller_id, "marketplace_ids": list(s.marketplace_ids)}
                            for s in self.tokens.sellers.values()],
                "clock": {"now": self.clock.now().isoformat(), "frozen": self.clock.frozen}}

"""One simulated Walmart Marketplace: seller accounts, orders, inventory, feeds, limits, faults, clock."""

from __future__ import annotations

import copy
import random
import threading
import zlib
from collections.abc import Iterable
from typing import Any

from orderhub.simulators.walmart.auth import Account, Accounts
from orderhub.simulators.walmart.clock import Clock
from orderhub.simulators.walmart.defaults import (
    ACK_DEADLINE_SECONDS,
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_SELLER_NAME,
    FEED_IN_PROGRESS_AFTER_SECONDS,
    FEED_PROCESSED_AFTER_SECONDS,
    MAX_BODY_BYTES,
    TOKEN_TTL_SECONDS,
)
from orderhub.simulators.walmart.faults import Faults
from orderhub.simulators.walmart.feeds import Feeds
from orderhub.simulators.walmart.generator import CATALOGUE, OrderGenerator
from orderhub.simulators.walmart.inventory import Inventory
from orderhub.simulators.walmart.orders import OrderBook
from orderhub.simulators.walmart.records import Operations
from orderhub.simulators.walmart.throttle import Throttle


def account(client_id: str, client_secret: str, name: str | None = None, seller_id: str | None = None) -> Account:
    """An account; without ``seller_id`` one is derived from the client id (stable across runs)."""
    return Account(client_id, client_secret, name or client_id,
                   seller_id or str(10_000 + zlib.crc32(client_id.encode()) % 90_000))


class Simulator:
    """Everything the app and the control API share. ``reset`` empties it but keeps the accounts."""

    def __init__(self, accounts: Iterable[Account] | None = None, *, seed: int = 0,
                 token_ttl: float = TOKEN_TTL_SECONDS, ack_deadline: float = ACK_DEADLINE_SECONDS,
                 max_body_bytes: int = MAX_BODY_BYTES) -> None:
        self.clock = Clock()
        accounts = list(accounts or [Account(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_SELLER_NAME, "100009")])
        self.accounts = Accounts(accounts, self.clock, token_ttl)
        self.throttle = Throttle(self.clock)
        self.faults = Faults()
        self.operations = Operations()
        self.orders = OrderBook(self.clock, self.operations)
        self.inventory = Inventory(self.clock, self.operations)
        self.feeds = Feeds(self.clock, self.inventory)
        self.seed = seed
        self.generator = OrderGenerator(seed)
        self.ids = random.Random(seed + 1)  # ids of orders made from explicit specs
        self.ack_deadline = ack_deadline
        self.max_body_bytes = max_body_bytes
        self._initial = (token_ttl, ack_deadline, max_body_bytes)
        self._lock = threading.Lock()
        self._requests: list[dict[str, Any]] = []
        self.stock_catalogue()

    def stock_catalogue(self) -> None:
        """Every seller lists the generator's catalogue, with its starting quantities."""
        for acct in self.accounts.all():
            for product in CATALOGUE:
                self.inventory.add_sku(acct.client_id, product.sku, product.stock)

    def log_request(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self._requests.append(dict(entry, seq=len(self._requests) + 1))

    def requests(self) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self._requests)

    def settings(self) -> dict[str, Any]:
        return {"token_ttl": self.accounts.token_ttl, "ack_deadline": self.ack_deadline,
                "max_body_bytes": self.max_body_bytes, "seed": self.seed,
                "feed_in_progress_after": self.feeds.in_progress_after,
                "feed_processed_after": self.feeds.processed_after, "throttling": self.throttle.enabled,
                "now": self.clock.now_ms(),
                "accounts": [{"client_id": a.client_id, "name": a.name, "seller_id": a.seller_id}
                             for a in self.accounts.all()]}

    def reset(self) -> None:
        """Forget orders, stock, feeds, tokens, faults, limits, settings and logs; keep accounts and the clock."""
        self.accounts.token_ttl, self.ack_deadline, self.max_body_bytes = self._initial
        self.feeds.in_progress_after = FEED_IN_PROGRESS_AFTER_SECONDS
        self.feeds.processed_after = FEED_PROCESSED_AFTER_SECONDS
        self.orders.reset()
        self.inventory.reset()
        self.feeds.reset()
        self.faults.reset()
        self.throttle.reset()
        self.operations.reset()
        self.accounts.expire_all()
        self.generator = OrderGenerator(self.seed)
        self.ids = random.Random(self.seed + 1)
        with self._lock:
            self._requests.clear()
        self.stock_catalogue()

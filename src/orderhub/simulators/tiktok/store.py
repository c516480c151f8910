"""What the simulated shops hold, and the log of what callers did to them (checked through ``/_sim``).

One re-entrant lock guards everything: handlers are short and the simulator serves tests.
"""

from __future__ import annotations

import copy
import itertools
import threading
from dataclasses import dataclass, field
from typing import Any

from orderhub.simulators.tiktok.model import Cancellation, Order, Product, Return, Warehouse


@dataclass
class ShopData:
    shop_id: str
    currency: str
    warehouses: list[Warehouse]
    orders: dict[str, Order] = field(default_factory=dict)
    products: dict[str, Product] = field(default_factory=dict)
    cancellations: dict[str, Cancellation] = field(default_factory=dict)
    returns: dict[str, Return] = field(default_factory=dict)
    idempotency: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)  # (operation, key) -> answer
    webhooks: dict[str, dict[str, Any]] = field(default_factory=dict)  # event_type -> {address, create/update_time}

    def default_warehouse(self) -> Warehouse:
        return next((w for w in self.warehouses if w.is_default), self.warehouses[0])

    def find_sku(self, sku_id: str) -> tuple[Product, Any] | None:
        for product in self.products.values():
            sku = product.sku(sku_id)
            if sku is not None:
                return product, sku
        return None

    def find_seller_sku(self, seller_sku: str) -> tuple[Product, Any] | None:
        for product in self.products.values():
            for sku in product.skus:
                if sku.seller_sku == seller_sku:
                    return product, sku
        return None


class Store:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.shops: dict[str, ShopData] = {}
        self._ids = itertools.count(1)
        self._operations: list[dict[str, Any]] = []

    def add_shop(self, shop_id: str, currency: str) -> ShopData:
        n = len(self.shops) + 1
        warehouses = [Warehouse(id=f"72880000000000{n:02d}01", name="Main warehouse", is_default=True),
                      Warehouse(id=f"72880000000000{n:02d}02", name="Overflow warehouse")]
        self.shops[shop_id] = ShopData(shop_id, currency, warehouses)
        return self.shops[shop_id]

    def next_id(self, prefix: str) -> str:
        """Numeric ids as TikTok's are (18 digits for orders, packages, items), unique in this simulator."""
        return f"{prefix}{next(self._ids):0{18 - len(prefix)}d}"

    def record(self, kind: str, **details: Any) -> None:
        with self.lock:
            self._operations.append({"seq": len(self._operations) + 1, "kind": kind, **details})

    def operations(self, kind: str | None = None, shop_id: str | None = None) -> list[dict[str, Any]]:
        with self.lock:
            return copy.deepcopy([op for op in self._operations if kind in (None, op["kind"])
                                  and shop_id in (None, op.get("shop_id"))])

    def order(self, order_id: str) -> Order | None:
        for shop in self.shops.values():
            if order_id in shop.orders:
                return shop.orders[order_id]
        return None

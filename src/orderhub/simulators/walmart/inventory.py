"""What the channel shows: the listed quantity of each seller's SKU, per ship node.

``GET /v3/items`` lists the seller's items (``ItemResponse``: sku, the ``wpid`` Walmart gave the item,
its name, its published and lifecycle status). ``PUT /v3/inventory?sku=`` sets the quantity
(``{"sku", "quantity": {"unit": "EACH", "amount": N}}``,
the published ``Inventory`` schema), ``GET /v3/inventory?sku=`` reads it, and inventory feeds
set many at once when they are processed. ``shipNode`` is optional; without it the seller's
default node (``""`` here) is meant. A SKU must exist in the seller's catalogue first
(Walmart answers errors for items not set up); the control API adds SKUs.
"""

from __future__ import annotations

import hashlib
import threading
from typing import Any

from orderhub.simulators.walmart.clock import Clock
from orderhub.simulators.walmart.errors import INVENTORY, bad_content, not_found
from orderhub.simulators.walmart.generator import CATALOGUE
from orderhub.simulators.walmart.records import Operations

DEFAULT_NODE = ""
_WPID_LETTERS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def wpid(seller: str, sku: str) -> str:
    """The Walmart product id of a seller's item: 12 letters and digits, the same for the same item."""
    digest = int.from_bytes(hashlib.sha256(f"{seller}\x00{sku}".encode()).digest()[:10], "big")
    letters = []
    for _ in range(11):
        digest, n = divmod(digest, len(_WPID_LETTERS))
        letters.append(_WPID_LETTERS[n])
    return "0" + "".join(letters)  # Walmart's examples start with 0


def parse_quantity(value: Any, path: str) -> int:
    """``{"unit": "EACH", "amount": N}`` with a whole N >= 0, or a 400 naming ``path``."""
    if not isinstance(value, dict):
        raise bad_content(INVENTORY, path, f"{path} must be {{\"unit\": \"EACH\", \"amount\": N}}.")
    if value.get("unit") != "EACH":
        raise bad_content(INVENTORY, f"{path}.unit", f"{path}.unit must be EACH.")
    amount = value.get("amount")
    if isinstance(amount, bool) or not isinstance(amount, (int, float)) or amount < 0 or int(amount) != amount:
        raise bad_content(INVENTORY, f"{path}.amount", f"{path}.amount must be a whole number of at least 0.")
    return int(amount)


class Inventory:
    def __init__(self, clock: Clock, operations: Operations) -> None:
        self._lock = threading.Lock()
        self._stock: dict[tuple[str, str, str], int] = {}  # (seller, sku, node) -> quantity
        self._catalogue: dict[str, set[str]] = {}
        self.clock = clock
        self.operations = operations

    def add_sku(self, seller: str, sku: str, quantity: int | None = None, node: str = DEFAULT_NODE) -> None:
        with self._lock:
            self._catalogue.setdefault(seller, set()).add(sku)
            if quantity is not None:
                self._stock[(seller, sku, node)] = quantity

    def known(self, seller: str, sku: str) -> bool:
        with self._lock:
            return sku in self._catalogue.get(seller, set())

    def get(self, seller: str, sku: str, node: str = DEFAULT_NODE) -> int:
        with self._lock:
            if sku not in self._catalogue.get(seller, set()):
                raise not_found(INVENTORY, "sku", f"SKU {sku!r} is not an item of this seller; set the item up "
                                                  "before managing its inventory.")
            return self._stock.get((seller, sku, node), 0)

    def set(self, seller: str, sku: str, quantity: int, node: str = DEFAULT_NODE, *, via: str,
            feed_id: str | None = None) -> None:
        with self._lock:
            if sku not in self._catalogue.get(seller, set()):
                raise not_found(INVENTORY, "sku", f"SKU {sku!r} is not an item of this seller; set the item up "
                                                  "before managing its inventory.")
            self._stock[(seller, sku, node)] = quantity
        details: dict[str, Any] = {"sku": sku, "shipNode": node or None, "quantity": quantity, "via": via}
        if feed_id:
            details["feedId"] = feed_id
        self.operations.record("inventory", seller, self.clock.now_ms(), **details)

    def items(self, seller: str) -> list[dict[str, Any]]:
        """The seller's items as ``GET /v3/items`` lists them (``ItemResponse``), by SKU."""
        with self._lock:
            skus = sorted(self._catalogue.get(seller, set()))
        names = {p.sku: p.name for p in CATALOGUE}
        return [{"mart": "WALMART_US", "sku": sku, "wpid": wpid(seller, sku), "productName": names.get(sku, sku),
                 "publishedStatus": "PUBLISHED", "lifecycleStatus": "ACTIVE"} for sku in skus]

    def listing(self, seller: str | None = None) -> list[dict[str, Any]]:
        """Every SKU's listed quantity per node (0 for catalogue SKUs never set)."""
        with self._lock:
            rows = []
            for owner, skus in sorted(self._catalogue.items()):
                if seller is not None and owner != seller:
                    continue
                nodes = {(s, n) for (o, s, n) in self._stock if o == owner}
                for sku in sorted(skus):
                    sku_nodes = sorted(n for s, n in nodes if s == sku) or [DEFAULT_NODE]
                    for node in sku_nodes:
                        rows.append({"seller": owner, "sku": sku, "shipNode": node or None,
                                     "quantity": self._stock.get((owner, sku, node), 0)})
            return rows

    def reset(self) -> None:
        with self._lock:
            self._stock.clear()
            self._catalogue.clear()

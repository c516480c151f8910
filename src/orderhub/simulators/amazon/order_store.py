"""The sellers' orders, each with the history of its versions, and the shipments confirmed on them.

Every change bumps the order's ``LastUpdateDate`` (strictly later than the one before, so each
version is told apart) and keeps a copy of the order as it became. getOrders reads, for each
order, the newest version that is at least the visibility delay old, as Amazon's order search
shows changes only after a delay; getOrder and getOrderItems read the order as it is.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from orderhub.simulators.amazon.clock import Clock
from orderhub.simulators.amazon.orders import Order

Listener = Callable[[Order, str, str], None]  # order (a copy), change type, reason


class OrderStore:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._lock = threading.RLock()
        self._orders: dict[str, Order] = {}
        self._history: dict[str, list[tuple[datetime, Order]]] = {}
        self._shipments: list[dict[str, Any]] = []
        self.listeners: list[Listener] = []

    def _stamp(self, order: Order, first: bool) -> None:
        now = self.clock.now().replace(microsecond=0)
        if not first:
            now = max(now, order.last_update_date + timedelta(seconds=1))
            order.version += 1
        order.last_update_date = now
        self._history.setdefault(order.amazon_order_id, []).append((now, copy.deepcopy(order)))

    def add(self, order: Order) -> Order:
        with self._lock:
            if order.amazon_order_id in self._orders:
                raise ValueError(f"Order {order.amazon_order_id} exists already; give another amazon_order_id.")
            order.purchase_date = order.purchase_date.replace(microsecond=0)
            self._orders[order.amazon_order_id] = order
            self._stamp(order, first=True)
            snapshot = copy.deepcopy(order)
        self._tell(snapshot, "OrderStatusChange", "New order")
        return snapshot

    def change(self, order_id: str, mutate: Callable[[Order], None], change_type: str, reason: str, *,
               new_version: bool = True) -> Order:
        """Apply ``mutate`` to the order (it may raise, leaving the order as it was) and record the new version.
        With ``new_version`` False the change is kept without a new version or a notification (what Amazon
        records beside the order, such as a refund)."""
        with self._lock:
            order = self._orders[order_id]
            trial = copy.deepcopy(order)
            mutate(trial)
            self._orders[order_id] = trial
            if new_version:
                self._stamp(trial, first=False)
            snapshot = copy.deepcopy(trial)
        if new_version:
            self._tell(snapshot, change_type, reason)
        return snapshot

    def _tell(self, order: Order, change_type: str, reason: str) -> None:
        for listener in list(self.listeners):
            listener(order, change_type, reason)

    def get(self, order_id: str) -> Order | None:
        with self._lock:
            order = self._orders.get(order_id)
            return copy.deepcopy(order) if order else None

    def visible(self, seller_id: str, as_of: datetime) -> list[Order]:
        """Each of the seller's orders as getOrders sees it at ``as_of`` (the newest version no later than that)."""
        with self._lock:
            out = []
            for order_id, order in self._orders.items():
                if order.seller_id != seller_id:
                    continue
                seen = [v for at, v in self._history[order_id] if at <= as_of]
                if seen:
                    out.append(copy.deepcopy(seen[-1]))
            return out

    def all(self) -> list[Order]:
        with self._lock:
            return [copy.deepcopy(o) for o in self._orders.values()]

    def history(self, order_id: str) -> list[Order]:
        with self._lock:
            return [copy.deepcopy(v) for _, v in self._history.get(order_id, [])]

    def record_shipment(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self._shipments.append(dict(entry, seq=len(self._shipments) + 1))

    def shipments(self) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self._shipments)

    def reset(self) -> None:
        with self._lock:
            self._orders.clear()
            self._history.clear()
            self._shipments.clear()

"""The sales a till rings up: one to three lines from its catalogue, paid in cash or by card; now and then
(``returns``) a customer brings back goods bought earlier at this till, with the receipt (the sale's id).

Amounts are Decimal, written as text with two decimals, as orderhub's POS API takes them (USD).
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from orderhub.simulators.pos.catalogue import Item
from orderhub.simulators.pos.local_queue import LocalState

CURRENCY = "USD"
CENTS = Decimal("0.01")


def _money(amount: Decimal) -> str:
    return str(amount.quantize(CENTS))


def device_time(clock_skew: float) -> str:
    """The device's clock (off by ``clock_skew`` seconds), ISO with its offset."""
    return (datetime.now(UTC) + timedelta(seconds=clock_skew)).isoformat()


class SaleMaker:
    """Rings up sales from ``catalogue``; ``rng`` decides what, so a seed gives the same basket sequence."""

    def __init__(self, catalogue: Sequence[Item], rng: random.Random, *, returns: float = 0.0,
                 clock_skew: float = 0.0, lines: tuple[int, int] = (1, 3), most: int = 2) -> None:
        if not catalogue:
            raise ValueError("a till needs at least one SKU to sell")
        self.catalogue = list(catalogue)
        self.rng = rng
        self.returns = returns
        self.clock_skew = clock_skew
        self.lines = lines
        self.most = most  # units of one line, at most

    def _id(self) -> str:
        # Random, never from the seed: two runs of one seed on one state file must not make the same id.
        return str(uuid.uuid4())

    def sale(self, state: LocalState) -> dict[str, Any]:
        """The next sale (not yet kept: ``state.add`` gives it its sequence)."""
        if self.returns and self.rng.random() < self.returns:
            back = self._return(state)
            if back is not None:
                return back
        count = self.rng.randint(*self.lines)
        basket = self.rng.sample(self.catalogue, min(count, len(self.catalogue)))
        lines = [{"sku": item.sku, "quantity": 1 if self.rng.random() < 0.8 else self.rng.randint(1, self.most),
                  "unit_price": _money(item.price),
                  **({"title": item.title} if item.title else {})} for item in basket]
        total = sum((Decimal(line["unit_price"]) * line["quantity"] for line in lines), Decimal("0"))
        kind = "cash" if self.rng.random() < 0.3 else "card"
        return {"id": self._id(), "device_time": device_time(self.clock_skew), "currency": CURRENCY,
                "lines": lines, "tenders": [{"kind": kind, "amount": _money(total)}]}

    def _return(self, state: LocalState) -> dict[str, Any] | None:
        """Goods of an earlier sale of this till brought back, with the receipt; None when there are none."""
        candidates = state.returnable()
        if not candidates:
            return None
        sale_id, sku, left, price = self.rng.choice(candidates)
        units = 1 if left == 1 else self.rng.randint(1, left)
        refund = Decimal(price) * units
        return {"id": self._id(), "device_time": device_time(self.clock_skew), "currency": CURRENCY,
                "lines": [{"sku": sku, "quantity": -units, "unit_price": price, "returns": {"sale": sale_id},
                           "condition": "sellable", "reason": "changed mind"}],
                "tenders": [{"kind": "cash", "amount": _money(-refund)}]}

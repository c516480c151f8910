"""Pre-orders and backorders: which products are sold ahead of stock, and what each waiting unit is promised.

Pure rules. A product out of stock with supply on the way (open purchase orders) is
sold ahead: as a *pre-order* if it was never in stock (a launch) or is tagged so, as a
*backorder* otherwise. Waiting units are promised first come, first served: the
oldest order takes what is available now, then each incoming delivery in the order
it is expected; a unit no delivery covers is promised nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

PREORDER_TAG = "pre-order"  # a product tagged so is sold as a pre-order even if it was in stock once


class Presell(StrEnum):
    PREORDER = "preorder"
    BACKORDER = "backorder"

    @property
    def queue(self) -> str:
        """The queue its units wait in until they are released into brokering."""
        return f"{self.value}_parking"

    @property
    def tag(self) -> str:
        """The tag orders with such items get in Shopify."""
        return "pre-order" if self is Presell.PREORDER else "backorder"


@dataclass(frozen=True)
class Supply:
    """Units on the way: what an open purchase order line still brings, and when."""

    quantity: int
    expected: date | None
    source: str = ""  # e.g. the purchase order number


@dataclass(frozen=True)
class Waiting:
    """A unit sold ahead of stock, waiting for it."""

    unit_id: int
    placed_at: datetime


def presell_kind(*, atp: int, incoming: Sequence[Supply], ever_stocked: bool, tags: frozenset[str] = frozenset()
                 ) -> Presell | None:
    """Whether a product is sold ahead of stock, and how. Available now, or nothing on the way
    (with a known date): not sold ahead."""
    if atp > 0 or not any(s.quantity > 0 and s.expected is not None for s in incoming):
        return None
    if not ever_stocked or PREORDER_TAG in tags:
        return Presell.PREORDER
    return Presell.BACKORDER


def promise_dates(waiting: Sequence[Waiting], *, atp: int, incoming: Sequence[Supply], today: date
                  ) -> dict[int, date | None]:
    """Each waiting unit's promise: ``today`` while stock is available, then the expected date of the
    delivery that covers it (deliveries without a date cover nobody), else None."""
    supplies = sorted((s for s in incoming if s.quantity > 0 and s.expected is not None),
                      key=lambda s: (s.expected, s.source))
    left = [s.quantity for s in supplies]
    available = max(0, atp)
    out: dict[int, date | None] = {}
    for unit in sorted(waiting, key=lambda w: (w.placed_at, w.unit_id)):
        if available > 0:
            available -= 1
            out[unit.unit_id] = today
            continue
        out[unit.unit_id] = None
        for i, supply in enumerate(supplies):
            if left[i] > 0:
                left[i] -= 1
                out[unit.unit_id] = max(supply.expected, today) if supply.expected else None
                break
    return out


@dataclass(frozen=True)
class PromiseChange:
    unit_id: int
    before: date | None
    after: date | None

    @property
    def later(self) -> bool:
        """The customer waits longer (or no longer has a date): the change they must be told of."""
        return self.after is None or (self.before is not None and self.after > self.before)


def changed_promises(before: Mapping[int, date | None], after: Mapping[int, date | None]) -> list[PromiseChange]:
    """Units whose promise moved (units new to ``after`` had none to change)."""
    return [PromiseChange(unit, before[unit], promise) for unit, promise in sorted(after.items())
            if unit in before and before[unit] != promise]


def releasable(promise: date | None, *, atp_covers: bool, today: date) -> bool:
    """A waiting unit goes into brokering once its promise date has come and stock is there for it."""
    return promise is not None and promise <= today and atp_covers

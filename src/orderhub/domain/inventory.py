"""Inventory rules: available to promise, channel views, and how a batch of reservations is granted.

Pure: the store applies these numbers with conditional updates, so that any number
of processes reserving at once can never take ATP below zero.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum


class LedgerReason(StrEnum):
    RECEIVED = "received"
    SOLD = "sold"
    RESERVED = "reserved"
    RELEASED = "released"
    SHIPPED = "shipped"
    RETURNED = "returned"
    DAMAGED = "damaged"  # damaged variance: on hand goes down, nothing is restocked
    CYCLE_COUNT = "cycle_count"
    SHOPIFY_SYNC = "shopify_sync"
    REJECTED = "rejected"  # a facility rejected an item as not in stock: on hand set to 0
    ADJUSTED = "adjusted"
    # The POS/ERP invoiced what orderhub shipped: it took the units off its own stock then. orderhub's
    # stock does not change (it changed at shipping); the entry ties the two together.
    POS_INVOICED = "pos_invoiced"


@dataclass(frozen=True)
class Position:
    """One SKU at one facility."""

    on_hand: int
    reserved: int
    safety_stock: int = 0

    @property
    def atp(self) -> int:
        """Available to promise, never offered below zero."""
        return max(0, self.on_hand - self.reserved - self.safety_stock)


def channel_atp(positions: Iterable[tuple[int, Position]], *, threshold: int,
                facilities: frozenset[int] | None = None) -> int:
    """What a channel may sell of one SKU: ATP summed over its facilities, minus its threshold.

    ``facilities`` limits the sum to the channel's facility groups (None = every facility).
    """
    total = sum(p.atp for facility_id, p in positions if facilities is None or facility_id in facilities)
    return max(0, total - threshold)


def grant_in_order(available: int, quantities: Sequence[int]) -> list[int]:
    """Grant reservations first come, first served, each whole or not at all.

    A request that does not fit is refused but later, smaller ones may still fit:
    nothing is granted beyond ``available``.
    """
    grants = []
    left = max(0, available)
    for qty in quantities:
        if qty <= 0:
            raise ValueError(f"reservation quantity must be positive, got {qty}")
        if qty <= left:
            grants.append(qty)
            left -= qty
        else:
            grants.append(0)
    return grants

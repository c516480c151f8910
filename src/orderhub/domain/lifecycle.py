"""The order and unit state machines.

Units (one per unit of an order line) move through fulfilment one by one; an order's
status follows from its units once it is approved, except while it is held. Every
move that is not listed here is refused with an error that says what was tried.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class UnitStatus(StrEnum):
    CREATED = "created"
    APPROVED = "approved"  # waiting in a queue to be brokered
    BROKERED = "brokered"  # allocated to a facility, inventory reserved there
    PICKED = "picked"
    PACKED = "packed"
    SHIPPED = "shipped"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    RETURNED = "returned"
    REJECTED = "rejected"  # the order's placement failed and was compensated


class OrderStatus(StrEnum):
    CREATED = "created"
    APPROVED = "approved"
    BROKERED = "brokered"
    PICKED = "picked"
    PACKED = "packed"
    SHIPPED = "shipped"
    COMPLETED = "completed"
    HELD = "held"
    CANCELLED = "cancelled"
    RETURNED = "returned"
    REJECTED = "rejected"
    CHANNEL_FULFILLED = "by_channel"  # the channel ships it from its own stock: recorded, not worked here


U = UnitStatus
UNIT_TRANSITIONS: dict[UnitStatus, frozenset[UnitStatus]] = {
    # Straight to completed: a unit that needs no shipping (gift card, digital good) is delivered
    # by the channel when its order is approved; it is never brokered, reserved or shipped.
    U.CREATED: frozenset({U.APPROVED, U.COMPLETED, U.CANCELLED, U.REJECTED}),
    U.APPROVED: frozenset({U.BROKERED, U.CANCELLED, U.REJECTED}),
    # Back to approved: the facility rejected the item, it is brokered again elsewhere.
    U.BROKERED: frozenset({U.PICKED, U.APPROVED, U.CANCELLED, U.REJECTED}),
    U.PICKED: frozenset({U.PACKED, U.APPROVED, U.CANCELLED}),
    U.PACKED: frozenset({U.SHIPPED, U.CANCELLED}),
    U.SHIPPED: frozenset({U.COMPLETED, U.RETURNED}),
    U.COMPLETED: frozenset({U.RETURNED}),
    U.CANCELLED: frozenset(),
    U.RETURNED: frozenset(),
    U.REJECTED: frozenset(),
}

# Units that hold a reservation at their facility.
RESERVING = frozenset({U.BROKERED, U.PICKED, U.PACKED})
# Units no longer part of what the order delivers.
DROPPED = frozenset({U.CANCELLED, U.REJECTED})

S = OrderStatus
# To completed from any status in fulfilment: the units that were still to ship are cancelled
# and what is left (a gift card, a digital good) was delivered by the channel.
ORDER_TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    S.CREATED: frozenset({S.APPROVED, S.HELD, S.CANCELLED, S.REJECTED}),
    S.APPROVED: frozenset({S.BROKERED, S.HELD, S.CANCELLED, S.PICKED, S.PACKED, S.SHIPPED, S.COMPLETED}),
    S.BROKERED: frozenset({S.APPROVED, S.PICKED, S.PACKED, S.SHIPPED, S.HELD, S.CANCELLED, S.COMPLETED}),
    S.PICKED: frozenset({S.APPROVED, S.BROKERED, S.PACKED, S.SHIPPED, S.CANCELLED, S.COMPLETED}),
    S.PACKED: frozenset({S.APPROVED, S.BROKERED, S.PICKED, S.SHIPPED, S.CANCELLED, S.COMPLETED}),
    S.SHIPPED: frozenset({S.COMPLETED, S.RETURNED}),
    S.COMPLETED: frozenset({S.RETURNED}),
    S.HELD: frozenset({S.CREATED, S.APPROVED, S.BROKERED, S.CANCELLED}),
    S.CANCELLED: frozenset(),
    S.RETURNED: frozenset(),
    S.REJECTED: frozenset(),
    S.CHANNEL_FULFILLED: frozenset({S.CANCELLED}),
}

# Statuses an order can be held in, and that pick/pack/ship may not touch while held.
HOLDABLE = frozenset({S.CREATED, S.APPROVED, S.BROKERED})


class IllegalTransition(ValueError):
    """A move the state machine does not allow; the message names the record and the move."""

    def __init__(self, record: str, current: str, target: str, hint: str = "") -> None:
        self.record, self.current, self.target = record, current, target
        message = f"{record}: cannot go from {current} to {target}"
        super().__init__(f"{message}; {hint}" if hint else message)


def check_unit(record: str, current: str, target: str) -> None:
    allowed = UNIT_TRANSITIONS[UnitStatus(current)]
    if UnitStatus(target) not in allowed:
        options = ", ".join(sorted(allowed)) or "nothing (final)"
        raise IllegalTransition(record, current, target, f"from {current} it may go to {options}")


def check_order(record: str, current: str, target: str) -> None:
    allowed = ORDER_TRANSITIONS[OrderStatus(current)]
    if OrderStatus(target) not in allowed:
        options = ", ".join(sorted(allowed)) or "nothing (final)"
        raise IllegalTransition(record, current, target, f"from {current} it may go to {options}")


_PROGRESS = [U.APPROVED, U.BROKERED, U.PICKED, U.PACKED, U.SHIPPED, U.COMPLETED, U.RETURNED]
_RANK = {status: rank for rank, status in enumerate(_PROGRESS)}


def order_status_from_units(units: Iterable[str]) -> OrderStatus:
    """The status an approved order has, given its units: the least advanced of those still live.

    Cancelled and rejected units do not hold an order back; an order whose units are all
    cancelled is cancelled.
    """
    statuses = [UnitStatus(s) for s in units]
    live = [s for s in statuses if s not in DROPPED]
    if not live:
        return S.REJECTED if statuses and all(s == U.REJECTED for s in statuses) else S.CANCELLED
    if any(s == U.CREATED for s in live):
        return S.CREATED
    return OrderStatus(min(live, key=lambda s: _RANK[s]).value)


def fulfillment_status_from_units(units: Iterable[str]) -> str:
    """unfulfilled | partially_fulfilled | fulfilled | partially_returned | returned."""
    live = [UnitStatus(s) for s in units if UnitStatus(s) not in DROPPED]
    sent = [s for s in live if s in (U.SHIPPED, U.COMPLETED, U.RETURNED)]
    returned = [s for s in live if s == U.RETURNED]
    if live and len(returned) == len(live):
        return "returned"
    if returned:
        return "partially_returned"
    if live and len(sent) == len(live):
        return "fulfilled"
    return "partially_fulfilled" if sent else "unfulfilled"

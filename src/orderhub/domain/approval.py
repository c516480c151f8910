"""Approval rules: what a created order must satisfy before it is approved for fulfilment.

Each rule that fails says what is wrong, so the order's timeline (and the operator)
can tell why it is still waiting. Once an order passes, ``unit_on_approval`` says where
each of its units goes.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import NamedTuple

from orderhub.domain.brokering import BROKERING_QUEUE
from orderhub.domain.lifecycle import UnitStatus

PAID = frozenset({"authorized", "paid", "partially_paid"})


@dataclass(frozen=True)
class UnitFacts:
    sku: str | None
    ships: bool = True  # False for a gift card or digital good


@dataclass(frozen=True)
class ApprovalFacts:
    """What the rules look at, loaded by the service for one order."""

    status: str
    payment_status: str
    needs_shipping: bool
    shipping_address: dict[str, str | None] | None
    units: Collection[UnitFacts]  # the units the approval would move on
    known_skus: Collection[str]


@dataclass(frozen=True)
class Failure:
    rule: str
    problem: str

    def __str__(self) -> str:
        return f"{self.rule}: {self.problem}"


def evaluate(facts: ApprovalFacts) -> list[Failure]:
    """Every failing rule, in a fixed order; an empty list means approve."""
    failures = []
    if facts.payment_status not in PAID:
        failures.append(Failure("payment", f"payment is {facts.payment_status}; it must be authorized or paid"))
    if facts.status == "held":
        failures.append(Failure("hold", "the order is on hold; release it first"))
    if facts.needs_shipping:
        problem = _address_problem(facts.shipping_address)
        if problem:
            failures.append(Failure("shipping_address", problem))
    # A unit that needs no shipping holds no stock, so its SKU (a gift card often has none) need not be known.
    unknown = sorted({u.sku or "(no SKU)" for u in facts.units
                      if u.ships and (not u.sku or u.sku not in facts.known_skus)})
    if unknown:
        failures.append(Failure("sku", "unknown SKU(s): " + ", ".join(unknown[:10])
                                + (f" and {len(unknown) - 10} more" if len(unknown) > 10 else "")))
    return failures


def _address_problem(address: dict[str, str | None] | None) -> str | None:
    if address is None:
        return "items need shipping but the order has no shipping address"
    missing = [name for name in ("address1", "city", "country_code") if not (address.get(name) or "").strip()]
    if missing:
        return "shipping address lacks " + ", ".join(missing)
    return None


DELIVERED_BY_CHANNEL = "needs no shipping: delivered by the channel"


class UnitMove(NamedTuple):
    status: UnitStatus
    queue: str | None
    reason: str | None


def unit_on_approval(*, ships: bool, has_facility: bool, queue: str | None) -> UnitMove:
    """Where a created unit goes when its order is approved.

    One that needs no shipping is complete: the channel delivered it (a gift card is sent
    when the order is paid), so it never waits for brokering. One that holds a reservation
    from placement is brokered. Any other waits in its queue (the brokering queue unless
    brokering parked it elsewhere) for the next routing run.
    """
    if not ships:
        return UnitMove(UnitStatus.COMPLETED, None, DELIVERED_BY_CHANNEL)
    if has_facility:
        return UnitMove(UnitStatus.BROKERED, None, None)
    return UnitMove(UnitStatus.APPROVED, queue or BROKERING_QUEUE, None)

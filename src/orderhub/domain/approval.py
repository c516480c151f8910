"""Approval rules: what a created order must satisfy before it is approved for fulfilment.

Each rule that fails says what is wrong, so the order's timeline (and the operator)
can tell why it is still waiting.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

PAID = frozenset({"authorized", "paid", "partially_paid"})


@dataclass(frozen=True)
class ApprovalFacts:
    """What the rules look at, loaded by the service for one order."""

    status: str
    payment_status: str
    needs_shipping: bool
    shipping_address: dict[str, str | None] | None
    skus: Collection[str | None]
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
    unknown = sorted({s or "(no SKU)" for s in facts.skus if not s or s not in facts.known_skus})
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

"""Behaviour rules: which requests the gateway declines, fails or answers late.

A rule is added with ``POST /_sim/rules``::

    {"match": {"reference": "#1001", "amount": "12.34", "any": true, "operation": "authorize"},
     "outcome": "decline" | "timeout" | "error" | "approve",
     "decline_code": "insufficient_funds", "times": 1, "delay_seconds": 2.0, "status": 503}

``match`` needs ``reference`` and/or ``amount`` (all given must match) or
``"any": true``; ``operation`` (``authorize`` by default, or ``void``,
``capture``, ``any``) says which endpoint it applies to. Rules are checked in
the order they were added; the first that matches and has uses left wins and
uses one (``times`` null means always).

Outcomes:

- ``approve``: proceed normally (to let a few requests through ahead of a later rule).
- ``decline``: 402 ``card_error`` with ``decline_code`` (authorize only); the
  declined authorization is stored.
- ``error``: 500 ``api_error`` (or ``status`` 502/503/504) and nothing is created;
  as when a request fails before it starts executing, no idempotent result is saved,
  so a retry with the same key runs afresh.
- ``timeout``: the request is carried out and its result saved under its
  idempotency key, then the answer is held back ``delay_seconds`` (default 10):
  a client that gives up and retries with the same key gets the original result.

For ``approve``, ``decline`` and ``error`` a ``delay_seconds`` is slow processing
before the outcome, during which the idempotency key is in progress (a retry
with it gets 409).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from orderhub.simulators.payments.errors import invalid

OUTCOMES = ("approve", "decline", "timeout", "error")
OPERATIONS = ("authorize", "void", "capture", "any")
ERROR_STATUSES = (500, 502, 503, 504)
DEFAULT_DECLINE = "generic_decline"
DEFAULT_TIMEOUT_DELAY = 10.0
MAGIC_CENTS = Decimal("0.51")
_DECLINE_CODE = re.compile(r"[a-z][a-z_]{0,63}")


@dataclass
class Rule:
    outcome: str
    operation: str = "authorize"
    reference: str | None = None
    amount: Decimal | None = None
    decline_code: str = DEFAULT_DECLINE
    times: int | None = None
    delay_seconds: float = 0.0
    status: int = 500
    used: int = 0

    @property
    def exhausted(self) -> bool:
        return self.times is not None and self.used >= self.times

    def matches(self, operation: str, reference: str, amount: Decimal) -> bool:
        return ((self.operation in ("any", operation))
                and (self.reference is None or self.reference == reference)
                and (self.amount is None or self.amount == amount))

    def describe(self) -> dict[str, Any]:
        match: dict[str, Any] = {"operation": self.operation}
        if self.reference is not None:
            match["reference"] = self.reference
        if self.amount is not None:
            match["amount"] = str(self.amount)
        if self.reference is None and self.amount is None:
            match["any"] = True
        return {"match": match, "outcome": self.outcome, "decline_code": self.decline_code, "times": self.times,
                "used": self.used, "delay_seconds": self.delay_seconds, "status": self.status}


def _number(value: Any, name: str, *, minimum: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= minimum:
        raise invalid(name, f"{name} must be a number of at least {minimum}, not {value!r}")
    return float(value)


def _amount(value: Any) -> Decimal:
    try:
        amount = Decimal(value) if isinstance(value, str) else None
    except InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite() or amount <= 0:
        raise invalid("match.amount", f'match.amount must be a positive decimal string such as "12.34", not {value!r}')
    return amount


def parse_rule(body: dict[str, Any]) -> Rule:
    """A rule from its JSON form, or a 400 naming the field that is wrong."""
    unknown = sorted(set(body) - {"match", "outcome", "decline_code", "times", "delay_seconds", "status"})
    if unknown:
        raise invalid(unknown[0], f"unknown rule field {unknown[0]!r}")
    match = body.get("match")
    if not isinstance(match, dict) or set(match) - {"reference", "amount", "any", "operation"}:
        raise invalid("match", "match must be an object with reference, amount, any and/or operation")
    outcome = body.get("outcome")
    if outcome not in OUTCOMES:
        raise invalid("outcome", f"outcome must be one of {', '.join(OUTCOMES)}, not {outcome!r}")
    operation = match.get("operation", "authorize")
    if operation not in OPERATIONS:
        raise invalid("match.operation", f"operation must be one of {', '.join(OPERATIONS)}, not {operation!r}")
    if outcome == "decline" and operation != "authorize":
        raise invalid("outcome", "only authorizations can be declined; use error or timeout for void and capture")
    reference = match.get("reference")
    if reference is not None and not isinstance(reference, str):
        raise invalid("match.reference", "match.reference must be a string")
    amount = None if match.get("amount") is None else _amount(match["amount"])
    if reference is None and amount is None and match.get("any") is not True:
        raise invalid("match", 'match needs a reference, an amount or "any": true')
    rule = Rule(outcome=outcome, operation=operation, reference=reference, amount=amount)
    if body.get("decline_code") is not None:
        if not isinstance(body["decline_code"], str) or not _DECLINE_CODE.fullmatch(body["decline_code"]):
            raise invalid("decline_code", "decline_code must be a snake_case code such as insufficient_funds")
        rule.decline_code = body["decline_code"]
    if body.get("times") is not None:
        times = body["times"]
        if isinstance(times, bool) or not isinstance(times, int) or times < 1:
            raise invalid("times", f"times must be a whole number of at least 1, or null for always; not {times!r}")
        rule.times = times
    if body.get("delay_seconds") is not None:
        rule.delay_seconds = _number(body["delay_seconds"], "delay_seconds", minimum=0)
    elif outcome == "timeout":
        rule.delay_seconds = DEFAULT_TIMEOUT_DELAY
    if body.get("status") is not None:
        if outcome != "error" or body["status"] not in ERROR_STATUSES:
            raise invalid("status", f"status is for error rules and must be one of {ERROR_STATUSES}")
        rule.status = body["status"]
    return rule


def magic_decline(amount: Decimal) -> str | None:
    """The built-in test amount: anything ending in .51 is declined for insufficient funds."""
    return "insufficient_funds" if amount % 1 == MAGIC_CENTS else None

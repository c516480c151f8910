"""Failure injection on chosen operations (``POST /_sim/failures``), N times.

A rule names an ``operation`` (``getOrders``, ``confirmShipment``, ``lwaToken``,
``uploadFeedDocument``, ... or ``*``) and, after letting ``after`` matching requests through,
fires for the next ``times`` of them:

- ``outcome="error"``: answer ``status`` (500 or 503) with SP-API's error body, doing nothing;
- ``outcome="timeout"``: hold the answer ``seconds`` (real time); with ``process=false``
  nothing is done and a 504 follows, with ``process=true`` the work is done and its real
  answer comes late;
- ``outcome="lost"``: the work *is* done, then the answer is lost: with ``drop=true`` the
  connection closes in the middle of the answer, otherwise ``status`` is answered instead.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from orderhub.simulators.amazon.errors import SpApiError
from orderhub.simulators.rulebook import RuleBook

OUTCOMES = ("error", "timeout", "lost")


@dataclass
class FailureRule:
    operation: str = "*"
    times: int = 1
    outcome: str = "error"
    status: int = 503
    seconds: float = 30.0
    process: bool = False
    drop: bool = False
    after: int = 0
    used: int = 0
    passed: int = 0

    def matches(self, operation: str) -> bool:
        return self.used < self.times and self.operation in ("*", operation)


def _bad(key: str, message: str) -> SpApiError:
    return SpApiError(400, "InvalidInput", f"{key}: {message}")


def parse_rule(body: dict[str, Any], operations: set[str]) -> FailureRule:
    allowed = {"operation", "times", "outcome", "status", "seconds", "process", "drop", "after"}
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise _bad(unknown[0], f"unknown key; expected {', '.join(sorted(allowed))}.")
    operation = body.get("operation", "*")
    if operation != "*" and operation not in operations:
        raise _bad("operation", f"{operation!r} is not an operation; expected * or one of "
                                f"{', '.join(sorted(operations))}.")
    rule = FailureRule(operation=operation)
    for key in ("times", "after"):
        value = body.get(key, getattr(rule, key))
        if isinstance(value, bool) or not isinstance(value, int) or value < (1 if key == "times" else 0):
            raise _bad(key, "must be a whole number" + (" of at least 1." if key == "times" else " of at least 0."))
        setattr(rule, key, value)
    rule.outcome = body.get("outcome", "error")
    if rule.outcome not in OUTCOMES:
        raise _bad("outcome", f"must be one of {', '.join(OUTCOMES)}.")
    rule.status = body.get("status", 503)
    if rule.status not in (500, 502, 503, 504):
        raise _bad("status", "must be 500, 502, 503 or 504.")
    seconds = body.get("seconds", 30.0)
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds < 0:
        raise _bad("seconds", "must be a number of at least 0.")
    rule.seconds = float(seconds)
    for key in ("process", "drop"):
        if not isinstance(body.get(key, False), bool):
            raise _bad(key, "must be true or false.")
        setattr(rule, key, body.get(key, False))
    return rule


class Faults(RuleBook[FailureRule]):
    """The failure rules in force (simulators/rulebook.py), matched by operation."""

    def rules(self) -> list[dict[str, Any]]:
        return [asdict(r) for r in self.all()]

    def reset(self) -> None:
        self.clear()

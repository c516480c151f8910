"""Failures on chosen operations, N times (``POST /_sim/failures``).

- ``error``: answer ``status`` (500/502/503/504) with TikTok's internal-error envelope, doing nothing;
- ``timeout``: hold the answer ``seconds``, then a 504, doing nothing;
- ``lost``: do the work, then lose the answer: a ``status`` 5xx, or with ``drop`` the connection
  closes mid-answer (the client sees a broken response although the shipment, cancellation or
  stock update was applied).

A rule names an ``operation`` (TikTok's operation id, e.g. ``shipPackage``) or ``*``; ``after``
lets that many matching requests through first.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

from orderhub.simulators.rulebook import RuleBook
from orderhub.simulators.tiktok.errors import BAD_FIELD, fail

Outcome = Literal["error", "timeout", "lost"]


@dataclass
class FailureRule:
    operation: str = "*"
    outcome: Outcome = "error"
    times: int = 1
    status: int = 503
    seconds: float = 30.0
    drop: bool = False
    after: int = 0
    used: int = 0
    passed: int = 0

    def matches(self, operation: str) -> bool:
        return self.operation in ("*", operation)

    def describe(self) -> dict[str, Any]:
        return asdict(self)


def parse_rule(body: dict[str, Any]) -> FailureRule:
    allowed = {"operation", "outcome", "times", "status", "seconds", "drop", "after"}
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise fail(BAD_FIELD, f"Unknown key {unknown[0]!r} in the failure rule; expected {', '.join(sorted(allowed))}.")
    rule = FailureRule(**body)
    if not isinstance(rule.operation, str) or not rule.operation:
        raise fail(BAD_FIELD, "operation must be an operation id such as shipPackage, or '*'.")
    if rule.outcome not in ("error", "timeout", "lost"):
        raise fail(BAD_FIELD, "outcome must be 'error', 'timeout' or 'lost'.")
    if rule.status not in (500, 502, 503, 504):
        raise fail(BAD_FIELD, "status must be 500, 502, 503 or 504.")
    for key in ("times", "after"):
        value = getattr(rule, key)
        if isinstance(value, bool) or not isinstance(value, int) or value < (1 if key == "times" else 0):
            raise fail(BAD_FIELD, f"{key} must be a whole number ({'at least 1' if key == 'times' else '0 or more'}).")
    if isinstance(rule.seconds, bool) or not isinstance(rule.seconds, (int, float)) or rule.seconds < 0:
        raise fail(BAD_FIELD, "seconds must be a number of 0 or more.")
    if not isinstance(rule.drop, bool):
        raise fail(BAD_FIELD, "drop must be true or false.")
    return rule


class Faults(RuleBook[FailureRule]):
    """The failure rules in force (simulators/rulebook.py), matched by operation."""

    def rules(self) -> list[dict[str, Any]]:
        return [r.describe() for r in self.all()]

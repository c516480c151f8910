"""Failure injection on the service's operations (never on ``/_sim``).

A rule matches requests by ``operation`` (the operationId of Walmart's OpenAPI, e.g.
``shippingUpdates``) or by ``path`` prefix, lets ``after`` of them through, then fires for
the next ``times``:

- ``outcome="error"``: answer ``status`` (500, 502, 503 or 504) at once, doing nothing;
- ``outcome="timeout"``: hold the answer ``seconds``, then a 504, doing nothing;
- ``outcome="lost"``: carry the request out, then lose the answer: a ``status`` 5xx, or with
  ``drop=true`` the connection is cut mid-answer (the client sees a protocol error). The
  work stays done, which is what a retrying client must cope with.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

from orderhub.simulators.rulebook import RuleBook
from orderhub.simulators.walmart.errors import bad_param

Outcome = Literal["error", "timeout", "lost"]
_SIM = "SIMULATOR_CONTROL"


@dataclass
class FailureRule:
    operation: str | None = None
    path: str = "/"
    method: str | None = None
    times: int = 1
    outcome: Outcome = "error"
    status: int = 503
    seconds: float = 30.0
    drop: bool = False
    after: int = 0
    used: int = 0
    passed: int = 0

    def matches(self, operation: str, method: str, path: str) -> bool:
        if self.used >= self.times:
            return False
        if self.operation is not None and self.operation != operation:
            return False
        return path.startswith(self.path) and (self.method is None or self.method.upper() == method.upper())


def parse_rule(body: dict[str, Any]) -> FailureRule:
    """A rule from ``POST /_sim/failures``; a bad key or value answers 400 naming it."""
    allowed = {"operation", "path", "method", "times", "outcome", "status", "seconds", "drop", "after"}
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise bad_param(_SIM, unknown[0], f"Unknown key {unknown[0]!r}; expected {', '.join(sorted(allowed))}.")
    rule = FailureRule()
    if "operation" in body:
        if not isinstance(body["operation"], str) or not body["operation"]:
            raise bad_param(_SIM, "operation", "operation must be an operationId such as 'shippingUpdates'.")
        rule.operation = body["operation"]
    if not isinstance(body.get("path", "/"), str) or not body.get("path", "/").startswith("/"):
        raise bad_param(_SIM, "path", "path must be a path prefix starting with '/'.")
    rule.path = body.get("path", "/")
    if body.get("method") is not None and not isinstance(body["method"], str):
        raise bad_param(_SIM, "method", "method must be an HTTP method such as POST.")
    rule.method = body.get("method")
    for key, minimum in (("times", 1), ("after", 0)):
        value = body.get(key, getattr(rule, key))
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise bad_param(_SIM, key, f"{key} must be a whole number of at least {minimum}.")
        setattr(rule, key, value)
    if body.get("outcome", "error") not in ("error", "timeout", "lost"):
        raise bad_param(_SIM, "outcome", "outcome must be 'error', 'timeout' or 'lost'.")
    rule.outcome = body.get("outcome", "error")
    if body.get("status", 503) not in (500, 502, 503, 504):
        raise bad_param(_SIM, "status", "status must be 500, 502, 503 or 504.")
    rule.status = body.get("status", 503)
    seconds = body.get("seconds", 30.0)
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds < 0:
        raise bad_param(_SIM, "seconds", "seconds must be a number of at least 0.")
    rule.seconds = float(seconds)
    if not isinstance(body.get("drop", False), bool):
        raise bad_param(_SIM, "drop", "drop must be true or false.")
    rule.drop = body.get("drop", False)
    return rule


class Faults(RuleBook[FailureRule]):
    """The failure rules in force (simulators/rulebook.py), matched by operation, method and path."""

    def rules(self) -> list[dict[str, Any]]:
        return [asdict(r) for r in self.all()]

    def reset(self) -> None:
        self.clear()

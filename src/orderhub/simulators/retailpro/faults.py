"""Latency and failure injection for the service's paths (not the ``/_sim`` control API).

A :class:`FailureRule` matches requests whose path starts with ``path`` (and, when
set, whose method is ``method``) and, after letting ``after`` of them through, fires for the
next ``times`` of them:

- ``outcome="error"``: answer ``status`` (500 or 503) at once, doing nothing;
- ``outcome="timeout"``: hold the answer ``seconds``; with ``process=false`` nothing is
  done and a 504 follows, with ``process=true`` the request *is* carried out first and its
  real answer follows late (the case where a client gives up although the invoice exists).

Latency adds ``fixed`` seconds plus a uniform random ``0..jitter`` to every matching request.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass
from typing import Any, Literal

from orderhub.simulators.retailpro.errors import fail
from orderhub.simulators.rulebook import RuleBook

Outcome = Literal["error", "timeout"]


@dataclass
class FailureRule:
    path: str = "/"
    method: str | None = None
    times: int = 1
    outcome: Outcome = "error"
    status: int = 503
    seconds: float = 30.0
    process: bool = False
    after: int = 0  # let this many matching requests through first (the service goes down mid-run)
    used: int = 0
    passed: int = 0

    def matches(self, method: str, path: str) -> bool:
        return (self.used < self.times and path.startswith(self.path)
                and (self.method is None or self.method.upper() == method.upper()))

    def describe(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Latency:
    fixed: float = 0.0
    jitter: float = 0.0
    path: str = "/"

    def delay(self, path: str) -> float:
        if not path.startswith(self.path):
            return 0.0
        return self.fixed + (random.uniform(0, self.jitter) if self.jitter > 0 else 0.0)


def _number(body: dict[str, Any], key: str, default: float, *, minimum: float = 0.0) -> float:
    value = body.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < minimum:
        raise fail(400, "FIELD_INVALID", f"{key} must be a number of at least {minimum:g}.", key)
    return float(value)


def parse_rule(body: dict[str, Any]) -> FailureRule:
    """A rule from ``POST /_sim/failures``; unknown keys and bad values answer 400 naming the key."""
    allowed = {"path", "method", "times", "outcome", "status", "seconds", "process", "after"}
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise fail(400, "FIELD_UNKNOWN", f"Unknown key {unknown[0]!r}; expected {', '.join(sorted(allowed))}.",
                   unknown[0])
    path = body.get("path", "/")
    if not isinstance(path, str) or not path.startswith("/"):
        raise fail(400, "FIELD_INVALID", "path must be a path prefix starting with '/'.", "path")
    method = body.get("method")
    if method is not None and not isinstance(method, str):
        raise fail(400, "FIELD_INVALID", "method must be an HTTP method such as POST.", "method")
    times = body.get("times", 1)
    if isinstance(times, bool) or not isinstance(times, int) or times < 1:
        raise fail(400, "FIELD_INVALID", "times must be a whole number of at least 1.", "times")
    outcome = body.get("outcome", "error")
    if outcome not in ("error", "timeout"):
        raise fail(400, "FIELD_INVALID", "outcome must be 'error' or 'timeout'.", "outcome")
    status = body.get("status", 503)
    if status not in (500, 502, 503, 504):
        raise fail(400, "FIELD_INVALID", "status must be 500, 502, 503 or 504.", "status")
    after = body.get("after", 0)
    if isinstance(after, bool) or not isinstance(after, int) or after < 0:
        raise fail(400, "FIELD_INVALID", "after must be a whole number of at least 0.", "after")
    process = body.get("process", False)
    if not isinstance(process, bool):
        raise fail(400, "FIELD_INVALID", "process must be true or false.", "process")
    return FailureRule(path=path, method=method, times=times, outcome=outcome, status=status,
                       seconds=_number(body, "seconds", 30.0), process=process, after=after)


def parse_latency(body: dict[str, Any]) -> Latency:
    """Latency from ``POST /_sim/latency``: ``{"fixed": s, "jitter": s, "path": prefix}``."""
    unknown = sorted(set(body) - {"fixed", "jitter", "path"})
    if unknown:
        raise fail(400, "FIELD_UNKNOWN", f"Unknown key {unknown[0]!r}; expected fixed, jitter, path.", unknown[0])
    path = body.get("path", "/")
    if not isinstance(path, str) or not path.startswith("/"):
        raise fail(400, "FIELD_INVALID", "path must be a path prefix starting with '/'.", "path")
    return Latency(_number(body, "fixed", 0.0), _number(body, "jitter", 0.0), path)


class Faults(RuleBook[FailureRule]):
    """The rules and latency in force; rules are tried in the order they were added."""

    def __init__(self) -> None:
        super().__init__()
        self.latency = Latency()

    def rules(self) -> list[dict[str, Any]]:
        return [r.describe() for r in self.all()]

    def reset_rules(self) -> None:
        self.clear()

    def reset(self) -> None:
        self.clear()
        self.latency = Latency()

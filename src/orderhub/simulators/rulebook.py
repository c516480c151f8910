"""Failure injection shared by the simulators: rules kept in the order they were added, each one used a set
number of times on the calls it matches, optionally after letting the first ``after`` of them pass."""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import Any, Generic, Protocol, TypeVar


class Rule(Protocol):
    times: int
    used: int
    after: int
    passed: int

    def matches(self, *key: Any) -> bool: ...


R = TypeVar("R", bound=Rule)


class RuleBook(Generic[R]):
    def __init__(self) -> None:
        self._rules: list[R] = []
        self._lock = threading.Lock()

    def add(self, rule: R) -> int:
        """Add a rule; returns how many are in force."""
        with self._lock:
            self._rules.append(rule)
            return len(self._rules)

    def take(self, *key: Any) -> R | None:
        """The first rule matching ``key`` with uses left, with one use taken (a copy, as it was then)."""
        with self._lock:
            for rule in self._rules:
                if rule.used >= rule.times or not rule.matches(*key):
                    continue
                if rule.passed < rule.after:
                    rule.passed += 1
                    continue
                rule.used += 1
                return replace(rule)  # type: ignore[type-var]
        return None

    def all(self) -> list[R]:
        with self._lock:
            return [replace(r) for r in self._rules]  # type: ignore[type-var]

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

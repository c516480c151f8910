"""Errors a person can act on: each names the record, the field and the problem."""

from __future__ import annotations


class InvalidRecord(Exception):
    """A record that can never be applied as it is: fix the payload, then retry."""

    def __init__(self, field: str | None, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"{field}: {problem}" if field else problem)


def message(exc: BaseException) -> str:
    """An exception's text for a person: a KeyError's without the quotes its ``str()`` adds."""
    text = str(exc)
    if isinstance(exc, KeyError) and len(text) > 1 and text[0] == text[-1] == "'":
        return text[1:-1]
    return text

"""Shopify's search syntax for the ``query`` argument of ``orders``.

Terms are ``field:value`` separated by spaces (``AND`` between them is
optional); every term must match; ``-field:value`` excludes. Time fields take
``>``, ``>=``, ``<``, ``<=`` and quoted or bare ISO 8601 values
(``updated_at:>='2026-11-23T10:00:00Z'``); a date alone means that day in the
shop's time zone. Like Shopify, a field the search does not know is ignored and
reported as a warning (``extensions.search``). Free words match the order's name,
e-mail, note or tags.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from typing import Any

from orderhub.simulators.shopify.clock import parse_time

Order = dict[str, Any]
Predicate = Callable[[Order], bool]

_TERM = re.compile(r"""(?P<neg>-)?(?:(?P<field>[A-Za-z_]+):(?P<op><=|>=|<|>)?)?(?P<value>'[^']*'|"[^"]*"|\S+)""")
_TIME_FIELDS = ("created_at", "updated_at", "processed_at")
_OPS: dict[str, Callable[[Any, Any], bool]] = {
    ">": lambda a, b: a > b, ">=": lambda a, b: a >= b, "<": lambda a, b: a < b, "<=": lambda a, b: a <= b}


def _unquote(value: str) -> str:
    return value[1:-1] if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"" else value


def time_term(field: str, op: str, value: str, tz: timezone) -> Predicate:
    """Compare instants; a bare date covers that whole day in the shop's zone."""
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        start = datetime.combine(date.fromisoformat(value), datetime.min.time(), tz)
        end = start + timedelta(days=1)
        within: dict[str, Callable[[datetime], bool]] = {
            "": lambda t: start <= t < end, ">": lambda t: t >= end, ">=": lambda t: t >= start,
            "<": lambda t: t < start, "<=": lambda t: t < end}
        test = within[op]
        return lambda o: test(parse_time(o[field]))
    moment = parse_time(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    compare = _OPS.get(op, lambda a, b: a == b)
    return lambda o: compare(parse_time(o[field]), moment)


def _status(value: str) -> Predicate:
    return {"open": lambda o: o.get("closed_at") is None and o.get("cancelled_at") is None,
            "closed": lambda o: o.get("closed_at") is not None,
            "cancelled": lambda o: o.get("cancelled_at") is not None,
            "any": lambda o: True}.get(value, lambda o: False)


def _tags(order: Order) -> list[str]:
    return [t.strip().lower() for t in str(order.get("tags") or "").split(",") if t.strip()]


def _field_term(field: str, op: str, value: str, tz: timezone) -> Predicate | None:
    lowered = value.lower()
    if field in _TIME_FIELDS:
        return time_term(field, op, value, tz)
    if field == "id":
        number = int(value)
        compare = _OPS.get(op, lambda a, b: a == b)
        return lambda o: compare(int(o["id"]), number)
    if field in ("financial_status", "email"):
        return lambda o: str(o.get(field) or "").lower() == lowered
    if field == "fulfillment_status":
        wanted = {"shipped": "fulfilled", "unshipped": None, "unfulfilled": None}.get(lowered, lowered)
        return lambda o: o.get("fulfillment_status") == wanted
    if field == "name":
        return lambda o: str(o.get("name") or "").lower() in (lowered, f"#{lowered}")
    if field == "status":
        return _status(lowered)
    if field == "tag":
        return lambda o: lowered in _tags(o)
    return None


def _word(value: str) -> Predicate:
    lowered = value.lower()
    return lambda o: any(lowered in str(o.get(k) or "").lower() for k in ("name", "email", "note", "tags"))


def _negated(term: Predicate) -> Predicate:
    return lambda o: not term(o)


FieldTerm = Callable[[str, str, str, timezone], "Predicate | None"]


def parse(query: str | None, tz: timezone, field_term: FieldTerm | None = None,
          word: Callable[[str], Predicate] | None = None) -> tuple[Predicate, list[dict[str, str]]]:
    """A predicate over REST-shape orders (or, given their ``field_term`` and ``word``, other
    records), and Shopify-style warnings for ignored terms."""
    field_term = field_term or _field_term
    word = word or _word
    predicates: list[Predicate] = []
    warnings: list[dict[str, str]] = []
    for match in _TERM.finditer(query or ""):
        field, op, value = match["field"], match["op"] or "", _unquote(match["value"])
        if field is None and value in ("AND", "and"):
            continue
        if field is None:
            term: Predicate | None = word(value)
        else:
            try:
                term = field_term(field.lower(), op, value, tz)
            except ValueError:
                warnings.append({"field": field, "message": f"Invalid value for field {field}: {value!r}."})
                continue
            if term is None:
                warnings.append({"field": field, "message": "Invalid search field for this query."})
                continue
        predicates.append(_negated(term) if match["neg"] else term)
    return (lambda order: all(p(order) for p in predicates)), warnings

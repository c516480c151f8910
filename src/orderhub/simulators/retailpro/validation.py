"""Check a JSON block against a tuple of :class:`~orderhub.simulators.retailpro.limits.Field`.

Every problem is collected (not just the first), each naming its field by path
(``CustomerBilling.FirstName``, ``Items[2].UPC``), so one 400 answer lists them all.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from orderhub.simulators.retailpro.errors import ErrorEntry
from orderhub.simulators.retailpro.limits import DECIMAL_DIGITS, DECIMAL_PLACES, SHORT_DIGITS, Field

_DECIMAL_LIMIT = Decimal(10) ** (DECIMAL_DIGITS - DECIMAL_PLACES)
_SHORT_LIMIT = 10**SHORT_DIGITS


class Problems:
    """The errors found so far in one request."""

    def __init__(self) -> None:
        self.entries: list[ErrorEntry] = []

    def add(self, code: str, path: str, message: str) -> None:
        self.entries.append(ErrorEntry(code, f"{path}: {message}", path))

    def __bool__(self) -> bool:
        return bool(self.entries)


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _check(field: Field, value: Any, path: str, problems: Problems) -> Any:
    """The converted value, or None after recording what is wrong with it."""
    if field.kind == "text":
        if not isinstance(value, str):
            problems.add("FIELD_INVALID", path, "must be a string.")
            return None
        if field.max_length is not None and len(value) > field.max_length:
            problems.add("FIELD_TOO_LONG", path, f"is {len(value)} characters; at most {field.max_length} allowed.")
            return None
        return value
    if field.kind == "decimal":
        number = _decimal(value)
        if number is None:
            problems.add("FIELD_INVALID", path, "must be a number.")
        elif number < 0:
            problems.add("FIELD_INVALID", path, "must not be negative.")
        elif number.as_tuple().exponent < -DECIMAL_PLACES or abs(number) >= _DECIMAL_LIMIT:  # type: ignore[operator]
            problems.add("FIELD_INVALID", path, f"does not fit Float({DECIMAL_DIGITS},{DECIMAL_PLACES}) "
                                                f"(below {_DECIMAL_LIMIT}, at most {DECIMAL_PLACES} decimals).")
        else:
            return number
        return None
    if field.kind in ("short", "count"):
        if isinstance(value, bool) or not isinstance(value, int):
            problems.add("FIELD_INVALID", path, "must be a whole number.")
        elif field.kind == "short" and not 0 <= value < _SHORT_LIMIT:
            problems.add("FIELD_INVALID", path, f"must be from 0 to {_SHORT_LIMIT - 1}.")
        elif field.kind == "count" and value < 1:
            problems.add("FIELD_INVALID", path, "must be at least 1 (negative and zero quantities are refused).")
        else:
            return value
        return None
    if field.kind == "datetime":
        try:
            return datetime.fromisoformat(value)
        except (TypeError, ValueError):
            problems.add("FIELD_INVALID", path, "must be an ISO 8601 date and time such as 2023-03-20T11:29:00.")
            return None
    if not isinstance(value, bool):
        problems.add("FIELD_INVALID", path, "must be true or false.")
        return None
    return value


def check_block(block: Any, fields: tuple[Field, ...], prefix: str, problems: Problems) -> dict[str, Any]:
    """The block's known fields, converted; missing, malformed and too-long ones go to ``problems``."""
    if not isinstance(block, dict):
        problems.add("FIELD_INVALID" if block is not None else "FIELD_REQUIRED", prefix or "body",
                     "must be a JSON object.")
        return {}
    values: dict[str, Any] = {}
    for field in fields:
        path = f"{prefix}.{field.name}" if prefix else field.name
        raw = block.get(field.name)
        if _blank(raw):
            if field.required:
                problems.add("FIELD_REQUIRED", path, "is required.")
            continue
        checked = _check(field, raw, path, problems)
        if checked is not None:
            values[field.name] = checked
    return values


def check_list(raw: Any, path: str, maximum: int, problems: Problems) -> list[Any]:
    """A required, non-empty JSON array of at most ``maximum`` entries."""
    if not isinstance(raw, list) or not raw:
        problems.add("FIELD_REQUIRED", path, "must be a non-empty list.")
        return []
    if len(raw) > maximum:
        problems.add("FIELD_INVALID", path, f"has {len(raw)} entries; at most {maximum} allowed.")
        return []
    return raw

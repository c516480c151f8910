"""Amounts shown as their currency shows them: as many decimals as its minor unit (ISO 4217).

Every amount that leaves orderhub as text goes through :func:`show` (one amount) or
:func:`to_json` (a payload), so the text depends on the currency only, never on how the
database handed the amount back (``20.0000`` from PostgreSQL's NUMERIC, ``20`` or ``20.0``
from SQLite's text).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

# ISO 4217 currencies whose minor unit is not the cent.
_ZERO_DECIMAL = frozenset({"BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI",
                           "VND", "VUV", "XAF", "XOF", "XPF"})
_THREE_DECIMAL = frozenset({"BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"})
_FOUR_DECIMAL = frozenset({"CLF", "UYW"})


def decimals(currency: str | None) -> int:
    code = (currency or "").upper()
    if code in _ZERO_DECIMAL:
        return 0
    if code in _THREE_DECIMAL:
        return 3
    return 4 if code in _FOUR_DECIMAL else 2


def _digits(amount: Decimal | int | str) -> tuple[str, str, str]:
    """Sign, whole part and decimals (trailing zeros dropped) of an exact amount, without an exponent."""
    value = amount if isinstance(amount, Decimal) else Decimal(str(amount))
    if not value.is_finite():
        raise ValueError(f"{value} is not an amount")
    text = format(value, "f")  # positional whatever the exponent: Decimal("1E+2") -> "100"
    sign = "-" if text.startswith("-") else ""
    whole, _, fraction = text.lstrip("-").partition(".")
    fraction = fraction.rstrip("0")
    if not fraction and not whole.strip("0"):
        sign = ""  # -0 and -0.00 are zero
    return sign, whole, fraction


def show(amount: Decimal | int | str, currency: str | None) -> str:
    """``Decimal("20.0000")``, "USD" -> "20.00"; "JPY" -> "20"; "KWD" -> "20.000".

    Exactly the currency's decimals, unless the amount has more digits that are not zero: those
    are kept (``Decimal("0.125")``, "USD" -> "0.125"), never rounded away. Never an exponent."""
    sign, whole, fraction = _digits(amount)
    fraction = fraction.ljust(decimals(currency), "0")
    return f"{sign}{whole}.{fraction}" if fraction else f"{sign}{whole}"


def with_currency(amount: Decimal | int | str, currency: str | None) -> str:
    return f"{show(amount, currency)} {currency}" if currency else show(amount, currency)


def number(value: Decimal | int | str) -> str:
    """A decimal that is not money (a percentage, a rate) as exact text: no exponent, no trailing zeros."""
    sign, whole, fraction = _digits(value)
    return f"{sign}{whole}.{fraction}" if fraction else f"{sign}{whole}"


def to_json(value: Any, currency: str | None) -> Any:
    """``value`` (mappings, lists, scalars) with every Decimal shown as money in ``currency``, ready
    for a JSON encoder.

    A mapping with a ``currency`` of its own shows its amounts (and those below it) in that one;
    ``presentment_*`` amounts follow ``presentment_currency``; the ``value`` of a percentage
    discount (``value_type`` "percentage") is a :func:`number`, not money."""
    if isinstance(value, Decimal):
        return show(value, currency)
    if isinstance(value, Mapping):
        own = value.get("currency")
        here = own if isinstance(own, str) and own else currency
        presentment = value.get("presentment_currency") or here
        percentage = value.get("value_type") == "percentage"
        out = {}
        for key, item in value.items():
            if percentage and key == "value" and isinstance(item, Decimal):
                out[key] = number(item)
            elif isinstance(key, str) and key.startswith("presentment_"):
                out[key] = to_json(item, presentment)
            else:
                out[key] = to_json(item, here)
        return out
    if isinstance(value, (list, tuple)):
        return [to_json(item, currency) for item in value]
    return value

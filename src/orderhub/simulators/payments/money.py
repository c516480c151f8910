"""Amounts and currencies as the gateway accepts them: exact decimal strings, ISO 4217 codes.

Amounts travel as decimal strings ("12.34"), never JSON numbers, so no float
ever touches money. Each currency allows as many decimals as its minor unit
(the zero- and three-decimal lists are those Stripe documents); answers always
show exactly that many ("12.3" EUR comes back as "12.30").
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

import pycountry

from orderhub.simulators.payments.errors import invalid

ZERO_DECIMAL = frozenset({"BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND",
                          "VUV", "XAF", "XOF", "XPF"})
THREE_DECIMAL = frozenset({"BHD", "JOD", "KWD", "OMR", "TND"})
MAX_MINOR_UNITS = 99_999_999  # Stripe's ceiling for one charge: 999,999.99 in a two-decimal currency


def decimals(currency: str) -> int:
    """How many decimals amounts in ``currency`` may have."""
    return 0 if currency in ZERO_DECIMAL else 3 if currency in THREE_DECIMAL else 2


def parse_currency(value: Any, param: str = "currency") -> str:
    """An upper-case ISO 4217 code, or a 400 naming ``param``."""
    if not isinstance(value, str) or len(value) != 3 or not value.isalpha() or not value.isascii():
        raise invalid(param, f"Invalid currency: {value!r}. Use a three-letter ISO 4217 code such as \"EUR\".")
    code = value.upper()
    if pycountry.currencies.get(alpha_3=code) is None:
        raise invalid(param, f"Invalid currency: {value!r} is not an ISO 4217 currency code.")
    return code


def parse_amount(value: Any, currency: str, param: str = "amount") -> Decimal:
    """A positive amount with no more decimals than ``currency`` allows, or a 400 naming ``param``."""
    if not isinstance(value, str):
        raise invalid(param, f"Invalid {param}: give it as a decimal string such as \"12.34\", not "
                             f"{type(value).__name__ if value is not None else 'null'}.")
    try:
        amount = Decimal(value.strip())
    except InvalidOperation:
        raise invalid(param, f"Invalid {param}: {value!r} is not a decimal number.") from None
    places = decimals(currency)
    if not amount.is_finite():
        raise invalid(param, f"Invalid {param}: {value!r} is not a finite number.")
    if amount <= 0:
        raise invalid(param, f"Invalid {param}: {value!r}; it must be greater than zero.", code="amount_too_small")
    exponent = amount.normalize().as_tuple().exponent
    if isinstance(exponent, int) and -exponent > places:
        raise invalid(param, f"Invalid {param}: {value!r} has more than {places} decimal places, "
                             f"which {currency} does not allow.")
    if amount.scaleb(places) > MAX_MINOR_UNITS:
        raise invalid(param, f"Invalid {param}: {value!r} is more than the maximum "
                             f"{fmt(Decimal(MAX_MINOR_UNITS).scaleb(-places), currency)}.",
                      code="amount_too_large")
    return amount


def fmt(amount: Decimal, currency: str) -> str:
    """The amount with exactly the currency's number of decimals."""
    return str(amount.quantize(Decimal(1).scaleb(-decimals(currency))))

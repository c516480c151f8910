"""Amounts shown as their currency shows them: as many decimals as its minor unit (ISO 4217)."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

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


def show(amount: Decimal, currency: str | None) -> str:
    """``Decimal("20.0000")``, "USD" -> "20.00"; never drops a digit that is not zero."""
    places = Decimal(1).scaleb(-decimals(currency))
    shown = amount.quantize(places, rounding=ROUND_HALF_EVEN)
    return str(shown if shown == amount else amount.normalize())


def with_currency(amount: Decimal, currency: str | None) -> str:
    return f"{show(amount, currency)} {currency}" if currency else show(amount, currency)

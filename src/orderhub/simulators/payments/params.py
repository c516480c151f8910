"""Request bodies of the ``/v1`` endpoints, checked the way the gateway's users see it.

Each problem is a 400 ``invalid_request_error`` whose ``param`` names the field
(``metadata[colour]`` for one metadata entry) and whose code is Stripe's:
``parameter_missing``, ``parameter_unknown`` or ``parameter_invalid`` (plus
``amount_too_small`` / ``amount_too_large``).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from orderhub.simulators.payments.errors import invalid
from orderhub.simulators.payments.money import parse_amount, parse_currency

MAX_REFERENCE = 500
MAX_METADATA_KEYS = 50
MAX_METADATA_KEY = 40
MAX_METADATA_VALUE = 500


@dataclass(frozen=True)
class AuthorizeParams:
    amount: Decimal
    currency: str
    reference: str
    metadata: dict[str, str]


def _only(body: dict[str, Any], allowed: tuple[str, ...]) -> None:
    for name in body:
        if name not in allowed:
            expected = f"Expected only {', '.join(allowed)}." if allowed else "This endpoint takes none."
            raise invalid(name, f"Received unknown parameter: {name}. {expected}", code="parameter_unknown")


def _required(body: dict[str, Any], name: str) -> Any:
    if body.get(name) is None:
        raise invalid(name, f"Missing required param: {name}.", code="parameter_missing")
    return body[name]


def _metadata(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise invalid("metadata", "Invalid metadata: it must be an object of string keys and string values.")
    if len(value) > MAX_METADATA_KEYS:
        raise invalid("metadata", f"Invalid metadata: at most {MAX_METADATA_KEYS} keys are allowed.")
    for key, item in value.items():
        if not key or len(key) > MAX_METADATA_KEY:
            raise invalid(f"metadata[{key}]", f"Invalid metadata key {key!r}: it must have 1 to "
                                              f"{MAX_METADATA_KEY} characters.")
        if not isinstance(item, str) or len(item) > MAX_METADATA_VALUE:
            raise invalid(f"metadata[{key}]", f"Invalid metadata value for {key!r}: it must be a string of at "
                                              f"most {MAX_METADATA_VALUE} characters.")
    return dict(value)


def authorize(body: dict[str, Any]) -> AuthorizeParams:
    """The parameters of ``POST /v1/authorizations``."""
    _only(body, ("amount", "currency", "reference", "metadata"))
    currency = parse_currency(_required(body, "currency"))
    amount = parse_amount(_required(body, "amount"), currency)
    reference = _required(body, "reference")
    if not isinstance(reference, str) or not reference.strip() or len(reference) > MAX_REFERENCE:
        raise invalid("reference", f"Invalid reference: it must be a non-empty string of at most "
                                   f"{MAX_REFERENCE} characters (the order id or name).")
    return AuthorizeParams(amount, currency, reference, _metadata(body.get("metadata")))


def capture_amount(body: dict[str, Any], currency: str) -> Decimal | None:
    """The optional ``amount`` of ``POST /v1/authorizations/{id}/capture``; None captures it all."""
    _only(body, ("amount",))
    return None if body.get("amount") is None else parse_amount(body["amount"], currency)


def nothing(body: dict[str, Any]) -> None:
    """``POST /v1/authorizations/{id}/void`` takes no parameters."""
    _only(body, ())

"""The documents Retail Pro accepts: every field with its type, whether it is required and its maximum length.

This is the one place the limits live: orderhub's invoice transform refuses a value that
does not fit them (it never cuts one), and the Retail Pro simulator enforces them. Source: the "Order to Invoice"
mapping table (InvoicingStore 5, OrderNo 9, names 30, e-mail 60, address lines 40,
NoDocument 20, TypeDocument 40, CompanyId 20, CompanyName 30, CompanyAddress 80,
amounts Float(10,4), DeliveryType/PaymentType Short of 3 digits) and the
"Inventory Transfer" (Manual Slip) parameter list. Limits marked ``assumed`` are not
in those documents and were chosen as plausible values.

Lengths count characters (Unicode code points), not bytes: an emoji is one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

Kind = Literal["text", "decimal", "short", "count", "datetime", "bool"]

DECIMAL_DIGITS = 10  # Float(10,4): at most 10 digits in all ...
DECIMAL_PLACES = 4  # ... of which 4 after the point, so below 1,000,000
SHORT_DIGITS = 3  # Short(3): 0 to 999


@dataclass(frozen=True)
class Field:
    """One accepted field: ``kind`` decides the check, ``max_length`` applies to text."""

    name: str
    kind: Kind
    required: bool
    max_length: int | None = None
    assumed: bool = False  # True when the limit is the simulator's choice, not documented


INVOICE_FIELDS: tuple[Field, ...] = (
    Field("InvoicingStore", "text", True, 5),
    Field("OrderNo", "text", True, 9),
    Field("CreatedDate", "datetime", True),
    Field("DeliveryType", "short", True),
    Field("PaymentType", "short", True),
    Field("TotalAmt", "decimal", True),
    Field("TotalDiscAmt", "decimal", False),
    Field("ShippingAmt", "decimal", False),
    Field("FiscalCredit", "bool", False),  # documented as required, but the sample body omits it
    Field("CompanyId", "text", False, 20),  # required when FiscalCredit is true
    Field("CompanyName", "text", False, 30),
    Field("CompanyAddress", "text", False, 80),
)
FISCAL_CREDIT_FIELDS = ("CompanyId", "CompanyName", "CompanyAddress")

CUSTOMER_BLOCKS = ("CustomerBilling", "CustomerShipping")
CUSTOMER_FIELDS: tuple[Field, ...] = (
    Field("FirstName", "text", True, 30),
    Field("LastName", "text", True, 30),
    Field("Email", "text", True, 60),
    Field("Address1", "text", True, 40),
    Field("Address2", "text", False, 40),
    Field("City", "text", False, 40),
    Field("Country", "text", False, 40),
    Field("NoDocument", "text", True, 20),
    Field("TypeDocument", "text", False, 40),  # documented as required, but the sample body omits it
    Field("Phone", "text", False, 20, assumed=True),
)

INVOICE_ITEM_FIELDS: tuple[Field, ...] = (
    Field("UPC", "text", True, 20, assumed=True),
    Field("OrigPrice", "decimal", True),
    Field("OrigTax", "decimal", True),
    Field("Price", "decimal", True),
    Field("Tax", "decimal", True),
    Field("Qty", "count", True),
    Field("StoreOrig", "text", False, 5),
    Field("StoreDest", "text", False, 5),
)

TRANSFER_FIELDS: tuple[Field, ...] = (
    Field("SlipNo", "text", True, 9, assumed=True),
    Field("FromStore", "text", True, 5),
    Field("ToStore", "text", True, 5),
    Field("CreatedDate", "datetime", True),
    Field("TotalQty", "count", True),
)

TRANSFER_ITEM_FIELDS: tuple[Field, ...] = (
    Field("UPC", "text", True, 20, assumed=True),
    Field("Qty", "count", True),
)

MAX_ITEMS = 500  # assumed: items in one invoice or slip


def max_length(fields: tuple[Field, ...], name: str) -> int | None:
    """The maximum length of ``name`` in ``fields`` (None when it has none)."""
    for field in fields:
        if field.name == name:
            return field.max_length
    raise KeyError(name)


# -- checking values ---------------------------------------------------------------------------------------

_DECIMAL_LIMIT = Decimal(10) ** (DECIMAL_DIGITS - DECIMAL_PLACES)
_SHORT_LIMIT = 10**SHORT_DIGITS


class FieldProblem(ValueError):
    """A value the field does not accept: ``code`` is the service's error code, the message says why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def blank(value: Any) -> bool:
    """Absent, as the service sees it: None or only spaces."""
    return value is None or (isinstance(value, str) and not value.strip())


def as_decimal(value: Any) -> Decimal | None:
    """A finite number from a JSON number or numeric string; None when it is not one."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def check_value(field: Field, value: Any) -> Any:
    """The value converted to the field's kind; raises :class:`FieldProblem` when the field refuses it."""
    if field.kind == "text":
        if not isinstance(value, str):
            raise FieldProblem("FIELD_INVALID", "must be a string.")
        if field.max_length is not None and len(value) > field.max_length:
            raise FieldProblem("FIELD_TOO_LONG", f"is {len(value)} characters; at most {field.max_length} allowed.")
        return value
    if field.kind == "decimal":
        number = as_decimal(value)
        if number is None:
            raise FieldProblem("FIELD_INVALID", "must be a number.")
        if number < 0:
            raise FieldProblem("FIELD_INVALID", "must not be negative.")
        if number.as_tuple().exponent < -DECIMAL_PLACES or abs(number) >= _DECIMAL_LIMIT:  # type: ignore[operator]
            raise FieldProblem("FIELD_INVALID", f"does not fit Float({DECIMAL_DIGITS},{DECIMAL_PLACES}) "
                                                f"(below {_DECIMAL_LIMIT}, at most {DECIMAL_PLACES} decimals).")
        return number
    if field.kind in ("short", "count"):
        if isinstance(value, bool) or not isinstance(value, int):
            raise FieldProblem("FIELD_INVALID", "must be a whole number.")
        if field.kind == "short" and not 0 <= value < _SHORT_LIMIT:
            raise FieldProblem("FIELD_INVALID", f"must be from 0 to {_SHORT_LIMIT - 1}.")
        if field.kind == "count" and value < 1:
            raise FieldProblem("FIELD_INVALID", "must be at least 1 (negative and zero quantities are refused).")
        return value
    if field.kind == "datetime":
        try:
            return datetime.fromisoformat(value)
        except (TypeError, ValueError):
            raise FieldProblem("FIELD_INVALID", "must be an ISO 8601 date and time such as "
                                                "2023-03-20T11:29:00.") from None
    if not isinstance(value, bool):
        raise FieldProblem("FIELD_INVALID", "must be true or false.")
    return value


def check_block(block: dict[str, Any], fields: tuple[Field, ...], prefix: str = ""
                ) -> tuple[dict[str, Any], list[tuple[str, str, str]]]:
    """The block's known fields converted, and every problem as ``(code, path, message)``: a required
    field that is missing, or a value the field refuses. Paths read ``CustomerBilling.FirstName``."""
    values: dict[str, Any] = {}
    problems: list[tuple[str, str, str]] = []
    for field in fields:
        path = f"{prefix}.{field.name}" if prefix else field.name
        raw = block.get(field.name)
        if blank(raw):
            if field.required:
                problems.append(("FIELD_REQUIRED", path, "is required."))
            continue
        try:
            values[field.name] = check_value(field, raw)
        except FieldProblem as exc:
            problems.append((exc.code, path, str(exc)))
    return values, problems

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

import sys
from collections.abc import Callable
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
    if value.__class__ is Decimal:  # already one (str() and back would give the same number)
        return value if value.is_finite() else None
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


_PLACES_QUANTUM = Decimal(1).scaleb(-DECIMAL_PLACES)  # 0.0001

# What passes at a glance, per kind (``v`` the value, ``limit`` the field's maximum length).
_GLANCE = {
    "text": "v.__class__ is str and 0 < len(v) <= {limit} and not v.isspace()",
    "decimal": "v.__class__ is Decimal and v.same_quantum(QUANTUM) and ZERO <= v < DECIMAL_LIMIT",
    "short": "v.__class__ is int and 0 <= v < SHORT_LIMIT",
    "count": "v.__class__ is int and v >= 1",
    "datetime": "v.__class__ is str and iso(v)",
    "bool": "v.__class__ is bool",
}


def quick_check(fields: tuple[Field, ...], args: tuple[str, ...] | None = None) -> Callable[..., bool]:
    """A compiled yes/no for hot paths: the function returned is True exactly when
    :func:`check_block` would find no problem in the block (ask check_block what they are).

    It takes the block (a mapping); or, given ``args`` (field names), the values of those fields,
    in that order, as arguments, None for one that is absent: a caller that holds the values
    needs no lookups, and the fields it does not name are absent (it may not leave out a required
    one). The values documents usually carry (a ``str`` within its length, a ``Decimal`` of 4
    places in range, an ``int`` in range) pass at a glance; any other value is judged by
    :func:`check_value` itself, so the answer never differs from check_block's. The function is
    generated once per field table: one straight line of tests per field, no loop."""
    names = [f.name for f in fields]
    if args is None:
        source = ["def fits(block):", "    get = block.get"]
    else:
        unknown = set(args) - set(names)
        missing = [f.name for f in fields if f.required and f.name not in args]
        if unknown or missing or len(set(args)) < len(args):
            raise ValueError(f"quick_check args {args}: unknown {sorted(unknown)}, required but not given {missing}")
        source = [f"def fits({', '.join(f'a{n}' for n in range(len(args)))}):"]
    for n, field in enumerate(fields):
        if args is None:
            source.append(f"    v = get({field.name!r})")
        elif field.name in args:
            source.append(f"    v = a{args.index(field.name)}")
        else:
            continue  # absent: check_block has nothing to say about an optional field that is absent
        glance = _GLANCE[field.kind].format(limit=field.max_length or sys.maxsize)
        absent = "return False" if field.required else "pass"
        source.append(f"    if v is None: {absent}")
        source.append(f"    elif not ({glance}) and not judge(FIELDS[{n}], v): return False")
    source.append("    return True")
    scope = {"FIELDS": fields, "judge": _fits, "iso": _iso, "Decimal": Decimal, "QUANTUM": _PLACES_QUANTUM,
             "ZERO": Decimal(0), "DECIMAL_LIMIT": _DECIMAL_LIMIT, "SHORT_LIMIT": _SHORT_LIMIT}
    exec("\n".join(source), scope)  # noqa: S102 - the source is made above from the field table only
    fits: Callable[..., bool] = scope["fits"]
    return fits


def _iso(value: str) -> bool:
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def _fits(field: Field, value: Any) -> bool:
    """check_block's verdict on one value."""
    if blank(value):
        return not field.required
    try:
        check_value(field, value)
    except FieldProblem:
        return False
    return True

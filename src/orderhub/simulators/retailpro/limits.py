"""Every field the simulator accepts, with its type, whether it is required and its maximum length.

This is the one place the limits live, so orderhub's Retail Pro adapter can import
them and refuse (or trim) a value before sending it. Source: the "Order to Invoice"
mapping table (InvoicingStore 5, OrderNo 9, names 30, e-mail 60, address lines 40,
NoDocument 20, TypeDocument 40, CompanyId 20, CompanyName 30, CompanyAddress 80,
amounts Float(10,4), DeliveryType/PaymentType Short of 3 digits) and the
"Inventory Transfer" (Manual Slip) parameter list. Limits marked ``assumed`` are not
in those documents and were chosen as plausible values.

Lengths count characters (Unicode code points), not bytes: an emoji is one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

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

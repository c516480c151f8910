"""``POST /api/v1/Document/Ordertoinvoice``: create an invoice in Retail Pro from a completed order.

The path and the PascalCase body follow the "Order to Invoice" API that Retail Pro
integrations (HotWax Commerce's) call: ``InvoicingStore``, ``OrderNo``, ``CreatedDate``,
``DeliveryType``, ``PaymentType``, ``TotalAmt``, ``TotalDiscAmt``, ``ShippingAmt``, the
``CustomerBilling`` and ``CustomerShipping`` blocks and ``Items`` (``UPC``, ``OrigPrice``,
``OrigTax``, ``Price``, ``Tax``, ``Qty``, ``StoreOrig``, ``StoreDest``). Field limits are in
:mod:`orderhub.domain.retailpro_documents`.

Answers: 201 with ``{"data": [invoice], "errors": null}`` (the invoice's ``sid`` is its id);
400 listing every field that is missing, malformed, too long or names an unknown store or
UPC; 409 ``DUPLICATE_DOCUMENT`` with the first invoice's ``sid`` when the same store already
invoiced the same ``OrderNo`` (so a retry after a lost answer is safe and finds the invoice).
The invoicing store's on-hand quantity drops by each item's ``Qty``.
"""

from __future__ import annotations

from typing import Any

from orderhub.simulators.retailpro.errors import PrismError, fail
from orderhub.domain.retailpro_documents import (
    CUSTOMER_BLOCKS,
    CUSTOMER_FIELDS,
    FISCAL_CREDIT_FIELDS,
    INVOICE_FIELDS,
    INVOICE_ITEM_FIELDS,
    MAX_ITEMS,
)
from orderhub.simulators.retailpro.records import plain
from orderhub.simulators.retailpro.store import Store
from orderhub.simulators.retailpro.validation import Problems, check_block, check_list

PATH = "/api/v1/Document/Ordertoinvoice"


def check_references(store: Store, named: list[tuple[str, str, str]], problems: Problems) -> None:
    """Record every ``(kind, path, value)`` (kind ``store`` or ``upc``) the service does not know."""
    unknown_stores, unknown_upcs = store.known([v for k, _, v in named if k == "store"],
                                               [v for k, _, v in named if k == "upc"])
    for kind, path, value in named:
        if kind == "store" and value in unknown_stores:
            problems.add("STORE_UNKNOWN", path, f"store {value!r} is not known to Retail Pro.")
        elif kind == "upc" and value in unknown_upcs:
            problems.add("UPC_UNKNOWN", path, f"UPC {value!r} is not in the Retail Pro catalogue.")


def parse_invoice(body: Any, store: Store) -> dict[str, Any]:
    """The invoice to record, or a 400 :class:`PrismError` listing every problem."""
    if not isinstance(body, dict):
        raise fail(400, "BODY_INVALID", "The request body must be a JSON object.")
    problems = Problems()
    record = check_block(body, INVOICE_FIELDS, "", problems)
    if record.get("FiscalCredit"):
        for name in FISCAL_CREDIT_FIELDS:
            if name not in record and not any(e.field == name for e in problems.entries):
                problems.add("FIELD_REQUIRED", name, "is required when FiscalCredit is true.")
    for block in CUSTOMER_BLOCKS:
        record[block] = check_block(body.get(block), CUSTOMER_FIELDS, block, problems)
    raw_items = check_list(body.get("Items"), "Items", MAX_ITEMS, problems)
    record["Items"] = [check_block(item, INVOICE_ITEM_FIELDS, f"Items[{i}]", problems)
                       for i, item in enumerate(raw_items)]
    named = [("store", "InvoicingStore", record["InvoicingStore"])] if "InvoicingStore" in record else []
    for i, item in enumerate(record["Items"]):
        named += [("upc", f"Items[{i}].UPC", item["UPC"])] if "UPC" in item else []
        named += [("store", f"Items[{i}].{k}", item[k]) for k in ("StoreOrig", "StoreDest") if k in item]
    check_references(store, named, problems)
    if problems:
        raise PrismError(400, problems.entries)
    return plain(record)


def create_invoice(body: Any, store: Store) -> dict[str, Any]:
    """Validate, then record the invoice and deduct its stock; returns the stored invoice."""
    return store.create_invoice(parse_invoice(body, store))

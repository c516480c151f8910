"""Receipts rung at a store's own registers, seeded through the control API (``POST /_sim/receipts``), and the
documents that invoices made through the Order to Invoice API become.

A seeded receipt, in the simulator's own words (not Retail Pro's API, which orderhub never writes receipts to)::

    {"store": "SVA32", "workstation": "REG1", "type": "sale" | "return", "document_number": 7 (optional),
     "created": "2026-12-07T10:15:00+00:00" (optional), "modified": ... (optional, default created),
     "ref_sale_sid": "..." (optional, a return's original receipt), "customer": {"id", "email"} (optional),
     "items": [{"upc", "quantity" (> 0), "price", "original_price" (default price), "tax" (per unit, default 0),
                "description", "alu"}],
     "tenders": [{"name": "Cash", "type": 0, "amount": "25.00", "currency": "EUR"}]}

Each becomes a document in the shape :mod:`.documents` describes (a return's items have ``item_type`` 2), and its
items move the store's on-hand quantity as the register did: down for a sale, up for a return.
"""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from orderhub.simulators.retailpro.documents import (
    ORDER_TO_INVOICE_ORIGIN,
    PATH,
    REGISTER_ORIGIN,
    parse_time,
    stamp,
)
from orderhub.simulators.retailpro.errors import PrismError
from orderhub.simulators.retailpro.validation import Problems

MAX_RECEIPTS = 500
MAX_ITEMS = 200
RECEIPT_TYPES = {"sale": 0, "return": 1}
SOLD, RETURNED = 1, 2  # item_type


def _number(value: Any) -> float | None:
    """A money value as Prism answers it (a JSON number), or None when it is not one."""
    if isinstance(value, bool):
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return None
    return float(amount) if amount.is_finite() and abs(amount) < 10 ** 9 else None


def _text(raw: dict[str, Any], key: str, at: str, problems: Problems, *, required: bool = False,
          limit: int = 64) -> str | None:
    value = raw.get(key)
    if value is None or value == "":
        if required:
            problems.add("FIELD_REQUIRED", f"{at}{key}", "is required.")
        return None
    if not isinstance(value, str | int) or isinstance(value, bool) or len(str(value)) > limit:
        problems.add("FIELD_INVALID", f"{at}{key}", f"must be text of at most {limit} characters.")
        return None
    return str(value)


def parse_receipt(raw: Any, index: int, problems: Problems) -> dict[str, Any]:
    """What one seeded receipt says, checked (its problems go to ``problems``)."""
    at = f"receipts[{index}]."
    if not isinstance(raw, dict):
        problems.add("FIELD_INVALID", at.rstrip("."), "must be an object.")
        return {}
    kind = raw.get("type", "sale")
    if kind not in RECEIPT_TYPES:
        problems.add("FIELD_INVALID", f"{at}type", "must be sale or return.")
    number = raw.get("document_number")
    if number is not None and (isinstance(number, bool) or not isinstance(number, int) or number < 1):
        problems.add("FIELD_INVALID", f"{at}document_number", "must be a whole number from 1.")
    times = {}
    for key in ("created", "modified"):
        if raw.get(key) is not None:
            try:
                times[key] = parse_time(str(raw[key]), f"{at}{key}")
            except PrismError:
                problems.add("FIELD_INVALID", f"{at}{key}", "must be an ISO 8601 date and time.")
    items = raw.get("items")
    if not isinstance(items, list) or not items or len(items) > MAX_ITEMS:
        problems.add("FIELD_REQUIRED", f"{at}items", f"must list 1 to {MAX_ITEMS} items.")
        items = []
    lines = []
    for i, item in enumerate(items):
        where = f"{at}items[{i}]."
        if not isinstance(item, dict):
            problems.add("FIELD_INVALID", where.rstrip("."), "must be an object.")
            continue
        qty = item.get("quantity")
        if isinstance(qty, bool) or not isinstance(qty, int) or not 0 < qty <= 10_000:
            problems.add("FIELD_INVALID", f"{where}quantity", "must be a whole number from 1 (a return's items "
                                                              "are counted up, as the register shows them).")
        price = _number(item.get("price"))
        if price is None or price < 0:
            problems.add("FIELD_INVALID", f"{where}price", "must be an amount of at least 0.")
        original = _number(item.get("original_price", item.get("price")))
        tax = _number(item.get("tax", 0))
        lines.append({"upc": _text(item, "upc", where, problems, required=True, limit=20), "quantity": qty,
                      "price": price, "original_price": original if original is not None else price,
                      "tax": tax or 0.0, "description": _text(item, "description", where, problems, limit=255),
                      "alu": _text(item, "alu", where, problems, limit=40)})
    tenders = raw.get("tenders") or []
    if not isinstance(tenders, list) or len(tenders) > 20:
        problems.add("FIELD_INVALID", f"{at}tenders", "must be a list of at most 20 tenders.")
        tenders = []
    paid = []
    for i, tender in enumerate(tenders):
        where = f"{at}tenders[{i}]."
        amount = _number(tender.get("amount")) if isinstance(tender, dict) else None
        if amount is None:
            problems.add("FIELD_INVALID", f"{where}amount", "must be an amount.")
            continue
        kind_no = tender.get("type", 0)
        paid.append({"name": _text(tender, "name", where, problems, required=True), "amount": amount,
                     "type": kind_no if isinstance(kind_no, int) and not isinstance(kind_no, bool) else 0,
                     "currency": _text(tender, "currency", where, problems, limit=3)})
    customer = raw.get("customer") if isinstance(raw.get("customer"), dict) else {}
    return {"store": _text(raw, "store", at, problems, required=True, limit=5),
            "workstation": _text(raw, "workstation", at, problems, limit=40) or "REGISTER",
            "type": RECEIPT_TYPES.get(kind, 0), "document_number": number, "created": times.get("created"),
            "modified": times.get("modified"), "ref_sale_sid": _text(raw, "ref_sale_sid", at, problems, limit=40),
            "customer_id": _text(customer, "id", f"{at}customer.", problems, limit=40),
            "customer_email": _text(customer, "email", f"{at}customer.", problems, limit=60),
            "items": lines, "tenders": paid}


def document(receipt: dict[str, Any], sid: str, number: int, store_number: int, now: datetime,
             item_sid: Any) -> dict[str, Any]:
    """The Prism document of a checked receipt."""
    created = receipt["created"] or now
    link = f"{PATH}/{sid}"
    item_type = RETURNED if receipt["type"] == 1 else SOLD
    items = [{"link": f"{link}/item/{item_sid()}", "item_pos": pos, "scan_upc": line["upc"],
              "alu": line["alu"] or line["upc"], "item_description1": line["description"],
              "quantity": line["quantity"], "original_price": line["original_price"], "price": line["price"],
              "tax_amount": line["tax"], "item_type": item_type}
             for pos, line in enumerate(receipt["items"], start=1)]
    tenders = [{"link": f"{link}/tender/{item_sid()}", "tender_type": t["type"], "tender_name": t["name"],
                "amount": t["amount"], "taken": t["amount"] if t["amount"] >= 0 else 0,
                "given": -t["amount"] if t["amount"] < 0 else 0, "currency_name": t["currency"],
                "alphabetic_code": t["currency"]} for t in receipt["tenders"]]
    total = sum(line["price"] * line["quantity"] for line in receipt["items"])
    tax = sum(line["tax"] * line["quantity"] for line in receipt["items"])
    sign = -1 if receipt["type"] == 1 else 1
    return {"sid": sid, "link": link, "created_datetime": stamp(created),
            "modified_datetime": stamp(receipt["modified"] or created), "post_date": stamp(created),
            "origin_application": REGISTER_ORIGIN, "store_code": receipt["store"], "store_number": store_number,
            "workstation_name": receipt["workstation"], "document_number": number, "receipt_type": receipt["type"],
            "ref_sale_sid": receipt["ref_sale_sid"], "bt_cuid": receipt["customer_id"],
            "bt_email": receipt["customer_email"], "transaction_total_amt": round(sign * total, 4),
            "transaction_total_tax_amt": round(sign * tax, 4), "has_sale": receipt["type"] == 0,
            "has_return": receipt["type"] == 1, "items": items, "tenders": tenders}


def invoice_document(invoice: dict[str, Any], store_number: int, item_sid: Any) -> dict[str, Any]:
    """The document an invoice made through the Order to Invoice API is in Prism's document list."""
    now = datetime.now(timezone.utc)
    link = f"{PATH}/{invoice['sid']}"
    items = [{"link": f"{link}/item/{item_sid()}", "item_pos": pos, "scan_upc": item["UPC"], "alu": item["UPC"],
              "item_description1": None, "quantity": item["Qty"], "original_price": _number(item["OrigPrice"]),
              "price": _number(item["Price"]), "tax_amount": _number(item["Tax"]), "item_type": SOLD}
             for pos, item in enumerate(invoice["Items"], start=1)]
    return {"sid": invoice["sid"], "link": link, "created_datetime": stamp(now), "modified_datetime": stamp(now),
            "post_date": stamp(now), "origin_application": ORDER_TO_INVOICE_ORIGIN,
            "store_code": invoice["InvoicingStore"], "store_number": store_number, "workstation_name": None,
            "document_number": invoice["document_number"], "receipt_type": 0, "ref_sale_sid": None,
            "bt_cuid": None, "bt_email": (invoice.get("CustomerBilling") or {}).get("Email"),
            "transaction_total_amt": _number(invoice["TotalAmt"]), "transaction_total_tax_amt": None,
            "has_sale": True, "has_return": False, "items": items, "tenders": []}

"""Retail Pro's register receipts as store sales: a receipt read from Prism (``GET /v1/rest/document``) becomes
the same inbox record a POS terminal's sale does - topic ``pos/sale`` of the store's POS account, read by the POS
translator into a ``StoreSale`` and applied by services/store_sales.py - so a sale rung at a Retail Pro register
counts exactly as one synced by orderhub's own POS API. Pure: no I/O.

The record's identity is ``sale:retailpro:<sid>``: a receipt read again (the next run's overlap, a receipt
modified after it was read) is the same record and counts once. Lines name the item's UPC (``scan_upc``, else
``alu``); the applier finds the SKU whose barcode it is, so a receipt parked for an unknown UPC goes through on
retry once the variant has that barcode.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from orderhub.adapters.pos.channel import SALE_TOPIC

TOPIC = SALE_TOPIC
SALE_PREFIX = "retailpro:"
REGISTER_NAME = "Retail Pro"  # the device name of a receipt that names no workstation
# Invoices orderhub itself creates through Retail Pro's Order to Invoice API carry this origin.
ORDER_TO_INVOICE_ORIGIN = "OrderToInvoice"
SALE, RETURN = 0, 1  # receipt_type
RETURNED_ITEM = 2  # item_type of an item brought back
_TENDER_WORDS = (("gift", "gift_card"), ("store credit", "store_credit"), ("central credit", "store_credit"),
                 ("credit", "card"), ("debit", "card"), ("card", "card"), ("cash", "cash"), ("check", "other"),
                 ("mobile", "mobile"), ("voucher", "voucher"))


def sale_id(sid: str) -> str:
    return SALE_PREFIX + sid


def identity(sid: str) -> str:
    """The inbox identity of a receipt, the same as the POS API gives a sale of that id."""
    return f"sale:{sale_id(sid)}"


def own_document(doc: dict[str, Any], invoice_sids: set[str]) -> str | None:
    """Why ``doc`` is orderhub's own doing and not a sale at the register (None when it is one).

    orderhub invoices its online orders into Retail Pro once they ship; those invoices are sales documents in
    Retail Pro too, but their units already left orderhub's stock when they shipped and their orders are already
    orderhub's: imported again they would count twice. orderhub knows them by the ``sid`` Retail Pro gave each
    invoice (kept with the order's invoicing state) and, should that answer have been lost, by the Order to
    Invoice origin, which only orderhub's invoicing uses.
    """
    if str(doc.get("sid")) in invoice_sids:
        return "an invoice orderhub sent for one of its orders"
    if doc.get("origin_application") == ORDER_TO_INVOICE_ORIGIN:
        return "made through the Order to Invoice API, which only orderhub's invoicing uses"
    return None


def _decimal(value: Any) -> Decimal:
    if isinstance(value, bool) or value is None:
        return Decimal("0")
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return Decimal("0")
    return amount if amount.is_finite() else Decimal("0")


def _money(amount: Decimal) -> str:
    return format(amount.quantize(Decimal("0.0001")).normalize(), "f")


def _tender_kind(name: str) -> str:
    lowered = name.lower()
    return next((kind for word, kind in _TENDER_WORDS if word in lowered), "other")


def _line(item: Any, returned_receipt: bool, returns_sale: str | None) -> dict[str, Any]:
    """One receipt item as a sale line; what cannot be read is passed on as it is, for the sale's reader to
    refuse by name."""
    if not isinstance(item, dict):
        return {"sku": None}
    quantity = item.get("quantity")
    if isinstance(quantity, float) and quantity.is_integer():
        quantity = int(quantity)
    back = returned_receipt or item.get("item_type") == RETURNED_ITEM
    if isinstance(quantity, int) and not isinstance(quantity, bool):
        quantity = -abs(quantity) if back else abs(quantity)
    price = _decimal(item.get("price"))
    original = max(_decimal(item.get("original_price")), price)
    units = abs(quantity) if isinstance(quantity, int) and not isinstance(quantity, bool) else 0
    line: dict[str, Any] = {
        "upc": str(item.get("scan_upc") or item.get("alu") or "") or None, "quantity": quantity,
        "unit_price": _money(original), "discount": _money((original - price) * units),
        "tax": _money(abs(_decimal(item.get("tax_amount"))) * units), "title": item.get("item_description1")}
    if back and returns_sale:
        line["returns"] = {"sale": returns_sale}
    return line


def envelope(doc: dict[str, Any], *, facility: str, currency: str | None, received_at: datetime,
             taxes_included: bool, returns_sale: str | None) -> dict[str, Any]:
    """The inbox payload of a receipt: the ``pos/sale`` envelope, with the receipt's Retail Pro names beside it.

    ``returns_sale`` is the store sale a return receipt takes goods back from (its ``ref_sale_sid``, when orderhub
    has that sale); without it the goods go back on the shelf as a return without a receipt.
    """
    sid = str(doc.get("sid"))
    number = doc.get("document_number")
    store_code = str(doc.get("store_code") or "")
    tenders = [t for t in doc.get("tenders") or [] if isinstance(t, dict)]
    code = next((str(t["alphabetic_code"]) for t in tenders if t.get("alphabetic_code")), None) or currency
    returned = doc.get("receipt_type") == RETURN
    sale: dict[str, Any] = {
        "id": sale_id(sid), "receipt": f"{store_code}-{number}" if number is not None else None,
        "sequence": number if isinstance(number, int) and not isinstance(number, bool) and number >= 0 else None,
        "device_time": doc.get("created_datetime"), "currency": code, "taxes_included": taxes_included,
        "lines": [_line(item, returned, returns_sale) for item in doc.get("items") or []],
        "tenders": [{"kind": _tender_kind(str(t.get("tender_name") or "")), "amount": _money(_decimal(t.get("amount"))),
                     "reference": str(t.get("tender_name") or "")[:100] or None} for t in tenders]}
    if doc.get("bt_cuid") or doc.get("bt_email"):
        sale["customer"] = {"id": doc.get("bt_cuid"), "email": doc.get("bt_email")}
    return {"device": {"id": None, "name": str(doc.get("workstation_name") or REGISTER_NAME)[:100], "store": facility},
            "received_at": received_at.isoformat(),
            "retailpro": {"sid": sid, "store": store_code, "document_number": number,
                          "modified": doc.get("modified_datetime")},
            "sale": sale}

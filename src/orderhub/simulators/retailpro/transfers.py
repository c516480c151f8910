"""``POST /api/v1/Transfer/Slip``: move stock from one store to another (Retail Pro's "Manual Slip").

Body as the Inventory Transfer API documents it: ``SlipNo``, ``FromStore``, ``ToStore``,
``CreatedDate``, ``TotalQty`` and ``Items`` (``UPC``, ``Qty``). The simulator also insists
that ``TotalQty`` is the sum of the items' ``Qty`` and that the two stores differ (its own
choice; the document does not say). Answers: 201 with the slip (``sid``), 400 naming each bad
field (unknown store or UPC, zero or negative quantities), 409 ``DUPLICATE_DOCUMENT`` with
the first slip's ``sid`` when the sending store already recorded that ``SlipNo``.
"""

from __future__ import annotations

from typing import Any

from orderhub.simulators.retailpro.errors import PrismError, fail
from orderhub.simulators.retailpro.invoices import check_references
from orderhub.domain.retailpro_documents import MAX_ITEMS, TRANSFER_FIELDS, TRANSFER_ITEM_FIELDS
from orderhub.simulators.retailpro.records import plain
from orderhub.simulators.retailpro.store import Store
from orderhub.simulators.retailpro.validation import Problems, check_block, check_list

PATH = "/api/v1/Transfer/Slip"


def parse_slip(body: Any, store: Store) -> dict[str, Any]:
    """The slip to record, or a 400 :class:`PrismError` listing every problem."""
    if not isinstance(body, dict):
        raise fail(400, "BODY_INVALID", "The request body must be a JSON object.")
    problems = Problems()
    record = check_block(body, TRANSFER_FIELDS, "", problems)
    raw_items = check_list(body.get("Items"), "Items", MAX_ITEMS, problems)
    record["Items"] = [check_block(item, TRANSFER_ITEM_FIELDS, f"Items[{i}]", problems)
                       for i, item in enumerate(raw_items)]
    if "FromStore" in record and record["FromStore"] == record.get("ToStore"):
        problems.add("FIELD_INVALID", "ToStore", "must differ from FromStore.")
    if "TotalQty" in record and all("Qty" in item for item in record["Items"]) and record["Items"]:
        total = sum(item["Qty"] for item in record["Items"])
        if total != record["TotalQty"]:
            problems.add("FIELD_INVALID", "TotalQty", f"is {record['TotalQty']} but the items add up to {total}.")
    named = [("store", k, record[k]) for k in ("FromStore", "ToStore") if k in record]
    named += [("upc", f"Items[{i}].UPC", item["UPC"]) for i, item in enumerate(record["Items"]) if "UPC" in item]
    check_references(store, named, problems)
    if problems:
        raise PrismError(400, problems.entries)
    return plain(record)


def create_slip(body: Any, store: Store) -> dict[str, Any]:
    """Validate, then record the slip and move its stock; returns the stored slip."""
    return store.create_slip(parse_slip(body, store))

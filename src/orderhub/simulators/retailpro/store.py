"""What the simulated Retail Pro holds: stores, UPCs, on-hand quantities, invoices, transfer slips and the
sales documents (register receipts and invoices) that ``GET /v1/rest/document`` reads.

In memory behind one lock, so the app, the control API and test code in other threads
may use it at once; methods hand out copies. Creating an invoice or a slip checks for a
duplicate and moves stock in one step, so two racing requests cannot both succeed.

Retail Pro lets a store invoice against negative inventory (orderhub relies on this when
one order ships from several stores: invoice at one, then transfer from the others), so
``allow_negative`` is on by default; turn it off to make a short store refuse.
"""

from __future__ import annotations

import copy
import secrets
import threading
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from orderhub.simulators.retailpro import receipts as receipt_documents
from orderhub.simulators.retailpro.errors import PrismError, fail
from orderhub.simulators.retailpro.validation import Problems


def new_sid() -> str:
    """An 18-digit record id, the shape of Prism's ``sid`` values (kept as a string)."""
    return str(100_000_000_000_000_000 + secrets.randbelow(900_000_000_000_000_000))


class Store:
    def __init__(self, *, allow_negative: bool = True) -> None:
        self._lock = threading.Lock()
        self.allow_negative = allow_negative
        self._stores: set[str] = set()
        self._upcs: set[str] = set()
        self._on_hand: dict[str, dict[str, int]] = defaultdict(dict)
        self._invoices: dict[tuple[str, str], dict[str, Any]] = {}
        self._slips: dict[tuple[str, str], dict[str, Any]] = {}
        self._documents: list[dict[str, Any]] = []
        self._store_numbers: dict[str, int] = {}
        self._number = 0

    # -- seeding ------------------------------------------------------------------------------------

    def seed(self, stores: Iterable[str] = (), upcs: Iterable[str] = (),
             quantities: Iterable[tuple[str, str, int]] = ()) -> None:
        """Add stores and UPCs, and set on-hand quantities (store, UPC, quantity); stores and UPCs named by a
        quantity are added too."""
        with self._lock:
            self._stores.update(stores)
            self._upcs.update(upcs)
            for store, upc, qty in quantities:
                self._stores.add(store)
                self._upcs.add(upc)
                self._on_hand[store][upc] = qty

    def known(self, stores: Iterable[str] = (), upcs: Iterable[str] = ()) -> tuple[set[str], set[str]]:
        """The given stores and UPCs that the service does not know."""
        with self._lock:
            return set(stores) - self._stores, set(upcs) - self._upcs

    # -- documents ----------------------------------------------------------------------------------

    def _duplicate(self, kind: str, existing: dict[str, Any], key_field: str, store: str) -> PrismError:
        return fail(409, "DUPLICATE_DOCUMENT", f"{kind} {existing[key_field]} was already recorded for store "
                                               f"{store} as {existing['sid']}; nothing was done.",
                    key_field, sid=existing["sid"], document_number=existing["document_number"])

    def _short(self, store: str, lines: list[tuple[str, int]], path: str) -> None:
        problems = Problems()
        need: dict[str, int] = defaultdict(int)
        for upc, qty in lines:
            need[upc] += qty
        for index, (upc, _) in enumerate(lines):
            have = self._on_hand[store].get(upc, 0)
            if need[upc] > have:
                problems.add("INSUFFICIENT_STOCK", f"{path}[{index}].Qty",
                             f"store {store} has {have} of UPC {upc}; {need[upc]} needed.")
                need[upc] = -1  # report each UPC once
        if problems:
            raise PrismError(400, problems.entries)

    def create_invoice(self, record: dict[str, Any]) -> dict[str, Any]:
        """Record an invoice and deduct its items from the invoicing store; 409 when that store already invoiced
        the order number."""
        store, order_no = record["InvoicingStore"], record["OrderNo"]
        lines = [(item["UPC"], item["Qty"]) for item in record["Items"]]
        with self._lock:
            existing = self._invoices.get((store, order_no))
            if existing is not None:
                raise self._duplicate("Order", existing, "OrderNo", store)
            if not self.allow_negative:
                self._short(store, lines, "Items")
            for upc, qty in lines:
                self._on_hand[store][upc] = self._on_hand[store].get(upc, 0) - qty
            self._number += 1
            saved = dict(record, sid=new_sid(), document_number=self._number)
            self._invoices[(store, order_no)] = saved
            self._documents.append(receipt_documents.invoice_document(saved, self._store_number(store), new_sid))
            return copy.deepcopy(saved)

    def create_slip(self, record: dict[str, Any]) -> dict[str, Any]:
        """Record a transfer slip and move its quantities; 409 when the sending store already has the slip
        number."""
        source, target = record["FromStore"], record["ToStore"]
        lines = [(item["UPC"], item["Qty"]) for item in record["Items"]]
        with self._lock:
            existing = self._slips.get((source, record["SlipNo"]))
            if existing is not None:
                raise self._duplicate("Slip", existing, "SlipNo", source)
            if not self.allow_negative:
                self._short(source, lines, "Items")
            for upc, qty in lines:
                self._on_hand[source][upc] = self._on_hand[source].get(upc, 0) - qty
                self._on_hand[target][upc] = self._on_hand[target].get(upc, 0) + qty
            self._number += 1
            saved = dict(record, sid=new_sid(), document_number=self._number)
            self._slips[(source, record["SlipNo"])] = saved
            return copy.deepcopy(saved)

    def _store_number(self, store: str) -> int:
        return self._store_numbers.setdefault(store, len(self._store_numbers) + 1)

    def add_receipts(self, receipts: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
        """Record checked receipts rung at stores' registers and move their stock (down for a sale, up for a
        return); a 400 naming every unknown store or UPC, or a document number a store already used, records
        none of them."""
        problems = Problems()
        with self._lock:
            used = {(d["store_code"], d["document_number"]) for d in self._documents}
            for i, receipt in enumerate(receipts):
                if receipt["store"] not in self._stores:
                    problems.add("STORE_UNKNOWN", f"receipts[{i}].store", f"store {receipt['store']!r} is not known.")
                for j, line in enumerate(receipt["items"]):
                    if line["upc"] not in self._upcs:
                        problems.add("UPC_UNKNOWN", f"receipts[{i}].items[{j}].upc",
                                     f"UPC {line['upc']!r} is not in the Retail Pro catalogue.")
                key = (receipt["store"], receipt["document_number"])
                if receipt["document_number"] is not None and key in used:
                    problems.add("DUPLICATE_DOCUMENT", f"receipts[{i}].document_number",
                                 f"store {key[0]} already has document {key[1]}.")
                used.add(key)
            if problems:
                raise PrismError(400, problems.entries)
            made = []
            for receipt in receipts:
                store = receipt["store"]
                number = receipt["document_number"] or 1 + max(
                    (d["document_number"] or 0 for d in self._documents if d["store_code"] == store), default=0)
                doc = receipt_documents.document(receipt, new_sid(), number, self._store_number(store), now, new_sid)
                sign = 1 if receipt["type"] == 1 else -1
                for line in receipt["items"]:
                    self._on_hand[store][line["upc"]] = self._on_hand[store].get(line["upc"], 0) \
                        + sign * line["quantity"]
                self._documents.append(doc)
                made.append(copy.deepcopy(doc))
            return made

    def documents(self) -> list[dict[str, Any]]:
        """Every sales document, register receipts and invoices alike, in the order they were made."""
        with self._lock:
            return copy.deepcopy(self._documents)

    # -- reading ------------------------------------------------------------------------------------

    def on_hand(self, store: str) -> dict[str, int]:
        """UPC → quantity at ``store`` (every known UPC, zero when never stocked there)."""
        with self._lock:
            if store not in self._stores:
                raise fail(404, "STORE_UNKNOWN", f"Store {store!r} is not known.", "store")
            return {upc: self._on_hand[store].get(upc, 0) for upc in sorted(self._upcs)}

    def inventory(self) -> dict[str, dict[str, int]]:
        with self._lock:
            return {store: dict(sorted(self._on_hand[store].items())) for store in sorted(self._stores)}

    def stores(self) -> list[str]:
        with self._lock:
            return sorted(self._stores)

    def invoices(self) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(list(self._invoices.values()))

    def slips(self) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(list(self._slips.values()))

    def reset(self) -> None:
        with self._lock:
            self._stores.clear()
            self._upcs.clear()
            self._on_hand.clear()
            self._invoices.clear()
            self._slips.clear()
            self._documents.clear()
            self._store_numbers.clear()
            self._number = 0

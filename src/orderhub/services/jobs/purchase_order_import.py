"""Job ``import-purchase-orders``: open purchase orders, with expected dates and quantities, from SFTP.

One row per purchase-order line: po_number, supplier, facility, sku, quantity,
received_quantity, expected_date, status (open by default). Rows are upserts: a changed
quantity or expected date changes the line, a row with status ``cancelled`` cancels the
whole purchase order (its lines no longer count as incoming). What the pre-order jobs read
is :func:`orderhub.adapters.store.purchase_orders.open_quantities`.
"""

from __future__ import annotations

from sqlalchemy import Connection

from orderhub.adapters.store import facilities as facility_store
from orderhub.adapters.store import purchase_orders as po_store
from orderhub.domain.jobs import Definition
from orderhub.domain.planning import PO_STATUSES
from orderhub.services.jobs.registry import register
from orderhub.services.jobs.sftp_files import Columns, FileImport, Row, RowError, file_params, run_import

NAME = "import-purchase-orders"
ACTOR = f"job:{NAME}"
COLUMNS = Columns(required=("po_number", "facility", "sku", "quantity", "expected_date"),
                  optional=("supplier", "status", "received_quantity"))


def apply_row(conn: Connection, row: Row) -> str:
    number = row.text("po_number", max_len=64)
    status = (row.text("status", required=False, max_len=16) or "open").lower()
    assert number is not None
    if status not in PO_STATUSES:
        raise RowError("status", f"must be one of {', '.join(PO_STATUSES)} (got {status!r})")
    if status == "cancelled":
        try:
            return "processed" if po_store.cancel(conn, number, actor=ACTOR) else "skipped"
        except LookupError:
            return "skipped"  # never imported while open: nothing is incoming to cancel
    code = row.text("facility", max_len=64)
    sku = row.text("sku")
    quantity = row.integer("quantity", minimum=0)
    received = row.integer("received_quantity", required=False, minimum=0)
    expected = row.day("expected_date")
    supplier = row.text("supplier", required=False)
    assert code is not None and sku is not None and quantity is not None
    try:
        facility_id = facility_store.id_of(conn, code)
    except LookupError as exc:
        raise RowError("facility", str(exc)) from None
    order_id, header_changed = po_store.save_order(conn, number, facility_id=facility_id, status=status,
                                                   actor=ACTOR, supplier=supplier)
    line_changed = po_store.save_line(conn, order_id, sku, quantity=quantity, expected_date=expected,
                                      received_quantity=received)
    return "processed" if header_changed or line_changed else "skipped"


SPEC = FileImport(NAME, COLUMNS, apply_row)

register(Definition(NAME, "pre-order", "Purchase orders: import open purchase orders with expected dates and "
                    "quantities from a file (rows: po_number, supplier, facility, sku, quantity, received_quantity, "
                    "expected_date, status open|received|cancelled)",
                    params=file_params("/outbound/purchase-orders", "purchase-orders-*.csv"),
                    default_schedule="every-15-minutes", per_shop=False),
         lambda ctx: run_import(ctx, SPEC))

"""Job ``import-fulfilment-history``: what facilities shipped, from CSV files on SFTP.

Each row says that ``quantity`` units of an order's line (Shopify line id) or SKU left a
facility with a tracking number. Those units are picked, packed and shipped through the
fulfilment service, so stock leaves the facility and the order's timeline and events follow.
Units already shipped from there with that tracking number count as done: a file read again,
or a later file repeating its rows, ships nothing twice (a different carrier or ship time
updates the shipment).
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from orderhub.adapters.store import facilities as facility_store
from orderhub.adapters.store import order_queries, timeline
from orderhub.adapters.store import units as unit_store
from orderhub.adapters.store.schema import facilities, order_items, orders, shipments
from orderhub.domain import lifecycle
from orderhub.domain.jobs import Definition
from orderhub.domain.planning import CannotPlan, OpenUnit, PackedShipment, plan_shipment
from orderhub.services import fulfilment
from orderhub.services.jobs.registry import register
from orderhub.services.jobs.sftp_files import Columns, FileImport, Row, RowError, file_params, run_import

NAME = "import-fulfilment-history"
ACTOR = f"job:{NAME}"
COLUMNS = Columns(required=("order", "quantity", "facility", "tracking_number"),
                  optional=("line", "sku", "carrier", "shipped_at"))
OPEN = ("brokered", "picked", "packed")
SHIPPED = ("shipped", "completed", "returned")


def apply_row(conn: Connection, row: Row) -> str:
    """Ship what one row names, or find it shipped already; raises RowError naming the column."""
    ref = row.text("order", max_len=100)
    line_ref = row.text("line", required=False, max_len=40)
    sku = row.text("sku", required=False)
    if line_ref is None and sku is None:
        raise RowError("line", "give the order line (its Shopify line id) or the sku")
    quantity = row.integer("quantity", minimum=1)
    code = row.text("facility", max_len=64)
    tracking = row.text("tracking_number")
    carrier = row.text("carrier", required=False, max_len=100)
    shipped_at = row.moment("shipped_at")
    assert ref is not None and quantity is not None and code is not None and tracking is not None

    order = _order(conn, ref)
    label = f"order {order.name or order.shopify_id} (id {order.id})"
    try:
        facility_id = facility_store.id_of(conn, code)
    except LookupError as exc:
        raise RowError("facility", str(exc)) from None
    units = unit_store.of_orders(conn, [order.id])[order.id]
    if line_ref is not None:
        item = conn.execute(select(order_items.c.id, order_items.c.sku).where(
            order_items.c.order_id == order.id, order_items.c.shopify_id == line_ref)).first()
        if item is None:
            raise RowError("line", f"{label} has no line {line_ref}")
        if sku is not None and item.sku != sku:
            raise RowError("sku", f"line {line_ref} of {label} is SKU {item.sku or '(none)'}, not {sku}")
        mine = [u for u in units if u.item_id == item.id]
        what = f"{label} line {line_ref}"
    else:
        mine = [u for u in units if u.sku == sku]
        if not mine:
            raise RowError("sku", f"{label} has no units of SKU {sku}")
        what = f"{label} SKU {sku}"
    here = [u for u in mine if u.facility_id == facility_id]
    parcels = {s.id: s for s in conn.execute(select(shipments).where(shipments.c.order_id == order.id))}
    done = [u for u in here if u.status in SHIPPED and u.shipment_id in parcels
            and parcels[u.shipment_id].tracking_number == tracking]
    needed = quantity - len(done)
    if needed <= 0:
        return _correct(conn, order.id, [parcels[i] for i in sorted({u.shipment_id for u in done})], carrier,
                        shipped_at)

    open_units = [OpenUnit(u.id, u.status, u.shipment_id) for u in here if u.status in OPEN]
    packed = [PackedShipment(sid, parcels[sid].tracking_number,
                             frozenset(u.id for u in units if u.shipment_id == sid and u.status == "packed"))
              for sid in sorted({u.shipment_id for u in open_units if u.status == "packed" and u.shipment_id})]
    try:
        plan = plan_shipment(open_units, packed, needed, tracking)
    except CannotPlan as exc:
        raise RowError("quantity", f"{what} at {code}: {exc}{_whereabouts(conn, mine, len(done))}") from None
    why = fulfilment.Ctx(ACTOR, f"fulfilment history {row.file} line {row.line}")
    try:
        if plan.pick:
            fulfilment.pick(conn, order.id, why, plan.pick)
        new: list[int] = []
        if plan.pack:
            _status, new = fulfilment.pack(conn, order.id, why, plan.pack, tracking_number=tracking, carrier=carrier)
        for shipment_id in (*plan.ship_packed, *new):
            fulfilment.ship(conn, order.id, why, shipment_id=shipment_id, tracking_number=tracking, carrier=carrier)
    except lifecycle.IllegalTransition as exc:
        raise RowError("order", str(exc)) from None
    if shipped_at is not None:  # the facility's time, not the time the file was read
        conn.execute(update(shipments).where(shipments.c.id.in_([*plan.ship_packed, *new]))
                     .values(shipped_at=shipped_at))
    return "processed"


def _order(conn: Connection, ref: str) -> Any:
    order_id = order_queries.find_order_id(conn, ref)
    if order_id is None:
        raise RowError("order", f"no order {ref}, or more than one shop has one by that name; give its name "
                       "(#1001) or its Shopify id")
    return conn.execute(select(orders.c.id, orders.c.name, orders.c.shopify_id).where(orders.c.id == order_id)).one()


def _whereabouts(conn: Connection, units: list[Any], shipped_here: int) -> str:
    """Where the line's units are, for a person to see why they could not ship from here."""
    codes = {r.id: r.code for r in conn.execute(select(facilities.c.id, facilities.c.code))}
    counts = Counter((u.status, codes.get(u.facility_id)) for u in units)
    parts = [f"{n} {status}" + (f" at {code}" if code else "") for (status, code), n in sorted(
        counts.items(), key=lambda kv: (kv[0][0], kv[0][1] or ""))]
    if not parts:
        return " (it has no units to ship)"
    done = f"; {shipped_here} shipped with this tracking number" if shipped_here else ""
    return f" (its units: {', '.join(parts)}{done})"


def _correct(conn: Connection, order_id: int, parcels: list[Any], carrier: str | None,
             shipped_at: datetime | None) -> str:
    """Everything is shipped already: bring the shipments' carrier and time in line with the file."""
    changed = []
    for s in parcels:
        values: dict[str, Any] = {}
        if carrier is not None and s.carrier != carrier:
            values["carrier"] = carrier
        if shipped_at is not None and s.shipped_at != shipped_at:
            values["shipped_at"] = shipped_at
        if values:
            conn.execute(update(shipments).where(shipments.c.id == s.id).values(**values))
            changed.append({"shipment_id": s.id} | {k: str(v) for k, v in values.items()})
    if not changed:
        return "skipped"
    timeline.add(conn, [timeline.Entry(order_id, "shipment_updated", {"shipments": changed}, ACTOR)])
    return "processed"


SPEC = FileImport(NAME, COLUMNS, apply_row)

register(Definition(NAME, "fulfilment", "History: create or update order fulfilment history records from a file "
                    "on SFTP (rows: order, line or sku, quantity, facility, tracking_number, carrier, shipped_at)",
                    params=file_params("/outbound/fulfilment", "fulfilment-*.csv"),
                    default_schedule="every-15-minutes", per_shop=False),
         lambda ctx: run_import(ctx, SPEC))

"""Purchase orders: what suppliers are to deliver to which facility, and when.

Written by the import of purchase-order files; read by the pre-order jobs, which promise
from :func:`open_quantities`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Connection, insert, select, update

from orderhub.adapters.store.schema import facilities, purchase_order_lines, purchase_orders
from orderhub.clock import utcnow
from orderhub.domain.planning import PO_STATUSES, open_quantity

po, lines = purchase_orders, purchase_order_lines


def save_order(conn: Connection, po_number: str, *, facility_id: int, status: str, actor: str,
               supplier: str | None = None) -> tuple[int, bool]:
    """Create or change a purchase order's header; returns (its id, whether anything changed).
    A supplier left out keeps the one known."""
    if status not in PO_STATUSES:
        raise ValueError(f"purchase order {po_number}: status must be one of {', '.join(PO_STATUSES)} "
                         f"(got {status!r})")
    now = utcnow()
    current = conn.execute(select(po).where(po.c.po_number == po_number)).first()
    if current is None:
        new_id = conn.execute(insert(po).values(po_number=po_number, supplier=supplier, facility_id=facility_id,
                                                status=status, updated_by=actor, created_at=now, updated_at=now)
                              .returning(po.c.id)).scalar_one()
        return int(new_id), True
    values: dict[str, Any] = {"facility_id": facility_id, "status": status}
    if supplier is not None:
        values["supplier"] = supplier
    changed = {k: v for k, v in values.items() if getattr(current, k) != v}
    if changed:
        conn.execute(update(po).where(po.c.id == current.id).values(**changed, updated_by=actor, updated_at=now))
    return int(current.id), bool(changed)


def cancel(conn: Connection, po_number: str, *, actor: str) -> bool:
    """Cancel a purchase order (its lines no longer count as incoming); False if it already was."""
    current = conn.execute(select(po.c.id, po.c.status).where(po.c.po_number == po_number)).first()
    if current is None:
        raise LookupError(f"no purchase order {po_number}")
    if current.status == "cancelled":
        return False
    conn.execute(update(po).where(po.c.id == current.id).values(status="cancelled", updated_by=actor,
                                                                 updated_at=utcnow()))
    return True


def save_line(conn: Connection, order_id: int, sku: str, *, quantity: int, expected_date: date | None,
              received_quantity: int | None = None) -> bool:
    """Create or change the line of ``sku``; returns whether anything changed. A received quantity
    left out keeps the one known."""
    if quantity < 0 or (received_quantity is not None and received_quantity < 0):
        raise ValueError(f"purchase order line {sku}: quantities cannot be negative")
    current = conn.execute(select(lines).where(lines.c.purchase_order_id == order_id, lines.c.sku == sku)).first()
    if current is None:
        conn.execute(insert(lines).values(purchase_order_id=order_id, sku=sku, quantity=quantity,
                                          received_quantity=received_quantity or 0, expected_date=expected_date,
                                          updated_at=utcnow()))
        return True
    values: dict[str, Any] = {"quantity": quantity, "expected_date": expected_date}
    if received_quantity is not None:
        values["received_quantity"] = received_quantity
    changed = {k: v for k, v in values.items() if getattr(current, k) != v}
    if changed:
        conn.execute(update(lines).where(lines.c.id == current.id).values(**changed, updated_at=utcnow()))
    return bool(changed)


def get(conn: Connection, po_number: str) -> dict[str, Any] | None:
    """A purchase order with its facility code and lines."""
    row = conn.execute(select(po, facilities.c.code.label("facility"))
                       .join(facilities, facilities.c.id == po.c.facility_id)
                       .where(po.c.po_number == po_number)).first()
    if row is None:
        return None
    return {"po_number": row.po_number, "supplier": row.supplier, "facility": row.facility, "status": row.status,
            "lines": [{"sku": r.sku, "quantity": r.quantity, "received_quantity": r.received_quantity,
                       "expected_date": r.expected_date}
                      for r in conn.execute(select(lines).where(lines.c.purchase_order_id == row.id)
                                            .order_by(lines.c.sku))]}


@dataclass(frozen=True)
class Incoming:
    """Units of a SKU an open purchase order still brings to a facility, expected on a date (or unknown)."""

    po_number: str
    facility: str
    quantity: int
    expected_date: date | None


def open_quantities(conn: Connection, skus: Iterable[str] | None = None) -> dict[str, list[Incoming]]:
    """Per SKU, what open purchase orders still bring, soonest first (unknown dates last)."""
    stmt = (select(lines.c.sku, lines.c.quantity, lines.c.received_quantity, lines.c.expected_date,
                   po.c.po_number, facilities.c.code)
            .join(po, po.c.id == lines.c.purchase_order_id).join(facilities, facilities.c.id == po.c.facility_id)
            .where(po.c.status == "open", lines.c.quantity > lines.c.received_quantity))
    if skus is not None:
        stmt = stmt.where(lines.c.sku.in_(sorted(set(skus))))
    out: dict[str, list[Incoming]] = {}
    for r in conn.execute(stmt):
        out.setdefault(r.sku, []).append(Incoming(r.po_number, r.code, open_quantity(r.quantity, r.received_quantity),
                                                  r.expected_date))
    for incoming in out.values():
        incoming.sort(key=lambda i: (i.expected_date is None, i.expected_date or date.min, i.po_number))
    return out

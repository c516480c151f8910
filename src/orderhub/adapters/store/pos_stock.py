"""What the POS/ERP's stock at a store should be, seen from orderhub: its own on-hand there, plus what
left the store that the POS has not taken off yet (orders not invoiced, slips not posted)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import orjson
from sqlalchemy import Connection, and_, func, or_, select

from orderhub.adapters.store.channel_stock import known_skus
from orderhub.adapters.store.schema import inventory, invoice_transfers, order_invoices, order_units, orders, variants
from orderhub.domain.invoicing import FULFILLED_UNITS


def on_hand(conn: Connection, facility_id: int) -> dict[str, int]:
    """SKU → orderhub's on-hand at the facility."""
    return {r.sku: r.on_hand for r in conn.execute(
        select(inventory.c.sku, inventory.c.on_hand).where(inventory.c.facility_id == facility_id))}


def not_yet_invoiced(conn: Connection, facility_id: int, pos_channels: tuple[str, ...]) -> dict[str, int]:
    """SKU → units that left the facility in orders the POS has not invoiced yet (it still counts them)."""
    u = order_units.c
    stmt = (select(u.sku, func.count().label("n"))
            .select_from(order_units.join(orders, orders.c.id == u.order_id)
                         .outerjoin(order_invoices, order_invoices.c.order_id == u.order_id))
            .where(u.facility_id == facility_id, u.status.in_(FULFILLED_UNITS), u.sku.is_not(None),
                   or_(order_invoices.c.status.is_(None), order_invoices.c.status != "invoiced"))
            .group_by(u.sku))
    if pos_channels:
        stmt = stmt.where(orders.c.channel.not_in(pos_channels))
    return {r.sku: r.n for r in conn.execute(stmt)}


def slips_not_posted(conn: Connection, store: str) -> dict[str, int]:
    """UPC → the quantity the POS has at ``store`` too few (+) or too many (-) because a slip of an
    invoiced order is not posted yet: the sending store still has it, the invoicing store already lost it."""
    moved: dict[str, int] = defaultdict(int)
    rows = conn.execute(select(invoice_transfers.c.from_store, invoice_transfers.c.to_store, invoice_transfers.c.body)
                        .join(order_invoices, order_invoices.c.order_id == invoice_transfers.c.order_id)
                        .where(order_invoices.c.status == "invoiced", invoice_transfers.c.status != "done",
                               or_(invoice_transfers.c.from_store == store, invoice_transfers.c.to_store == store)))
    for row in rows:
        sign = 1 if row.from_store == store else -1
        for item in orjson.loads(row.body).get("Items") or []:
            moved[str(item.get("UPC"))] += sign * int(item.get("Qty") or 0)
    return dict(moved)


def upcs(conn: Connection, skus: list[str], source: str) -> dict[str, str]:
    """SKU → its UPC as the transform picks it (``barcode``, ``sku`` or ``barcode-or-sku``)."""
    barcodes: dict[str, str] = {}
    if source != "sku" and skus:
        for r in conn.execute(select(variants.c.sku, variants.c.barcode).where(
                and_(variants.c.sku.in_(sorted(set(skus))), variants.c.barcode.is_not(None),
                     variants.c.deleted_at.is_(None))).order_by(variants.c.id)):
            barcodes.setdefault(r.sku, r.barcode)
    out: dict[str, Any] = {}
    for sku in skus:
        upc = {"barcode": barcodes.get(sku), "sku": sku, "barcode-or-sku": barcodes.get(sku) or sku}[source]
        if upc:
            out[sku] = upc
    return out


def skus_of_upcs(conn: Connection, upcs: list[str]) -> dict[str, str]:
    """UPC → the SKU it scans as: the variant whose barcode it is, else a SKU spelled the same (the transform's
    ``sku`` and ``barcode-or-sku`` ways); UPCs that are neither are left out."""
    wanted = sorted(set(upcs))
    out: dict[str, str] = {}
    for start in range(0, len(wanted), 500):  # bounded IN lists
        chunk = wanted[start:start + 500]
        for r in conn.execute(select(variants.c.barcode, variants.c.sku).where(
                variants.c.barcode.in_(chunk), variants.c.sku.is_not(None), variants.c.sku != "",
                variants.c.deleted_at.is_(None)).order_by(variants.c.id)):
            out.setdefault(r.barcode, r.sku)
    rest = [upc for upc in wanted if upc not in out]
    if rest:
        out.update({upc: upc for upc in known_skus(conn, rest)})
    return out

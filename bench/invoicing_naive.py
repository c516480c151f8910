"""The naive design of bench/invoicing.py: load everything, build everything, write everything.

``feed`` loads every completed order with all its items, units, shipments, addresses, shipping
lines and customers with plain SQLAlchemy queries (no batching: every row kept as a ``RowMapping``), builds
the whole feed (the same records as ``orderhub.services.invoicing.feed``) as one JSON array in
memory with ``json.dumps``, writes it in one ``write_atomic`` and marks every order ``fed`` in one
executemany. ``transform`` reads the file back whole, ``json.loads`` it, transforms every record
with ``orderhub.domain.invoicing.transform`` and writes the output as one JSON array.

Both report where they are in a shared array (``progress``: the stage's index in ``STAGES``,
rows in it), so a run that runs out of memory can say how far it got.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from typing import Any

from sqlalchemy import insert, select

from orderhub.clock import utcnow

FEED_PATH = "/naive/completed-orders.json"
INVOICES_PATH = "/naive/invoices.json"
STAGES = ("starting", "loading orders", "loading items", "loading units", "loading shipments", "loading addresses",
          "loading customers", "loading shipping lines", "loading variants and stores", "building feed records",
          "serialising the feed", "writing the feed", "marking orders fed", "reading the feed back",
          "parsing the feed", "transforming", "serialising the invoices", "writing the invoices", "done")
ROW_STAGES = {"loading orders", "loading items", "loading units", "loading shipments", "loading addresses",
              "loading customers", "loading shipping lines", "building feed records", "transforming"}


def where(progress: Any) -> str:
    """``while loading units (1,234,567 rows so far)``."""
    stage = STAGES[progress[0]]
    return f"while {stage}" + (f" ({progress[1]:,} rows so far)" if stage in ROW_STAGES else "")


def done(progress: Any, times: dict[str, float], clock: list[float]) -> None:
    _stage(progress, "done", times, clock)


def _stage(progress: Any, name: str, times: dict[str, float], clock: list[float]) -> None:
    """Enter stage ``name``: the time since the last stage change goes to the one that ends."""
    now = time.perf_counter()
    previous = STAGES[progress[0]]
    times[previous] = times.get(previous, 0.0) + now - clock[0]
    clock[0] = now
    progress[0], progress[1] = STAGES.index(name), 0


def _grouped(conn: Any, stmt: Any, progress: Any) -> dict[int, list[Any]]:
    by_order: dict[int, list[Any]] = defaultdict(list)
    for n, row in enumerate(conn.execute(stmt).mappings(), start=1):  # every row kept: no batching
        by_order[row["order_id"]].append(row)
        progress[1] = n
    return by_order


def feed(hub: Any, progress: Any, times: dict[str, float], clock: list[float]) -> int:
    """Load it all, build it all, write it all."""
    from orderhub.adapters.store.invoice_store import COMPLETED_ORDERS, FULFILLED_UNITS
    from orderhub.adapters.store.schema import (
        customers,
        facilities,
        order_addresses,
        order_invoices,
        order_items,
        order_shipping_lines,
        order_units,
        orders,
        shipments,
        shops,
        variants,
    )
    from orderhub.domain.invoicing import FEED_VERSION
    from orderhub.services.jobs.sftp_files import connect

    completed = select(orders.c.id).where(orders.c.status.in_(COMPLETED_ORDERS), orders.c.channel != "pos")
    with hub.db.read() as conn:
        _stage(progress, "loading orders", times, clock)
        heads = []
        for row in conn.execute(select(orders).where(orders.c.id.in_(completed)).order_by(orders.c.id)).mappings():
            heads.append(row)
            progress[1] = len(heads)
        _stage(progress, "loading items", times, clock)
        items = {}
        for n, row in enumerate(conn.execute(select(order_items).where(order_items.c.order_id.in_(completed)))
                                .mappings(), start=1):
            items[row["id"]] = row
            progress[1] = n
        _stage(progress, "loading units", times, clock)
        units = _grouped(conn, select(order_units).where(order_units.c.order_id.in_(completed),
                                                         order_units.c.status.in_(FULFILLED_UNITS),
                                                         order_units.c.facility_id.is_not(None)), progress)
        _stage(progress, "loading shipments", times, clock)
        sent = {r["id"]: r for r in conn.execute(select(shipments).where(shipments.c.order_id.in_(completed)))
                .mappings().all()}
        _stage(progress, "loading addresses", times, clock)
        places = _grouped(conn, select(order_addresses).where(order_addresses.c.order_id.in_(completed)), progress)
        _stage(progress, "loading customers", times, clock)
        people = {r["id"]: r for r in conn.execute(select(customers)).mappings().all()}
        progress[1] = len(people)
        _stage(progress, "loading shipping lines", times, clock)
        methods = _grouped(conn, select(order_shipping_lines).where(order_shipping_lines.c.order_id.in_(completed))
                           .order_by(order_shipping_lines.c.id), progress)
        _stage(progress, "loading variants and stores", times, clock)
        barcodes = {(r["shop_id"], r["shopify_id"]): r["barcode"] for r in conn.execute(select(variants)).mappings()}
        stores = {r["id"]: r["pos_store_code"] or r["code"] for r in conn.execute(select(facilities)).mappings()}
        domains = {r["id"]: r["domain"] for r in conn.execute(select(shops)).mappings()}

    _stage(progress, "building feed records", times, clock)
    records = []
    for head in heads:
        lines: dict[tuple[int, int], list[Any]] = {}
        for unit in units.get(head["id"], ()):
            shipment = sent.get(unit["shipment_id"])
            at = (shipment["shipped_at"] if shipment is not None else None) or unit["updated_at"]
            line = lines.setdefault((unit["item_id"], unit["facility_id"]), [0, at])
            line[0] += 1
            line[1] = max(line[1], at)
        if not lines:
            continue
        kinds = {a["kind"]: a for a in places.get(head["id"], ())}
        person = people.get(head["customer_id"])
        ship_lines = methods.get(head["id"])
        record_items = []
        for (item_id, facility_id), (quantity, at) in sorted(lines.items()):
            item = items[item_id]
            record_items.append({
                "line": item["shopify_id"], "sku": item["sku"],
                "barcode": barcodes.get((head["shop_id"], item["variant_shopify_id"])), "title": item["title"],
                "ordered": item["quantity"], "price": str(item["price"]), "discount": str(item["total_discount"]),
                "tax": str(item["tax"]), "facility_id": facility_id, "store": stores.get(facility_id),
                "quantity": quantity, "fulfilled_at": at.isoformat()})
        records.append({
            "v": FEED_VERSION, "order_id": head["id"], "shop": domains.get(head["shop_id"]), "name": head["name"],
            "number": head["number"], "created_at": head["source_created_at"].isoformat(),
            "currency": head["currency"], "email": head["email"],
            "shipping_method": head["shipping_method"] or (ship_lines[0]["title"] if ship_lines else None),
            "total_shipping": str(head["total_shipping"]),
            "customer": None if person is None else {"first_name": person["first_name"],
                                                     "last_name": person["last_name"], "email": person["email"],
                                                     "phone": person["phone"]},
            "billing": _naive_address(kinds.get("billing")), "shipping": _naive_address(kinds.get("shipping")),
            "items": record_items})
        progress[1] = len(records)
    _stage(progress, "serialising the feed", times, clock)
    data = json.dumps(records).encode()
    _stage(progress, "writing the feed", times, clock)
    with connect(hub) as sftp:
        sftp.makedirs(FEED_PATH.rsplit("/", 1)[0])
        sftp.write_atomic(FEED_PATH, data)
    _stage(progress, "marking orders fed", times, clock)
    now = utcnow()
    with hub.db.write() as conn:
        conn.execute(insert(order_invoices), [
            {"order_id": r["order_id"], "status": "fed", "feed_file": FEED_PATH, "fed_at": now, "updated_at": now}
            for r in records])
    return len(records)


def _naive_address(row: Any) -> dict[str, Any] | None:
    if row is None:
        return None
    return {k: row[k] for k in ("first_name", "last_name", "company", "address1", "address2", "city", "province",
                                "zip", "country", "country_code", "phone")}


def transform(hub: Any, progress: Any, times: dict[str, float], clock: list[float]) -> tuple[int, int]:
    """Read it all, parse it all, transform it all, write it all; returns (written, rejected)."""
    from orderhub.domain.invoicing import NotInvoiceable, Options
    from orderhub.domain.invoicing import transform as to_documents
    from orderhub.services.jobs.sftp_files import connect

    options = Options()
    with connect(hub) as sftp:
        _stage(progress, "reading the feed back", times, clock)
        with sftp.open_read(FEED_PATH) as stream:
            raw = stream.read()
        _stage(progress, "parsing the feed", times, clock)
        records = json.loads(raw)
        _stage(progress, "transforming", times, clock)
        out, rejected = [], 0
        for record in records:
            try:
                out.append(to_documents(record, options).line())
            except NotInvoiceable:
                rejected += 1
            progress[1] = len(out)
        _stage(progress, "serialising the invoices", times, clock)
        data = json.dumps(out, default=str).encode()
        _stage(progress, "writing the invoices", times, clock)
        sftp.write_atomic(INVOICES_PATH, data)
    return len(out), rejected

"""Reads and writes of invoicing: completed orders not yet invoiced, in id order and in batches;
where each order is in the pipeline (``order_invoices``); transfer slips; the call log.

Statuses of ``order_invoices``: ``feeding`` (a feed file is being written with it), ``fed``,
``sending`` (a call is under way: a crash here is settled by the next call, which Retail Pro
answers with the invoice made the first time), ``invoiced``, ``failed`` (fed again),
``rejected`` (a person must correct it) and ``skipped`` (nothing in it to invoice).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection, Integer, and_, func, insert, literal, or_, select, type_coerce, update

from orderhub.adapters.store.db import upsert
from orderhub.adapters.store.schema import (
    customers,
    facilities,
    invoice_calls,
    invoice_transfers,
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
from orderhub.adapters.store.types import UTCDateTime
from orderhub.clock import utcnow
from orderhub.domain.invoicing import FEED_ADDRESS_FIELDS, FULFILLED_UNITS

COMPLETED_ORDERS = ("shipped", "completed")  # every live unit left its facility


# -- what the feed reads -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Selection:
    """Which orders a feed takes."""

    run_id: int
    refeed_before: datetime  # fed (or sent) before this and still not invoiced: feed it again
    facility_id: int | None = None  # only orders with a unit fulfilled there
    pos_channels: tuple[str, ...] = ("pos",)  # sold at the POS itself: never invoiced again


def _pending(sel: Selection) -> Any:
    oi = order_invoices.c
    return or_(oi.order_id.is_(None), oi.status == "failed",
               and_(oi.status == "feeding", oi.feed_run_id != sel.run_id),
               and_(oi.status.in_(("fed", "sending")), oi.fed_at < sel.refeed_before))


def _due(sel: Selection) -> Any:
    """Completed orders this feed takes (whatever their invoicing status)."""
    o = orders.c
    cond = o.status.in_(COMPLETED_ORDERS)
    if sel.pos_channels:
        cond = and_(cond, o.channel.not_in(sel.pos_channels))
    if sel.facility_id is not None:
        cond = and_(cond, select(order_units.c.id).where(
            order_units.c.order_id == o.id, order_units.c.facility_id == sel.facility_id,
            order_units.c.status.in_(FULFILLED_UNITS)).exists())
    return cond


def _fulfilled(order_id: Any) -> Any:
    """The order has a unit fulfilled from a facility (something to invoice)."""
    u = order_units.c
    return (select(u.id).where(u.order_id == order_id, u.status.in_(FULFILLED_UNITS), u.facility_id.is_not(None))
            .exists())


def next_orders(conn: Connection, sel: Selection, after_id: int, limit: int) -> list[Any]:
    """The next ``limit`` completed orders after ``after_id`` that are due for a feed, in id order:
    ``id``, ``invoice_status`` (None: never fed) and ``fulfilled`` (has something fulfilled from a facility)."""
    o = orders.c
    fulfilled = type_coerce(_fulfilled(o.id), Integer).label("fulfilled")  # 0 or 1 (or a bool): no conversion
    stmt = (select(o.id, order_invoices.c.status.label("invoice_status"), fulfilled)
            .select_from(orders.outerjoin(order_invoices, order_invoices.c.order_id == o.id))
            .where(o.id > after_id, _due(sel), _pending(sel))
            .order_by(o.id).limit(limit))
    return conn.execute(stmt).all()


# What a feed reads back, once marked: the orders a run marked ``feeding`` from ``first_id`` to ``last_id``.

def _feeding(run_id: int, first_id: int, last_id: int) -> Any:
    oi = order_invoices.c
    return and_(oi.order_id >= first_id, oi.order_id <= last_id, oi.feed_run_id == run_id, oi.status == "feeding")


def feeding_orders(conn: Connection, run_id: int, first_id: int, last_id: int) -> list[Any]:
    """The orders the run marked ``feeding`` in the range, in id order, with what the feed says of them."""
    o = orders.c
    return list(conn.execute(
        select(o.id, o.shop_id, o.name, o.number, o.email, o.customer_id, o.currency, o.shipping_method,
               o.total_shipping, o.taxes_included, o.source_created_at)
        .select_from(order_invoices.join(orders, o.id == order_invoices.c.order_id))
        .where(_feeding(run_id, first_id, last_id)).order_by(o.id)))


def fulfilled_lines(conn: Connection, order_ids: Sequence[int]) -> list[Any]:
    """Per order, line and facility: the units fulfilled there and when the last of them left."""
    u, i = order_units.c, order_items.c
    stmt = (select(u.order_id, u.item_id, u.facility_id, func.count().label("quantity"),
                   func.max(func.coalesce(shipments.c.shipped_at, u.updated_at, type_=UTCDateTime),
                            type_=UTCDateTime).label("fulfilled_at"),
                   i.shopify_id, i.sku, i.title, i.quantity.label("ordered"), i.price, i.total_discount, i.tax,
                   variants.c.barcode)
            .select_from(order_units.join(order_items, order_items.c.id == u.item_id)
                         .join(orders, orders.c.id == u.order_id)
                         .outerjoin(shipments, shipments.c.id == u.shipment_id)
                         .outerjoin(variants, and_(variants.c.shop_id == orders.c.shop_id,
                                                   variants.c.shopify_id == i.variant_shopify_id)))
            .where(u.order_id.in_(order_ids), u.status.in_(FULFILLED_UNITS), u.facility_id.is_not(None))
            .group_by(u.order_id, u.item_id, u.facility_id, i.shopify_id, i.sku, i.title, i.quantity, i.price,
                      i.total_discount, i.tax, variants.c.barcode)
            .order_by(u.order_id, u.item_id, u.facility_id))
    return list(conn.execute(stmt))



def addresses(conn: Connection, order_ids: Sequence[int]) -> list[Any]:
    """The orders' addresses: ``order_id``, ``kind`` and what the feed says of an address."""
    a = order_addresses.c
    return list(conn.execute(select(a.order_id, a.kind, *(a[c] for c in FEED_ADDRESS_FIELDS))
                             .where(a.order_id.in_(order_ids))))


def shipping_methods(conn: Connection, order_ids: Sequence[int]) -> dict[int, str]:
    """The title of each order's first shipping line."""
    first: dict[int, str] = {}
    for r in conn.execute(select(order_shipping_lines.c.order_id, order_shipping_lines.c.title)
                          .where(order_shipping_lines.c.order_id.in_(order_ids)).order_by(order_shipping_lines.c.id)):
        first.setdefault(r.order_id, r.title)
    return first


def customers_of(conn: Connection, customer_ids: Iterable[int]) -> dict[int, Any]:
    ids = sorted(set(customer_ids))
    if not ids:
        return {}
    c = customers.c
    return {r.id: r for r in conn.execute(select(c.id, c.first_name, c.last_name, c.email, c.phone)
                                          .where(c.id.in_(ids)))}


def store_codes(conn: Connection) -> dict[int, str]:
    """Facility id → its POS store code (the facility's code where none is set)."""
    return {r.id: r.pos_store_code or r.code
            for r in conn.execute(select(facilities.c.id, facilities.c.code, facilities.c.pos_store_code))}


def shop_domains(conn: Connection) -> dict[int, str]:
    return {r.id: r.domain for r in conn.execute(select(shops.c.id, shops.c.domain))}


# -- marks -------------------------------------------------------------------------------------------------

def mark_feeding(conn: Connection, sel: Selection, feed_file: str, first_id: int, last_id: int,
                 known: Sequence[int], empty: Sequence[int] = ()) -> None:
    """Orders going into a feed: the due ones from ``first_id`` to ``last_id`` (:func:`next_orders`
    read them in this transaction) but ``empty`` ones (nothing fulfilled). ``known`` ones (failed or
    stale) are taken again; the others (never fed) get a row, in one statement."""
    now = utcnow()
    values = {"status": "feeding", "feed_file": feed_file[:255], "feed_run_id": sel.run_id, "fed_at": now,
              "updated_at": now}
    if known:
        conn.execute(update(order_invoices).where(order_invoices.c.order_id.in_(known)).values(**values))
    o, oi = orders.c, order_invoices.c
    never_fed = (select(o.id, *(literal(v, order_invoices.c[k].type) for k, v in values.items()))
                 .where(o.id >= first_id, o.id <= last_id, _due(sel),
                        ~select(oi.order_id).where(oi.order_id == o.id).exists()))
    if empty:
        never_fed = never_fed.where(o.id.not_in(empty))
    conn.execute(insert(order_invoices).from_select(["order_id", *values], never_fed))


def mark_fed(conn: Connection, run_id: int) -> int:
    """The feed file is in place: its orders are fed (unless a call settled one meanwhile)."""
    return conn.execute(update(order_invoices).where(order_invoices.c.feed_run_id == run_id,
                                                     order_invoices.c.status == "feeding")
                        .values(status="fed", updated_at=utcnow())).rowcount


def mark_skipped(conn: Connection, order_ids: Sequence[int], reason: str) -> None:
    if order_ids:
        now = utcnow()
        for order_id in order_ids:
            upsert(conn, order_invoices, {"order_id": order_id, "status": "skipped", "error": reason,
                                          "updated_at": now}, keys=("order_id",), update=("status", "error",
                                                                                           "updated_at"))


def mark_rejected(conn: Connection, order_id: int, error: str, field: str | None) -> None:
    """A person must act: the order is not fed again until its error-log entry is retried."""
    upsert(conn, order_invoices, {"order_id": order_id, "status": "rejected", "error": error, "field": field,
                                  "updated_at": utcnow()}, keys=("order_id",), update=("status", "error", "field",
                                                                                        "updated_at"))


def get(conn: Connection, order_id: int) -> Any:
    return conn.execute(select(order_invoices).where(order_invoices.c.order_id == order_id)).first()


def status_counts(conn: Connection) -> dict[str, int]:
    return {r.status: r.n for r in conn.execute(
        select(order_invoices.c.status, func.count().label("n")).group_by(order_invoices.c.status))}


# -- the call log --------------------------------------------------------------------------------------------

def log_call(conn: Connection, order_id: int, run_id: int | None, document: str, outcome: str, *, method: str,
             url: str, request: Any, status: int | None, response: Any, error: str | None, elapsed_ms: int,
             at: datetime) -> int:
    return int(conn.execute(insert(invoice_calls).values(
        order_id=order_id, run_id=run_id, document=document, outcome=outcome, method=method, url=url[:500],
        request=orjson.dumps(request, default=str).decode(), status=status,
        response=None if response is None else orjson.dumps(response, default=str).decode(), error=error,
        elapsed_ms=elapsed_ms, at=at).returning(invoice_calls.c.id)).scalar_one())


def failed_calls(conn: Connection, after_id: int, limit: int) -> list[Any]:
    """Calls that did not create (or find) their document, oldest first, with the order's name."""
    c = invoice_calls.c
    return list(conn.execute(
        select(invoice_calls, orders.c.name.label("order_name"))
        .select_from(invoice_calls.outerjoin(orders, orders.c.id == c.order_id))
        .where(c.id > after_id, c.outcome.in_(("rejected", "unavailable"))).order_by(c.id).limit(limit)))


def last_call_id(conn: Connection) -> int:
    return int(conn.execute(select(func.coalesce(func.max(invoice_calls.c.id), 0))).scalar_one())


# -- transfers ---------------------------------------------------------------------------------------------------

def transfers_of(conn: Connection, order_id: int) -> dict[str, Any]:
    return {r.from_store: r for r in conn.execute(
        select(invoice_transfers).where(invoice_transfers.c.order_id == order_id))}


def open_transfer_orders(conn: Connection, limit: int) -> list[int]:
    """Invoiced orders with a slip still to post (it failed for want of the service)."""
    return [r.order_id for r in conn.execute(
        select(invoice_transfers.c.order_id).where(invoice_transfers.c.status.in_(("pending", "failed")))
        .group_by(invoice_transfers.c.order_id).order_by(invoice_transfers.c.order_id).limit(limit))]

"""The completed-orders feed: every order whose items all left their facilities, not yet invoiced,
as one JSON line each (the record :func:`orderhub.domain.invoicing.transform` reads).

Orders are read in id order, a batch at a time, and each batch is marked ``feeding`` in the
transaction that reads it, so memory stays flat however many orders there are. Only when the
file is in place on SFTP are they ``fed`` (:func:`invoice_store.mark_fed`); a feed that never
got there leaves them ``feeding`` under a run that is over, and the next feed takes them again.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson

from orderhub.adapters.store import invoice_store
from orderhub.adapters.store.db import Database
from orderhub.adapters.store.invoice_store import Selection
from orderhub.domain.invoicing import FEED_VERSION

BATCH = 2000


@dataclass
class FeedStats:
    orders: int = 0
    items: int = 0
    skipped: int = 0  # completed, but nothing fulfilled from a facility (gift cards only)
    refed: int = 0  # fed before and not invoiced (failed, or lost on the way)


@dataclass
class _Context:
    stores: dict[int, str]
    shops: dict[int, str]
    stats: FeedStats = field(default_factory=FeedStats)


def records(db: Database, sel: Selection, feed_file: str, *, batch: int = BATCH,
            check: Callable[[], None] = lambda: None) -> tuple[FeedStats, Iterator[bytes]]:
    """The feed's statistics (filled in as it is read) and its lines; each batch read is marked
    ``feeding`` for ``feed_file``. ``check`` is called between batches (a job's abort check)."""
    with db.read() as conn:
        ctx = _Context(invoice_store.store_codes(conn), invoice_store.shop_domains(conn))
    return ctx.stats, _lines(db, sel, feed_file, batch, check, ctx)


def _lines(db: Database, sel: Selection, feed_file: str, batch: int, check: Callable[[], None],
           ctx: _Context) -> Iterator[bytes]:
    after = 0
    while True:
        check()
        with db.write() as conn:
            heads = invoice_store.next_orders(conn, sel, after, batch)
            if not heads:
                return
            after = heads[-1].id
            ids = [h.id for h in heads]
            lines: dict[int, list[Any]] = defaultdict(list)
            for row in invoice_store.fulfilled_lines(conn, ids):
                lines[row.order_id].append(row)
            places: dict[int, dict[str, Any]] = defaultdict(dict)
            for row in invoice_store.addresses(conn, ids):
                places[row.order_id][row.kind] = row
            methods = invoice_store.shipping_methods(conn, ids)
            people = invoice_store.customers_of(conn, (h.customer_id for h in heads if h.customer_id))
            out, new, known, empty = [], [], [], []
            for head in heads:
                if not lines[head.id]:
                    empty.append(head.id)
                    continue
                (known if head.invoice_status else new).append(head.id)
                out.append(orjson.dumps(_record(head, lines[head.id], places[head.id], methods.get(head.id),
                                                people.get(head.customer_id), ctx)) + b"\n")
            invoice_store.mark_feeding(conn, sel.run_id, feed_file, new, known)
            invoice_store.mark_skipped(conn, empty, "nothing in it was fulfilled from a facility")
        ctx.stats.orders += len(out)
        ctx.stats.refed += len(known)
        ctx.stats.skipped += len(empty)
        yield from out


def _money(value: Any) -> str:
    return str(value)


def _address(row: Any) -> dict[str, Any] | None:
    if row is None:
        return None
    return {"first_name": row.first_name, "last_name": row.last_name, "company": row.company,
            "address1": row.address1, "address2": row.address2, "city": row.city, "province": row.province,
            "zip": row.zip, "country": row.country, "country_code": row.country_code, "phone": row.phone}


def _record(head: Any, lines: list[Any], places: dict[str, Any], method: str | None, person: Any,
            ctx: _Context) -> dict[str, Any]:
    """One order of the feed (money as decimal strings, times in ISO 8601 UTC)."""
    ctx.stats.items += len(lines)
    return {
        "v": FEED_VERSION, "order_id": head.id, "shop": ctx.shops.get(head.shop_id), "name": head.name,
        "number": head.number, "created_at": head.source_created_at.isoformat(), "currency": head.currency,
        "email": head.email, "shipping_method": head.shipping_method or method,
        "total_shipping": _money(head.total_shipping),
        "customer": None if person is None else {"first_name": person.first_name, "last_name": person.last_name,
                                                 "email": person.email, "phone": person.phone},
        "billing": _address(places.get("billing")), "shipping": _address(places.get("shipping")),
        "items": [{"line": r.shopify_id, "sku": r.sku, "barcode": r.barcode, "title": r.title,
                   "ordered": r.ordered, "price": _money(r.price), "discount": _money(r.total_discount),
                   "tax": _money(r.tax), "facility_id": r.facility_id, "store": ctx.stores.get(r.facility_id),
                   "quantity": r.quantity, "fulfilled_at": r.fulfilled_at.isoformat()} for r in lines],
    }

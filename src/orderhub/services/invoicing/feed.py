"""The completed-orders feed: every order whose items all left their facilities, not yet invoiced,
as one JSON line each (the record :func:`orderhub.domain.invoicing.transform` reads).

Orders are taken in id order, a batch at a time: one write transaction picks the batch's due
orders and marks them ``feeding`` (or ``skipped``, when nothing in them was fulfilled from a
facility); then the lines of exactly the orders the run marked are read, in a read-only
transaction of their own, while the next batches are being marked. On SQLite the database
writes the JSON (:mod:`orderhub.services.invoicing.feed_sqlite`), in reader processes once a
feed has a few batches, so both CPUs work; elsewhere the lines are built here from rows. A few
batches are in flight at most, so memory stays flat however many orders there are.

Only when the file is in place on SFTP are the orders ``fed`` (:func:`invoice_store.mark_fed`);
a feed that never got there leaves them ``feeding`` under a run that is over, and the next feed
takes them again.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import chain, islice
from typing import Any

import orjson

from orderhub.adapters.store import invoice_store
from orderhub.adapters.store.db import Database
from orderhub.adapters.store.invoice_store import Selection
from orderhub.domain import money
from orderhub.domain.invoicing import FEED_ADDRESS_FIELDS, FEED_VERSION
from orderhub.services.invoicing import feed_sqlite, files, workers

BATCH = 2000  # orders read (and written) together
MARK_BATCHES = 5  # batches marked in one write transaction (fewer commits; the write lock held some 50 ms)
READERS = min(4, workers.cpus())  # reader processes, for feeds of READERS_FROM batches or more
READERS_FROM = 5  # batches: below that (10,000 orders), starting the processes would cost more than they save
_NOTHING_FULFILLED = "nothing in it was fulfilled from a facility"


@dataclass
class FeedStats:
    orders: int = 0
    items: int = 0
    skipped: int = 0  # completed, but nothing fulfilled from a facility (gift cards only)
    refed: int = 0  # fed before and not invoiced (failed, or lost on the way)
    reader_peak_mb: list[float] = field(default_factory=list)  # each reader process's peak resident set


@dataclass(frozen=True)
class Block:
    """Consecutive lines of the feed, ready to write: gzip-compressed (whole gzip members) or not."""

    data: bytes
    orders: int
    items: int


@dataclass
class _Context:
    db: Database
    sel: Selection
    feed_file: str
    compress: bool
    sqlite_path: str | None  # the SQLite file whose JSON functions write the lines (None: built here)
    stores: dict[int, str] = field(default_factory=dict)
    shops: dict[int, str] = field(default_factory=dict)
    stats: FeedStats = field(default_factory=FeedStats)


def blocks(db: Database, sel: Selection, feed_file: str, *, compress: bool, batch: int | None = None,
           readers: int | None = None, check: Callable[[], None] = lambda: None,
           json_in_sql: bool | None = None) -> tuple[FeedStats, Iterator[Block]]:
    """The feed's statistics (filled in as it is read) and its blocks of lines, in order id order;
    each batch is marked ``feeding`` for ``feed_file`` before its lines are read. ``check`` is
    called between batches (a job's abort check). ``json_in_sql`` (default: on an SQLite file)
    has the database write the JSON; otherwise it is built here from rows (the same records)."""
    path = db.engine.url.database if db.dialect == "sqlite" else None
    in_sql = bool(path) and os.path.isfile(path or "") and json_in_sql is not False  # a file others can open
    ctx = _Context(db, sel, feed_file, compress, path if in_sql else None)
    if not in_sql:
        with db.read() as conn:
            ctx.stores, ctx.shops = invoice_store.store_codes(conn), invoice_store.shop_domains(conn)
    return ctx.stats, _blocks(ctx, batch or BATCH, READERS if readers is None else readers, check)


def _blocks(ctx: _Context, batch: int, readers: int, check: Callable[[], None]) -> Iterator[Block]:
    batches = _marked(ctx, batch, check)
    if ctx.sqlite_path is None:
        for first, last in batches:
            yield _counted(ctx, _from_rows(ctx, first, last))
        return
    ahead = list(islice(batches, READERS_FROM))
    if len(ahead) < READERS_FROM or readers < 1:  # a small feed: read here
        conn = feed_sqlite.connect(ctx.sqlite_path)
        try:
            for task in chain(ahead, batches):
                yield _sql_block(ctx, feed_sqlite.lines_of(conn, ctx.sel.run_id, FEED_VERSION, ctx.compress, task))
        finally:
            conn.close()
        return
    with workers.Pool(feed_sqlite.read_batch, ctx.sqlite_path, ctx.sel.run_id, FEED_VERSION, ctx.compress,
                      processes=readers) as pool:
        for done in pool.map(chain(ahead, batches), ahead=3):
            yield _sql_block(ctx, done)
    ctx.stats.reader_peak_mb = pool.peak_rss_mb


def _sql_block(ctx: _Context, done: tuple[bytes, int, int, list[int]]) -> Block:
    data, orders, items, empty = done
    if empty:  # nothing fulfilled any more (it changed since it was marked)
        _skip(ctx, empty)
    return _counted(ctx, Block(data, orders, items))


def _marked(ctx: _Context, batch: int, check: Callable[[], None]) -> Iterator[tuple[int, int]]:
    """Mark the due orders a few batches at a time (one transaction each); ``(first id, last id)`` of
    each batch with orders marked ``feeding``."""
    after = 0
    while True:
        check()
        with ctx.db.write() as conn:
            heads = invoice_store.next_orders(conn, ctx.sel, after, batch * MARK_BATCHES)
            if not heads:
                return
            # (id, invoice status, fulfilled) rows, unpacked: a million Row attribute reads cost a second
            known = [oid for oid, status, fulfilled in heads if fulfilled and status]
            empty = [oid for oid, _, fulfilled in heads if not fulfilled]
            invoice_store.mark_feeding(conn, ctx.sel, ctx.feed_file, heads[0].id, heads[-1].id, known, empty)
            invoice_store.mark_skipped(conn, empty, _NOTHING_FULFILLED)
        ctx.stats.refed += len(known)
        ctx.stats.skipped += len(empty)
        after = heads[-1].id
        for start in range(0, len(heads), batch):
            part = heads[start:start + batch]
            if any(row[2] for row in part):  # something fulfilled in it
                yield part[0].id, part[-1].id


def _skip(ctx: _Context, order_ids: list[int]) -> None:
    with ctx.db.write() as conn:
        invoice_store.mark_skipped(conn, order_ids, _NOTHING_FULFILLED)
    ctx.stats.skipped += len(order_ids)


def _counted(ctx: _Context, block: Block) -> Block:
    ctx.stats.orders += block.orders
    ctx.stats.items += block.items
    return block


def _from_rows(ctx: _Context, first: int, last: int) -> Block:
    """The lines of the orders the run marked from ``first`` to ``last``, built here from rows."""
    with ctx.db.read() as conn:
        lines, orders, items, empty = _lines_from_rows(conn, ctx, first, last)
    if empty:
        _skip(ctx, empty)
    return Block(files.gzip_members(lines, files.PIECE_BYTES) if ctx.compress else lines, orders, items)


def _lines_from_rows(conn: Any, ctx: _Context, first: int, last: int) -> tuple[bytes, int, int, list[int]]:
    heads = invoice_store.feeding_orders(conn, ctx.sel.run_id, first, last)
    ids = [h.id for h in heads]
    if not ids:
        return b"", 0, 0, []
    lines: dict[int, list[Any]] = {}
    for row in invoice_store.fulfilled_lines(conn, ids):
        lines.setdefault(row.order_id, []).append(row)
    places: dict[int, dict[str, Any]] = {}
    for row in invoice_store.addresses(conn, ids):
        places.setdefault(row.order_id, {})[row.kind] = row
    methods = invoice_store.shipping_methods(conn, ids)
    people = invoice_store.customers_of(conn, (h.customer_id for h in heads if h.customer_id))
    out: list[bytes] = []
    empty: list[int] = []
    items = 0
    for head in heads:
        if head.id not in lines:
            empty.append(head.id)
            continue
        items += len(lines[head.id])
        out.append(orjson.dumps(_record(head, lines[head.id], places.get(head.id, {}), methods.get(head.id),
                                        people.get(head.customer_id), ctx)) + b"\n")
    return b"".join(out), len(out), items, empty


def _address(row: Any) -> dict[str, Any] | None:
    if row is None:
        return None
    return {name: getattr(row, name) for name in FEED_ADDRESS_FIELDS}


def _record(head: Any, lines: list[Any], places: dict[str, Any], method: str | None, person: Any,
            ctx: _Context) -> dict[str, Any]:
    """One order of the feed (money as the order's currency shows it, times in ISO 8601 UTC)."""
    currency = head.currency
    return {
        "v": FEED_VERSION, "order_id": head.id, "shop": ctx.shops.get(head.shop_id), "name": head.name,
        "number": head.number, "created_at": head.source_created_at.isoformat(), "currency": head.currency,
        "email": head.email, "shipping_method": head.shipping_method or method,
        "total_shipping": money.show(head.total_shipping, currency), "taxes_included": bool(head.taxes_included),
        "customer": None if person is None else {"first_name": person.first_name, "last_name": person.last_name,
                                                 "email": person.email, "phone": person.phone},
        "billing": _address(places.get("billing")), "shipping": _address(places.get("shipping")),
        "items": [{"line": r.shopify_id, "sku": r.sku, "barcode": r.barcode, "title": r.title,
                   "ordered": r.ordered, "price": money.show(r.price, currency),
                   "discount": money.show(r.total_discount, currency), "tax": money.show(r.tax, currency),
                   "facility_id": r.facility_id, "store": ctx.stores.get(r.facility_id),
                   "quantity": r.quantity, "fulfilled_at": r.fulfilled_at.isoformat()} for r in lines],
    }

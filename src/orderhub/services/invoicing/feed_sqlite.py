"""SQLite only: the feed lines of a batch of orders, written by the database's JSON functions.

The records are exactly those :func:`orderhub.services.invoicing.feed._record` builds from rows
(its reference, on every database), at a fraction of the cost: SQLite formats every value (amounts
through ``money()``, :func:`orderhub.domain.money.show` registered on the connection), and Python
only joins the pieces. Light on purpose (``sqlite3``, ``zlib``; no SQLAlchemy), so the
feed's reader processes (:mod:`orderhub.services.invoicing.workers`) can run it: each opens its
own connection and reads in a transaction of its own, on a CPU of its own.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Sequence
from decimal import Decimal

from orderhub.domain.invoicing import FEED_ADDRESS_FIELDS, FULFILLED_UNITS
from orderhub.domain.money import show
from orderhub.services.invoicing.files import PIECE_BYTES, gzip_members

# The SQL below names the tables and columns of orderhub.adapters.store.schema (not imported: too heavy here).


def _iso(column: str) -> str:
    """A stored UTC time (SQLITE_TIME_FORMAT text) as ``datetime.isoformat()`` writes it: T, no zero
    microseconds, +00:00."""
    return (f"replace(CASE WHEN substr({column}, 20) = '.000000' THEN substr({column}, 1, 19) ELSE {column} END, "
            f"' ', 'T') || '+00:00'")


def _json_object(alias: str, columns: Sequence[str]) -> str:
    return "json_object(" + ", ".join(f"'{c}', {alias}.{c}" for c in columns) + ")"


# The orders run :run marked ``feeding`` from :first to :last (invoice_store.mark_feeding).
_FEEDING = "oi.order_id >= :first AND oi.order_id <= :last AND oi.feed_run_id = :run AND oi.status = 'feeding'"
_FULFILLED = "u.status IN (" + ", ".join(f"'{s}'" for s in FULFILLED_UNITS) + ") AND u.facility_id IS NOT NULL"

# Per order: the record up to taxes_included, then customer, billing and shipping (each NULL when absent).
HEADS = f"""
SELECT o.id,
  CAST(json_object('v', :version, 'order_id', o.id, 'shop', sh.domain, 'name', o.name, 'number', o.number,
    'created_at', {_iso('o.source_created_at')}, 'currency', o.currency, 'email', o.email,
    'shipping_method', coalesce(nullif(o.shipping_method, ''), (SELECT sl.title FROM order_shipping_lines sl
                                                                WHERE sl.order_id = o.id ORDER BY sl.id LIMIT 1)),
    'total_shipping', money(o.total_shipping, o.currency),
    'taxes_included', json(CASE WHEN o.taxes_included THEN 'true' ELSE 'false' END))
  AS BLOB),
  (SELECT CAST({_json_object('c', ('first_name', 'last_name', 'email', 'phone'))} AS BLOB) FROM customers c
   WHERE c.id = o.customer_id),
  (SELECT CAST({_json_object('a', FEED_ADDRESS_FIELDS)} AS BLOB) FROM order_addresses a
   WHERE a.order_id = o.id AND a.kind = 'billing'),
  (SELECT CAST({_json_object('a', FEED_ADDRESS_FIELDS)} AS BLOB) FROM order_addresses a
   WHERE a.order_id = o.id AND a.kind = 'shipping')
FROM order_invoices oi JOIN orders o ON o.id = oi.order_id LEFT JOIN shops sh ON sh.id = o.shop_id
WHERE {_FEEDING}
ORDER BY o.id"""

# Per order, line and facility (in that order): the item, with what was fulfilled there and when.
ITEMS = f"""
SELECT g.order_id,
  CAST(json_object('line', i.shopify_id, 'sku', i.sku, 'barcode', v.barcode, 'title', i.title,
    'ordered', i.quantity, 'price', money(i.price, o.currency), 'discount', money(i.total_discount, o.currency),
    'tax', money(i.tax, o.currency),
    'facility_id', g.facility_id, 'store', coalesce(nullif(f.pos_store_code, ''), f.code), 'quantity', g.quantity,
    'fulfilled_at', {_iso('g.fulfilled_at')}) AS BLOB)
FROM (SELECT u.order_id, u.item_id, u.facility_id, count(*) AS quantity,
             max(coalesce(s.shipped_at, u.updated_at)) AS fulfilled_at
      FROM order_invoices oi JOIN order_units u ON u.order_id = oi.order_id
      LEFT JOIN shipments s ON s.id = u.shipment_id
      WHERE {_FEEDING} AND {_FULFILLED}
      GROUP BY u.order_id, u.item_id, u.facility_id) g
JOIN order_items i ON i.id = g.item_id JOIN orders o ON o.id = g.order_id
LEFT JOIN variants v ON v.shop_id = o.shop_id AND v.shopify_id = i.variant_shopify_id
LEFT JOIN facilities f ON f.id = g.facility_id
ORDER BY g.order_id, g.item_id, g.facility_id"""

_connection: tuple[str, sqlite3.Connection] | None = None  # a reader process's own (it reads one database)


@functools.lru_cache(maxsize=4096)
def _money(amount: str, currency: str | None) -> str:
    """SQL ``money(amount, currency)``: a stored amount (decimal text) as the feed built from rows
    writes it. Cached: a feed repeats the same few prices and taxes over and over."""
    return show(Decimal(amount), currency)


def connect(path: str) -> sqlite3.Connection:
    """A connection that only reads (autocommit: :func:`lines_of` opens its own transaction), with
    ``money()`` for the SQL above."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA busy_timeout=30000")
    conn.execute("PRAGMA query_only=1")
    conn.create_function("money", 2, _money, deterministic=True)
    return conn


def read_batch(path: str, run_id: int, version: int, compress: bool, task: tuple[int, int]
               ) -> tuple[bytes, int, int, list[int]]:
    """:func:`lines_of` in a reader process (:mod:`orderhub.services.invoicing.workers`), on the
    process's connection to ``path``."""
    global _connection
    if _connection is None or _connection[0] != path:
        _connection = (path, connect(path))
    return lines_of(_connection[1], run_id, version, compress, task)


def lines_of(conn: sqlite3.Connection, run_id: int, version: int, compress: bool, task: tuple[int, int]
             ) -> tuple[bytes, int, int, list[int]]:
    """The feed lines of the orders run ``run_id`` marked from ``task[0]`` to ``task[1]``, in id order
    (gzip members if ``compress``): ``(lines, orders, item lines, ids of orders with nothing fulfilled)``."""
    first, last = task
    params = {"run": run_id, "first": first, "last": last, "version": version}
    conn.execute("BEGIN")  # one snapshot for both statements
    try:
        heads = conn.execute(HEADS, params).fetchall()
        rows = conn.execute(ITEMS, params).fetchall()
    finally:
        conn.execute("COMMIT")
    lines, empty = assemble(heads, rows)
    return (gzip_members(lines, PIECE_BYTES) if compress else lines), len(heads) - len(empty), len(rows), empty


def assemble(heads: list[tuple[int, bytes, bytes | None, bytes | None, bytes | None]],
             rows: list[tuple[int, bytes]]) -> tuple[bytes, list[int]]:
    """The lines (the pieces of :data:`HEADS` with the items of :data:`ITEMS`), and the orders left out
    because nothing in them was fulfilled from a facility."""
    items: dict[int, list[bytes]] = {}
    for order_id, item in rows:
        if (mine := items.get(order_id)) is None:
            items[order_id] = [item]
        else:
            mine.append(item)
    parts: list[bytes] = []
    empty: list[int] = []
    for order_id, head, customer, billing, shipping in heads:
        if (mine := items.get(order_id)) is None:
            empty.append(order_id)
            continue
        parts += (head[:-1], b',"customer":', customer or b"null", b',"billing":', billing or b"null",
                  b',"shipping":', shipping or b"null", b',"items":[', b",".join(mine), b"]}\n")
    return b"".join(parts), empty

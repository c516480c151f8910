"""Finding orders by any part of their name, channel order id, e-mail, note or buyer's name.

The order lists (the console's, the API's, ``orderhub orders list``) read a page of order ids from
a :class:`Source`: the orders table, or the search index joined to it (schema/search.py). A query of
three characters or more is looked up in the trigram index, any case, in any script; its ``%``,
``_``, quotes and FTS5 words (``AND``, ``NEAR(``, ``*``) are characters like any other. A shorter one
cannot use trigrams: it finds the orders whose name or channel order id is exactly that (``12`` and
``#12``), through the name and id indexes.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, select

from orderhub.adapters.store.schema import orders, shops
from orderhub.adapters.store.schema.search import MIN_FRAGMENT, order_search_doc, order_search_fts


def normalise(text: str | None) -> str:
    """The query as the index compares it: composed Unicode (NFC), whitespace runs (line breaks too) as one space."""
    return " ".join(unicodedata.normalize("NFC", text or "").split())


def fts5_phrase(text: str) -> str:
    """``text`` as one FTS5 phrase: quoted, its own quotes doubled, so nothing in it is query syntax."""
    return '"' + text.replace('"', '""') + '"'


def like_fragment(text: str) -> str:
    """``%text%`` for LIKE/ILIKE with its ``\\``, ``%`` and ``_`` escaped (backslash is the default escape)."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


@dataclass(frozen=True)
class Source:
    """Where a page of orders is read from: ``select(key).select_from(frm).where(*where, ...)``, ordered by
    ``key`` (the order's id, read from the index when searching so the index gives the order)."""

    frm: Any
    key: Any
    where: list[Any] = field(default_factory=list)


def exact_ids(conn: Connection, ref: str) -> list[int]:
    """Orders named ``ref`` (with or without its ``#``) or whose channel order id is ``ref``. Looked up shop by
    shop in the (shop_id, name) and (shop_id, shopify_id) indexes: a handful of rows, whatever the table's size."""
    ref = ref.strip()
    if not ref:
        return []
    number = ref.lstrip("#")
    names = sorted({ref, f"#{number}"})
    shop_ids = [r.id for r in conn.execute(select(shops.c.id))]
    found = set(conn.execute(select(orders.c.id).where(orders.c.shop_id.in_(shop_ids),
                                                       orders.c.name.in_(names))).scalars())
    found |= set(conn.execute(select(orders.c.id).where(orders.c.shop_id.in_(shop_ids),
                                                        orders.c.shopify_id.in_(sorted({ref, number})))).scalars())
    return sorted(found)


def source(conn: Connection, text: str | None) -> Source:
    """The orders matching ``text`` (all of them when it is empty)."""
    query = normalise(text)
    if not query:
        return Source(orders, orders.c.id)
    if len(query) < MIN_FRAGMENT:
        return Source(orders, orders.c.id, [orders.c.id.in_(exact_ids(conn, query) or [0])])
    if conn.dialect.name == "sqlite":
        fts = order_search_fts
        return Source(fts.join(orders, orders.c.id == fts.c.rowid), fts.c.rowid, [fts.c.doc.match(fts5_phrase(query))])
    # The matches first, through the GIN index: left to choose, PostgreSQL walks the newest-first primary key
    # and tests every document when it expects a page soon, which reads the whole table for a rare fragment.
    doc = order_search_doc
    matches = (select(doc.c.order_id).where(doc.c.doc.ilike(like_fragment(query)))
               .cte("matches").prefix_with("MATERIALIZED"))
    return Source(matches.join(orders, orders.c.id == matches.c.order_id), matches.c.order_id)


def shop_id(conn: Connection, domain: str) -> int:
    """The shop's id (0, which no shop has, for none), looked up first so the planner sees the value: a small
    shop is read through (shop_id, id), a big one along the primary key."""
    found = conn.execute(select(shops.c.id).where(shops.c.domain == domain.lower())).scalar()
    return int(found) if found is not None else 0

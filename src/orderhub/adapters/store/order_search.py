"""Finding orders by any part of their name, channel order id, e-mail, note or buyer's name.

The order lists (the console's, the API's, ``orderhub orders list``) read a page of order ids from
a :class:`Source`: the orders table with a condition that says which orders match. A query of three
characters or more is looked up in the trigram indexes of the three tables that hold the text
(schema/search.py), any case, in any script; its ``%``, ``_``, quotes and FTS5 words (``AND``,
``NEAR(``, ``*``) are characters like any other. A shorter one cannot use trigrams: it finds the
orders whose name or channel order id is exactly that (``12`` and ``#12``), through the name and id indexes.

SQLite: each table's FTS5 index says which rows hold a trigram. For each table the fragment's trigrams
are counted (up to a bound, by reading their lists), and its rarest (up to three) are ANDed: those rows
are the candidates, and the whole fragment is checked on each (``orderhub_contains``). The orders table's own
candidates are checked as the page is read, newest first, in growing batches (:func:`page`): a page reads about
the rows it shows, not every candidate (on a cold cache each is a read from disk). A fragment all of whose
trigrams are common in a table (more than ``COMMON`` rows each: a surname one order in 27 has) is checked
row by row instead, as the list reads orders newest first through the index of its filter (or the primary
key): such a fragment fills a page within a few thousand rows, and a rare filter bounds the walk.

PostgreSQL: each table's GIN index on its text (``pg_trgm``) gives its matches; the planner joins them.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import orjson
from sqlalchemy import Connection, column, exists, func, literal, literal_column, or_, select, text, union

from orderhub.adapters.store import order_filters
from orderhub.adapters.store.schema import customers, order_addresses, orders, shops
from orderhub.adapters.store.schema import search as idx

FIRST_BOUND = 1_000  # rows: a first, cheap count of every trigram; most fragments have one rarer than this
COMMON = 20_000  # rows: a trigram in more is common; a table whose trigrams all are is checked row by row
RAREST = 3  # trigrams ANDed: more rarely narrows the candidates, and each costs a walk of its list


def normalise(text: str | None) -> str:
    """The query as the index compares it: composed Unicode (NFC), whitespace runs (line breaks too) as one space."""
    return " ".join(unicodedata.normalize("NFC", text or "").split())


def fts5_phrase(text: str) -> str:
    """``text`` as one FTS5 string: quoted, its own quotes doubled, so nothing in it is query syntax."""
    return '"' + text.replace('"', '""') + '"'


def like_fragment(text: str) -> str:
    """``%text%`` for LIKE/ILIKE with its ``\\``, ``%`` and ``_`` escaped (backslash is the default escape)."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def trigrams(fragment: str) -> list[str]:
    """The fragment's distinct trigrams, in order of first appearance."""
    return list(dict.fromkeys(fragment[i:i + 3] for i in range(len(fragment) - 2)))


@dataclass(frozen=True)
class Source:
    """Where a page of orders is read from: ``select(key).select_from(frm).where(*where, ...)``, ordered by
    ``key`` (the order's id); read it with :func:`page`. ``candidates``: when given, every match is among these
    ids (newest first), and ``where`` checks each as it is read. ``walks``: the search is checked row by row as
    the page is read (a common fragment, or candidates), so counting every match would read far: the lists
    count fewer."""

    frm: Any
    key: Any
    where: list[Any] = field(default_factory=list)
    walks: bool = False
    candidates: list[int] | None = None


FIRST_BATCH = 64  # candidates checked for a page at first; each further batch four times larger


def page(conn: Connection, found: Source, where: list[Any], *, limit: int, below: int | None = None,
         above: int | None = None, newest_first: bool = True, days: tuple[date, ...] = ()) -> list[int]:
    """Up to ``limit`` ids of the orders ``found`` and ``where`` select, strictly between ``above`` and
    ``below`` when given, newest first (or oldest first). Candidates are checked in batches in page order,
    so a page reads about as many rows as it shows, however many candidates there are. ``days``: the filters'
    short range of creation days, read day by day (order_filters.narrow)."""
    key = found.key
    conditions = list(found.where) + list(where)
    if below is not None:
        conditions.append(key < below)
    if above is not None:
        conditions.append(key > above)
    if days and found.candidates is None:
        return order_filters.merged(conn, key, found.frm, conditions, days, limit=limit, newest_first=newest_first)
    stmt = select(key).select_from(found.frm).where(*conditions).order_by(key.desc() if newest_first else key)
    if found.candidates is None:
        return [r[0] for r in conn.execute(stmt.limit(limit))]
    todo = [i for i in found.candidates if (below is None or i < below) and (above is None or i > above)]
    if not newest_first:
        todo.reverse()
    out: list[int] = []
    start, size = 0, FIRST_BATCH
    while start < len(todo) and len(out) < limit:
        batch = todo[start:start + size]
        out += [r[0] for r in conn.execute(stmt.where(key.in_(_json_ids(batch))).limit(limit - len(out)))]
        start, size = start + size, size * 4
    return out


def _json_ids(ids: list[int]) -> Any:
    """``ids`` as one bound JSON array read by json_each (one parameter, however many ids)."""
    return select(column("value")).select_from(func.json_each(literal(orjson.dumps(ids).decode())))


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


def source(conn: Connection, text_: str | None) -> Source:
    """The orders matching ``text_`` (all of them when it is empty)."""
    query = normalise(text_)
    if not query:
        return Source(orders, orders.c.id)
    if len(query) < idx.MIN_FRAGMENT:
        return Source(orders, orders.c.id, [orders.c.id.in_(exact_ids(conn, query) or [0])])
    if conn.dialect.name == "sqlite":
        return _sqlite_source(conn, query)
    return _postgres_source(query)


# -- SQLite ------------------------------------------------------------------------------------------------------

# Each indexed table: its FTS5 table, the table itself, and how a match there names its orders.
_SQLITE_TABLES = (
    (idx.order_search_fts, orders),
    (idx.address_search_fts, order_addresses),
    (idx.customer_search_fts, customers),
)


def _counts(conn: Connection, fts: Any, grams: list[str], bound: int) -> dict[str, int]:
    """How many rows of ``fts`` hold each trigram, up to ``bound + 1`` (reading at most that much of its list)."""
    name = fts.name
    probes = [f"(SELECT count(*) FROM (SELECT rowid FROM {name} WHERE {name} MATCH :g{i} LIMIT {bound + 1}))"
              for i in range(len(grams))]
    row = conn.execute(text(f"SELECT {', '.join(probes)}"),
                       {f"g{i}": fts5_phrase(g) for i, g in enumerate(grams)}).one()
    return dict(zip(grams, row, strict=True))


def _rarest(conn: Connection, fts: Any, grams: list[str]) -> list[str] | None:
    """The fragment's rarest trigrams in ``fts`` (up to RAREST; none when one of them is in no row: nothing there
    matches), or None when each is in more than COMMON rows."""
    counts = _counts(conn, fts, grams, FIRST_BOUND)
    if min(counts.values()) > FIRST_BOUND:
        # Every trigram is in more than a thousand rows: count further, the ones holding anything but letters
        # first (digits, '@', spaces are rarer), and stop at the first RAREST found under COMMON.
        counts = {}
        for g in sorted(grams, key=lambda g: sum(c.isalpha() for c in g)):
            counts[g] = _counts(conn, fts, [g], COMMON)[g]
            if sum(1 for n in counts.values() if n <= COMMON) >= RAREST:
                break
        counts = {g: n for g, n in counts.items() if n <= COMMON}
        if not counts:
            return None
    rarest = sorted(counts, key=lambda g: counts[g])[:RAREST]
    return [] if counts[rarest[0]] == 0 else rarest


def _sqlite_source(conn: Connection, query: str) -> Source:
    grams, needle = trigrams(query), query.lower()
    matched: set[int] = set()  # orders found through rare trigrams in their addresses or customers, checked
    unchecked: list[int] = []  # orders whose own columns hold the rare trigrams: checked as the page reads them
    own_check: Any = None  # the fragment checked on the order's own columns, when they may hold it
    walked: list[Any] = []  # tables checked row by row
    for fts, tbl in _SQLITE_TABLES:
        rare = _rarest(conn, fts, grams)
        checked = func.orderhub_contains(literal_column(f"({idx.SQLITE_TEXT[tbl.name]})"), needle)
        if rare is None:
            walked.append(_row_check(tbl, checked))
            continue
        if not rare:
            continue
        candidates = select(fts.c.rowid).where(text(f"{fts.name} MATCH :m").bindparams(
            m=" AND ".join(fts5_phrase(g) for g in rare)))
        if tbl is orders:  # its rowids are the orders' ids: read from the index alone, no row yet
            unchecked = list(conn.execute(candidates).scalars())
            own_check = checked
        else:
            matched.update(conn.execute(_orders_of(tbl, candidates, checked)).scalars())
    where: list[Any] = []
    if matched:
        where.append(orders.c.id.in_(_json_ids(sorted(matched))))
    if walked:  # the walk reads every order's row anyway: its own columns are checked there, no candidates
        return Source(orders, orders.c.id, [or_(*where, *_own(own_check), *walked)], walks=True)
    if unchecked:
        ids = sorted(matched.union(unchecked), reverse=True)
        return Source(orders, orders.c.id, [or_(*where, own_check)], walks=True, candidates=ids)
    if not where:
        return Source(orders, orders.c.id, [orders.c.id.in_([0])])
    return Source(orders, orders.c.id, where)


def _own(check: Any) -> list[Any]:
    return [] if check is None else [check]


def _orders_of(tbl: Any, candidates: Any, checked: Any) -> Any:
    """The ids of the orders whose ``tbl`` rows among ``candidates`` hold the fragment."""
    if tbl is orders:
        return select(orders.c.id).where(orders.c.id.in_(candidates), checked)
    if tbl is order_addresses:
        return select(order_addresses.c.order_id).where(order_addresses.c.id.in_(candidates), checked)
    return select(orders.c.id).where(orders.c.customer_id.in_(
        select(customers.c.id).where(customers.c.id.in_(candidates), checked)))


def _row_check(tbl: Any, checked: Any) -> Any:
    """The fragment checked on the order being read (its own columns, its addresses', its customer's)."""
    if tbl is orders:
        return checked
    if tbl is order_addresses:
        return exists().where(order_addresses.c.order_id == orders.c.id, checked)
    return exists().where(customers.c.id == orders.c.customer_id, checked)


# -- PostgreSQL ----------------------------------------------------------------------------------------------------

def _postgres_source(query: str) -> Source:
    # Each table's matches through its own GIN index, then the orders they name. Materialised: left to choose,
    # PostgreSQL walks the newest-first primary key and tests every order when it expects a page soon, which reads
    # the whole table for a rare fragment.
    pattern = like_fragment(query)
    matches = union(
        select(orders.c.id.label("order_id")).where(idx.postgres_text("orders").ilike(pattern)),
        select(order_addresses.c.order_id).where(idx.postgres_text("order_addresses").ilike(pattern)),
        select(orders.c.id).where(orders.c.customer_id.in_(
            select(customers.c.id).where(idx.postgres_text("customers").ilike(pattern)))),
    ).cte("matches").prefix_with("MATERIALIZED")
    return Source(matches.join(orders, orders.c.id == matches.c.order_id), matches.c.order_id)


def shop_id(conn: Connection, domain: str) -> int:
    """The shop's id (0, which no shop has, for none), looked up first so the planner sees the value: a small
    shop is read through (shop_id, id), a big one along the primary key."""
    found = conn.execute(select(shops.c.id).where(shops.c.domain == domain.lower())).scalar()
    return int(found) if found is not None else 0

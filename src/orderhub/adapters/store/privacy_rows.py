"""Rows of any table, by their key, for privacy requests: read them, search text columns for a person's values a
batch at a time, and write back what was scrubbed (services/privacy/). Every statement is parameterized; a search
reads at most ``batch`` rows at a time, whatever the table's size."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from typing import Any

from sqlalchemy import Column, Connection, Table, bindparam, func, or_, select, update
from sqlalchemy.sql.elements import ColumnElement

from orderhub.adapters.store.schema import metadata

CHUNK = 500  # keys per IN (...) list


def table(name: str) -> Table:
    return metadata.tables[name]


def key_of(t: Table) -> Column[Any]:
    """The table's one-column primary key (every table a privacy request reads or writes has one)."""
    [key] = list(t.primary_key.columns)
    return key


def chunks(values: Collection[Any], size: int = CHUNK) -> Iterator[list[Any]]:
    ordered = sorted(values)
    for start in range(0, len(ordered), size):
        yield ordered[start:start + size]


def read(conn: Connection, t: Table, keys: Collection[Any], columns: Sequence[str] | None = None) -> list[Any]:
    """The rows of ``t`` with these keys (all columns, or the key and ``columns``), in key order."""
    key = key_of(t)
    cols = [t.c[c] for c in columns] if columns is not None else list(t.c)
    if columns is not None and key.name not in columns:
        cols.insert(0, key)
    out: list[Any] = []
    for part in chunks(keys):
        out += conn.execute(select(*cols).where(key.in_(part)).order_by(key)).all()
    return out


def keys_where(conn: Connection, t: Table, condition: ColumnElement[bool]) -> set[Any]:
    key = key_of(t)
    return set(conn.execute(select(key).where(condition)).scalars())


def keys_in(conn: Connection, t: Table, column: str, values: Collection[Any]) -> set[Any]:
    """Keys of the rows whose ``column`` is one of ``values``."""
    out: set[Any] = set()
    for part in chunks(values):
        out |= keys_where(conn, t, t.c[column].in_(part))
    return out


def search(conn: Connection, t: Table, columns: Sequence[str], terms: Sequence[str], *,
           where: ColumnElement[bool] | None = None, batch: int = CHUNK) -> Iterator[list[Any]]:
    """Batches of rows (key and ``columns``) where one of the columns holds one of the lower-case ``terms``
    (case aside), in key order. The database filters; the caller decides on each row (see scrub.Person.mentions)."""
    if not columns or not terms:
        return
    key = key_of(t)
    found = or_(*(func.lower(t.c[c]).contains(term, autoescape=True) for c in columns for term in terms))
    condition = found if where is None else found & where
    after: Any = None
    while True:
        stmt = select(key, *(t.c[c] for c in columns)).where(condition).order_by(key).limit(batch)
        if after is not None:
            stmt = stmt.where(key > after)
        rows = conn.execute(stmt).all()
        if not rows:
            return
        yield rows
        if len(rows) < batch:
            return
        after = rows[-1][0]


def key_batches(conn: Connection, t: Table, *, where: ColumnElement[bool] | None = None,
                batch: int = CHUNK) -> Iterator[list[Any]]:
    """Every key of ``t`` (meeting ``where``), a batch at a time, in order."""
    key = key_of(t)
    after: Any = None
    while True:
        stmt = select(key).order_by(key).limit(batch)
        if where is not None:
            stmt = stmt.where(where)
        if after is not None:
            stmt = stmt.where(key > after)
        keys = list(conn.execute(stmt).scalars())
        if not keys:
            return
        yield keys
        if len(keys) < batch:
            return
        after = keys[-1]


def rewrite(conn: Connection, t: Table, changes: dict[Any, dict[str, Any]]) -> int:
    """Write new values of some columns of some rows (``{key: {column: value}}``), a statement per set of
    columns changed; the number of rows written."""
    key = key_of(t)
    by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for k, values in changes.items():
        if values:
            cols = tuple(sorted(values))
            by_columns.setdefault(cols, []).append({"p__key": k, **{f"p_{c}": values[c] for c in cols}})
    for cols, params in by_columns.items():
        conn.execute(update(t).where(key == bindparam("p__key")).values({c: bindparam(f"p_{c}") for c in cols}),
                     params)
    return sum(len(p) for p in by_columns.values())


def set_all(conn: Connection, t: Table, keys: Collection[Any], values: dict[str, Any]) -> int:
    """The same values on every row of these keys."""
    if not values:
        return 0
    key = key_of(t)
    n = 0
    for part in chunks(keys):
        n += int(conn.execute(update(t).where(key.in_(part)).values(**values)).rowcount)
    return n

"""A batch of rows as one statement, in the driver's own SQL.

SQLAlchemy's executemany builds and type-processes the parameters of every row in Python,
which is most of what writing a batch pipeline's rows costs (the workflow's progress and
step log, unit changes, the inventory ledger, the outbox, the order timeline). Here a batch
goes to the database as one table of rows that a statement reads from (:func:`source`):
on SQLite a ``VALUES`` list of ``?`` (its statement text made once per row count), on
PostgreSQL ``unnest`` of one array per column (a short text psycopg and the server parse
once: a ``VALUES`` list of thousands of placeholders costs psycopg more than it saves).
Values are converted only in the columns whose type (``types.py``) writes them otherwise:
aware UTC times (text on SQLite), exact decimals (text on SQLite).
"""

from __future__ import annotations

import functools
import itertools
import operator
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Table

from orderhub.adapters.store.types import Money, UTCDateTime, sqlite_time

_SQLITE_MAX_PARAMETERS = 32_000  # SQLite allows 32,766 a statement; PostgreSQL's arrays have no such limit


def chunks(conn: Connection, rows: Sequence[Any], columns: int) -> list[Sequence[Any]]:
    """``rows`` cut into as few batches as one statement can take."""
    if conn.dialect.name != "sqlite":
        return [rows]
    per_statement = max(1, _SQLITE_MAX_PARAMETERS // columns)
    return [rows[start:start + per_statement] for start in range(0, len(rows), per_statement)]


def source(conn: Connection, types: Sequence[str], rows: Sequence[Sequence[Any]], alias: str
           ) -> tuple[str, list[Any]]:
    """A FROM item holding ``rows`` (already converted, see :func:`converters`), its columns named
    ``column1``, ``column2``, ... as both databases name a ``VALUES`` list's (on PostgreSQL also ``ord``,
    the row's place); ``types``: the columns' PostgreSQL types. Returns the SQL and its parameters, in the
    driver's style."""
    if conn.dialect.name == "sqlite":
        return f"(VALUES {_values(len(rows), len(types))}) AS {alias}", [v for row in rows for v in row]
    return _unnest(tuple(types), alias), [list(column) for column in zip(*rows, strict=True)]


@functools.lru_cache(maxsize=128)
def _values(n: int, width: int) -> str:
    row = "(" + ", ".join(["?"] * width) + ")"
    return ", ".join([row] * n)


@functools.lru_cache(maxsize=128)
def _unnest(types: tuple[str, ...], alias: str) -> str:
    arrays = ", ".join(f"%b::{t}[]" for t in types)  # binary: psycopg escapes text arrays element by element
    names = ", ".join(f"column{i}" for i in range(1, len(types) + 1))
    return f"unnest({arrays}) WITH ORDINALITY AS {alias}({names}, ord)"


def converters(conn: Connection, table: Table, columns: Sequence[str]) -> list[Callable[[Any], Any] | None]:
    """Per column, how its values go to the driver: as the column's type writes them (None: as they are)."""
    sqlite = conn.dialect.name == "sqlite"
    out: list[Callable[[Any], Any] | None] = []
    for c in columns:
        column_type = table.c[c].type
        if isinstance(column_type, UTCDateTime):
            out.append(_same_as_last(_sqlite_time) if sqlite else _aware)
        elif sqlite and isinstance(column_type, Money):
            out.append(_decimal_text)
        else:
            out.append(None)
    return out


def insert_rows(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert ``rows`` (dicts with the same keys, columns of ``table``): one statement for any batch
    orderhub writes."""
    if rows:
        columns = tuple(rows[0])
        pick = operator.itemgetter(*columns)
        insert_tuples(conn, table, columns, [pick(row) for row in rows] if len(columns) > 1
                      else [(pick(row),) for row in rows])


def insert_tuples(conn: Connection, table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """:func:`insert_rows` for rows built as tuples, their values in ``columns``' order: what a batch
    pipeline writes is made this way, with no dict per row."""
    if not rows:
        return
    columns = tuple(columns)
    sqlite = conn.dialect.name == "sqlite"
    convert = [(i, to) for i, to in enumerate(converters(conn, table, columns)) if to is not None]
    width = len(columns)
    for chunk in chunks(conn, rows, width):
        if sqlite:  # one flat parameter list; a converting column is rewritten in place, a slice at a time
            params: list[Any] = list(itertools.chain.from_iterable(chunk))
            for i, to in convert:
                params[i::width] = map(to, params[i::width])
            conn.exec_driver_sql(_insert_sql(conn.dialect, table, columns, len(chunk)), tuple(params))
        else:  # one array per column
            arrays = [list(column) for column in zip(*chunk, strict=True)]
            for i, to in convert:
                arrays[i] = list(map(to, arrays[i]))
            conn.exec_driver_sql(_insert_sql(conn.dialect, table, columns, 0), tuple(arrays))


@functools.lru_cache(maxsize=128)
def _insert_sql(dialect: Any, table: Table, columns: tuple[str, ...], n: int) -> str:
    """The statement inserting ``n`` rows (SQLite: a VALUES list of ``n``; PostgreSQL: arrays, any number)."""
    quote = dialect.identifier_preparer.quote
    names = ", ".join(quote(c) for c in columns)
    picked = ", ".join(f"r.column{i}" for i in range(1, len(columns) + 1))
    if dialect.name == "sqlite":
        rows = f"(VALUES {_values(n, len(columns))}) AS r"
        in_order = ""
    else:
        rows = _unnest(_types(dialect, table, columns), "r")
        in_order = " ORDER BY r.ord"  # ids follow the rows' order
    return f"INSERT INTO {quote(table.name)} ({names}) SELECT {picked} FROM {rows}{in_order}"


@functools.lru_cache(maxsize=128)
def _types(dialect: Any, table: Table, columns: tuple[str, ...]) -> tuple[str, ...]:
    """The columns' types as the database names them (for ``unnest``'s arrays)."""
    return tuple(table.c[c].type.compile(dialect=dialect) for c in columns)


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}: orderhub stores aware UTC times only")
    return value


def _sqlite_time(value: datetime | None) -> str | None:
    return None if value is None else sqlite_time(_aware(value))  # type: ignore[arg-type]


def _decimal_text(value: Decimal | None) -> str | None:
    return None if value is None else str(Decimal(value))


def _same_as_last(convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``convert``, answering at once for the value it was given last (a batch's rows share one time)."""
    last: list[Any] = [object(), None]

    def converted(value: Any) -> Any:
        if value is not last[0]:
            last[:] = [value, convert(value)]
        return last[1]

    return converted

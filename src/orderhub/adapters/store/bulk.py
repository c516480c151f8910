"""Many rows into one table with one multi-row INSERT, in the driver's own SQL.

SQLAlchemy's executemany builds and type-processes the parameters of every row in Python,
which is most of what writing a batch pipeline's log rows costs (the workflow's step log,
the inventory ledger, the outbox, the order timeline). Here the statement text is made once
per table, columns and row count, and the values go to the driver as they are, converted
only where SQLite stores a type as text (aware UTC times, exact decimals) the way the
column types of ``types.py`` write them.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Table

from orderhub.adapters.store.types import sqlite_time

# Parameters a statement: SQLite allows 32,766, PostgreSQL 65,535.
_MAX_PARAMETERS = {"sqlite": 32_000}
_DEFAULT_MAX_PARAMETERS = 60_000


def insert_rows(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert ``rows`` (dicts with the same keys, columns of ``table``) in as few statements as the
    database's parameter limit allows: one for any batch orderhub writes."""
    if not rows:
        return
    columns = tuple(rows[0])
    sqlite = conn.dialect.name == "sqlite"
    per_statement = max(1, _MAX_PARAMETERS.get(conn.dialect.name, _DEFAULT_MAX_PARAMETERS) // len(columns))
    for start in range(0, len(rows), per_statement):
        chunk = rows[start:start + per_statement]
        params = [_value(row[c], sqlite) for row in chunk for c in columns]
        names = tuple(conn.dialect.identifier_preparer.quote(c) for c in (table.name, *columns))
        conn.exec_driver_sql(_insert_sql(names, len(chunk), sqlite), tuple(params))


def _value(value: Any, sqlite: bool) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: orderhub stores aware UTC times only")
        return sqlite_time(value) if sqlite else value
    if sqlite and isinstance(value, Decimal):
        return str(value)
    return value


@functools.lru_cache(maxsize=256)
def _insert_sql(names: tuple[str, ...], n: int, sqlite: bool) -> str:
    """The statement for n rows; ``names``: the table's and the columns' names, quoted where they must be."""
    table, *columns = names
    mark = "?" if sqlite else "%s"
    row = "(" + ", ".join([mark] * len(columns)) + ")"
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES {', '.join([row] * n)}"

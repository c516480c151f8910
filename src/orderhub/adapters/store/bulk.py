"""Many rows into one table with one multi-row INSERT, in the driver's own SQL.

SQLAlchemy's executemany builds and type-processes the parameters of every row in Python,
which is most of what writing a batch pipeline's log rows costs (the workflow's step log,
the inventory ledger, the outbox, the order timeline). Here the statement text is made once
per table, columns and row count, and the values go to the driver as they are, converted
only in the columns whose type (``types.py``) writes them otherwise: aware UTC times (as
text on SQLite), exact decimals (as text on SQLite).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Table

from orderhub.adapters.store.types import Money, UTCDateTime, sqlite_time

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
    convert = [_converter(table.c[c].type, sqlite) for c in columns]
    per_statement = max(1, _MAX_PARAMETERS.get(conn.dialect.name, _DEFAULT_MAX_PARAMETERS) // len(columns))
    names = tuple(conn.dialect.identifier_preparer.quote(c) for c in (table.name, *columns))
    for start in range(0, len(rows), per_statement):
        chunk = rows[start:start + per_statement]
        params = [value if to is None else to(value)
                  for row in chunk for value, to in zip((row[c] for c in columns), convert, strict=True)]
        conn.exec_driver_sql(_insert_sql(names, len(chunk), sqlite), tuple(params))


def _converter(column_type: Any, sqlite: bool) -> Callable[[Any], Any] | None:
    """How a value of this column goes to the driver: as the column type writes it (None: as it is)."""
    if isinstance(column_type, UTCDateTime):
        return _same_as_last(_sqlite_time) if sqlite else _aware
    if sqlite and isinstance(column_type, Money):
        return _decimal_text
    return None


def _same_as_last(convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``convert``, answering at once for the value it was given last (a batch's rows share one time)."""
    last: list[Any] = [object(), None]

    def converted(value: Any) -> Any:
        if value is not last[0]:
            last[:] = [value, convert(value)]
        return last[1]

    return converted


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}: orderhub stores aware UTC times only")
    return value


def _sqlite_time(value: datetime | None) -> str | None:
    return None if value is None else sqlite_time(_aware(value))  # type: ignore[arg-type]


def _decimal_text(value: Decimal | None) -> str | None:
    return None if value is None else str(Decimal(value))


@functools.lru_cache(maxsize=256)
def _insert_sql(names: tuple[str, ...], n: int, sqlite: bool) -> str:
    """The statement for n rows; ``names``: the table's and the columns' names, quoted where they must be."""
    table, *columns = names
    mark = "?" if sqlite else "%s"
    row = "(" + ", ".join([mark] * len(columns)) + ")"
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES {', '.join([row] * n)}"

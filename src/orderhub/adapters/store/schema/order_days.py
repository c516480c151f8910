"""The index that gives one creation day's orders in the order lists' order: (the day, the order's id).

An expression index (the UTC date of ``source_created_at``), written differently on each database, so not a
SQLAlchemy Index in MetaData: migration 0030 creates it with the SQL below, the queries compare the same
expression (order_filters.py; each database matches a query's expression to the index's by its text), and
tests/integration/test_migrations.py checks it by name. On SQLite times are stored as sortable text
(``YYYY-MM-DD HH:MM:SS...``, UTC): the day is its first ten characters.
"""

from __future__ import annotations

DAY_INDEX = "ix_orders_day"

_DAY_SQL = {
    "sqlite": "substr({t}.source_created_at, 1, 10)",
    "postgresql": "(({t}.source_created_at AT TIME ZONE 'UTC')::date)",
}


def day_sql(dialect: str, table: str = "orders") -> str:
    """The order's creation day (UTC) over ``table`` (orders or an alias of it), as the index holds it."""
    return _DAY_SQL[dialect].format(t=table)


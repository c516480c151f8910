"""The order search indexes: trigram indexes on the columns where an order's searchable text lives.

Not SQLAlchemy Tables or Indexes (FTS5 virtual tables and pg_trgm expression indexes have no place in
MetaData), so migration 0027 creates them with SQL and this module names them, for the queries and for
the check that the migrations build what the code declares (tests/integration/test_migrations.py).

An order is found by its name, its channel's order id, its e-mail and its note (``orders``), the names on
its addresses (``order_addresses``: ``name``, or first and last name when it has none) and its customer's
name and e-mail (``customers``). Each table's text is indexed where it lives, no joins:

- SQLite: one FTS5 external-content table per table, ``trigram`` tokenizer, ``detail='none'``
  (SQLite 3.34 or later), each kept by the three triggers FTS5's documentation gives (insert, delete,
  update of the indexed columns when they changed). Its rowid is the row's id. The index holds which rows
  hold each trigram, not where: a query ANDs a fragment's rarest trigrams and checks the whole fragment on
  those rows (``orderhub_contains``, registered on every SQLite connection). The address and customer
  names are read through views (``order_address_names``, ``customer_names``) that make them one column.
- PostgreSQL: a ``pg_trgm`` GIN index on an expression of each table's searchable columns, read by
  ``expression ILIKE '%fragment%'``; the database keeps them, no triggers.

On SQLite a migration that rebuilds one of these tables (``batch_alter_table`` with a copy) drops its
triggers: it must create them again.
"""

from __future__ import annotations

from sqlalchemy import column, literal_column, table

MIN_FRAGMENT = 3  # characters: a trigram index cannot find anything shorter

# SQLite: the FTS5 tables (rowid: the indexed row's id) and the text each row is checked against.
order_search_fts = table("order_search", column("rowid"))
address_search_fts = table("order_address_search", column("rowid"))
customer_search_fts = table("customer_search", column("rowid"))
SQLITE_TEXT = {
    "orders": "coalesce(orders.name, '') || char(10) || orders.shopify_id || char(10) || coalesce(orders.email, '') "
              "|| char(10) || coalesce(orders.note, '')",
    "order_addresses": "coalesce(order_addresses.name, trim(coalesce(order_addresses.first_name, '') || ' ' "
                       "|| coalesce(order_addresses.last_name, '')))",
    "customers": "trim(coalesce(customers.first_name, '') || ' ' || coalesce(customers.last_name, '')) || char(10) "
                 "|| coalesce(customers.email, '')",
}

# PostgreSQL: each index's expression, exactly as migration 0027 wrote it (the planner matches it by its text).
POSTGRES_TEXT = {
    "orders": r"(coalesce(name, '') || E'\n' || shopify_id || E'\n' || coalesce(email, '') || E'\n' "
              r"|| coalesce(note, ''))",
    "order_addresses": "(coalesce(name, trim(coalesce(first_name, '') || ' ' || coalesce(last_name, ''))))",
    "customers": r"(trim(coalesce(first_name, '') || ' ' || coalesce(last_name, '')) || E'\n' "
                 r"|| coalesce(email, ''))",
}


def contains(haystack: str | None, needle: str | None) -> int:
    """``orderhub_contains(text, fragment)`` on SQLite: 1 when ``text`` holds ``fragment`` in any case (Unicode
    lower case, as FTS5's trigram tokenizer folds it); ``fragment`` is given lower-cased."""
    return int(haystack is not None and needle is not None and needle in haystack.lower())


def postgres_text(table_name: str) -> object:
    """The indexed expression of ``table_name``, for a query that reads that table alone (unqualified columns)."""
    return literal_column(POSTGRES_TEXT[table_name])


# FTS5 keeps its index in shadow tables named after the virtual table (external content: no _content).
_FTS = ("order_search", "order_address_search", "customer_search")
SQLITE_TABLES = tuple(f"{t}{suffix}" for t in _FTS for suffix in ("", "_data", "_idx", "_docsize", "_config"))
SQLITE_VIEWS = ("order_address_names", "customer_names")
POSTGRES_TABLES: tuple[str, ...] = ()
POSTGRES_INDEXES = ("ix_orders_search", "ix_order_addresses_search", "ix_customers_search")
TRIGGERS = {
    "sqlite": tuple(f"{t}_{op}" for t in _FTS for op in ("insert", "delete", "update")),
    "postgresql": (),
}


def not_in_metadata(dialect: str) -> tuple[str, ...]:
    """The tables the search index adds that MetaData does not declare."""
    return SQLITE_TABLES if dialect == "sqlite" else POSTGRES_TABLES

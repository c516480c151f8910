"""The order search index: one text document per order, kept by the database's own triggers.

Not SQLAlchemy Tables (an FTS5 virtual table and PL/pgSQL triggers have no place in MetaData), so
migration 0027 creates them with SQL and this module names them, for the queries and for the check
that the migrations build what the code declares (tests/integration/test_migrations.py).

An order's document is its name, its channel's order id, its e-mail, its customer's e-mail and name,
the names on its addresses and its note, one per line. A query never holds a line break, so a match
never spans two of them.

- SQLite: ``order_search`` is an FTS5 table with the ``trigram`` tokenizer (SQLite 3.34 or later):
  ``rowid`` is the order's id, ``doc`` the document. ``MATCH '"fragment"'`` finds every document
  holding the fragment, any case, in every script.
- PostgreSQL: ``order_search`` is a table (``order_id`` primary key, ``doc``) with a ``pg_trgm`` GIN
  index, read by ``doc ILIKE '%fragment%'``.

The triggers (``TRIGGERS``) rewrite an order's document whenever a column it is made of changes:
on ``orders``, ``order_addresses`` and ``customers`` (an erasure rewrites names and e-mails there,
so its documents follow in the same transaction; on PostgreSQL they are deferred to the commit, so a new
order's document is written once, not once per row). On SQLite a migration that rebuilds one of those
tables (``batch_alter_table`` with a copy) drops its triggers: it must create them again.
"""

from __future__ import annotations

from sqlalchemy import column, table

MIN_FRAGMENT = 3  # characters: a trigram index cannot find anything shorter

# What the queries read; the shape differs by database.
order_search_fts = table("order_search", column("rowid"), column("doc"))  # SQLite
order_search_doc = table("order_search", column("order_id"), column("doc"))  # PostgreSQL

# FTS5 keeps its index in shadow tables named after the virtual table.
SQLITE_TABLES = ("order_search", "order_search_data", "order_search_idx", "order_search_content",
                 "order_search_docsize", "order_search_config")
POSTGRES_TABLES = ("order_search",)
POSTGRES_INDEXES = ("ix_order_search_doc",)
TRIGGERS = {
    "sqlite": ("order_search_orders_insert", "order_search_orders_update", "order_search_orders_delete",
               "order_search_addresses_insert", "order_search_addresses_update", "order_search_addresses_delete",
               "order_search_customers_insert", "order_search_customers_update",
               "order_search_customers_delete"),
    "postgresql": ("order_search_orders", "order_search_addresses", "order_search_customers"),
}


def not_in_metadata(dialect: str) -> tuple[str, ...]:
    """The tables the search index adds that MetaData does not declare."""
    return SQLITE_TABLES if dialect == "sqlite" else POSTGRES_TABLES

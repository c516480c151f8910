"""orders: trigram search indexes on the columns where the searchable text lives (FTS5 on SQLite, pg_trgm on
PostgreSQL), and an index for every filter of the order lists

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-09 09:00:00

The search objects are not SQLAlchemy Tables: see orderhub/adapters/store/schema/search.py. The SQL is
written out here, as this revision made them, so that later changes to the code do not rewrite history.
"""

import sqlalchemy as sa
from alembic import op

revision = '0027'
down_revision = '0026'
branch_labels = None
depends_on = None

FILTER_INDEXES = {
    'ix_orders_status': ['status', 'id'],
    'ix_orders_payment_status': ['payment_status', 'id'],
    'ix_orders_channel': ['channel', 'id'],
    'ix_orders_shop': ['shop_id', 'id'],
    'ix_orders_created': ['source_created_at'],
}

# -- SQLite: FTS5 external-content tables, trigram tokenizer ---------------------------------------------------
#
# One per table, indexing that table's own columns (no joins): the index holds the trigrams, the text stays in
# the table (content=...). detail='none': a trigram's entry is the list of rows holding it, no positions (the
# queries AND a fragment's rarest trigrams and check the whole fragment on those rows themselves), which makes
# the index several times smaller and cheaper to write. A buyer's name may be split into first and last name:
# the views give the text as one column, so FTS5's 'rebuild' and 'delete' read what the triggers wrote.

SQLITE_VIEWS = {
    'order_address_names': """SELECT id, coalesce(name, trim(coalesce(first_name, '') || ' '
                                                     || coalesce(last_name, ''))) AS name
                              FROM order_addresses""",
    'customer_names': """SELECT id, trim(coalesce(first_name, '') || ' ' || coalesce(last_name, '')) AS name, email
                         FROM customers""",
}

# FTS table: (content, its columns, the table its triggers are on, the columns those read, each column's value)
SQLITE_FTS = {
    'order_search': ('orders', 'orders', {
        'name': 'name', 'shopify_id': 'shopify_id', 'email': 'email', 'note': 'note'}),
    'order_address_search': ('order_address_names', 'order_addresses', {
        'name': "coalesce({r}.name, trim(coalesce({r}.first_name, '') || ' ' || coalesce({r}.last_name, '')))"}),
    'customer_search': ('customer_names', 'customers', {
        'name': "trim(coalesce({r}.first_name, '') || ' ' || coalesce({r}.last_name, ''))", 'email': 'email'}),
}

_SOURCE_COLUMNS = {
    'order_search': ('name', 'shopify_id', 'email', 'note'),
    'order_address_search': ('name', 'first_name', 'last_name'),
    'customer_search': ('first_name', 'last_name', 'email'),
}


def _value(expression: str, row: str) -> str:
    return expression.format(r=row) if '{r}' in expression else f"{row}.{expression}"


def sqlite_triggers() -> dict[str, str]:
    """The three triggers FTS5's documentation gives for an external-content table, for each table."""
    out = {}
    for fts, (_content, source, columns) in SQLITE_FTS.items():
        names = ', '.join(columns)
        new = ', '.join(_value(v, 'new') for v in columns.values())
        old = ', '.join(_value(v, 'old') for v in columns.values())
        read = _SOURCE_COLUMNS[fts]
        changed = ' OR '.join(f"old.{c} IS NOT new.{c}" for c in read)
        out[f'{fts}_insert'] = (f"AFTER INSERT ON {source} BEGIN "
                                f"INSERT INTO {fts} (rowid, {names}) VALUES (new.id, {new}); END")
        out[f'{fts}_delete'] = (f"AFTER DELETE ON {source} BEGIN "
                                f"INSERT INTO {fts} ({fts}, rowid, {names}) VALUES ('delete', old.id, {old}); END")
        out[f'{fts}_update'] = (f"AFTER UPDATE OF {', '.join(read)} ON {source} WHEN {changed} BEGIN "
                                f"INSERT INTO {fts} ({fts}, rowid, {names}) VALUES ('delete', old.id, {old}); "
                                f"INSERT INTO {fts} (rowid, {names}) VALUES (new.id, {new}); END")
    return out


def _sqlite_upgrade() -> None:
    for name, body in SQLITE_VIEWS.items():
        op.execute(f"CREATE VIEW {name} AS {body}")
    for fts, (content, _source, columns) in SQLITE_FTS.items():
        op.execute(f"CREATE VIRTUAL TABLE {fts} USING fts5({', '.join(columns)}, content='{content}', "
                   "content_rowid='id', tokenize='trigram', detail='none')")
        op.execute(f"INSERT INTO {fts} ({fts}) VALUES ('rebuild')")
    for name, body in sqlite_triggers().items():
        op.execute(f"CREATE TRIGGER {name} {body}")


def _sqlite_downgrade() -> None:
    for name in sqlite_triggers():
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    for fts in SQLITE_FTS:
        op.execute(f"DROP TABLE IF EXISTS {fts}")
    for name in SQLITE_VIEWS:
        op.execute(f"DROP VIEW IF EXISTS {name}")


# -- PostgreSQL: pg_trgm GIN indexes on expressions, no triggers -----------------------------------------------
#
# Parts joined by a line break: a query never holds one (whitespace is collapsed), so no match spans two parts.

POSTGRES_INDEXES = {
    'ix_orders_search': ('orders', r"(coalesce(name, '') || E'\n' || shopify_id || E'\n' || coalesce(email, '') "
                                   r"|| E'\n' || coalesce(note, ''))"),
    'ix_order_addresses_search': ('order_addresses', "(coalesce(name, trim(coalesce(first_name, '') || ' ' "
                                                     "|| coalesce(last_name, ''))))"),
    'ix_customers_search': ('customers', r"(trim(coalesce(first_name, '') || ' ' || coalesce(last_name, '')) "
                                         r"|| E'\n' || coalesce(email, ''))"),
}

NO_TRGM = ("orderhub needs the PostgreSQL extension pg_trgm (shipped with PostgreSQL, trusted since version 13) "
           "and could not create it: {problem}. Ask the database's owner to run `CREATE EXTENSION pg_trgm;` in "
           "this database (or to let orderhub's role create trusted extensions: CREATE on the database), then "
           "run `orderhub migrate` again.")


def _create_pg_trgm() -> None:
    conn = op.get_bind()
    if conn.exec_driver_sql("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'").first() is not None:
        return
    try:
        with conn.begin_nested():
            conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except sa.exc.DBAPIError as exc:
        problem = str(exc.orig).strip().splitlines()[0]
        raise RuntimeError(NO_TRGM.format(problem=problem)) from None


def _postgres_upgrade() -> None:
    _create_pg_trgm()
    for name, (table, expression) in POSTGRES_INDEXES.items():
        op.execute(f"CREATE INDEX {name} ON {table} USING gin ({expression} gin_trgm_ops)")


def upgrade() -> None:
    for name, columns in FILTER_INDEXES.items():
        op.create_index(name, 'orders', columns)
    if op.get_bind().dialect.name == 'sqlite':
        _sqlite_upgrade()
    else:
        _postgres_upgrade()


def downgrade() -> None:
    if op.get_bind().dialect.name == 'sqlite':
        _sqlite_downgrade()
    else:
        for name in POSTGRES_INDEXES:
            op.execute(f"DROP INDEX IF EXISTS {name}")
        # pg_trgm stays: a database owner may have created it, and other software may use it.
    for name in FILTER_INDEXES:
        op.drop_index(name, table_name='orders')

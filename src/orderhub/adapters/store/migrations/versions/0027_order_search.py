"""orders: a trigram search index (FTS5 on SQLite, pg_trgm on PostgreSQL) kept by triggers, and an index for
every filter of the order lists

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

# -- SQLite: FTS5, trigram tokenizer ---------------------------------------------------------------------------

# One document per order, one line per part (a query never holds a line break: no match spans two parts).
SQLITE_DOC = """
SELECT o.id,
       coalesce(o.name, '') || char(10) || o.shopify_id || char(10) || coalesce(o.email, '')
       || CASE WHEN c.email IS NOT NULL AND c.email IS NOT o.email THEN char(10) || c.email ELSE '' END
       || char(10) || trim(coalesce(c.first_name, '') || ' ' || coalesce(c.last_name, ''))
       || char(10) || coalesce((SELECT group_concat(n, char(10)) FROM (
              SELECT DISTINCT coalesce(a.name, trim(coalesce(a.first_name, '') || ' ' || coalesce(a.last_name, '')))
                     AS n
              FROM order_addresses a WHERE a.order_id = o.id)), '')
       || char(10) || coalesce(o.note, '')
FROM orders o LEFT JOIN customers c ON c.id = o.customer_id
WHERE {where}"""


def _refresh(where: str, ids: str) -> str:
    return (f"DELETE FROM order_search WHERE rowid IN ({ids});\n"
            f"INSERT INTO order_search (rowid, doc) {SQLITE_DOC.format(where=where)};")


_ORDER_COLUMNS = ('name', 'shopify_id', 'email', 'note', 'customer_id')
_ADDRESS_COLUMNS = ('name', 'first_name', 'last_name', 'order_id')
_CUSTOMER_COLUMNS = ('email', 'first_name', 'last_name')


def _changed(columns: tuple[str, ...]) -> str:
    return " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in columns)


SQLITE_TRIGGERS = {
    'order_search_orders_insert': f"""AFTER INSERT ON orders BEGIN
        INSERT INTO order_search (rowid, doc) {SQLITE_DOC.format(where='o.id = NEW.id')}; END""",
    'order_search_orders_update': f"""AFTER UPDATE OF {', '.join(_ORDER_COLUMNS)} ON orders
        WHEN {_changed(_ORDER_COLUMNS)} BEGIN {_refresh('o.id = NEW.id', 'NEW.id')} END""",
    'order_search_orders_delete': """AFTER DELETE ON orders BEGIN
        DELETE FROM order_search WHERE rowid = OLD.id; END""",
    'order_search_addresses_insert': f"""AFTER INSERT ON order_addresses BEGIN
        {_refresh('o.id = NEW.order_id', 'NEW.order_id')} END""",
    'order_search_addresses_update': f"""AFTER UPDATE OF {', '.join(_ADDRESS_COLUMNS)} ON order_addresses
        WHEN {_changed(_ADDRESS_COLUMNS)} BEGIN
        {_refresh('o.id IN (OLD.order_id, NEW.order_id)', 'OLD.order_id, NEW.order_id')} END""",
    'order_search_addresses_delete': f"""AFTER DELETE ON order_addresses BEGIN
        {_refresh('o.id = OLD.order_id', 'OLD.order_id')} END""",
    # An order may be stored before its customer: the customer's arrival completes its document.
    'order_search_customers_insert': f"""AFTER INSERT ON customers BEGIN
        {_refresh('o.customer_id = NEW.id', 'SELECT id FROM orders WHERE customer_id = NEW.id')} END""",
    'order_search_customers_update': f"""AFTER UPDATE OF {', '.join(_CUSTOMER_COLUMNS)} ON customers
        WHEN {_changed(_CUSTOMER_COLUMNS)} BEGIN
        {_refresh('o.customer_id = NEW.id', 'SELECT id FROM orders WHERE customer_id = NEW.id')} END""",
    'order_search_customers_delete': f"""AFTER DELETE ON customers BEGIN
        {_refresh('o.customer_id = OLD.id', 'SELECT id FROM orders WHERE customer_id = OLD.id')} END""",
}


def _sqlite_upgrade() -> None:
    op.execute("CREATE VIRTUAL TABLE order_search USING fts5(doc, tokenize = 'trigram')")
    op.execute(f"INSERT INTO order_search (rowid, doc) {SQLITE_DOC.format(where='1 = 1')}")
    op.execute("INSERT INTO order_search (order_search) VALUES ('optimize')")  # one b-tree, not one per batch
    for name, body in SQLITE_TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {name} {body}")


# -- PostgreSQL: pg_trgm ---------------------------------------------------------------------------------------

POSTGRES_DOC = r"""
SELECT o.id,
       concat_ws(E'\n', coalesce(o.name, ''), o.shopify_id, coalesce(o.email, ''),
                 CASE WHEN c.email IS DISTINCT FROM o.email THEN c.email END,
                 trim(coalesce(c.first_name, '') || ' ' || coalesce(c.last_name, '')),
                 (SELECT string_agg(DISTINCT coalesce(a.name, trim(coalesce(a.first_name, '') || ' '
                                                                   || coalesce(a.last_name, ''))), E'\n')
                  FROM order_addresses a WHERE a.order_id = o.id),
                 o.note)
FROM orders o LEFT JOIN customers c ON c.id = o.customer_id
WHERE {where}"""

POSTGRES_FUNCTIONS = [
    # Written only when the document changed: a new order's insert, its two addresses and its customer each ask
    # for a refresh, at commit (the triggers are deferred), and all but the first find it done.
    f"""CREATE FUNCTION order_search_refresh(ids BIGINT[]) RETURNS void LANGUAGE sql AS $$
        DELETE FROM order_search s WHERE s.order_id = ANY(ids)
            AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.id = s.order_id);
        INSERT INTO order_search (order_id, doc) {POSTGRES_DOC.format(where='o.id = ANY(ids)')}
        ON CONFLICT (order_id) DO UPDATE SET doc = EXCLUDED.doc WHERE order_search.doc IS DISTINCT FROM EXCLUDED.doc;
    $$""",
    f"""CREATE FUNCTION order_search_orders() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'DELETE' THEN
            PERFORM order_search_refresh(ARRAY[OLD.id]);
        ELSIF TG_OP = 'INSERT' OR {_changed(_ORDER_COLUMNS).replace(' IS NOT ', ' IS DISTINCT FROM ')} THEN
            PERFORM order_search_refresh(ARRAY[NEW.id]);
        END IF;
        RETURN NULL;
    END $$""",
    f"""CREATE FUNCTION order_search_addresses() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'INSERT' THEN
            PERFORM order_search_refresh(ARRAY[NEW.order_id]);
        ELSIF TG_OP = 'DELETE' THEN
            PERFORM order_search_refresh(ARRAY[OLD.order_id]);
        ELSIF {_changed(_ADDRESS_COLUMNS).replace(' IS NOT ', ' IS DISTINCT FROM ')} THEN
            PERFORM order_search_refresh(ARRAY[OLD.order_id, NEW.order_id]);
        END IF;
        RETURN NULL;
    END $$""",
    f"""CREATE FUNCTION order_search_customers() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP <> 'UPDATE' OR {_changed(_CUSTOMER_COLUMNS).replace(' IS NOT ', ' IS DISTINCT FROM ')} THEN
            PERFORM order_search_refresh(ARRAY(SELECT id FROM orders WHERE customer_id = coalesce(NEW.id, OLD.id)));
        END IF;
        RETURN NULL;
    END $$""",
]

POSTGRES_TRIGGERS = {
    'order_search_orders': f"AFTER INSERT OR DELETE OR UPDATE OF {', '.join(_ORDER_COLUMNS)} ON orders",
    'order_search_addresses': f"AFTER INSERT OR DELETE OR UPDATE OF {', '.join(_ADDRESS_COLUMNS)} ON order_addresses",
    'order_search_customers': f"AFTER INSERT OR DELETE OR UPDATE OF {', '.join(_CUSTOMER_COLUMNS)} ON customers",
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
    op.execute("CREATE TABLE order_search (order_id BIGINT PRIMARY KEY, doc TEXT NOT NULL)")
    op.execute(f"INSERT INTO order_search (order_id, doc) {POSTGRES_DOC.format(where='TRUE')}")
    op.execute("CREATE INDEX ix_order_search_doc ON order_search USING gin (doc gin_trgm_ops)")
    for function in POSTGRES_FUNCTIONS:
        op.execute(function)
    for name, when in POSTGRES_TRIGGERS.items():
        # Deferred to the commit, when the order, its addresses and its customer are all written: one document
        # written per new order, not one per row.
        op.execute(f"CREATE CONSTRAINT TRIGGER {name} {when} DEFERRABLE INITIALLY DEFERRED "
                   f"FOR EACH ROW EXECUTE FUNCTION {name}()")


def upgrade() -> None:
    for name, columns in FILTER_INDEXES.items():
        op.create_index(name, 'orders', columns)
    if op.get_bind().dialect.name == 'sqlite':
        _sqlite_upgrade()
    else:
        _postgres_upgrade()


def downgrade() -> None:
    if op.get_bind().dialect.name == 'sqlite':
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS order_search")
    else:
        for name, when in POSTGRES_TRIGGERS.items():
            op.execute(f"DROP TRIGGER IF EXISTS {name} ON {when.rsplit(' ON ', 1)[1]}")
            op.execute(f"DROP FUNCTION IF EXISTS {name}()")
        op.execute("DROP FUNCTION IF EXISTS order_search_refresh(BIGINT[])")
        op.execute("DROP TABLE IF EXISTS order_search")
        # pg_trgm stays: a database owner may have created it, and other software may use it.
    for name in FILTER_INDEXES:
        op.drop_index(name, table_name='orders')

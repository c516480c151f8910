"""The migrations build exactly the schema the code declares, on SQLite and PostgreSQL, and undo it."""

from __future__ import annotations

from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

from orderhub.adapters.store import migrate
from orderhub.adapters.store.db import Database
from orderhub.adapters.store.schema import metadata, order_days
from orderhub.adapters.store.schema import search as search_schema


def _differences(db: Database) -> list[Any]:
    """What MetaData declares against what the database holds. The order search indexes are SQL of their own
    (FTS5 tables, their shadow tables and views, or pg_trgm expression indexes), and so is the creation day's
    expression index: they are left out here and checked by name below."""
    left_out = (set(search_schema.not_in_metadata(db.dialect)) | set(search_schema.POSTGRES_INDEXES)
                | {order_days.DAY_INDEX})

    def declared(name: str | None, type_: str, _parent: Any) -> bool:
        return not (type_ in ("table", "index") and name in left_out)

    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "include_name": declared})
        return compare_metadata(context, metadata)


def _search_objects(db: Database) -> dict[str, set[str]]:
    """The search indexes' tables, views, indexes and triggers the database holds."""
    with db.engine.connect() as conn:
        if db.dialect == "sqlite":
            rows = conn.execute(text("SELECT type, name FROM sqlite_master WHERE name LIKE '%search%' "
                                     "OR name LIKE '%names'")).all()
            return {kind: {name for t, name in rows if t == kind} for kind in ("table", "view", "index", "trigger")}
        indexes = set(conn.execute(text("SELECT indexname FROM pg_indexes WHERE indexname LIKE '%search%'"))
                      .scalars())
        triggers = set(conn.execute(text("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal "
                                         "AND tgname LIKE '%search%'")).scalars())
        views = set(conn.execute(text("SELECT viewname FROM pg_views WHERE schemaname = current_schema() "
                                      "AND viewname LIKE '%names'")).scalars())
        tables = set(conn.execute(text("SELECT tablename FROM pg_tables WHERE tablename LIKE '%search%'"))
                     .scalars())
        return {"table": tables, "view": views, "index": indexes, "trigger": triggers}


def _expected_search_objects(dialect: str) -> dict[str, set[str]]:
    return {"table": set(search_schema.not_in_metadata(dialect)),
            "view": set(search_schema.SQLITE_VIEWS) if dialect == "sqlite" else set(),
            "index": set(search_schema.POSTGRES_INDEXES) if dialect == "postgresql" else set(),
            "trigger": set(search_schema.TRIGGERS[dialect])}


def test_the_migrated_database_is_the_declared_schema(db_url: str) -> None:
    db = Database(db_url)
    try:
        assert migrate.is_current(db)
        assert _differences(db) == []
        assert _search_objects(db) == _expected_search_objects(db.dialect)
    finally:
        db.dispose()


def test_every_migration_undoes_and_redoes(db_url: str) -> None:
    db = Database(db_url)
    try:
        cfg = migrate.alembic_config()
        with db.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "base")
        assert migrate.current_revision(db) is None
        assert _search_objects(db) == {"table": set(), "view": set(), "index": set(), "trigger": set()}
        migrate.upgrade(db)
        assert migrate.is_current(db)
        assert _differences(db) == []
        assert _search_objects(db) == _expected_search_objects(db.dialect)
    finally:
        db.dispose()


def test_0028_merges_each_sqlite_search_index_into_one_segment(sqlite_url: str) -> None:
    """Orders written one transaction at a time leave an FTS5 segment each; migration 0028 merges every search
    table into one (a trigram is then looked up once, not once a segment), and the search still finds them.
    (PostgreSQL's GIN indexes have no segments.)"""
    db = Database(sqlite_url)
    try:
        migrate.downgrade(db, "0027")
        with db.write() as conn:
            conn.execute(text("INSERT INTO shops (id, domain, created_at) VALUES (1, 'a.myshopify.com', "
                              "'2026-12-01 00:00:00')"))
        for k in range(6):
            with db.write() as conn:
                conn.execute(text(
                    "INSERT INTO orders (shop_id, shopify_id, name, email, source_status, status, payment_status, "
                    "channel, currency, subtotal_price, total_discounts, total_tax, total_shipping, total_price, "
                    "source_created_at, source_updated_at, version, created_at, updated_at) VALUES (1, :id, :name, "
                    "'k@example.com', 'open', 'created', 'paid', 'online', 'EUR', 1, 0, 0, 0, 1, "
                    "'2026-12-01 00:00:00', '2026-12-01 00:00:00', 1, '2026-12-01 00:00:00', '2026-12-01 00:00:00')"),
                    {"id": str(900 + k), "name": f"#{900 + k}"})

        def segments() -> int:
            with db.engine.connect() as conn:
                return int(conn.execute(text("SELECT count(DISTINCT segid) FROM order_search_idx")).scalar_one())

        assert segments() > 1
        migrate.upgrade(db)
        assert segments() == 1
        with db.engine.connect() as conn:
            found = conn.execute(text("SELECT count(*) FROM order_search WHERE order_search MATCH '\"#90\"'"))
            assert found.scalar_one() == 6
    finally:
        db.dispose()


def test_0029_going_back_keeps_the_first_delivery_of_each_webhook_id(db_url: str) -> None:
    """Redeliveries stored since 0029 are records of their own; going back to a unique webhook id, all but the
    first of a webhook id give it up, and nothing is deleted."""
    db = Database(db_url)
    try:
        migrate.upgrade(db)
        with db.write() as conn:
            conn.execute(text("INSERT INTO shops (id, domain, created_at) VALUES (1, 'a.myshopify.com', "
                              "'2026-12-01 00:00:00')"))
            for wid in ("w-1", "w-1", "w-2", "w-1"):
                conn.execute(text(
                    "INSERT INTO inbox (shop_id, source, topic, webhook_id, received_at, payload, status, attempts, "
                    "available_at) VALUES (1, 'webhook', 'orders/create', :wid, '2026-12-01 00:00:00', '{}', "
                    "'pending', 0, '2026-12-01 00:00:00')"), {"wid": wid})
        migrate.downgrade(db, "0028")
        with db.engine.connect() as conn:
            kept = [tuple(r) for r in conn.execute(text("SELECT id, webhook_id FROM inbox ORDER BY id"))]
        assert [w for _, w in kept] == ["w-1", None, "w-2", None]
        migrate.upgrade(db)
    finally:
        db.dispose()


def _order_indexes(db: Database) -> set[str]:
    with db.engine.connect() as conn:
        if db.dialect == "sqlite":
            return set(conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'index' "
                                         "AND tbl_name = 'orders'")).scalars())
        return set(conn.execute(text("SELECT indexname FROM pg_indexes WHERE tablename = 'orders'")).scalars())


def test_0030_replaces_the_creation_time_index_with_the_creation_day_and_id(db_url: str) -> None:
    """The (day, id) expression index is there at head and the creation time's index is not; taken back to
    0029, the other way round; and a day's orders are read from it newest first."""
    db = Database(db_url)
    try:
        assert order_days.DAY_INDEX in _order_indexes(db) and "ix_orders_created" not in _order_indexes(db)
        migrate.downgrade(db, "0029")
        assert order_days.DAY_INDEX not in _order_indexes(db) and "ix_orders_created" in _order_indexes(db)
        migrate.upgrade(db)
        assert order_days.DAY_INDEX in _order_indexes(db)
        with db.engine.connect() as conn:
            day = order_days.day_sql(db.dialect)
            value = "'2026-12-01'" if db.dialect == "sqlite" else "DATE '2026-12-01'"
            if db.is_postgres:
                conn.execute(text("SET enable_seqscan = off"))
            explain = "EXPLAIN QUERY PLAN" if db.dialect == "sqlite" else "EXPLAIN"
            plan = " ".join(str(r[-1]) for r in conn.execute(text(
                f"{explain} SELECT id FROM orders WHERE {day} = {value} ORDER BY id DESC LIMIT 50")))
        assert order_days.DAY_INDEX in plan, plan
        assert "TEMP B-TREE" not in plan and "Sort" not in plan, plan  # the index's order is the page's
    finally:
        db.dispose()

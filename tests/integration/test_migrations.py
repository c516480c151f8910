"""The migrations build exactly the schema the code declares, on SQLite and PostgreSQL, and undo it."""

from __future__ import annotations

from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from orderhub.adapters.store import migrate
from orderhub.adapters.store.db import Database
from orderhub.adapters.store.schema import metadata


def _differences(db: Database) -> list[Any]:
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(context, metadata)


def test_the_migrated_database_is_the_declared_schema(db_url: str) -> None:
    db = Database(db_url)
    try:
        assert migrate.is_current(db)
        assert _differences(db) == []
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
        migrate.upgrade(db)
        assert migrate.is_current(db)
        assert _differences(db) == []
    finally:
        db.dispose()

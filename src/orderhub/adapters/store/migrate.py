"""Bring a database to the latest schema with Alembic (``orderhub migrate``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

from orderhub.adapters.store.db import Database

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def upgrade(db: Database, revision: str = "head", *, on_step: Callable[[str], None] | None = None) -> None:
    """Upgrade to ``revision``; ``on_step`` is told each revision as it is applied (for a progress bar)."""
    _run(db, command.upgrade, revision, on_step)


def downgrade(db: Database, revision: str) -> None:
    _run(db, command.downgrade, revision)


def pending(db: Database, revision: str = "head") -> list[str]:
    """The revisions an upgrade to ``revision`` would apply, oldest first."""
    script = ScriptDirectory.from_config(alembic_config())
    current = current_revision(db)
    steps = list(script.iterate_revisions(revision, current))
    return [s.revision for s in reversed(steps)]


def _run(db: Database, step: Callable[[Config, str], None], revision: str,
         on_step: Callable[[str], None] | None = None) -> None:
    cfg = alembic_config()
    if on_step is not None:
        cfg.attributes["on_version_apply"] = [lambda *, step, **_: on_step(step.up_revision_id or "")]
    with db.engine.connect() as conn:
        with _foreign_keys_checked_at_end(conn):
            with conn.begin():
                cfg.attributes["connection"] = conn
                step(cfg, revision)
                _check_foreign_keys(conn)


@contextmanager
def _foreign_keys_checked_at_end(conn: Connection) -> Iterator[None]:
    """SQLite changes a column by rebuilding its table, and dropping a table that other rows refer to
    (shops, by the inbox) fails while foreign keys are enforced. As SQLite's own procedure for schema
    changes says, enforcement is off during the migration (it can only be switched outside a
    transaction) and every reference is checked before the commit."""
    if conn.dialect.name != "sqlite":
        yield
        return
    raw = conn.connection.dbapi_connection
    assert raw is not None
    raw.execute("PRAGMA foreign_keys=OFF")
    try:
        yield
    finally:
        raw.execute("PRAGMA foreign_keys=ON")


def _check_foreign_keys(conn: Connection) -> None:
    if conn.dialect.name == "sqlite":
        broken = conn.exec_driver_sql("PRAGMA foreign_key_check").all()
        if broken:
            raise RuntimeError(f"the migration left {len(broken)} rows referring to missing ones, e.g. {broken[0]}")


def current_revision(db: Database) -> str | None:
    with db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def is_current(db: Database) -> bool:
    return current_revision(db) == head_revision()

"""Engine set-up for the embedded SQLite default and the PostgreSQL scale-out store."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Table, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.sql.elements import ColumnElement

from orderhub.adapters.store.schema import search as search_schema


def normalise_url(url: str) -> str:
    """Use psycopg 3 for plain ``postgres://`` / ``postgresql://`` URLs."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


class Database:
    """One engine plus the two kinds of transaction orderhub uses: read and write."""

    def __init__(self, url: str, *, sqlite_synchronous: str = "FULL", pool_size: int = 5) -> None:
        self.url = normalise_url(url)
        if self.url.startswith("sqlite"):
            path = sqlite_path(self.url)
            if path is not None:
                _make_private(path)
            self.engine = create_engine(self.url, connect_args={"timeout": 30, "check_same_thread": False})
            _configure_sqlite(self.engine, sqlite_synchronous, path)
        elif self.url.startswith("postgresql"):
            self.engine = create_engine(self.url, pool_size=pool_size, max_overflow=10, pool_pre_ping=True)
        else:
            raise ValueError(f"unsupported database URL {url!r}: use sqlite:///PATH or postgresql://...")
        self.dialect = self.engine.dialect.name

    @property
    def is_postgres(self) -> bool:
        return self.dialect == "postgresql"

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A transaction that may write. On SQLite it takes the write lock up front
        (BEGIN IMMEDIATE) so read-then-write never deadlocks between processes."""
        with self.engine.begin() as conn:
            yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only snapshot that never blocks writers."""
        with self.engine.connect().execution_options(sqlite_begin="DEFERRED") as conn:
            with conn.begin():
                yield conn

    def dispose(self) -> None:
        self.engine.dispose()


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL; None for an in-memory database."""
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def _make_private(path: Path) -> None:
    """The database holds retailers' data: create it 0600 (SQLite gives its -wal and -shm the
    same mode), and take group and other access away from an existing one."""
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        _chmod_private(path)
    except OSError:
        return  # e.g. a missing directory: SQLite reports it with its own message
    else:
        os.close(fd)


def _chmod_private(path: Path) -> None:
    try:
        if path.stat().st_mode & 0o077:
            path.chmod(0o600)
    except OSError:
        pass  # not ours to change (another owner): leave it as it is


def _configure_sqlite(engine: Engine, synchronous: str, path: Path | None = None) -> None:
    if synchronous not in {"OFF", "NORMAL", "FULL", "EXTRA"}:
        raise ValueError(f"ORDERHUB_SQLITE_SYNCHRONOUS must be OFF, NORMAL, FULL or EXTRA, not {synchronous!r}")

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite's own is lazy).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        # A new database gets 8 KB pages (an existing one keeps its own): an inbox row (a webhook's body, 2-3 KB)
        # then shares its page with others instead of filling one, and each write logs fewer pages.
        cur.execute("PRAGMA page_size=8192")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA synchronous={synchronous}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()
        # The order search checks a fragment on its candidate rows with it (schema/search.py).
        dbapi_conn.create_function("orderhub_contains", 2, search_schema.contains, deterministic=True)
        if path is not None:  # files left by an older orderhub that did not create them private
            for suffix in ("-wal", "-shm"):
                _chmod_private(path.with_name(path.name + suffix))

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        conn.exec_driver_sql(f"BEGIN {mode}")


# Built statements, reused: building an INSERT ... ON CONFLICT costs far more than running it.
_STATEMENTS: dict[tuple[Any, ...], Any] = {}

Guard = Callable[[Any], ColumnElement[bool]]


def _upsert_statement(dialect: str, table: Table, columns: tuple[str, ...], keys: Sequence[str],
                      update: Sequence[str] | None, where: Guard | None, returning: Sequence[str]) -> Any:
    cache_key = (dialect, table.name, columns, tuple(keys), tuple(update or ()), where, tuple(returning))
    stmt = _STATEMENTS.get(cache_key)
    if stmt is None:
        stmt = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
        if update:
            stmt = stmt.on_conflict_do_update(
                index_elements=list(keys), set_={c: stmt.excluded[c] for c in update},
                where=None if where is None else where(stmt.excluded))
        else:
            stmt = stmt.on_conflict_do_nothing(index_elements=list(keys))
        if returning:
            stmt = stmt.returning(*(table.c[c] for c in returning))
        _STATEMENTS[cache_key] = stmt
    return stmt


def upsert(
    conn: Connection,
    table: Table,
    values: Mapping[str, Any],
    keys: Sequence[str],
    update: Sequence[str] | None = None,
    where: Guard | None = None,
    returning: Sequence[str] = (),
) -> Any:
    """INSERT ... ON CONFLICT (keys) DO UPDATE/NOTHING on either dialect.

    ``where(excluded)`` guards the update (e.g. only when the incoming version is
    newer); it must be a module-level function, as statements are cached by it.
    With ``returning``, the result has a row only when a row was written.
    """
    stmt = _upsert_statement(conn.dialect.name, table, tuple(values), keys, update, where, returning)
    return conn.execute(stmt, dict(values))


def each_shop(conn: Connection, stmt: Any, keys: Iterable[tuple[int, str]]) -> Iterator[tuple[int, Any]]:
    """(shop, row) for ``stmt`` run once per shop among these (shop, channel id) keys, its ``shop`` and ``ids``
    parameters bound (``ids`` expanding): so a unique key on (shop, channel id) serves both columns, where a
    pair ``IN (VALUES ...)`` used it for the shop alone on SQLite."""
    by_shop: dict[int, list[str]] = {}
    for shop, channel_id in sorted(set(keys)):
        by_shop.setdefault(shop, []).append(channel_id)
    for shop, ids in by_shop.items():
        for row in conn.execute(stmt, {"shop": shop, "ids": ids}):
            yield shop, row


def upsert_many(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]], keys: Sequence[str],
                update: Sequence[str], where: Guard | None = None) -> None:
    """Executemany form of :func:`upsert` for rows with the same columns."""
    if rows:
        stmt = _upsert_statement(conn.dialect.name, table, tuple(rows[0]), keys, update, where, ())
        conn.execute(stmt, [dict(r) for r in rows])

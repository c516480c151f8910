"""Shared fixtures: real SQLite and PostgreSQL databases, a hub, and servers on loopback."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

from orderhub.adapters.store import migrate
from orderhub.adapters.store.db import Database
from orderhub.bootstrap import Hub, build
from orderhub.config import Settings
from orderhub.testing.postgres import PostgresServer, find_bindir
from orderhub.testing.server import ServerThread

BACKENDS = ["sqlite", "postgresql"]

# The tests' receivers listen on loopback, which orderhub refuses to send to unless the host is named
# (tests/unit/test_outbound.py checks the refusal itself).
os.environ.setdefault("ORDERHUB_OUTBOUND_ALLOWED_HOSTS", "127.0.0.1,localhost")

# Properties are about behaviour, not speed: no per-example deadline on a loaded machine.
hypothesis_settings.register_profile("orderhub", deadline=None)
hypothesis_settings.load_profile("orderhub")


@pytest.fixture(scope="session", autouse=True)
def _secret_key_file(tmp_path_factory: pytest.TempPathFactory) -> None:
    """A PostgreSQL database has no file to keep its secret keys beside: every test process (each pytest-xdist
    worker, and the orderhub processes it starts) shares one key file. Named before the first test, so that no
    test depends on which ran before it in its worker."""
    os.environ.setdefault("ORDERHUB_SECRET_KEY_FILE", str(tmp_path_factory.mktemp("keys") / "secret.keys"))


def _start_postgres(bindir: str, attempts: int = 3) -> PostgresServer:
    """A server of this test process's own. pytest-xdist workers start theirs at the same moment, each on a port
    it found free: should another process take that port before the server binds it, start again on another."""
    for _ in range(attempts - 1):
        server = PostgresServer(bindir=bindir)
        try:
            return server.start()
        except (subprocess.CalledProcessError, RuntimeError):
            server.stop()  # most likely its port was taken meanwhile: a new data directory, another port
    return PostgresServer(bindir=bindir).start()  # a last failure keeps its data directory and log to read


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer | None]:
    """One PostgreSQL server per test process (per xdist worker): its template database migrated once, and a
    database copied from it for every test that asks (make_db_url)."""
    bindir = find_bindir()
    if bindir is None:
        if os.environ.get("ORDERHUB_REQUIRE_POSTGRES"):
            pytest.fail("PostgreSQL is required (ORDERHUB_REQUIRE_POSTGRES) but not installed")
        yield None
        return
    server = _start_postgres(bindir)
    try:
        url = server.create_database("orderhub_template")
        db = Database(url)
        migrate.upgrade(db)
        db.dispose()
        yield server
    finally:
        _stop_postgres(server)


def _stop_postgres(server: PostgresServer) -> None:
    """Stop the server now; delete its data directory in a process the test run does not wait for. With a
    database per test it holds gigabytes in tens of thousands of files: deleting them took 20 s and more at the
    end of every worker's run on a busy machine, and nothing needs them gone before the run ends."""
    if not server.datadir:
        return
    datadir, server.datadir = server.datadir, ""
    subprocess.run(server._cmd(f"{server.bindir}/pg_ctl", "-D", datadir, "-m", "immediate", "-w", "stop"),
                   capture_output=True)
    # the shell starts rm in the background and exits: rm carries on, a child of no test process
    subprocess.run(["sh", "-c", 'rm -rf -- "$1" </dev/null >/dev/null 2>&1 &', "sh", datadir], check=True,
                   stdin=subprocess.DEVNULL)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    db = Database(f"sqlite:///{path}")
    migrate.upgrade(db)
    db.dispose()  # the last connection to close checkpoints the WAL into the file
    return path


def make_db_url(backend: str, tmp_path: Path, sqlite_template: Path, pg_server: PostgresServer | None) -> str:
    if backend == "sqlite":
        target = tmp_path / f"orderhub-{uuid.uuid4().hex[:8]}.db"
        shutil.copy(sqlite_template, target)
        return f"sqlite:///{target}"
    if pg_server is None:
        pytest.skip("PostgreSQL server programs not installed (the README's test command installs them)")
    return pg_server.create_database(f"t_{uuid.uuid4().hex[:12]}", template="orderhub_template")


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    pg = request.getfixturevalue("pg_server") if request.param == "postgresql" else None
    return make_db_url(request.param, tmp_path, sqlite_template, pg)


@pytest.fixture
def sqlite_url(tmp_path: Path, sqlite_template: Path) -> str:
    return make_db_url("sqlite", tmp_path, sqlite_template, None)


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(database_url=db_url, backoff_base_seconds=0.01, backoff_max_seconds=0.05,
                    sqlite_synchronous="NORMAL")


@pytest.fixture
def hub(settings: Settings) -> Iterator[Hub]:
    h = build(settings)
    yield h
    h.close()


@pytest.fixture
def hub_server(hub: Hub) -> Iterator[ServerThread]:
    from orderhub.entrypoints.http.app import create_app

    with ServerThread(create_app(hub)) as server:
        yield server

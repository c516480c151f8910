"""Which database an `orderhub` command may open: read-only commands need one that exists and is
migrated; commands that write bring an existing one up to date; none creates one but `migrate`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click
from click.testing import CliRunner

from orderhub.adapters.store import migrate
from orderhub.adapters.store.db import Database
from orderhub.entrypoints.cli import main
from tests.e2e.test_cli_tree import commands

CLI = [sys.executable, "-m", "orderhub.entrypoints.cli"]
# Commands that only look: named like these, they must never migrate a database.
READ_NAMES = {"list", "show", "status", "schedules", "history", "log", "file", "deliveries", "ledger",
              "broker-preview"}


def _run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "ORDERHUB_DATABASE_URL"}
    return subprocess.run([*CLI, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL, check=False)


def test_a_read_only_command_without_a_database_creates_nothing(tmp_path: Path) -> None:
    done = _run(tmp_path, "orders", "list")
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.strip() == (
        'Error: no orderhub database at ./orderhub.db (sqlite:///orderhub.db); create one with "orderhub migrate '
        '--db sqlite:///orderhub.db" or run the demo, or pass --db / ORDERHUB_DATABASE_URL')
    assert list(tmp_path.iterdir()) == []


def test_a_typo_in_db_is_refused_for_reading_and_for_writing(tmp_path: Path) -> None:
    typo = f"sqlite:///{tmp_path / 'ordrehub.db'}"
    for args in (["errors", "list"], ["routing", "show"], ["jobs", "history"], ["token", "list"],
                 ["shop", "add", "a.myshopify.com", "--secret", "s"], ["token", "create", "--name", "ops"],
                 ["user", "add", "ada", "--password-stdin"]):
        result = CliRunner().invoke(main, [*args, "--db", typo], input="a long enough password\n")
        assert result.exit_code == 1, (args, result.output)
        assert f"no orderhub database at {tmp_path / 'ordrehub.db'} ({typo})" in result.output
        assert '"orderhub migrate --db ' in result.output
    assert list(tmp_path.iterdir()) == []


def test_migrate_creates_then_every_command_works(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    assert CliRunner().invoke(main, ["migrate", "--db", url]).stdout.startswith("database at revision ")
    assert CliRunner().invoke(main, ["orders", "list", "--json", "--db", url]).output == "[]\n"


def test_a_database_behind_is_refused_for_reading_and_brought_up_to_date_for_writing(db_url: str) -> None:
    db = Database(db_url)
    try:
        migrate.downgrade(db, "0013")
        head = migrate.head_revision()
        shown = CliRunner().invoke(main, ["token", "list", "--db", db_url])
        assert shown.exit_code == 1
        assert f"is at revision 0013, orderhub needs {head}: run \"orderhub migrate --db " in shown.output
        assert migrate.current_revision(db) == "0013"  # reading changed nothing
        created = CliRunner().invoke(main, ["token", "create", "--name", "ops", "--db", db_url])
        assert created.exit_code == 0 and created.output.startswith("oh_")
        assert migrate.is_current(db)
    finally:
        db.dispose()


def test_an_empty_database_is_refused_except_by_migrate(tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    empty.touch()
    url = f"sqlite:///{empty}"
    for args in (["orders", "list"], ["facility", "add", "W1", "--name", "Main"]):
        result = CliRunner().invoke(main, [*args, "--db", url])
        assert result.exit_code == 1 and "has no orderhub tables; create them with" in result.output


def test_every_command_with_a_database_says_whether_it_only_reads() -> None:
    for path, cmd in commands(main):
        if not any(p.name == "db_url" for p in cmd.params) or isinstance(cmd, click.Group):
            continue  # a group's --db (reconcile) reaches writing_hub when the group runs itself
        if path[-1] in ("migrate", "demo"):
            continue  # they create a database: migrate where --db says, the demo a fresh one
        access = getattr(cmd.callback, "orderhub_access", None)
        if path[-1] in ("serve", "worker"):
            assert access == "serve", path
        elif path[-1] in READ_NAMES:
            assert access == "read", f"orderhub {' '.join(path)} only reads: use read_only_hub"
        else:
            assert access in ("read", "write"), f"orderhub {' '.join(path)}: use read_only_hub or writing_hub"

"""`orderhub token`: one token per name, listed with its id and times to the second, revoked by id or name."""

from __future__ import annotations

import re

import orjson
from click.testing import CliRunner
from sqlalchemy import insert, select

from orderhub.adapters.store import migrate, tokens
from orderhub.adapters.store.db import Database
from orderhub.adapters.store.schema import api_tokens
from orderhub.clock import utcnow
from orderhub.entrypoints.cli import main
from tests.e2e.test_cli_error_log import cli, cli_fails


def test_names_are_unique_and_revoke_takes_an_id_or_a_name(db_url: str) -> None:
    assert cli(db_url, "token", "create", "--name", "night shift 🌙", "--role", "operator").startswith("oh_")
    refused = cli_fails(db_url, "token", "create", "--name", "night shift 🌙")
    assert "a token named 'night shift 🌙' (id 1) exists already; choose another name" in refused
    cli(db_url, "token", "create", "--name", "2")  # a name that is also an id (token 2 is this one)
    cli(db_url, "token", "create", "--name", "prometheus", "--role", "viewer", "--scope", "api")

    shown = cli(db_url, "token", "list")
    assert re.search(r"\b1\s+night shift 🌙\s+api\s+operator\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ", shown), shown
    assert "+00:00" not in shown and "." not in shown.split("night shift")[1].splitlines()[0]
    listed = orjson.loads(cli(db_url, "token", "list", "--json"))
    assert [(t["id"], t["name"], t["revoked_at"]) for t in listed] == [
        (1, "night shift 🌙", None), (2, "2", None), (3, "prometheus", None)]

    assert cli(db_url, "token", "revoke", "night shift 🌙") == "revoked token 1 (night shift 🌙, operator)\n"
    assert cli(db_url, "token", "revoke", "3") == "revoked token 3 (prometheus, viewer)\n"
    assert cli(db_url, "token", "revoke", "2") == "revoked token 2 (2, admin)\n"  # id 2 and name 2: one token
    assert "was revoked already" in cli_fails(db_url, "token", "revoke", "1")
    assert "no token 'nobody' (by id or name)" in cli_fails(db_url, "token", "revoke", "nobody")
    revoked = {t["id"]: t["revoked_at"] for t in orjson.loads(cli(db_url, "token", "list", "--json"))}
    assert all(revoked.values())


def test_an_id_that_is_another_tokens_name_is_refused(db_url: str) -> None:
    cli(db_url, "token", "create", "--name", "ops")
    cli(db_url, "token", "create", "--name", "1")  # token 2, named like token 1's id
    refused = cli_fails(db_url, "token", "revoke", "1")
    assert "ambiguous: '1' is token 1's id and token 2's name; give token 1's name ('ops') or token 2's id (2)" \
        in refused
    assert cli(db_url, "token", "revoke", "ops") == "revoked token 1 (ops, admin)\n"


def test_the_migration_renames_duplicates_before_the_unique_index(db_url: str) -> None:
    db = Database(db_url)
    try:
        migrate.downgrade(db, "0013")
        long_name = "x" * 100
        with db.write() as conn:
            for n, name in enumerate(("ops", "ops", "viewer", "ops", long_name, long_name)):
                conn.execute(insert(api_tokens).values(name=name, token_hash=f"hash-{n}", scopes="api", role="admin",
                                                       created_at=utcnow()))
        migrate.upgrade(db)
        with db.read() as conn:
            names = [r.name for r in conn.execute(select(api_tokens.c.name).order_by(api_tokens.c.id))]
        assert names == ["ops", "ops (id 2)", "viewer", "ops (id 4)", long_name, "x" * 93 + " (id 6)"]
        with db.write() as conn:
            try:
                tokens.create(conn, "viewer")
                raise AssertionError("a second 'viewer' was created")
            except tokens.NameTaken as exc:
                assert exc.token_id == 3
        result = CliRunner().invoke(main, ["token", "revoke", "ops (id 4)", "--db", db_url])
        assert result.output == "revoked token 4 (ops (id 4), admin)\n"
    finally:
        db.dispose()

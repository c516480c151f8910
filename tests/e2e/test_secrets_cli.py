"""Secrets at rest: set through the `orderhub` command, never in the database file or its WAL,
rotated without stopping webhook verification, legacy clear values read and then encrypted."""

from __future__ import annotations

import base64
import re
import shutil
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest
from click.testing import CliRunner
from sqlalchemy import insert, select, text, update

from orderhub.adapters.store import destinations, migrate, secret_rotation, shops, subscriptions
from orderhub.adapters.store import secrets as secret_box
from orderhub.adapters.store.db import Database, sqlite_path
from orderhub.adapters.store.schema import destinations as destinations_table
from orderhub.adapters.store.schema import inbox
from orderhub.adapters.store.schema import shops as shops_table
from orderhub.adapters.store.schema import subscriptions as subscriptions_table
from orderhub.bootstrap import build
from orderhub.clock import utcnow
from orderhub.config import Settings
from orderhub.entrypoints.cli import main
from tests.processes import Processes, running
from tests.support import SECRET, SHOP, add_shop, order_payload, post_webhook

SHOP_SECRET = "shpss_from-stdin-🦋-0a1b2c3d"
ACCESS_TOKEN = "shpat_from-a-file-9f8e7d6c"
DEST_SECRET = "erp-signing-secret-from-a-file-5e6f"


def cli(db_url: str, *args: str, input: str | None = None, env: dict[str, str] | None = None) -> str:
    result = CliRunner().invoke(main, [*args, "--db", db_url], input=input, env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def cli_fails(db_url: str, *args: str, env: dict[str, str] | None = None) -> str:
    result = CliRunner().invoke(main, [*args, "--db", db_url], env=env)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and isinstance(result.exception, SystemExit)
    return result.output


@pytest.fixture
def default_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """The key file beside the SQLite database (the PostgreSQL tests point every test at one)."""
    monkeypatch.delenv("ORDERHUB_SECRET_KEY_FILE", raising=False)
    monkeypatch.delenv("ORDERHUB_SECRET_KEY", raising=False)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_copy_of_the_database_and_its_wal_holds_no_secret(sqlite_url: str, tmp_path: Path,
                                                            default_keys: None) -> None:
    db_file = sqlite_path(sqlite_url)
    assert db_file is not None
    token_file = tmp_path / "token.txt"
    token_file.write_text(ACCESS_TOKEN + "\n", encoding="utf-8")
    dest_file = tmp_path / "dest.txt"
    dest_file.write_text(DEST_SECRET, encoding="utf-8")

    cli(sqlite_url, "shop", "add", SHOP, "--secret", "-", "--access-token-file", str(token_file), input=SHOP_SECRET)
    cli(sqlite_url, "destination", "add", "erp", "--url", "https://erp.example/hook", "--secret-file",
        str(dest_file))
    out = cli(sqlite_url, "subscription", "add", "https://crm.example/hook", "--events", "order.*")
    whsec = re.search(r"whsec_[A-Za-z0-9+/=]+", out)
    assert whsec

    db = Database(sqlite_url)  # held open: the WAL keeps the last writes
    try:
        with db.write() as conn:
            found = shops.by_domain(conn, SHOP)
            assert found is not None and (found.webhook_secret, found.access_token) == (SHOP_SECRET, ACCESS_TOKEN)
            assert destinations.get(conn, "erp").secret == DEST_SECRET  # type: ignore[union-attr]
            assert subscriptions.all_subscriptions(conn)[0].secret == whsec.group(0)
            shops.add(conn, "second.myshopify.com", SECRET, access_token="shpat_written-last")
        copies = []
        for suffix in ("", "-wal", "-shm"):
            original = db_file.with_name(db_file.name + suffix)
            if original.exists():
                assert _mode(original) == 0o600, f"{original.name} is {oct(_mode(original))}"
                copy = tmp_path / f"copy{suffix}"
                shutil.copyfile(original, copy)
                copies.append(copy.read_bytes())
        assert len(copies) >= 2, "expected the database and its WAL"
    finally:
        db.dispose()
    for raw in copies:
        for secret in (SHOP_SECRET, ACCESS_TOKEN, DEST_SECRET, whsec.group(0), SECRET, "shpat_written-last"):
            assert secret.encode() not in raw
    key_file = db_file.with_name(db_file.name + ".keys")
    assert _mode(key_file) == 0o600
    assert b"ohsec1:" in b"".join(copies)


def test_secrets_are_read_from_a_file_or_standard_input_only_once(sqlite_url: str, tmp_path: Path) -> None:
    both = CliRunner().invoke(main, ["shop", "add", SHOP, "--secret", "-", "--access-token", "-", "--db",
                                     sqlite_url], input="one\n")
    assert both.exit_code == 2 and "standard input already gives --secret" in both.output
    missing = CliRunner().invoke(main, ["shop", "add", SHOP, "--db", sqlite_url])
    assert missing.exit_code == 2 and "--secret-file PATH" in missing.output
    empty = tmp_path / "empty.txt"
    empty.write_text("\n", encoding="utf-8")
    blank = CliRunner().invoke(main, ["destination", "add", "erp", "--url", "https://erp.example",
                                      "--secret-file", str(empty), "--db", sqlite_url])
    assert blank.exit_code == 2 and "is empty" in blank.output


def test_rotation_reencrypts_everything_and_webhooks_still_verify(  # type: ignore[no-untyped-def]
        hub, hub_server, db_url: str) -> None:
    add_shop(hub)
    with hub.db.write() as conn:
        destinations.add_http(conn, "erp", "https://erp.example", DEST_SECRET)
        subscriptions.add(conn, "https://crm.example/hook", "order.*")
    with httpx.Client() as client:
        assert post_webhook(client, hub_server.url, "orders/create", order_payload()).status_code == 200
        with hub.db.read() as conn:
            before = secret_box.keyring(conn).current_id

        out = cli(db_url, "secrets", "rotate")  # another process: its own engine and keys
        assert "3 secret(s) re-encrypted" in out
        status = orjson.loads(cli(db_url, "secrets", "status", "--json"))
        new = status["current_key"]
        assert new != before and before in status["key_ids"]
        assert {(v["column"], v["key"]) for v in status["values"]} == {
            ("shops.webhook_secret", new), ("destinations.secret", new), ("subscriptions.secret", new)}

        hub.shops._loaded = 0.0  # the running server reloads its shops: values under a key it has not seen yet
        again = post_webhook(client, hub_server.url, "orders/create", order_payload(updated_at="2026-11-23T11:00:00Z"))
        assert again.status_code == 200, again.text
        assert post_webhook(client, hub_server.url, "orders/create", order_payload(),
                            secret="not-the-secret").status_code == 401
    with hub.db.write() as conn:  # the old process writes under the new key too
        shops.add(conn, "late.myshopify.com", "late-secret")
        assert secret_box.stored_key_id(conn.execute(select(shops_table.c.webhook_secret).where(
            shops_table.c.domain == "late.myshopify.com")).scalar_one()) == new
        assert destinations.get(conn, "erp").secret == DEST_SECRET  # type: ignore[union-attr]


def test_legacy_clear_values_are_read_then_encrypted_by_the_migration(db_url: str) -> None:
    db = Database(db_url)
    try:
        now = utcnow()
        with db.write() as conn:
            conn.execute(insert(shops_table).values(domain=SHOP, webhook_secret="clear-secret",
                                                    access_token="clear-tok", api_version="2026-10", created_at=now))
            shop_id = conn.execute(select(shops_table.c.id)).scalar_one()
            conn.execute(insert(inbox).values(  # refers to the shop: SQLite rebuilds the shops table around it
                shop_id=shop_id, source="webhook", topic="orders/create", identity="order:1@1", received_at=now,
                payload="{}", status="pending", available_at=now))
            conn.execute(insert(destinations_table).values(
                name="erp", kind="http", url="https://erp.example", secret="clear-dest", rate_per_second=1, burst=1,
                max_attempts=1, created_at=now))
            conn.execute(insert(subscriptions_table).values(
                url="https://crm.example", events="*", secret="whsec_Y2xlYXI=", rate_per_second=1, max_attempts=1,
                timeout_seconds=1, created_at=now))
        with db.read() as conn:
            shop = shops.by_domain(conn, SHOP)
            assert shop is not None and (shop.webhook_secret, shop.access_token) == ("clear-secret", "clear-tok")
            assert secret_rotation.status(conn)["shops.webhook_secret"] == {secret_rotation.CLEAR: 1}
        migrate.downgrade(db, "0011")
        migrate.upgrade(db)
        with db.read() as conn:
            stored = conn.execute(text("SELECT webhook_secret, access_token FROM shops")).one()
            assert all(secret_box.is_encrypted(v) for v in stored)
            assert secret_rotation.status(conn)["subscriptions.secret"].keys() == {secret_box.keyring(conn).current_id}
            shop = shops.by_domain(conn, SHOP)
            assert shop is not None and (shop.webhook_secret, shop.access_token) == ("clear-secret", "clear-tok")
            assert destinations.get(conn, "erp").secret == "clear-dest"  # type: ignore[union-attr]
            assert subscriptions.all_subscriptions(conn)[0].secret == "whsec_Y2xlYXI="
            assert conn.execute(select(inbox.c.shop_id)).scalar_one() == shop.id
    finally:
        db.dispose()


def test_a_missing_or_wrong_key_says_what_to_do(sqlite_url: str, default_keys: None) -> None:
    cli(sqlite_url, "shop", "add", SHOP, "--secret", SECRET)
    db_file = sqlite_path(sqlite_url)
    assert db_file is not None
    key_file = db_file.with_name(db_file.name + ".keys")
    backup = key_file.with_name("backup.keys")
    key_file.rename(backup)

    out = cli_fails(sqlite_url, "shop", "list")
    assert f"the secret key file {key_file} is missing" in out and "Restore the file from your backup" in out
    assert not key_file.exists()  # no new key made beside encrypted secrets
    assert "Restore" in cli_fails(sqlite_url, "serve", "--port", "1")  # stops before serving

    other = {"ORDERHUB_SECRET_KEY": secret_box.new_key()}
    out = cli_fails(sqlite_url, "shop", "list", env=other)
    assert "not among the keys in ORDERHUB_SECRET_KEY" in out and SECRET not in out

    backup.rename(key_file)
    db = Database(sqlite_url)
    try:
        with db.write() as conn:  # a damaged value
            stored = conn.execute(select(shops_table.c.webhook_secret)).scalar_one()
            conn.execute(update(shops_table).values(webhook_secret=stored[:-4] + "AAAA"))
    finally:
        db.dispose()
    assert "is damaged" in cli_fails(sqlite_url, "shop", "list")


def test_shops_destinations_and_subscriptions_never_show_their_secrets_in_repr(  # type: ignore[no-untyped-def]
        hub) -> None:
    with hub.db.write() as conn:
        shop = shops.add(conn, SHOP, SECRET, access_token="shpat_repr")
        dest = destinations.add_http(conn, "erp", "https://erp.example", DEST_SECRET)
        sub = subscriptions.add(conn, "https://crm.example/hook", "order.*")
        ring = secret_box.keyring(conn)
    for shown in (repr(shop), repr(dest), repr(sub), repr(ring)):
        for secret in (SECRET, "shpat_repr", DEST_SECRET, sub.secret):
            assert secret not in shown


def test_an_existing_database_readable_by_others_is_made_private(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    db = Database(f"sqlite:///{path}")
    migrate.upgrade(db)
    db.dispose()
    path.chmod(0o644)
    db = Database(f"sqlite:///{path}")
    try:
        with db.write() as conn:
            conn.execute(text("SELECT 1"))
        assert _mode(path) == 0o600
        assert _mode(path.with_name("old.db-wal")) == 0o600
    finally:
        db.dispose()


@pytest.mark.parametrize("bad", ["c2hvcnQ=", "not base64!"])
def test_a_key_that_is_not_a_key_is_refused(sqlite_url: str, bad: str) -> None:
    cli(sqlite_url, "shop", "add", SHOP, "--secret", SECRET)
    out = cli_fails(sqlite_url, "shop", "list", env={"ORDERHUB_SECRET_KEY": bad})
    assert "not a key" in out


def test_postgresql_needs_a_key_named_and_settings_can_give_it(sqlite_url: str) -> None:
    with pytest.raises(secret_box.SecretKeyError, match="set ORDERHUB_SECRET_KEY_FILE to a key file every"):
        secret_box.load("postgresql+psycopg://orderhub@db.internal/orderhub", secret_box.KeySource())
    key = secret_box.new_key()
    hub = build(Settings(database_url=sqlite_url, secret_key=f"{key}, {secret_box.new_key()}"))
    try:
        with hub.db.write() as conn:
            shops.add(conn, SHOP, SECRET)
            stored = conn.execute(select(shops_table.c.webhook_secret)).scalar_one()
        assert secret_box.stored_key_id(stored) == secret_box.key_id(base64.urlsafe_b64decode(key))
        assert secret_rotation.key_info(hub.db).source == "ORDERHUB_SECRET_KEY"
    finally:
        hub.close()


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Processes]:
    yield from running(tmp_path)


def test_a_running_server_keeps_verifying_webhooks_across_a_rotation_by_another_process(
        processes: Processes, sqlite_url: str, default_keys: None) -> None:
    processes.database_url = sqlite_url
    processes.cli("shop", "add", SHOP, "--secret", SECRET)
    server = processes.serve()
    with httpx.Client() as client:
        assert post_webhook(client, server.url, "orders/create", order_payload()).status_code == 200
        assert "1 secret(s) re-encrypted" in processes.cli("secrets", "rotate")
        time.sleep(5.5)  # the server's shop cache has reloaded: the secret is now under a key it had not loaded
        later = post_webhook(client, server.url, "orders/create", order_payload(updated_at="2026-11-23T12:00:00Z"))
        assert later.status_code == 200, processes.report()
        processes.cli("shop", "add", "late.myshopify.com", "--secret", "late-secret")  # a new one, new key
        time.sleep(0.6)
        late = post_webhook(client, server.url, "orders/create", order_payload(), shop="late.myshopify.com",
                            secret="late-secret")
        assert late.status_code == 200, processes.report()
    processes.check(server)

"""When what a command depends on fails (the database, Shopify, a file), `orderhub` says so in one line,
naming what failed and what to check; `orderhub --debug ...` shows the traceback instead."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from sqlalchemy.exc import OperationalError

from orderhub.adapters.shopify.graphql import ShopifyError
from orderhub.bootstrap import Hub
from orderhub.entrypoints import cli_retries
from orderhub.entrypoints.cli import main
from orderhub.entrypoints.cli_errors import describe
from orderhub.testing.postgres import PostgresServer, free_port
from orderhub.testing.server import ServerThread
from tests.support import add_shop

CLI = [sys.executable, "-m", "orderhub.entrypoints.cli"]


def _fails(*args: str) -> str:
    """The command's output, after checking it failed with one line and no traceback."""
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "Traceback" not in result.output, result.output
    return lines[0]


def test_a_refused_postgresql_connection() -> None:
    line = _fails("orders", "list", "--db", f"postgresql://ops:s3cret@127.0.0.1:{free_port()}/orderhub")
    assert "database postgresql://ops:***@127.0.0.1:" in line and "Connection refused" in line
    assert "is the PostgreSQL server running, and are the host and port right?" in line
    assert "s3cret" not in line


def test_an_unknown_role_and_a_missing_database(pg_server: PostgresServer | None) -> None:
    if pg_server is None:
        pytest.skip("PostgreSQL server programs not installed")
    role = _fails("orders", "list", "--db", f"postgresql://nobody@127.0.0.1:{pg_server.port}/postgres")
    assert 'role "nobody" does not exist' in role and "check the user name in the URL" in role
    missing = _fails("token", "list", "--db", f"postgresql://postgres@127.0.0.1:{pg_server.port}/no_such_db")
    assert 'database "no_such_db" does not exist' in missing and "createdb" in missing


def test_a_wrong_password_says_what_to_check() -> None:
    said = OperationalError("SELECT 1", {}, Exception(
        'connection failed: connection to server at "db.example" (10.0.0.5), port 5432 failed: FATAL:  '
        'password authentication failed for user "ops"\nmore detail'))
    line = describe(said, "postgresql://ops:pw@db.example/orderhub")
    assert line is not None and "\n" not in line and "pw@" not in line
    assert 'password authentication failed for user "ops"' in line and "PGPASSWORD" in line


def test_unsupported_and_malformed_urls() -> None:
    assert "unsupported database URL mysql://ops@db/orderhub: orderhub stores in SQLite or PostgreSQL" in _fails(
        "orders", "list", "--db", "mysql://ops@db/orderhub")
    assert "'not a url' is not a database URL: use sqlite:///PATH or postgresql://" in _fails(
        "migrate", "--db", "not a url")


def test_an_unreadable_sqlite_path(tmp_path: Path) -> None:
    line = _fails("migrate", "--db", f"sqlite:///{tmp_path}/missing-directory/orderhub.db")
    assert "unable to open database file" in line and "check that the directory exists" in line


def test_subscribing_a_shop_without_a_token(hub: Hub) -> None:
    add_shop(hub)
    line = _fails("shop", "subscribe", "test-shop.myshopify.com", "--address", "https://hub.example/webhooks/shopify",
                  "--db", hub.settings.database_url)
    assert "has no access token" in line and "--access-token" in line


def test_shopify_answering_an_error(hub: Hub) -> None:
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    app = Starlette(routes=[Route("/admin/api/{version}/graphql.json", lambda r: JSONResponse({}, 401),
                                  methods=["POST"])])
    with ServerThread(app) as shopify:
        url = hub.settings.database_url
        CliRunner().invoke(main, ["shop", "add", "refusing.myshopify.com", "--secret", "s", "--access-token", "t",
                                  "--admin-url", shopify.url, "--db", url])
        line = _fails("shop", "subscribe", "refusing.myshopify.com", "--address", "https://hub.example/webhooks/shopify",
                      "--db", url)
    assert "Shopify refused the access token (401)" in line


def test_unreachable_services_in_one_line() -> None:
    request = httpx.Request("POST", "https://erp.example:8443/events")
    assert describe(httpx.ConnectError("[Errno 111] Connection refused", request=request)) == (
        "https://erp.example:8443 could not be reached (ConnectError: [Errno 111] Connection refused); check the "
        "address and that the service is up")
    answered = httpx.HTTPStatusError("bad", request=request, response=httpx.Response(503, request=request))
    assert describe(answered) == ("https://erp.example:8443 answered 503 Service Unavailable to POST /events; "
                                  "check the address and the credentials")
    assert describe(ShopifyError("Shopify unreachable at https://x/admin: ConnectError")) == (
        "Shopify unreachable at https://x/admin: ConnectError")
    assert describe(PermissionError(13, "Permission denied", "/srv/feed.csv")) == (
        "/srv/feed.csv: Permission denied; check the path, the permissions or the network")
    assert describe(KeyError("a bug")) is None  # a bug keeps its traceback


def test_debug_shows_the_traceback() -> None:
    env = {k: v for k, v in os.environ.items() if k != "ORDERHUB_DEBUG"}
    url = f"postgresql://ops@127.0.0.1:{free_port()}/orderhub"
    short = subprocess.run([*CLI, "orders", "list", "--db", url], env=env, capture_output=True, text=True, timeout=60,
                           check=False)
    assert short.returncode == 1 and len(short.stderr.strip().splitlines()) == 1
    full = subprocess.run([*CLI, "--debug", "orders", "list", "--db", url], env=env, capture_output=True, text=True,
                          timeout=60, check=False)
    assert full.returncode == 1 and "Traceback (most recent call last)" in full.stderr
    assert "sqlalchemy.exc.OperationalError" in full.stderr


def test_reconcile_says_why_it_waits(hub: Hub, monkeypatch: pytest.MonkeyPatch) -> None:
    waits: list[float] = []
    monkeypatch.setattr(cli_retries.time, "sleep", waits.append)
    url = hub.settings.database_url
    CliRunner().invoke(main, ["shop", "add", "gone.myshopify.com", "--secret", "s", "--access-token", "t",
                              "--admin-url", f"http://127.0.0.1:{free_port()}", "--db", url])
    result = CliRunner().invoke(main, ["reconcile", "--shop", "gone.myshopify.com", "--db", url])
    assert result.exit_code == 1
    progress = [line for line in result.stderr.splitlines() if "retrying" in line]
    assert len(progress) == len(waits) == 7  # 8 attempts: a wait before each of the last 7
    assert progress[0].startswith("Shopify unreachable (ConnectError), retrying in ")
    assert progress[0].endswith(" s (attempt 2 of 8)") and progress[-1].endswith("(attempt 8 of 8)")
    assert "Shopify unreachable" in result.stderr.splitlines()[-1]

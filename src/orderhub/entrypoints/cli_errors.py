"""Failures of what a command depends on (the database, Shopify, Retail Pro, SFTP, SMTP, files) as one
line that names what failed and what to check; ``orderhub --debug ...`` shows the traceback instead."""

from __future__ import annotations

from typing import Any

import click
import httpx
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError

from orderhub.adapters.mail import MailError
from orderhub.adapters.payments import PaymentError
from orderhub.adapters.retailpro import RetailProError
from orderhub.adapters.sftp import SftpError
from orderhub.adapters.shopify.graphql import ShopifyError
from orderhub.adapters.store.secret_rotation import SecretKeyError
from orderhub.entrypoints.cli_database import SUPPORTED, shown
from orderhub.entrypoints.cli_support import DATABASE_URL

DEBUG = "orderhub.debug"  # ctx.meta key: the global --debug

# What the database driver says, and what a person should check then (first match wins).
_DATABASE_HINTS = (
    ("connection refused", "is the PostgreSQL server running, and are the host and port right?"),
    ("could not translate host name", "is the host name in the URL right?"),
    ("name or service not known", "is the host name in the URL right?"),
    ("timeout expired", "is the server reachable from here (host, port, firewall)?"),
    ("password authentication failed", "check the user and password in the URL (or PGPASSWORD / ~/.pgpass)"),
    ("no password supplied", "give the password in the URL, or in PGPASSWORD / ~/.pgpass"),
    ('database "', 'create the database (e.g. createdb NAME), then run "orderhub migrate --db ..."'),
    ('role "', "check the user name in the URL; that role must exist on the server"),
    ("unable to open database file", "check that the directory exists and that you may read and write it"),
    ("database is locked", "another process holds a lock on it; try again in a moment"),
    ("readonly database", "you may read the file but not write it (or its directory); check its permissions"),
    ("file is not a database", "the file is not a SQLite database: check the path"),
)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0].strip() if text else type(exc).__name__


def _database(exc: DBAPIError, url: str | None) -> str:
    said = _first_line(exc.orig) if exc.orig is not None else _first_line(exc)
    said = said.removeprefix("connection failed: ")
    hint = next((h for key, h in _DATABASE_HINTS if key in said.lower()), "check --db / ORDERHUB_DATABASE_URL")
    return f"database {shown(url) if url else ''}: {said}; {hint}".replace("database : ", "database: ")


def _http(exc: httpx.HTTPError) -> str:
    try:
        request: httpx.Request | None = exc.request
    except RuntimeError:  # an error raised without a request
        request = None
    where = f"{request.url.scheme}://{request.url.netloc.decode()}" if request is not None else "a service"
    if isinstance(exc, httpx.HTTPStatusError):
        return (f"{where} answered {exc.response.status_code} {exc.response.reason_phrase} to "
                f"{exc.request.method} {exc.request.url.path}; check the address and the credentials")
    return f"{where} could not be reached ({type(exc).__name__}: {_first_line(exc)}); check the address and " \
           "that the service is up"


def describe(exc: BaseException, database_url: str | None = None) -> str | None:
    """One line for a known failure of something outside orderhub; None for anything else (a bug)."""
    if isinstance(exc, DBAPIError):
        return _database(exc, database_url)
    if isinstance(exc, (ArgumentError, NoSuchModuleError)):
        return f"{_first_line(exc)}: use {SUPPORTED}"
    if isinstance(exc, SecretKeyError):
        return str(exc)
    if isinstance(exc, ShopifyError):
        text = _first_line(exc)
        return text if text.lower().startswith("shopify") else f"Shopify: {text}"
    if isinstance(exc, RetailProError):
        return f"Retail Pro: {_first_line(exc)}"
    if isinstance(exc, PaymentError):
        return f"payment gateway: {_first_line(exc)}"
    if isinstance(exc, (SftpError, MailError)):
        return _first_line(exc)
    if isinstance(exc, httpx.HTTPError):
        return _http(exc)
    if type(exc).__module__.startswith("paramiko"):
        return f"SSH/SFTP: {_first_line(exc)}"
    if isinstance(exc, OSError):
        what = f"{exc.filename}: " if exc.filename else ""
        return f"{what}{exc.strerror or _first_line(exc)}; check the path, the permissions or the network"
    return None


class OrderhubGroup(click.Group):
    """The ``orderhub`` group: known failures of what a command depends on become one line, exit status 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as exc:
            if ctx.meta.get(DEBUG):
                raise
            message = describe(exc, ctx.meta.get(DATABASE_URL))
            if message is None:
                raise
            raise click.ClickException(message) from None

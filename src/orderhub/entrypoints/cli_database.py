"""Which database a command opens, and whether it may: read-only commands need one that exists and is
migrated; commands that write may bring an existing one up to date; none of them creates one (that is
what ``orderhub migrate`` is for)."""

from __future__ import annotations

from typing import Literal

import click
from alembic.script import ScriptDirectory
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from orderhub.adapters.store import migrate
from orderhub.adapters.store.db import normalise_url, sqlite_path
from orderhub.bootstrap import Hub, build
from orderhub.config import Settings

# read: lists, shows, status; write: changes (an existing orderhub database is brought up to date);
# serve: the long-running services, which also migrate an existing but empty database.
Access = Literal["read", "write", "serve"]

SUPPORTED = "sqlite:///PATH or postgresql://USER@HOST/DATABASE"


class DatabaseNotReady(click.ClickException):
    """The database is missing, empty or at another revision; the message says what to run."""


def parse_url(url: str) -> URL:
    """The URL, or a one-line refusal naming it (without its password) and the forms orderhub takes."""
    try:
        parsed = make_url(normalise_url(url))
    except ArgumentError:
        raise click.ClickException(f"{url!r} is not a database URL: use {SUPPORTED}") from None
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise click.ClickException(f"unsupported database URL {shown(url)}: orderhub stores in SQLite or "
                                   f"PostgreSQL; use {SUPPORTED}")
    return parsed


def shown(url: str) -> str:
    """The URL as a person may see it: the password masked; for SQLite the file too (``./orderhub.db``)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return repr(url)
    text = parsed.render_as_string(hide_password=True)
    if parsed.get_backend_name() != "sqlite":
        return text
    path = sqlite_path(url)
    if path is None:
        return text
    where = str(path) if path.is_absolute() or str(path).startswith(".") else f"./{path}"
    return f"{where} ({text})"


def _migrate_hint(url: str) -> str:
    return f'"orderhub migrate --db {make_url(url).render_as_string(hide_password=True)}"'


def open_hub(settings: Settings, access: Access) -> Hub:
    """A Hub on ``settings.database_url`` when the command may use that database; else DatabaseNotReady."""
    url = settings.database_url
    parse_url(url)
    path = sqlite_path(normalise_url(url)) if normalise_url(url).startswith("sqlite") else None
    if path is not None and not path.exists():  # opening it would create it: refuse before that
        raise DatabaseNotReady(f"no orderhub database at {shown(url)}; create one with {_migrate_hint(url)} or run "
                               "the demo, or pass --db / ORDERHUB_DATABASE_URL")
    hub = build(settings)
    try:
        _bring_up_to_date(hub, access)
    except BaseException:
        hub.close()
        raise
    return hub


def _bring_up_to_date(hub: Hub, access: Access) -> None:
    url = hub.settings.database_url
    current, head = migrate.current_revision(hub.db), migrate.head_revision()
    if current == head:
        return
    known = {s.revision for s in ScriptDirectory.from_config(migrate.alembic_config()).walk_revisions()}
    if current is not None and current not in known:
        raise DatabaseNotReady(f"database at {shown(url)} is at revision {current}, newer than this orderhub "
                               f"knows (it needs {head}): upgrade orderhub, or use the database it was migrated by")
    if current is None and access != "serve":
        raise DatabaseNotReady(f"database at {shown(url)} has no orderhub tables; create them with "
                               f"{_migrate_hint(url)}")
    if access == "read":
        raise DatabaseNotReady(f"database at {shown(url)} is at revision {current}, orderhub needs {head}: "
                               f"run {_migrate_hint(url)}")
    migrate.upgrade(hub.db)

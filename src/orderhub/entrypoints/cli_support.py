"""What every orderhub command shares: the console, ``--db`` with a wired Hub, tables and JSON."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import click
import orjson
from rich.console import Console
from rich.table import Table

from orderhub import logs
from orderhub.adapters.store import migrate
from orderhub.adapters.store.secret_rotation import SecretKeyError
from orderhub.bootstrap import build
from orderhub.config import Settings

F = TypeVar("F", bound=Callable[..., Any])
console = Console()


def settings_for(db: str | None) -> Settings:
    return Settings.from_env().with_database(db)


def with_hub(fn: F) -> F:
    """Adds ``--db`` and hands the command a wired Hub on a migrated database."""

    @click.option("--db", "db_url", envvar="ORDERHUB_DATABASE_URL", default=None,
                  help="Database URL (default sqlite:///orderhub.db; or postgresql://...).")
    @functools.wraps(fn)
    def wrapper(*args: Any, db_url: str | None, **kwargs: Any) -> Any:
        settings = settings_for(db_url)
        logs.configure(settings.log_level, settings.log_json)
        hub = build(settings)
        try:
            if not migrate.is_current(hub.db):
                migrate.upgrade(hub.db)
            return fn(hub, *args, **kwargs)
        except SecretKeyError as exc:  # a missing or wrong key: say what to do, no traceback
            raise click.ClickException(str(exc)) from None
        finally:
            hub.close()

    return wrapper  # type: ignore[return-value]


def print_json(value: Any) -> None:
    click.echo(orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS, default=str).decode())


def table(title: str, columns: list[str], rows: list[list[Any]]) -> None:
    rich_table = Table(title=title, show_lines=False)
    for i, c in enumerate(columns):  # the last column takes the wrapping; the others stay whole
        last = i == len(columns) - 1
        rich_table.add_column(c, overflow="fold", no_wrap=not last, ratio=1 if last else None)
    for r in rows:
        rich_table.add_row(*["" if v is None else str(v) for v in r])
    console.print(rich_table)


def timeline_detail(detail: dict[str, Any]) -> str:
    """The part of a timeline entry a person reads first: why, or what brokering decided."""
    if detail.get("explanation"):
        return "; ".join(detail["explanation"])
    for key in ("reason", "failed", "status", "to"):
        if detail.get(key):
            value = detail[key]
            return ", ".join(value) if isinstance(value, list) else str(value)
    return ""

"""What every orderhub command shares: the console, ``--db`` with a wired Hub, logs, tables and JSON."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any, TypeVar

import click
import orjson
from rich import box
from rich.console import Console
from rich.table import Table

from orderhub import logs
from orderhub.adapters.store.secret_rotation import SecretKeyError
from orderhub.config import Settings
from orderhub.entrypoints.cli_database import Access, open_hub

F = TypeVar("F", bound=Callable[..., Any])
console = Console()


VERBOSE = "orderhub.verbose"  # ctx.meta key: the global --verbose
DATABASE_URL = "orderhub.database_url"  # ctx.meta key: the database a failure message names
WHOLE_WORD = 20  # a table keeps words up to this long whole while it can (shop domains, topics, job names)
JSON_HELP = "Print JSON (for scripts) instead of text for a person."


def settings_for(db: str | None) -> Settings:
    return Settings.from_env().with_database(db)


def configure_logs(settings: Settings, access: Access) -> None:
    """Services keep structured logs; a command a person runs logs only warnings, in plain words, unless
    they ask for more (``--verbose``) or set ORDERHUB_LOG_LEVEL / ORDERHUB_LOG_FORMAT themselves."""
    if access == "serve":
        logs.configure(settings.log_level, settings.log_json)
        return
    ctx = click.get_current_context(silent=True)
    verbose = bool(ctx and ctx.find_root().meta.get(VERBOSE))
    level = settings.log_level if "ORDERHUB_LOG_LEVEL" in os.environ else ("INFO" if verbose else "WARNING")
    if "ORDERHUB_LOG_FORMAT" in os.environ:
        logs.configure(level, settings.log_json)
    else:
        logs.configure(level, json=False, plain=True)


def _hub_command(access: Access) -> Callable[[F], F]:
    def decorate(fn: F) -> F:
        @click.option("--db", "db_url", envvar="ORDERHUB_DATABASE_URL", default=None,
                      help="Database URL (default sqlite:///orderhub.db; or postgresql://...).")
        @functools.wraps(fn)
        def wrapper(*args: Any, db_url: str | None, **kwargs: Any) -> Any:
            settings = settings_for(db_url)
            ctx = click.get_current_context(silent=True)
            if ctx is not None:
                ctx.find_root().meta[DATABASE_URL] = settings.database_url
            configure_logs(settings, access)
            hub = open_hub(settings, access)
            try:
                return fn(hub, *args, **kwargs)
            except SecretKeyError as exc:  # a missing or wrong key: say what to do, no traceback
                raise click.ClickException(str(exc)) from None
            finally:
                hub.close()

        wrapper.orderhub_access = access  # type: ignore[attr-defined]  # checked by the tests of the tree
        return wrapper  # type: ignore[return-value]

    return decorate


# Adds ``--db`` and hands the command a wired Hub. Every command says which kind it is:
read_only_hub = _hub_command("read")  # needs a database that exists and is migrated; changes nothing
writing_hub = _hub_command("write")  # brings an existing orderhub database up to date first
with_hub = _hub_command("serve")  # serve and worker: also migrate an existing, empty database


def print_json(value: Any) -> None:
    click.echo(orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS, default=str).decode())


def cell(value: Any) -> str:
    """A value as a person reads it in a table: yes/no, blank for nothing, times in UTC to the second."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return utc_time(value)
    return str(value)


def utc_time(value: datetime | None) -> str:
    """``2026-12-07 09:13:06Z``; a naive time is taken as UTC (as the store keeps them)."""
    if value is None:
        return ""
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc)
    return f"{value:%Y-%m-%d %H:%M:%S}Z"


def iso_time(value: str | datetime | None) -> str:
    """A stored ISO time (text or datetime) as :func:`utc_time` shows it."""
    if value is None or value == "":
        return ""
    return utc_time(value if isinstance(value, datetime) else datetime.fromisoformat(value))


def column_widths(columns: list[str], rows: list[list[str]], width: int) -> list[int] | None:
    """Widths that fit ``width`` (the space between columns counted), or None when the columns fit as they are.

    The column with the most room above its floor gives way first: cells wrap between words while they can; then words longer than
    ``WHOLE_WORD`` (addresses, long ids) fold; only then shorter ones, so names and headers stay whole.
    """
    cells = [[c, *(r[i] for r in rows)] for i, c in enumerate(columns)]
    full = [max(len(line) for text in col for line in text.splitlines() or [""]) for col in cells]
    words = [max((len(w) for text in col for w in text.split()), default=1) for col in cells]
    room = max(width - 2 * (len(columns) - 1), 4 * len(columns))  # two spaces between columns (see table)
    if sum(full) <= room:
        return None
    widths = list(full)
    for floor in (words, [min(w, WHOLE_WORD) for w in words], [4] * len(columns)):
        while sum(widths) > room:
            shrinkable = [j for j in range(len(widths)) if widths[j] > floor[j]]
            if not shrinkable:
                break
            widths[max(shrinkable, key=lambda j: widths[j] - floor[j])] -= 1  # the most room to give first
    return widths


def table(title: str, columns: list[str], rows: list[list[Any]], *, drop_empty: tuple[str, ...] = ()) -> None:
    """Cells wrap rather than being cut, so all of every header and value shows at 80 columns.
    Columns named in ``drop_empty`` are left out when no row has a value in them."""
    texts = [[cell(v) for v in r] for r in rows]
    keep = [i for i, c in enumerate(columns) if c not in drop_empty or any(r[i] for r in texts)]
    columns, texts = [columns[i] for i in keep], [[r[i] for i in keep] for r in texts]
    widths = column_widths(columns, texts, console.width) or [None] * len(columns)
    # A rule under the header and two spaces between columns: more of 80 columns left for the values.
    rich_table = Table(title=title, box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, collapse_padding=True)
    for c, w in zip(columns, widths, strict=True):
        rich_table.add_column(c, overflow="fold", width=w)
    for r in texts:
        rich_table.add_row(*r)
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

"""``orderhub secrets``: which keys encrypt the stored secrets, and rotating them.

Also the ``--secret``/``--secret-file`` pairs of the commands that take a secret, so a secret
need not appear on a command line (where ``ps`` and shell history see it): ``--secret -``
reads standard input, ``--secret-file PATH`` a file.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from orderhub.adapters.store import secret_rotation
from orderhub.bootstrap import Hub
from orderhub.entrypoints.cli_support import JSON_HELP, F, print_json, read_only_hub, table, writing_hub

_STDIN_TAKEN = "orderhub.secret_stdin"


def _read(name: str, value: str | None, path: Path | None, required: bool) -> str | None:
    if value is not None and path is not None:
        raise click.UsageError(f"give --{name} or --{name}-file, not both")
    if path is not None:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise click.BadParameter(f"cannot read {path}: {exc.__class__.__name__}",
                                     param_hint=f"--{name}-file") from None
        where = str(path)
    elif value == "-":
        ctx = click.get_current_context()
        if ctx.meta.get(_STDIN_TAKEN):
            raise click.UsageError(f"--{name} -: standard input already gives --{ctx.meta[_STDIN_TAKEN]}; "
                                   f"use --{name}-file for this one")
        ctx.meta[_STDIN_TAKEN] = name
        text = sys.stdin.read()
        where = "standard input"
    else:
        text, where = value or "", f"--{name}"
    secret = text.strip()
    if not secret:
        if value is None and path is None and not required:
            return None
        raise click.UsageError(f"--{name} is required (--{name} VALUE, --{name} - for standard input, or "
                               f"--{name}-file PATH)" if value is None and path is None else f"{where} is empty")
    return secret


def secret_option(name: str, *, required: bool, help: str) -> Callable[[F], F]:
    """``--NAME VALUE`` (``-``: standard input) and ``--NAME-file PATH``; the command gets NAME."""
    param = name.replace("-", "_")

    def decorate(fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            kwargs[param] = _read(name, kwargs.pop(param), kwargs.pop(f"{param}_file"), required)
            return fn(*args, **kwargs)

        wrapper = click.option(f"--{name}-file", f"{param}_file", default=None,
                               type=click.Path(dir_okay=False, path_type=Path),
                               help=f"Read the {name.replace('-', ' ')} from this file.")(wrapper)
        wrapper = click.option(f"--{name}", param, default=None,
                               help=f"{help} `-` reads it from standard input.")(wrapper)
        return wrapper  # type: ignore[return-value]

    return decorate


def register(main: click.Group) -> None:
    @main.group("secrets")
    def secrets_group() -> None:
        """The keys that encrypt stored secrets (shops, destinations, subscriptions)."""

    @secrets_group.command("status")
    @click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
    @read_only_hub
    def secrets_status(hub: Hub, as_json: bool) -> None:
        """How many stored secrets each key id encrypts (no secret is shown)."""
        ring = secret_rotation.key_info(hub.db)
        with hub.db.read() as conn:
            counts = secret_rotation.status(conn)
        rows = [{"column": column, "key": kid, "current": kid == ring.current_id, "values": n}
                for column, found in counts.items() for kid, n in sorted(found.items())]
        if as_json:
            print_json({"keys": ring.source, "current_key": ring.current_id, "key_ids": ring.ids, "values": rows})
            return
        click.echo(f"keys from {ring.source}: current {ring.current_id}"
                   + (f", also {', '.join(ring.ids[1:])}" if len(ring.ids) > 1 else ""))
        table("Stored secrets by key", ["column", "key id", "values"],
              [[r["column"], f"{r['key']} (current)" if r["current"] else r["key"], r["values"]] for r in rows])
        if any(r["key"] == secret_rotation.CLEAR for r in rows):
            click.echo("some values are still in clear: `orderhub secrets rotate` encrypts them")

    @secrets_group.command("rotate")
    @writing_hub
    def secrets_rotate(hub: Hub) -> None:
        """Make a new key current and re-encrypt every stored secret under it, in one transaction."""
        done = secret_rotation.rotate(hub.db)
        where = f"added to {done.key_file}" if done.key_file else "from ORDERHUB_SECRET_KEY"
        click.echo(f"key {done.new_key_id} ({where}) now encrypts; {done.reencrypted} secret(s) re-encrypted")
        if done.key_file:
            click.echo("the older keys stay in the file, so running processes keep reading; back the file up now")

    @secrets_group.command("new-key")
    def secrets_new_key() -> None:
        """Print a new random key, for ORDERHUB_SECRET_KEY (put it first, keep the old ones after it)."""
        click.echo(secret_rotation.new_key())

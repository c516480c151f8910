"""``orderhub destination``: where processed records go (the built-in store, and HTTP endpoints)."""

from __future__ import annotations

from typing import Any

import click

from orderhub.adapters.outbound import BlockedAddress, OutboundPolicy
from orderhub.adapters.store import destinations as dest_store
from orderhub.bootstrap import Hub
from orderhub.entrypoints import cli_secrets
from orderhub.entrypoints.cli_support import JSON_HELP, F, read_only_hub, writing_hub
from orderhub.entrypoints.cli_support import print_json as _print_json
from orderhub.entrypoints.cli_support import table as _table


def _dest_options(fn: F) -> F:
    for opt in reversed([
        click.option("--rate", "rate_per_second", type=float, help="Maximum records per second, all workers together."),
        click.option("--burst", type=float, help="Records allowed at once after idling (default: the rate)."),
        click.option("--max-attempts", type=int, help="Attempts before a record goes to the error log."),
        click.option("--timeout", "timeout_seconds", type=float, help="Seconds to wait for the destination."),
        click.option("--backoff-base", "backoff_base_seconds", type=float, help="First retry delay (seconds)."),
        click.option("--backoff-max", "backoff_max_seconds", type=float, help="Longest retry delay (seconds)."),
    ]):
        fn = opt(fn)
    return fn


@click.group()
def destination() -> None:
    """Where processed records go: the built-in store, and HTTP endpoints."""


@destination.command("add")
@click.argument("name")
@click.option("--url", required=True, help="Endpoint that receives signed canonical events (POST).")
@cli_secrets.secret_option("secret", required=True,
                           help="Signs each event (X-Orderhub-Signature). Never printed.")
@_dest_options
@writing_hub
def destination_add(hub: Hub, name: str, url: str, secret: str, **settings: Any) -> None:
    """Forward each canonical event to an external system, under a NAME of its own."""
    try:
        OutboundPolicy.from_env().check(url)
    except BlockedAddress as exc:
        raise click.BadParameter(str(exc), param_hint="--url") from None
    with hub.db.write() as conn:
        try:
            dest = dest_store.add_http(conn, name, url, secret, **settings)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"destination {dest.name} → {dest.url} at {dest.rate_per_second:g}/s (burst {dest.burst:g})")


@destination.command("set")
@click.argument("name")
@click.option("--enable/--disable", "enabled", default=None, help="Send to it, or hold its records back.")
@_dest_options
@writing_hub
def destination_set(hub: Hub, name: str, **settings: Any) -> None:
    """Change a destination's (NAME) rate, retry policy or enabled state (``store`` is the built-in one)."""
    with hub.db.write() as conn:
        if name == dest_store.STORE:
            dest_store.ensure_store(conn)
        try:
            dest = dest_store.change(conn, name, **settings)
        except LookupError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"destination {dest.name}: {dest.rate_per_second:g}/s, burst {dest.burst:g}, "
               f"{dest.max_attempts} attempts, {'enabled' if dest.enabled else 'disabled'}")


@destination.command("list")
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
@read_only_hub
def destination_list(hub: Hub, as_json: bool) -> None:
    """Destinations with their rate, burst, attempts and state (the built-in store first)."""
    with hub.db.read() as conn:
        rows = dest_store.all_destinations(conn)
    data = [{"name": d.name, "kind": d.kind, "url": d.url, "rate_per_second": d.rate_per_second, "burst": d.burst,
             "max_attempts": d.max_attempts, "enabled": d.enabled} for d in rows]
    if not any(d["name"] == dest_store.STORE for d in data):  # not configured yet: it runs with the defaults
        defaults = dest_store.DEFAULTS
        data.insert(0, {"name": dest_store.STORE, "kind": "store", "url": None,
                        "rate_per_second": defaults["rate_per_second"], "burst": defaults["burst"],
                        "max_attempts": defaults["max_attempts"], "enabled": True})
    if as_json:
        _print_json(data)
    else:
        _table("Destinations", ["name", "kind", "url", "rate/s", "burst", "attempts", "enabled"],
               [list(d.values()) for d in data])


def register(main: click.Group) -> None:
    main.add_command(destination)

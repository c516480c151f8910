"""``orderhub routing``: the brokering rules (routing runs), showing, setting and running them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import orjson

from orderhub.adapters.store import routing_store
from orderhub.bootstrap import Hub
from orderhub.entrypoints.cli_oms import cli_actor, domain_problems
from orderhub.entrypoints.cli_support import JSON_HELP, console, read_only_hub, writing_hub
from orderhub.entrypoints.cli_support import print_json as _print_json
from orderhub.services import brokering, routing_run


def _print_runs(active: str | None, runs: list[dict[str, Any]]) -> None:
    """Each run, its routings (filters and sort) and their rules in the order they are tried."""
    for run in sorted(runs, key=lambda r: r.get("name") != (active or "default")):
        state = "active" if run.get("name") == (active or "default") else "inactive"
        console.print(f"routing run {run.get('name')} ({state}" + (", built in" if active is None else "") + ")",
                      markup=False, highlight=False)
        for routing in run.get("routings") or []:
            filters = "; ".join(f"{k} {', '.join(map(str, v)) if isinstance(v, list) else v}"
                                for k, v in (routing.get("filters") or {}).items())
            order = ", ".join(" ".join(map(str, s)) for s in routing.get("sort") or [])
            console.print(f"  routing {routing.get('name')}" + (f": {filters}" if filters else "")
                          + (f"; sorted by {order}" if order else ""), markup=False, highlight=False)
            for n, rule in enumerate(routing.get("rules") or [], start=1):
                action = rule.get("action") or {}
                then = f"; otherwise {action.get('kind')} {action.get('queue') or ''}".rstrip() if action else ""
                console.print(f"    {n}. {rule.get('name')}: split {rule.get('split', 'none')}, by "
                              f"{', '.join(rule.get('sorts') or []) or '-'}{then}", markup=False, highlight=False)


@click.group()
def routing() -> None:
    """Brokering rules (routing runs) and running them."""


@routing.command("show")
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
@read_only_hub
def routing_show(hub: Hub, as_json: bool) -> None:
    """The routing runs (the active one first) with their routings and rules."""
    with hub.db.read() as conn:
        active = routing_store.active_name(conn)
        runs = routing_store.all_runs(conn) or [brokering.DEFAULT_RUN]
    if as_json:
        _print_json({"active": active or "default (built in)", "runs": runs})
        return
    _print_runs(active, runs)


@routing.command("set")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--inactive", is_flag=True, help="Store it without making it the active run.")
@writing_hub
def routing_set(hub: Hub, file: Path, inactive: bool) -> None:
    """Create or replace a routing run from a JSON FILE (validated first)."""
    try:
        data = orjson.loads(file.read_bytes())
    except orjson.JSONDecodeError as exc:
        raise click.ClickException(f"{file}: not valid JSON: {exc}") from None
    with domain_problems(), hub.db.write() as conn:
        routing_store.save_run(conn, data, active=not inactive)
    click.echo(f"routing run {data.get('name')} saved" + ("" if inactive else " and active"))


@routing.command("run")
@click.option("--dry-run", is_flag=True, help="Show where orders would go; change nothing.")
@writing_hub
def routing_run_cmd(hub: Hub, dry_run: bool) -> None:
    """Broker approved orders waiting in queues now."""
    with domain_problems():
        result = routing_run.run(hub.db, actor=cli_actor(), dry_run=dry_run)
    if dry_run:
        _print_json(result)
    else:
        click.echo(f"{result['orders']} order(s): {result['units_brokered']} unit(s) brokered, "
                   f"{result['units_parked']} parked")


def register(main: click.Group) -> None:
    main.add_command(routing)

"""``orderhub fidelity shopify``: replay Shopify's own bodies through orderhub and show what differs."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from orderhub.entrypoints.cli_support import console


@click.group()
def fidelity() -> None:
    """Check orderhub against the services it speaks to, with their own published bodies."""


@fidelity.command("shopify")
@click.option("--fixtures", "directory", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="A directory of fixtures (default: the set shipped with orderhub).")
@click.option("--only", default=None, help="Only the fixtures whose name contains this.")
@click.option("--verbose", "-v", is_flag=True, help="Also list the fixtures that match.")
def fidelity_shopify(directory: Path | None, only: str | None, verbose: bool) -> None:
    """Post each Shopify body to orderhub's receiver (GraphQL results take the batch poll's path), process it
    in a throwaway database, and print, field by field, where what orderhub stored differs from what Shopify
    means. Exits 1 when anything differs."""
    from rich.table import Table

    from orderhub import logs
    from orderhub.fidelity.replay import replay

    logs.configure("WARNING", json=False)  # the report says what was parked; only problems are logged
    outcomes = replay(directory, only)
    if not outcomes:
        raise click.ClickException("no fixtures" + (f" named like {only!r}" if only else ""))
    for o in outcomes:
        if o.ok and not verbose:
            continue
        mark = "[green]✓[/]" if o.ok else "[red]✗[/]"
        console.print(f"{mark} {o.fixture.name}: {o.status}" + (f" — {o.message}" if o.message else ""),
                      highlight=False, markup=True)
        if o.differences:
            table = Table("field", "Shopify means", "orderhub has", box=None, pad_edge=False)
            for d in o.differences:
                table.add_row(d.field, str(d.shopify), str(d.orderhub))
            console.print(table)
    bad = [o for o in outcomes if not o.ok]
    counts = {s: sum(1 for o in outcomes if o.status == s) for s in dict.fromkeys(o.status for o in outcomes)}
    console.print(f"{len(outcomes)} fixtures: " + ", ".join(f"{n} {s}" for s, n in counts.items()), highlight=False)
    if bad:
        sys.exit(1)


def register(main: click.Group) -> None:
    main.add_command(fidelity)

"""``orderhub simulate walmart``: registered on the CLI's ``simulate`` group by :func:`add_cli`."""

from __future__ import annotations

import click

from orderhub.simulators.walmart.defaults import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_PORT


def _account(text: str) -> tuple[str, str]:
    client_id, sep, secret = text.partition(":")
    if not sep or not client_id or not secret:
        raise click.BadParameter(f"{text!r} is not CLIENT_ID:CLIENT_SECRET (e.g. shop-a:s3cret).")
    return client_id, secret


def add_cli(simulate_group: click.Group) -> click.Command:
    """Add the ``walmart`` command to ``simulate_group``; returns the command."""

    @simulate_group.command("walmart")
    @click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
    @click.option("--port", default=DEFAULT_PORT, show_default=True, type=int, help="Port to listen on.")
    @click.option("--account", "accounts", multiple=True, metavar="CLIENT_ID:CLIENT_SECRET",
                  help="A seller account the simulator accepts; repeatable. "
                       f"Default: {DEFAULT_CLIENT_ID}:{DEFAULT_CLIENT_SECRET}.")
    @click.option("--orders", default=0, show_default=True, type=click.IntRange(0, 1000),
                  help="Orders to generate for each seller at start.")
    @click.option("--seed", default=0, show_default=True, type=int,
                  help="Seed of the order generator: the same seed gives the same orders.")
    def simulate_walmart(host: str, port: int, accounts: tuple[str, ...], orders: int, seed: int) -> None:
        """Run a simulated Walmart Marketplace API (token, orders, inventory, feeds, throttling)."""
        from orderhub.simulators.walmart.server import run
        from orderhub.simulators.walmart.simulator import account

        parsed = [account(*_account(text)) for text in accounts] or None
        run(host=host, port=port, accounts=parsed, orders=orders, seed=seed)

    return simulate_walmart

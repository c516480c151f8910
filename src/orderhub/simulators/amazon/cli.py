"""``orderhub simulate amazon``: registered on the CLI's ``simulate`` group by :func:`add_cli`."""

from __future__ import annotations

import click

from orderhub.simulators.amazon.defaults import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_MARKETPLACE_ID,
    DEFAULT_PORT,
    DEFAULT_REFRESH_TOKEN,
    DEFAULT_SELLER_ID,
    VISIBILITY_DELAY_SECONDS,
)


def _seller(text: str) -> dict[str, object]:
    parts = text.split(":")
    if len(parts) < 2 or not all(parts[:2]):
        raise click.BadParameter(f"{text!r}: write SELLER_ID:REFRESH_TOKEN[:MARKETPLACE_ID,...]")
    marketplaces = parts[2].split(",") if len(parts) > 2 and parts[2] else [DEFAULT_MARKETPLACE_ID]
    return {"seller_id": parts[0], "refresh_token": ":".join(parts[1:2]), "marketplace_ids": marketplaces}


def add_cli(simulate_group: click.Group) -> click.Command:
    """Add the ``amazon`` command to ``simulate_group``; returns the command."""

    @simulate_group.command("amazon")
    @click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
    @click.option("--port", default=DEFAULT_PORT, show_default=True, type=int, help="Port to listen on.")
    @click.option("--client-id", default=DEFAULT_CLIENT_ID, show_default=True, help="LWA client_id accepted.")
    @click.option("--client-secret", default=DEFAULT_CLIENT_SECRET, show_default=True,
                  help="LWA client_secret accepted.")
    @click.option("--seller", "sellers", multiple=True,
                  help="A seller account as SELLER_ID:REFRESH_TOKEN[:MARKETPLACE_ID,...]; repeatable. "
                       f"Default {DEFAULT_SELLER_ID}:{DEFAULT_REFRESH_TOKEN}:{DEFAULT_MARKETPLACE_ID}.")
    @click.option("--orders", default=0, show_default=True, type=click.IntRange(0, 1000),
                  help="Orders to generate for each seller at start.")
    @click.option("--seed", default=0, show_default=True, type=int, help="Seed of the order generator.")
    @click.option("--visibility-delay", default=VISIBILITY_DELAY_SECONDS, show_default=True, type=float,
                  help="Seconds before a change shows in getOrders.")
    def simulate_amazon(host: str, port: int, client_id: str, client_secret: str, sellers: tuple[str, ...],
                        orders: int, seed: int, visibility_delay: float) -> None:
        """Run a simulated Amazon Selling Partner API (LWA, Orders, Listings, Feeds, notifications)."""
        from orderhub.simulators.amazon.server import run

        run(host=host, port=port, orders=orders, sellers=[_seller(s) for s in sellers] or None,
            apps={client_id: client_secret}, seed=seed, visibility_delay=visibility_delay)

    return simulate_amazon

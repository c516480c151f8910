"""``orderhub simulate tiktok``: registered on the CLI's ``simulate`` group by :func:`add_cli`."""

from __future__ import annotations

import click

from orderhub.simulators.tiktok.defaults import DEFAULT_APP_KEY, DEFAULT_APP_SECRET, DEFAULT_PORT, DEFAULT_SEED


def add_cli(simulate_group: click.Group) -> click.Command:
    """Add the ``tiktok`` command to ``simulate_group``; returns the command."""

    @simulate_group.command("tiktok")
    @click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
    @click.option("--port", default=DEFAULT_PORT, show_default=True, type=int, help="Port to listen on.")
    @click.option("--app-key", default=DEFAULT_APP_KEY, show_default=True, help="The app_key requests are signed with.")
    @click.option("--app-secret", default=DEFAULT_APP_SECRET, show_default=True, help="The app secret that signs.")
    @click.option("--orders", default=0, show_default=True, type=int, help="Orders to generate in the first shop.")
    @click.option("--seed", default=DEFAULT_SEED, show_default=True, type=int, help="Seed of the order generator.")
    def simulate_tiktok(host: str, port: int, app_key: str, app_secret: str, orders: int, seed: int) -> None:
        """Run a simulated TikTok Shop Partner API (orders, fulfilment, cancellations, stock, webhooks)."""
        from orderhub.simulators.tiktok.server import run

        run(host=host, port=port, orders=orders, apps={app_key: app_secret}, seed=seed)

    return simulate_tiktok

"""``orderhub simulate retailpro``: registered on the CLI's ``simulate`` group by :func:`add_cli`."""

from __future__ import annotations

import click

from orderhub.simulators.retailpro.defaults import (
    DEFAULT_PASSWORD,
    DEFAULT_PORT,
    DEFAULT_SESSION_IDLE_SECONDS,
    DEFAULT_USER,
    DEFAULT_WORKSTATION,
)


def add_cli(simulate_group: click.Group) -> click.Command:
    """Add the ``retailpro`` command to ``simulate_group``; returns the command."""

    @simulate_group.command("retailpro")
    @click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
    @click.option("--port", default=DEFAULT_PORT, show_default=True, type=int, help="Port to listen on.")
    @click.option("--user", default=DEFAULT_USER, show_default=True, help="The Prism user name (usr).")
    @click.option("--password", default=DEFAULT_PASSWORD, show_default=True, help="The Prism password (pwd).")
    @click.option("--workstation", default=DEFAULT_WORKSTATION, show_default=True,
                  help="The workstation a session sits at (GET /v1/rest/sit?ws=...).")
    @click.option("--session-idle", default=DEFAULT_SESSION_IDLE_SECONDS, show_default=True, type=float,
                  help="Seconds an idle Auth-Session lives.")
    def simulate_retailpro(host: str, port: int, user: str, password: str, workstation: str,
                           session_idle: float) -> None:
        """Run a simulated Retail Pro Prism server (sign-in, Order to Invoice, transfers, inventory)."""
        from orderhub.simulators.retailpro.server import run

        run(host=host, port=port, user=user, password=password, workstation=workstation,
            session_idle_seconds=session_idle)

    return simulate_retailpro

"""``orderhub simulate payments``: registered on the CLI's ``simulate`` group by :func:`add_cli`."""

from __future__ import annotations

import click

from orderhub.simulators.payments.defaults import DEFAULT_API_KEY, DEFAULT_PORT, DEFAULT_RATE


def add_cli(simulate_group: click.Group) -> click.Command:
    """Add the ``payments`` command to ``simulate_group``; returns the command."""

    @simulate_group.command("payments")
    @click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
    @click.option("--port", default=DEFAULT_PORT, show_default=True, type=int, help="Port to listen on.")
    @click.option("--api-key", default=DEFAULT_API_KEY, show_default=True,
                  help="The secret key clients send as 'Authorization: Bearer <key>'.")
    @click.option("--rate-limit", default=DEFAULT_RATE, show_default=True, type=float,
                  help="Requests a second allowed per API key before 429.")
    @click.option("--magic-amounts/--no-magic-amounts", default=True, show_default=True,
                  help="Decline amounts ending in .51 with insufficient_funds.")
    def simulate_payments(host: str, port: int, api_key: str, rate_limit: float, magic_amounts: bool) -> None:
        """Run a simulated card payment gateway (authorise, void, capture; declines, timeouts, errors)."""
        from orderhub.simulators.payments.server import run

        run(host=host, port=port, api_key=api_key, rate_limit=rate_limit, magic_amounts=magic_amounts)

    return simulate_payments

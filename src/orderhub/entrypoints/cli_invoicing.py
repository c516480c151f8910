"""``orderhub invoicing``: turn invoicing in Retail Pro on in one step, and see where orders are in it."""

from __future__ import annotations

import click

from orderhub.bootstrap import Hub
from orderhub.entrypoints.cli_support import JSON_HELP, iso_time, print_json, read_only_hub, table, writing_hub
from orderhub.services.invoicing import setup


def _pairs(values: tuple[str, ...], what: str) -> dict[str, str]:
    out = {}
    for value in values:
        key, sep, text = value.partition("=")
        if not sep or not key.strip():
            raise click.UsageError(f"{what} {value!r} is not key=value")
        out[key.strip()] = text
    return out


def register(main: click.Group) -> None:
    @main.group()
    def invoicing() -> None:
        """Invoicing completed orders in the POS/ERP (Retail Pro)."""

    @invoicing.command("setup")
    @click.option("--recipients", required=True, help="Who gets the failure report (comma-separated addresses).")
    @click.option("--every", default="every-15-minutes", show_default=True, help="How often the feed runs.")
    @click.option("--transform-delay", default="3m", show_default=True, help="Transform this long after the feed.")
    @click.option("--send-delay", default="3m", show_default=True, help="Call Retail Pro this long after that.")
    @click.option("--report-delay", default="5m", show_default=True, help="Report this long after the calls.")
    @click.option("--feed-param", "feed_params", multiple=True, help="key=value for feed-completed-orders.")
    @click.option("--transform-param", "transform_params", multiple=True, help="key=value for transform-invoices.")
    @writing_hub
    def invoicing_setup(hub: Hub, recipients: str, every: str, transform_delay: str, send_delay: str,
                        report_delay: str, feed_params: tuple[str, ...], transform_params: tuple[str, ...]) -> None:
        """Schedule the feed and chain transform, send and report after it."""
        plan = setup.Plan(every=every, recipients=recipients, transform_delay=transform_delay,
                          send_delay=send_delay, report_delay=report_delay,
                          feed_params=_pairs(feed_params, "--feed-param"),
                          transform_params=_pairs(transform_params, "--transform-param"))
        try:
            lines = setup.install(hub, plan)
        except (LookupError, ValueError) as exc:
            raise click.ClickException(str(exc)) from None
        for line in lines:
            click.echo(line)

    @invoicing.command("status")
    @click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
    @read_only_hub
    def invoicing_status(hub: Hub, as_json: bool) -> None:
        """Orders and transfer slips by invoicing status, and the open error-log entries of invoicing."""
        view = setup.status(hub)
        if as_json:
            print_json(view)
            return
        if not view["orders"]:
            click.echo("no order has entered invoicing yet")
        else:
            table("Orders by invoicing status", ["status", "orders"],
                  [[k, v] for k, v in sorted(view["orders"].items())])
        if view["slips"]:
            table("Transfer slips", ["status", "slips"], [[k, v] for k, v in sorted(view["slips"].items())])
        click.echo(f"open error-log entries of invoicing: {view['open_errors']}"
                   + (" (orderhub errors list --topic transform-invoices, then --topic send-invoices)"
                      if view["open_errors"] else ""))

    @invoicing.command("show")
    @click.argument("order_id", type=int)
    @click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
    @read_only_hub
    def invoicing_show(hub: Hub, order_id: int, as_json: bool) -> None:
        """One order's invoicing (ORDER_ID, its orderhub id): its status, the invoice, its slips and every call
        with the answer."""
        try:
            view = setup.order_view(hub, order_id)
        except LookupError as exc:
            raise click.ClickException(str(exc)) from None
        if as_json:
            print_json(view)
            return
        click.echo(f"order id {order_id}: {view['status']}" + (f", invoice {view['sid']}" if view["sid"] else "")
                   + (f" at store {view['store']} as order {view['order_no']}" if view["store"] else "")
                   + (f"; {view['error']}" if view["error"] else ""))
        if view["slips"]:
            table("Transfer slips", ["from", "to", "slip", "status", "sid / error"],
                  [[s["from"], s["to"], s["slip_no"], s["status"], s["sid"] or s["error"] or ""]
                   for s in view["slips"]])
        table("Calls to Retail Pro", ["at (UTC)", "document", "outcome", "HTTP", "ms", "error"],
              [[iso_time(c["at"]), c["document"], c["outcome"], c["status"] or "-", c["elapsed_ms"], c["error"] or ""]
               for c in view["calls"]])

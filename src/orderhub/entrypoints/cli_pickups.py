"""``orderhub pickup``: pickup in store orders at the counter: list them, mark one ready, collect it with the
customer's code, unlock one locked by wrong codes, and set how long a store keeps them."""

from __future__ import annotations

import click

from orderhub.adapters.store import order_queries
from orderhub.bootstrap import Hub
from orderhub.domain.pickup import PickupError
from orderhub.entrypoints.cli_oms import cli_actor, domain_problems
from orderhub.entrypoints.cli_support import JSON_HELP, iso_time, print_json, read_only_hub, table, writing_hub
from orderhub.services import pickups

shop_option = click.option("--shop", default=None, help="The order's shop, when REF is a name several shops use.")


@click.group("pickup")
def pickup() -> None:
    """Pickup in store (buy online, pick up in store): orders waiting at the counter."""


@pickup.command("list")
@click.option("--store", default=None, help="The store's facility code (default: every store).")
@click.option("--status", type=click.Choice(pickups.LIST_STATUSES), default=None,
              help="waiting (being picked), ready, overdue (ready past its collect-by date), collected, expired, "
                   "cancelled, or open (waiting or ready).")
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
@read_only_hub
def list_(hub: Hub, store: str | None, status: str | None, as_json: bool) -> None:
    """Pickup orders of a store, newest first."""
    with domain_problems(), hub.db.read() as conn:
        rows = pickups.list_pickups(conn, store=store, status=status)
    if as_json:
        print_json(rows)
        return
    table(f"Pickups{' at ' + store if store else ''}{' (' + status + ')' if status else ''}",
          ["order", "id", "store", "status", "ready (UTC)", "collect by (UTC)", "wrong codes", "collected by"],
          [[r["order"], r["order_id"], r["store"], r["status"] + (" (overdue)" if r["overdue"] else "")
            + (" (locked)" if r["locked"] else ""), iso_time(r["ready_at"]), iso_time(r["collect_by"]),
            r["failed_attempts"] or "", r["collected_by"]] for r in rows], drop_empty=("wrong codes", "collected by"))


@pickup.command("ready")
@click.argument("ref")
@shop_option
@writing_hub
def ready(hub: Hub, ref: str, shop: str | None) -> None:
    """Mark an order (REF) ready for pickup: every unit is picked at its store. Prints the verification code
    (the customer gets it by e-mail); marking it again gives a new code."""
    with domain_problems(), hub.db.write() as conn:
        order_id = order_queries.require_order_id(conn, ref, shop)
        done = pickups.ready(conn, order_id, actor=cli_actor(), default_days=hub.settings.pickup_days)
    click.echo(f"{done.order} is ready for pickup at {done.store} until {iso_time(done.collect_by)} UTC; "
               f"verification code {done.code} (the customer is e-mailed it)")


@pickup.command("collect")
@click.argument("ref")
@click.option("--code", required=True, help="The verification code the customer shows.")
@shop_option
@writing_hub
def collect(hub: Hub, ref: str, code: str, shop: str | None) -> None:
    """Hand an order (REF) over at the counter, if the customer's code is right."""
    with domain_problems():
        with hub.db.write() as conn:  # a wrong code is counted even though the command fails
            order_id = order_queries.require_order_id(conn, ref, shop)
            attempt = pickups.collect(conn, order_id, code, actor=cli_actor())
        if not attempt.collected:
            raise PickupError(attempt.message)
    click.echo(attempt.message)


@pickup.command("reset")
@click.argument("ref")
@shop_option
@writing_hub
def reset(hub: Hub, ref: str, shop: str | None) -> None:
    """Unlock an order's (REF) pickup locked by wrong codes (a manager's step)."""
    with domain_problems(), hub.db.write() as conn:
        order_id = order_queries.require_order_id(conn, ref, shop)
        click.echo(pickups.reset(conn, order_id, actor=cli_actor()))


@pickup.command("days")
@click.argument("store")
@click.argument("days", type=click.IntRange(min=1, max=365), required=False)
@writing_hub
def days(hub: Hub, store: str, days: int | None) -> None:
    """How many DAYS a ready pickup waits at STORE before it is cancelled (leave DAYS out: the default,
    ORDERHUB_PICKUP_DAYS)."""
    with domain_problems(), hub.db.write() as conn:
        click.echo(pickups.set_days(conn, store, days))


def register(main: click.Group) -> None:
    main.add_command(pickup)

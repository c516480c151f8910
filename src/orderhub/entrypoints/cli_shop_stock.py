"""``orderhub shop stock-location``: the Shopify location whose ``available`` the real-time stock pusher sets.

Naming one lists every variant orderhub knows of the shop (SKU and inventory item, from sync-products) at that
location; variants stored later are listed as they arrive. The quantity is the ATP of the shop's sales
channel, as for every channel account. The inventory jobs (``upload-inventory-changes``,
``sync-inventory-from-shopify``) leave that location alone.
"""

from __future__ import annotations

from collections.abc import Sequence

import click
from sqlalchemy import select

from orderhub.adapters.shopify import graphql_inventory
from orderhub.adapters.store import channel_stock, shopify_listings, shops
from orderhub.adapters.store.schema import shops as shops_table
from orderhub.bootstrap import Hub
from orderhub.entrypoints.cli_support import JSON_HELP, print_json, writing_hub


def choose_location(found: Sequence[graphql_inventory.Location], wanted: str) -> graphql_inventory.Location:
    """The location named or numbered ``wanted`` (an id, a gid://shopify/Location/ id, or a name: exactly,
    else ignoring case). Raises ValueError listing the shop's locations."""
    text = wanted.strip()
    number = text.rsplit("/", 1)[-1] if text.startswith("gid://shopify/Location/") else text
    chosen = (next((loc for loc in found if loc.id == number), None)
              or next((loc for loc in found if loc.name == text), None)
              or next((loc for loc in found if loc.name.casefold() == text.casefold()), None))
    listed = ", ".join(f"{loc.name} ({loc.id})" for loc in found) or "none"
    if chosen is None:
        raise ValueError(f"Shopify has no location named or numbered {text!r}; the shop's locations are {listed}")
    if not chosen.active:
        raise ValueError(f"Shopify location {chosen.name} ({chosen.id}) is deactivated; activate it in Shopify "
                         "or name another")
    return chosen


def _describe(hub: Hub, shop: shops.Shop) -> dict[str, object]:
    with hub.db.read() as conn:
        location = shopify_listings.stock_location(conn, shop.id)
        sales_channel = conn.execute(select(shops_table.c.sales_channel)
                                     .where(shops_table.c.id == shop.id)).scalar_one_or_none()
        shown = channel_stock.shown(conn, shop.id)
        pending = channel_stock.pending_count(conn, shop.id)
    return {"shop": shop.domain, "location_id": location.id if location else None,
            "location": location.name if location else None,
            "sales_channel": sales_channel or channel_stock.DEFAULT_SALES_CHANNEL, "listings": len(shown),
            "pending": pending, "refused": sum(1 for r in shown if r["last_error"])}


def register(shop: click.Group) -> None:
    @shop.command("stock-location")
    @click.argument("domain")
    @click.argument("location", required=False)
    @click.option("--off", is_flag=True, help="Stop sending the shop stock in real time (its listings end).")
    @click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
    @writing_hub
    def shop_stock_location(hub: Hub, domain: str, location: str | None, off: bool, as_json: bool) -> None:
        """Send orderhub's stock to the shop (DOMAIN) in real time, as Shopify's available at LOCATION (its name
        or id). Without LOCATION: where it goes now."""
        from orderhub.services.jobs.import_orders import admin_client

        with hub.db.read() as conn:
            found = shops.by_domain(conn, domain)
        if found is None:
            raise click.ClickException(f"no shop {domain}; add it with `orderhub shop add {domain} --secret ...`")
        if off and location:
            raise click.UsageError("give a LOCATION or --off, not both")
        if off:
            with hub.db.write() as conn:
                shopify_listings.set_stock_location(conn, found.id, None)
        elif location:
            try:
                chosen = choose_location(graphql_inventory.locations(admin_client(found)), location)
            except ValueError as exc:  # no access token, an unknown or deactivated location
                raise click.ClickException(str(exc)) from None
            with hub.db.write() as conn:
                shopify_listings.set_stock_location(conn, found.id,
                                                    shopify_listings.StockLocation(chosen.id, chosen.name))
        state = _describe(hub, found)
        if as_json:
            print_json(state)
        elif state["location_id"] is None:
            click.echo(f"shop {found.domain} gets no stock in real time; name a location with "
                       f"`orderhub shop stock-location {found.domain} LOCATION`")
        else:
            click.echo(f"shop {found.domain}: orderhub sets available at location {state['location']} "
                       f"({state['location_id']}) in real time, from the ATP of sales channel "
                       f"{state['sales_channel']}; {state['listings']} SKUs listed, {state['pending']} not sent yet, "
                       f"{state['refused']} refused")
            if not state["listings"]:
                click.echo(f"no variants of {found.domain} are known yet: run the sync-products job; new variants "
                           "are listed as they arrive", err=True)
            click.echo("upload-inventory-changes and sync-inventory-from-shopify leave this location alone", err=True)

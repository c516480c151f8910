"""CLI for order management: order actions, inventory, facilities and channels.

Registered on the main ``orderhub`` group by :func:`register`. Actions are attributed
to ``cli:<user>`` on timelines and in the inventory ledger.
"""

from __future__ import annotations

import getpass
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import click
from sqlalchemy import Connection

from orderhub.adapters.store import facilities as facility_store
from orderhub.adapters.store import order_queries
from orderhub.bootstrap import Hub
from orderhub.domain.lifecycle import IllegalTransition
from orderhub.domain.routing import RoutingConfigError
from orderhub.entrypoints.cli_support import JSON_HELP, console, iso_time, read_only_hub, writing_hub
from orderhub.entrypoints.cli_support import print_json as _print_json
from orderhub.entrypoints.cli_support import table as _table
from orderhub.services import approval, brokering, fulfilment
from orderhub.services import inventory as inventory_service
from orderhub.services.fulfilment import Ctx


def cli_actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


@contextmanager
def domain_problems() -> Iterator[None]:
    """Domain errors as one clear line and exit status 1."""
    try:
        yield
    except (LookupError, IllegalTransition, ValueError, RoutingConfigError) as exc:
        raise click.ClickException(str(exc).strip("'\"")) from None


def _on_order(hub: Hub, ref: str, shop: str | None, action: Callable[[Connection, int], Any]) -> Any:
    with domain_problems(), hub.db.write() as conn:
        order_id = order_queries.require_order_id(conn, ref, shop)
        result = action(conn, order_id)
        order = order_queries.get_order(conn, order_id)
    assert order is not None
    click.echo(f"{order['name']} (id {order['id']}): {order['status']}, payment {order['payment_status']}, "
               f"fulfilment {order['fulfillment_status']}" + (f" - {result}" if isinstance(result, str) else ""))
    return result


def _units(text: str | None) -> list[int] | None:
    if not text:
        return None
    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise click.BadParameter(f"{text!r}: give unit ids separated by commas, e.g. 12,13") from None


def register(main: click.Group) -> None:
    orders = main.commands["orders"]
    assert isinstance(orders, click.Group)
    _order_commands(orders)
    main.add_command(inventory)
    main.add_command(facility)


# -- orders ----------------------------------------------------------------------------------------------

shop_option = click.option("--shop", default=None, help="Find REF as a Shopify id or name within this shop.")
reason_option = click.option("--reason", default=None, help="Why (kept on the order's timeline).")


def _order_commands(group: click.Group) -> None:
    @group.command("approve")
    @click.argument("ref")
    @shop_option
    @writing_hub
    def approve(hub: Hub, ref: str, shop: str | None) -> None:
        """Run the approval rules on a created order (REF); say which failed."""
        def act(conn: Connection, order_id: int) -> str:
            if not approval.approve(conn, [order_id], actor=cli_actor()):
                order = order_queries.get_order(conn, order_id) or {}
                raise ValueError(f"order {ref} stays {order.get('status')}: {order.get('status_reason')}")
            approval.announce_approved(conn, [order_id])
            return "approved"
        _on_order(hub, ref, shop, act)

    @group.command("hold")
    @click.argument("ref")
    @shop_option
    @reason_option
    @writing_hub
    def hold(hub: Hub, ref: str, shop: str | None, reason: str | None) -> None:
        """Hold an order (REF): it is not approved, brokered or fulfilled until released."""
        _on_order(hub, ref, shop, lambda c, o: fulfilment.hold(c, o, Ctx(cli_actor(), reason)))

    @group.command("release")
    @click.argument("ref")
    @shop_option
    @reason_option
    @writing_hub
    def release(hub: Hub, ref: str, shop: str | None, reason: str | None) -> None:
        """Release a held order (REF) back to where it was."""
        _on_order(hub, ref, shop, lambda c, o: fulfilment.release(c, o, Ctx(cli_actor(), reason)))

    @group.command("cancel")
    @click.argument("ref")
    @click.option("--line", default=None, help="Cancel only this line (orderhub or Shopify line id).")
    @click.option("--quantity", type=click.IntRange(min=1), default=None, help="Units of the line to cancel.")
    @shop_option
    @reason_option
    @writing_hub
    def cancel(hub: Hub, ref: str, line: str | None, quantity: int | None, shop: str | None,
               reason: str | None) -> None:
        """Cancel an order (REF), or units of one line; their reservations are released."""
        def act(conn: Connection, order_id: int) -> str:
            item = fulfilment.line_of(conn, order_id, line) if line else None
            return fulfilment.cancel(conn, order_id, Ctx(cli_actor(), reason), item_id=item, quantity=quantity)
        _on_order(hub, ref, shop, act)

    @group.command("pick")
    @click.argument("ref")
    @click.option("--units", default=None, help="Unit ids (default: every brokered unit).")
    @shop_option
    @writing_hub
    def pick(hub: Hub, ref: str, units: str | None, shop: str | None) -> None:
        """Pick an order's (REF) brokered units at their facilities."""
        _on_order(hub, ref, shop, lambda c, o: fulfilment.pick(c, o, Ctx(cli_actor()), _units(units)))

    @group.command("pack")
    @click.argument("ref")
    @click.option("--units", default=None, help="Unit ids (default: every picked unit).")
    @click.option("--tracking", default=None, help="Tracking number of the label printed at packing.")
    @click.option("--carrier", default=None, help="Carrier of that label, e.g. UPS.")
    @shop_option
    @writing_hub
    def pack(hub: Hub, ref: str, units: str | None, tracking: str | None, carrier: str | None,
             shop: str | None) -> None:
        """Pack an order's (REF) picked units: one shipment per facility."""
        def act(conn: Connection, order_id: int) -> str:
            status, shipments = fulfilment.pack(conn, order_id, Ctx(cli_actor()), _units(units),
                                                tracking_number=tracking, carrier=carrier)
            return f"shipment(s) {', '.join(map(str, shipments))} packed"
        _on_order(hub, ref, shop, act)

    @group.command("ship")
    @click.argument("ref")
    @click.option("--shipment", "shipment_id", type=int, default=None, help="Default: every packed shipment.")
    @click.option("--tracking", "tracking_number", default=None, help="Tracking number (kept on the shipment).")
    @click.option("--carrier", default=None, help="Carrier, e.g. UPS (kept on the shipment).")
    @shop_option
    @writing_hub
    def ship(hub: Hub, ref: str, shipment_id: int | None, tracking_number: str | None, carrier: str | None,
             shop: str | None) -> None:
        """Ship an order's (REF) packed shipments; Shopify and subscribers hear of it."""
        _on_order(hub, ref, shop, lambda c, o: fulfilment.ship(c, o, Ctx(cli_actor()), shipment_id=shipment_id,
                                                                tracking_number=tracking_number, carrier=carrier))

    @group.command("reject-items")
    @click.argument("ref")
    @click.option("--units", required=True, help="Unit ids the facility cannot fulfil.")
    @click.option("--damaged", is_flag=True, help="Damaged (lowers ATP) rather than not in stock (on hand → 0).")
    @shop_option
    @reason_option
    @writing_hub
    def reject_items(hub: Hub, ref: str, units: str, damaged: bool, shop: str | None, reason: str | None) -> None:
        """A facility rejects units of an order (REF); they are parked and brokered again elsewhere."""
        _on_order(hub, ref, shop, lambda c, o: fulfilment.reject_item(c, o, _units(units) or [],
                                                                       Ctx(cli_actor(), reason),
                                                                       not_in_stock=not damaged))

    @group.command("return")
    @click.argument("ref")
    @click.option("--units", default=None, help="Unit ids (default: every shipped unit, or those of --line).")
    @click.option("--line", default=None, help="Return units of this line (orderhub or Shopify line id).")
    @click.option("--quantity", type=click.IntRange(min=1), default=None, help="Units of --line to return.")
    @click.option("--restock-at", default=None, help="Facility code to restock at (default: where it shipped from).")
    @click.option("--damaged", is_flag=True, help="Record a damaged variance instead of restocking.")
    @click.option("--refund", type=Decimal, default=None, help="Refund amount (default: the units' prices).")
    @shop_option
    @reason_option
    @writing_hub
    def return_(hub: Hub, ref: str, units: str | None, line: str | None, quantity: int | None,
                restock_at: str | None, damaged: bool, refund: Decimal | None, shop: str | None,
                reason: str | None) -> None:
        """Return an order's (REF) shipped units: restock or damaged, with a refund record."""
        def act(conn: Connection, order_id: int) -> str:
            item = fulfilment.line_of(conn, order_id, line) if line else None
            facility = facility_store.id_of(conn, restock_at) if restock_at else None
            _, rid = fulfilment.return_units(conn, order_id, Ctx(cli_actor(), reason), unit_ids=_units(units),
                                             item_id=item, quantity=quantity, restock_facility_id=facility,
                                             damaged=damaged, refund=refund)
            return f"return {rid} recorded"
        _on_order(hub, ref, shop, act)

    @group.command("broker-preview")
    @click.argument("ref")
    @shop_option
    @read_only_hub
    def broker_preview(hub: Hub, ref: str, shop: str | None) -> None:
        """Where the routing rules would send the waiting units of an order (REF) now (changes nothing)."""
        with domain_problems(), hub.db.read() as conn:
            _print_json(brokering.preview(conn, [order_queries.require_order_id(conn, ref, shop)]))


# -- inventory ----------------------------------------------------------------------------------------------

@click.group()
def inventory() -> None:
    """Inventory per SKU and facility, and its ledger."""


@inventory.command("show")
@click.argument("sku")
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
@read_only_hub
def inventory_show(hub: Hub, sku: str, as_json: bool) -> None:
    """A SKU's stock per facility (on hand, reserved, safety stock, ATP) and what each channel may sell."""
    with hub.db.read() as conn:
        view = inventory_service.view(conn, sku)
    if as_json:
        _print_json(view)
        return
    _table(f"{sku}: ATP {view['atp']}", ["facility", "on hand", "reserved", "safety stock", "ATP"],
           [[r["facility"], r["on_hand"], r["reserved"], r["safety_stock"], r["atp"]] for r in view["facilities"]])
    for code, atp in view["channels"].items():
        console.print(f"  channel {code}: may sell {atp}")


@inventory.command("adjust")
@click.argument("sku")
@click.option("--facility", required=True, help="The facility's code.")
@click.option("--delta", type=int, default=None, help="Change on hand by this much (+ received, - removed).")
@click.option("--on-hand", type=click.IntRange(min=0), default=None, help="Set on hand (a count).")
@click.option("--safety-stock", type=click.IntRange(min=0), default=None, help="Set the units held back from ATP.")
@click.option("--reason", default="adjusted", show_default=True,
              type=click.Choice([r.value for r in inventory_service.MANUAL_REASONS]),
              help="Why (kept in the ledger).")
@click.option("--note", default=None, help="A note kept in the ledger with the change.")
@writing_hub
def inventory_adjust(hub: Hub, sku: str, facility: str, delta: int | None, on_hand: int | None,
                     safety_stock: int | None, reason: str, note: str | None) -> None:
    """Change a SKU's stock at a facility (received, counted, removed); the ledger records it."""
    with domain_problems(), hub.db.write() as conn:
        change = inventory_service.adjust(conn, sku, facility, actor=cli_actor(), reason=reason, delta=delta,
                                          on_hand=on_hand, safety_stock=safety_stock, note=note)
    click.echo(f"{sku} at {facility}: on hand {change.before.on_hand} → {change.after.on_hand}, "
               f"ATP {change.before.atp} → {change.after.atp}")


@inventory.command("ledger")
@click.argument("sku")
@click.option("--limit", default=20, show_default=True, help="Show at most this many entries.")
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
@read_only_hub
def inventory_ledger(hub: Hub, sku: str, limit: int, as_json: bool) -> None:
    """Every change to a SKU's stock, newest first: why, by whom, before and after."""
    with hub.db.read() as conn:
        rows = inventory_service.ledger(conn, sku, limit=limit)
    if as_json:
        _print_json(rows)
        return
    _table(f"Ledger of {sku} (newest first)", ["id", "at (UTC)", "facility", "reason", "on hand", "reserved",
                                               "order", "by"],
           [[r["id"], iso_time(r["at"]), r["facility"], r["reason"], "→".join(map(str, r["on_hand"])),
             "→".join(map(str, r["reserved"])), r["order_id"], r["actor"]] for r in rows])


# -- facilities and channels -------------------------------------------------------------------------------

@click.group()
def facility() -> None:
    """Warehouses, stores and drop-shippers, and their groups."""


@facility.command("add")
@click.argument("code")
@click.option("--name", required=True, help="Its name, as people call it.")
@click.option("--kind", type=click.Choice(facility_store.KINDS), default="warehouse", show_default=True,
              help="What it is.")
@click.option("--lat", "latitude", type=click.FloatRange(-90, 90), default=None,
              help="Latitude (routing by distance).")
@click.option("--lon", "longitude", type=click.FloatRange(-180, 180), default=None,
              help="Longitude (routing by distance).")
@click.option("--city", default=None, help="City.")
@click.option("--country", "country_code", default=None, help="Country code, e.g. DE.")
@click.option("--capacity", "daily_capacity", type=click.IntRange(min=0), default=None, help="Orders per day.")
@click.option("--ship-from-store", is_flag=True, help="A store that also ships online orders.")
@click.option("--sequence", type=int, default=0, help="Order of preference when routing ties (lower first).")
@click.option("--group", "groups", multiple=True, help="Facility group(s), created on first use.")
@click.option("--pos-store", "pos_store_code", default=None, help="Its store code in the POS/ERP (default: CODE).")
@writing_hub
def facility_add(hub: Hub, code: str, name: str, kind: str, groups: tuple[str, ...], **values: Any) -> None:
    """Add a facility under its own CODE (a warehouse, store or drop-shipper)."""
    with domain_problems(), hub.db.write() as conn:
        facility_store.add(conn, code, name, kind, **values)
        for group in groups:
            facility_store.add_to_group(conn, group, code)
    click.echo(f"facility {code} added")


@facility.command("set")
@click.argument("code")
@click.option("--name", default=None, help="Its new name.")
@click.option("--capacity", "daily_capacity", type=click.IntRange(min=0), default=None, help="Orders per day.")
@click.option("--sequence", type=int, default=None, help="Order of preference when routing ties (lower first).")
@click.option("--active/--inactive", default=None, help="Whether orders may be brokered to it.")
@click.option("--pos-store", "pos_store_code", default=None, help="Its store code in the POS/ERP.")
@writing_hub
def facility_set(hub: Hub, code: str, **values: Any) -> None:
    """Change a facility (CODE); only the options given change."""
    changes = {k: v for k, v in values.items() if v is not None}
    if not changes:
        raise click.UsageError("give at least one option to change")
    with domain_problems(), hub.db.write() as conn:
        facility_store.change(conn, code, **changes)
    click.echo(f"facility {code}: " + ", ".join(f"{k} = {v}" for k, v in changes.items()))


@facility.command("list")
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
@read_only_hub
def facility_list(hub: Hub, as_json: bool) -> None:
    """Every facility: kind, place, capacity and groups."""
    with hub.db.read() as conn:
        rows = facility_store.all_facilities(conn)
    if as_json:
        _print_json([vars(f) for f in rows])
        return
    _table("Facilities", ["code", "name", "kind", "lat, lon", "capacity/day", "ship from store", "groups"],
           [[f.code, f.name, f.kind, f"{f.latitude}, {f.longitude}" if f.latitude is not None else "",
             f.daily_capacity or "∞", "yes" if f.ship_from_store else "", ", ".join(f.groups)] for f in rows])


@facility.command("group")
@click.argument("group")
@click.argument("codes", nargs=-1, required=True)
@click.option("--remove", is_flag=True, help="Take the facilities out of the group instead.")
@writing_hub
def facility_group(hub: Hub, group: str, codes: tuple[str, ...], remove: bool) -> None:
    """Put facilities (CODES) in a GROUP, created on first use (or take them out)."""
    with domain_problems(), hub.db.write() as conn:
        for code in codes:
            (facility_store.remove_from_group if remove else facility_store.add_to_group)(conn, group, code)
    click.echo(f"{'removed from' if remove else 'added to'} {group}: {', '.join(codes)}")

"""CLI for order management: order actions, inventory, facilities, channels and routing.

Registered on the main ``orderhub`` group by :func:`register`. Actions are attributed
to ``cli:<user>`` on timelines and in the inventory ledger.
"""

from __future__ import annotations

import getpass
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import click
import orjson
from sqlalchemy import Connection

from orderhub.adapters.store import facilities as facility_store
from orderhub.adapters.store import order_queries, routing_store
from orderhub.bootstrap import Hub
from orderhub.domain.lifecycle import IllegalTransition
from orderhub.domain.routing import RoutingConfigError
from orderhub.entrypoints.cli_support import console, with_hub
from orderhub.entrypoints.cli_support import print_json as _print_json
from orderhub.entrypoints.cli_support import table as _table
from orderhub.services import approval, brokering, fulfilment, routing_run
from orderhub.services import inventory as inventory_service
from orderhub.services.fulfilment import Ctx


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


@contextmanager
def _problems() -> Iterator[None]:
    """Domain errors as one clear line and exit status 1."""
    try:
        yield
    except (LookupError, IllegalTransition, ValueError, RoutingConfigError) as exc:
        raise click.ClickException(str(exc).strip("'\"")) from None


def _on_order(hub: Hub, ref: str, shop: str | None, action: Callable[[Connection, int], Any]) -> Any:
    with _problems(), hub.db.write() as conn:
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
    main.add_command(channel)
    main.add_command(routing)


# -- orders ----------------------------------------------------------------------------------------------

shop_option = click.option("--shop", default=None, help="Find REF as a Shopify id or name within this shop.")
reason_option = click.option("--reason", default=None, help="Why (kept on the order's timeline).")


def _order_commands(group: click.Group) -> None:
    @group.command("approve")
    @click.argument("ref")
    @shop_option
    @with_hub
    def approve(hub: Hub, ref: str, shop: str | None) -> None:
        """Run the approval rules on a created order; say which failed."""
        def act(conn: Connection, order_id: int) -> str:
            if not approval.approve(conn, [order_id], actor=_actor()):
                order = order_queries.get_order(conn, order_id) or {}
                raise ValueError(f"order {ref} stays {order.get('status')}: {order.get('status_reason')}")
            approval.announce_approved(conn, [order_id])
            return "approved"
        _on_order(hub, ref, shop, act)

    @group.command("hold")
    @click.argument("ref")
    @shop_option
    @reason_option
    @with_hub
    def hold(hub: Hub, ref: str, shop: str | None, reason: str | None) -> None:
        """Hold an order: it is not approved, brokered or fulfilled until released."""
        _on_order(hub, ref, shop, lambda c, o: fulfilment.hold(c, o, Ctx(_actor(), reason)))

    @group.command("release")
    @click.argument("ref")
    @shop_option
    @reason_option
    @with_hub
    def release(hub: Hub, ref: str, shop: str | None, reason: str | None) -> None:
        """Release a held order back to where it was."""
        _on_order(hub, ref, shop, lambda c, o: fulfilment.release(c, o, Ctx(_actor(), reason)))

    @group.command("cancel")
    @click.argument("ref")
    @click.option("--line", default=None, help="Cancel only this line (orderhub or Shopify line id).")
    @click.option("--quantity", type=click.IntRange(min=1), default=None, help="Units of the line to cancel.")
    @shop_option
    @reason_option
    @with_hub
    def cancel(hub: Hub, ref: str, line: str | None, quantity: int | None, shop: str | None,
               reason: str | None) -> None:
        """Cancel an order, or units of one line; their reservations are released."""
        def act(conn: Connection, order_id: int) -> str:
            item = fulfilment.line_of(conn, order_id, line) if line else None
            return fulfilment.cancel(conn, order_id, Ctx(_actor(), reason), item_id=item, quantity=quantity)
        _on_order(hub, ref, shop, act)

    @group.command("pick")
    @click.argument("ref")
    @click.option("--units", default=None, help="Unit ids (default: every brokered unit).")
    @shop_option
    @with_hub
    def pick(hub: Hub, ref: str, units: str | None, shop: str | None) -> None:
        _on_order(hub, ref, shop, lambda c, o: fulfilment.pick(c, o, Ctx(_actor()), _units(units)))

    @group.command("pack")
    @click.argument("ref")
    @click.option("--units", default=None, help="Unit ids (default: every picked unit).")
    @click.option("--tracking", default=None, help="Tracking number of the label printed at packing.")
    @click.option("--carrier", default=None)
    @shop_option
    @with_hub
    def pack(hub: Hub, ref: str, units: str | None, tracking: str | None, carrier: str | None,
             shop: str | None) -> None:
        """Pack picked units: one shipment per facility."""
        def act(conn: Connection, order_id: int) -> str:
            status, shipments = fulfilment.pack(conn, order_id, Ctx(_actor()), _units(units),
                                                tracking_number=tracking, carrier=carrier)
            return f"shipment(s) {', '.join(map(str, shipments))} packed"
        _on_order(hub, ref, shop, act)

    @group.command("ship")
    @click.argument("ref")
    @click.option("--shipment", "shipment_id", type=int, default=None, help="Default: every packed shipment.")
    @click.option("--tracking", "tracking_number", default=None)
    @click.option("--carrier", default=None)
    @shop_option
    @with_hub
    def ship(hub: Hub, ref: str, shipment_id: int | None, tracking_number: str | None, carrier: str | None,
             shop: str | None) -> None:
        _on_order(hub, ref, shop, lambda c, o: fulfilment.ship(c, o, Ctx(_actor()), shipment_id=shipment_id,
                                                                tracking_number=tracking_number, carrier=carrier))

    @group.command("reject-items")
    @click.argument("ref")
    @click.option("--units", required=True, help="Unit ids the facility cannot fulfil.")
    @click.option("--damaged", is_flag=True, help="Damaged (lowers ATP) rather than not in stock (on hand → 0).")
    @shop_option
    @reason_option
    @with_hub
    def reject_items(hub: Hub, ref: str, units: str, damaged: bool, shop: str | None, reason: str | None) -> None:
        """A facility rejects units; they are parked and brokered again elsewhere."""
        _on_order(hub, ref, shop, lambda c, o: fulfilment.reject_item(c, o, _units(units) or [],
                                                                       Ctx(_actor(), reason),
                                                                       not_in_stock=not damaged))

    @group.command("return")
    @click.argument("ref")
    @click.option("--units", default=None, help="Unit ids (default: every shipped unit, or those of --line).")
    @click.option("--line", default=None)
    @click.option("--quantity", type=click.IntRange(min=1), default=None)
    @click.option("--restock-at", default=None, help="Facility code to restock at (default: where it shipped from).")
    @click.option("--damaged", is_flag=True, help="Record a damaged variance instead of restocking.")
    @click.option("--refund", type=Decimal, default=None, help="Refund amount (default: the units' prices).")
    @shop_option
    @reason_option
    @with_hub
    def return_(hub: Hub, ref: str, units: str | None, line: str | None, quantity: int | None,
                restock_at: str | None, damaged: bool, refund: Decimal | None, shop: str | None,
                reason: str | None) -> None:
        """Return shipped units: restock or damaged, with a refund record."""
        def act(conn: Connection, order_id: int) -> str:
            item = fulfilment.line_of(conn, order_id, line) if line else None
            facility = facility_store.id_of(conn, restock_at) if restock_at else None
            _, rid = fulfilment.return_units(conn, order_id, Ctx(_actor(), reason), unit_ids=_units(units),
                                             item_id=item, quantity=quantity, restock_facility_id=facility,
                                             damaged=damaged, refund=refund)
            return f"return {rid} recorded"
        _on_order(hub, ref, shop, act)

    @group.command("broker-preview")
    @click.argument("ref")
    @shop_option
    @with_hub
    def broker_preview(hub: Hub, ref: str, shop: str | None) -> None:
        """Where the routing rules would send this order's waiting units now (changes nothing)."""
        with _problems(), hub.db.read() as conn:
            _print_json(brokering.preview(conn, [order_queries.require_order_id(conn, ref, shop)]))


# -- inventory ----------------------------------------------------------------------------------------------

@click.group()
def inventory() -> None:
    """Inventory per SKU and facility, and its ledger."""


@inventory.command("show")
@click.argument("sku")
@click.option("--json", "as_json", is_flag=True)
@with_hub
def inventory_show(hub: Hub, sku: str, as_json: bool) -> None:
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
@click.option("--facility", required=True)
@click.option("--delta", type=int, default=None, help="Change on hand by this much (+ received, - removed).")
@click.option("--on-hand", type=click.IntRange(min=0), default=None, help="Set on hand (a count).")
@click.option("--safety-stock", type=click.IntRange(min=0), default=None)
@click.option("--reason", default="adjusted", show_default=True,
              type=click.Choice([r.value for r in inventory_service.MANUAL_REASONS]))
@click.option("--note", default=None)
@with_hub
def inventory_adjust(hub: Hub, sku: str, facility: str, delta: int | None, on_hand: int | None,
                     safety_stock: int | None, reason: str, note: str | None) -> None:
    with _problems(), hub.db.write() as conn:
        change = inventory_service.adjust(conn, sku, facility, actor=_actor(), reason=reason, delta=delta,
                                          on_hand=on_hand, safety_stock=safety_stock, note=note)
    click.echo(f"{sku} at {facility}: on hand {change.before.on_hand} → {change.after.on_hand}, "
               f"ATP {change.before.atp} → {change.after.atp}")


@inventory.command("ledger")
@click.argument("sku")
@click.option("--limit", default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@with_hub
def inventory_ledger(hub: Hub, sku: str, limit: int, as_json: bool) -> None:
    with hub.db.read() as conn:
        rows = inventory_service.ledger(conn, sku, limit=limit)
    if as_json:
        _print_json(rows)
        return
    _table(f"Ledger of {sku} (newest first)", ["id", "at (UTC)", "facility", "reason", "on hand", "reserved",
                                               "order", "by"],
           [[r["id"], r["at"][:19], r["facility"], r["reason"], "→".join(map(str, r["on_hand"])),
             "→".join(map(str, r["reserved"])), r["order_id"], r["actor"]] for r in rows])


# -- facilities and channels -------------------------------------------------------------------------------

@click.group()
def facility() -> None:
    """Warehouses, stores and drop-shippers, and their groups."""


@facility.command("add")
@click.argument("code")
@click.option("--name", required=True)
@click.option("--kind", type=click.Choice(facility_store.KINDS), default="warehouse", show_default=True)
@click.option("--lat", "latitude", type=click.FloatRange(-90, 90), default=None)
@click.option("--lon", "longitude", type=click.FloatRange(-180, 180), default=None)
@click.option("--city", default=None)
@click.option("--country", "country_code", default=None)
@click.option("--capacity", "daily_capacity", type=click.IntRange(min=0), default=None, help="Orders per day.")
@click.option("--ship-from-store", is_flag=True)
@click.option("--sequence", type=int, default=0)
@click.option("--group", "groups", multiple=True, help="Facility group(s), created on first use.")
@click.option("--pos-store", "pos_store_code", default=None, help="Its store code in the POS/ERP (default: CODE).")
@with_hub
def facility_add(hub: Hub, code: str, name: str, kind: str, groups: tuple[str, ...], **values: Any) -> None:
    with _problems(), hub.db.write() as conn:
        facility_store.add(conn, code, name, kind, **values)
        for group in groups:
            facility_store.add_to_group(conn, group, code)
    click.echo(f"facility {code} added")


@facility.command("set")
@click.argument("code")
@click.option("--name", default=None)
@click.option("--capacity", "daily_capacity", type=click.IntRange(min=0), default=None, help="Orders per day.")
@click.option("--sequence", type=int, default=None)
@click.option("--active/--inactive", default=None)
@click.option("--pos-store", "pos_store_code", default=None, help="Its store code in the POS/ERP.")
@with_hub
def facility_set(hub: Hub, code: str, **values: Any) -> None:
    """Change a facility; only the options given change."""
    changes = {k: v for k, v in values.items() if v is not None}
    if not changes:
        raise click.UsageError("give at least one option to change")
    with _problems(), hub.db.write() as conn:
        facility_store.change(conn, code, **changes)
    click.echo(f"facility {code}: " + ", ".join(f"{k} = {v}" for k, v in changes.items()))


@facility.command("list")
@click.option("--json", "as_json", is_flag=True)
@with_hub
def facility_list(hub: Hub, as_json: bool) -> None:
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
@with_hub
def facility_group(hub: Hub, group: str, codes: tuple[str, ...], remove: bool) -> None:
    """Put facilities in a group (or take them out)."""
    with _problems(), hub.db.write() as conn:
        for code in codes:
            (facility_store.remove_from_group if remove else facility_store.add_to_group)(conn, group, code)
    click.echo(f"{'removed from' if remove else 'added to'} {group}: {', '.join(codes)}")


@click.command("channel")
@click.argument("code")
@click.option("--name", default=None)
@click.option("--threshold", type=click.IntRange(min=0), default=None, help="Units held back from this channel.")
@click.option("--groups", default=None, help="Comma-separated facility groups it sells from ('' for all).")
@with_hub
def channel(hub: Hub, code: str, name: str | None, threshold: int | None, groups: str | None) -> None:
    """Create or change a sales channel's ATP threshold and facility groups."""
    with _problems(), hub.db.write() as conn:
        facility_store.set_channel(conn, code, name=name, threshold=threshold,
                                   groups=tuple(g for g in groups.split(",") if g) if groups is not None else None)
        ch = facility_store.get_channel(conn, code)
    assert ch is not None
    click.echo(f"channel {ch.code}: threshold {ch.threshold}, groups {', '.join(ch.groups) or 'all facilities'}")


# -- routing ------------------------------------------------------------------------------------------------------

@click.group()
def routing() -> None:
    """Brokering rules (routing runs) and running them."""


@routing.command("show")
@with_hub
def routing_show(hub: Hub) -> None:
    with hub.db.read() as conn:
        _print_json({"active": routing_store.active_name(conn) or "default (built in)",
                     "runs": routing_store.all_runs(conn) or [brokering.DEFAULT_RUN]})


@routing.command("set")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--inactive", is_flag=True, help="Store it without making it the active run.")
@with_hub
def routing_set(hub: Hub, file: Path, inactive: bool) -> None:
    """Create or replace a routing run from a JSON file (validated first)."""
    try:
        data = orjson.loads(file.read_bytes())
    except orjson.JSONDecodeError as exc:
        raise click.ClickException(f"{file}: not valid JSON: {exc}") from None
    with _problems(), hub.db.write() as conn:
        routing_store.save_run(conn, data, active=not inactive)
    click.echo(f"routing run {data.get('name')} saved" + ("" if inactive else " and active"))


@routing.command("run")
@click.option("--dry-run", is_flag=True, help="Show where orders would go; change nothing.")
@with_hub
def routing_run_cmd(hub: Hub, dry_run: bool) -> None:
    """Broker approved orders waiting in queues now."""
    with _problems():
        result = routing_run.run(hub.db, actor=_actor(), dry_run=dry_run)
    if dry_run:
        _print_json(result)
    else:
        click.echo(f"{result['orders']} order(s): {result['units_brokered']} unit(s) brokered, "
                   f"{result['units_parked']} parked")

"""The demo's closing tables: the summary (nothing lost, nothing doubled), the error log, orders by OMS
status, stock per facility, the outbox's events and the walked order's timeline."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import Connection, func, select

from orderhub.adapters.store import error_log, order_queries
from orderhub.adapters.store import facilities as facility_store
from orderhub.adapters.store.schema import facilities, inventory, order_units, orders, outbox
from orderhub.bootstrap import Hub
from orderhub.clock import utcnow
from orderhub.entrypoints.cli_support import timeline_detail
from orderhub.entrypoints.demo_channels import ChannelsOutcome
from orderhub.entrypoints.demo_customers import CustomerOutcome
from orderhub.entrypoints.demo_store import StoreOutcome


def summary(console: Console, hub: Hub, c: dict[str, int], n_orders: int, seconds: float,
            sold: ChannelsOutcome | None = None, till: StoreOutcome | None = None,
            person: CustomerOutcome | None = None) -> None:
    with hub.db.read() as conn:
        entries = error_log.list_entries(conn, error_log.ErrorFilter(status="open"))
    table = Table(title=f"Summary ({seconds:.0f} s)")
    table.add_column("what")
    table.add_column("result", justify="right")
    table.add_row("orders created in the Shopify store (valid)", str(n_orders))
    table.add_row("orders in orderhub, each once, at its latest version", str(c["orders"]))
    table.add_row("inbox records (webhooks + polls, deduplicated)", str(c["stored"]))
    table.add_row("error-log entries waiting for a person", str(len(entries)))
    table.add_row("orders placed in the OMS", str(c["placed"]))
    table.add_row("  order.placed events, one per placed order", _once_each(c["placed_events"], c["announced"]))
    table.add_row("orders not placed yet: waiting for payment, or to retry a step", str(c["waiting"]))
    table.add_row("orders not placed: stopped and compensated (e.g. cancelled first)", str(c["compensated"]))
    if sold is not None:
        table.add_section()
        _channel_rows(table, sold)
    if till is not None:
        table.add_section()
        _store_rows(table, till)
    if person is not None and person.profile is not None:
        table.add_section()
        _customer_rows(table, person)
    console.print(table)
    errors = Table(title="Error log")
    for col in ("id", "field", "error"):
        errors.add_column(col, overflow="fold")
    for e in entries:
        errors.add_row(str(e.id), e.field or "", e.error)
    console.print(errors)


def _channel_rows(table: Table, sold: ChannelsOutcome) -> None:
    """The omnichannel act: each channel showing orderhub's stock, before and after the TikTok order."""
    table.add_row(f"listings on {', '.join(sold.columns) or 'no channel'}", str(sold.listings))
    for when, agreeing in zip(("  showing orderhub's stock, before the TikTok order",
                               "  showing orderhub's stock, after it"), sold.agreeing, strict=False):
        table.add_row(when, str(agreeing))
    table.add_row("TikTok order placed in the OMS", "yes" if sold.placed else "no")
    table.add_row("  its shipment confirmed on TikTok", "yes" if sold.confirmed else "no")


def _store_rows(table: Table, till: StoreOutcome) -> None:
    """The store act: sales made offline, counted once when the till syncs, and every channel following."""
    table.add_row(f"store sales synced after the till was offline ({till.store})", str(till.recorded))
    table.add_row("  units off the store's stock, once", f"{till.on_hand[0]} → {till.on_hand[1]}")
    table.add_row("  listings showing orderhub's stock after the sync", f"{till.agreeing} of {till.listings}")
    table.add_row("  the whole queue sent again: nothing changed", "yes" if not till.resend_changed else "no")


def _customer_rows(table: Table, person: CustomerOutcome) -> None:
    """The customer act: one profile for the shop's customer and the store's loyalty member, consent that travels,
    and a request to be forgotten."""
    table.add_row("one profile for a Shopify customer and a till's loyalty member",
                  "yes" if person.identities >= 2 else "no")
    table.add_row("  consent changes kept, from Shopify then from the till", str(len(person.consent_sources)))
    table.add_row("  Shopify unsubscribed by the till's answer, its echo ignored",
                  "yes" if person.shopify_state == "unsubscribed" and not person.echo_changed else "no")
    table.add_row("  rows holding their e-mail address after the erasure", str(person.mentions))


def _once_each(events: int, orders_announced: int) -> str:
    return str(events) if events == orders_announced else f"{events} for {orders_announced} orders"


def oms_summary(console: Console, hub: Hub, walked: int | None) -> None:
    with hub.db.read() as conn:
        console.print(_status_table(conn))
        console.print(_stock_table(conn))
        console.print(_events_table(conn))
        order = order_queries.get_order(conn, walked) if walked is not None else None
    if order is not None:
        console.print(_timeline_table(order))


def _status_table(conn: Connection) -> Table:
    """Orders by OMS status, with the reason most of them give for waiting."""
    table = Table(title="Orders by OMS status")
    table.add_column("status")
    table.add_column("orders", justify="right")
    table.add_column("most common reason", overflow="fold")
    rows = conn.execute(select(orders.c.status, orders.c.status_reason, func.count())
                        .group_by(orders.c.status, orders.c.status_reason)).all()
    by_status: dict[str, list[tuple[int, str | None]]] = {}
    for status, reason, n in rows:
        by_status.setdefault(status, []).append((n, reason))
    for status, reasons in sorted(by_status.items(), key=lambda kv: -sum(n for n, _ in kv[1])):
        top = max(reasons, key=lambda r: (r[0], r[1] or ""))[1]
        table.add_row(status, str(sum(n for n, _ in reasons)), top or "")
    # Approved units only: those of unapproved orders wait for approval first.
    parked = conn.execute(select(func.count(order_units.c.order_id.distinct()), func.count())
                          .where(order_units.c.queue == "backorder_parking", order_units.c.status == "approved")
                          ).one()
    table.add_section()
    table.add_row("with units in backorder parking", str(parked[0]), f"{parked[1]} units wait for stock")
    return table


def _stock_table(conn: Connection) -> Table:
    table = Table(title="Stock per facility (units)")
    table.add_column("facility")
    table.add_column("kind")
    for col in ("on hand", "reserved", "orders today"):
        table.add_column(col, justify="right")
    stock = {r.facility_id: r for r in conn.execute(
        select(inventory.c.facility_id, func.sum(inventory.c.on_hand).label("on_hand"),
               func.sum(inventory.c.reserved).label("reserved")).group_by(inventory.c.facility_id))}
    load = facility_store.orders_today(conn, utcnow().date().isoformat())
    for f in conn.execute(select(facilities).order_by(facilities.c.sequence, facilities.c.id)):
        s = stock.get(f.id)
        table.add_row(f"{f.code} {f.name}", f.kind + (" (ships)" if f.ship_from_store else ""),
                      str(s.on_hand if s else 0), str(s.reserved if s else 0), str(load.get(f.id, 0)))
    return table


def _events_table(conn: Connection) -> Table:
    table = Table(title="Events in the outbox")
    table.add_column("event")
    table.add_column("count", justify="right")
    for event_type, n in conn.execute(select(outbox.c.event_type, func.count()).group_by(outbox.c.event_type)
                                      .order_by(func.count().desc(), outbox.c.event_type)):
        table.add_row(event_type, str(n))
    return table


def _timeline_table(order: dict[str, Any]) -> Table:
    """The walked order's timeline, as ``orderhub orders show`` words it."""
    table = Table(title=f"Timeline of order {order['name']} (orderhub id {order['id']}): {order['status']}")
    for col in ("at", "event", "by"):
        table.add_column(col, no_wrap=True)
    table.add_column("detail", overflow="fold")
    for t in order["timeline"]:
        table.add_row(t["at"][:19], t["kind"], t["actor"] or f"inbox {t['inbox_id']}", timeline_detail(t["detail"]))
    return table


def command_hint() -> str | None:
    """How to reach the ``orderhub`` command from the user's shell, when the name alone would not find it."""
    if shutil.which("orderhub"):
        return None
    venv = Path(sys.prefix)
    try:
        venv = venv.relative_to(Path.cwd())
    except ValueError:
        pass
    bin_dir = venv / "bin"
    return f"(first make `orderhub` a command: source {bin_dir / 'activate'} - or call {bin_dir / 'orderhub'})"


def look_further(console: Console, db_url: str, walked: int | None, sku: str) -> None:
    console.print("\n[bold]Look further[/bold]")
    hint = command_hint()
    if hint:
        console.print(f"  {hint}", markup=False)
    console.print(f"  orderhub orders list --db {db_url}")
    if walked:
        console.print(f"  orderhub orders show {walked} --db {db_url}")
    console.print(f"  orderhub inventory show {sku} --db {db_url}")
    console.print(f"  orderhub errors list --db {db_url}")
    console.print(f"  orderhub errors show ID --db {db_url}")
    console.print(f"  orderhub errors retry ID --db {db_url}   (then a worker processes it: "
                  f"orderhub worker --db {db_url})")

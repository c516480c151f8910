"""``orderhub store`` and ``orderhub device``: stores (facilities of kind store) as their operations manager
reads them, their settings, and the POS terminals enrolled in them."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import click

from orderhub.adapters.store import facilities as facility_store
from orderhub.adapters.store import pos_devices, store_views, stores
from orderhub.bootstrap import Hub
from orderhub.clock import utcnow
from orderhub.entrypoints.cli_oms import cli_actor, domain_problems
from orderhub.entrypoints.cli_support import JSON_HELP, cell, print_json, read_only_hub, table, writing_hub
from orderhub.services import pos_alerts

json_option = click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
limit_option = click.option("--limit", type=click.IntRange(1, store_views.MAX_LIMIT), default=100, show_default=True,
                            help="Show at most this many, newest first.")


def _totals(totals: dict[str, str]) -> str:
    return ", ".join(f"{amount} {currency}" for currency, amount in totals.items()) or "0"


def _ago(value: datetime | None, now: datetime) -> str:
    if value is None:
        return "never"
    minutes = int((now - value).total_seconds() // 60)
    return f"{cell(value)} ({minutes} min ago)" if minutes >= 0 else cell(value)


def _age(seconds: int | None) -> str:
    if seconds is None:
        return ""
    return f"{seconds // 60} min" if seconds >= 60 else f"{seconds} s"


@click.group("store")
def store() -> None:
    """Stores: their day's sales, POS devices, late and flagged sales, oversells and settings."""


@store.command("list")
@json_option
@read_only_hub
def store_list(hub: Hub, as_json: bool) -> None:
    """Every store: today's sales (the store's local day), its devices and how many are silent, its pickups
    waiting, ready and overdue."""
    now = utcnow()
    with hub.db.read() as conn:
        found = store_views.summaries(conn, now, pos_alerts.silent_after(hub.settings))
    if as_json:
        print_json([s.public() for s in found])
        return
    if not found:
        click.echo("no stores yet; a store is a facility of kind store: `orderhub facility add CODE --name NAME "
                   "--kind store`")
        return
    table("Stores", ["store", "name", "today", "sales", "units", "total", "to look at", "devices", "pickups"],
          [[s.store.code, s.store.name, s.today.day.isoformat(), s.today.sales, s.today.units_sold,
            _totals(s.today.shown_totals()), _issues(s.today), f"{s.devices}" + (f" ({s.silent} silent)"
                                                                              if s.silent else ""),
            _pickups(s.pickups)]
           for s in found], drop_empty=("to look at", "pickups"))


def _pickups(counts: dict[str, int]) -> str:
    """"2 waiting, 3 ready (1 overdue)"; empty when there are none."""
    overdue = f" ({counts['overdue']} overdue)" if counts["overdue"] else ""
    return ", ".join(f"{n} {what}" for n, what in ((counts["waiting"], "waiting"),
                                                    (counts["ready"], "ready" + overdue)) if n)


def _issues(t: store_views.DayTotals) -> str:
    return ", ".join(f"{n} {what}" for n, what in ((t.late, "late"), (t.flagged, "flagged"),
                                                    (t.oversells, "oversold")) if n)


def _device_rows(lines: list[store_views.DeviceLine], now: datetime, store: bool = True) -> list[list[Any]]:
    return [[d.device.id, d.device.store if store else "", d.device.name, "SILENT" if d.silent else d.device.status,
             d.device.version, _ago(d.device.last_sync_at, now), d.device.queue_length,
             _age(d.queue_age_seconds), d.missing or ""] for d in lines]


def _gaps(line: store_views.DeviceLine) -> str:
    ranges = ", ".join(f"{a}" if a == b else f"{a}-{b}" for a, b in line.missing_ranges)
    more = ", ..." if sum(b - a + 1 for a, b in line.missing_ranges) < line.missing else ""
    return f"{line.missing} (sequences {ranges}{more}): still on the device, or lost there"


DEVICE_COLUMNS = ["id", "store", "device", "state", "version", "last sync", "queue", "oldest waiting", "missing"]


def _sale_rows(sales: list[store_views.SaleLine]) -> list[list[Any]]:
    rows = []
    for s in sales:
        p = s.public()
        rows.append([p["sale_ref"], p["device"], cell(s.row.sold_at), _age(p["delay_seconds"]), p["units_sold"],
                     f"{p['total']} {p['currency']}", ", ".join(p["flags"]) + (" (late)" if s.late and
                                                                              "late" not in p["flags"] else "")])
    return rows


SALE_COLUMNS = ["sale", "device", "sold at", "synced after", "units", "total", "flags"]


def _variance_rows(found: list[dict[str, Any]], store: bool = True) -> list[list[Any]]:
    return [[v["created_at"][:19].replace("T", " ") + "Z", v["store"] if store else "", v["sku"], v["short"],
             v["rebrokered"], v["parked"], v["order_id"], v["note"]] for v in found]


VARIANCE_COLUMNS = ["when", "store", "SKU", "short", "sent elsewhere", "waiting", "order", "note"]


@store.command("show")
@click.argument("store_code", metavar="CODE")
@json_option
@read_only_hub
def store_show(hub: Hub, store_code: str, as_json: bool) -> None:
    """One store (CODE): today's sales, its devices, its pickups waiting, ready and overdue, and the late and
    flagged sales and oversells of the last 7 days."""
    now, threshold = utcnow(), pos_alerts.silent_after(hub.settings)
    since = now - store_views.RECENT
    with domain_problems(), hub.db.read() as conn:
        found = stores.get(conn, store_code)
        summary = store_views.summary(conn, found, now, threshold)
        devices = store_views.device_lines(conn, found.id, now, threshold)
        late = store_views.sales(conn, found, late_after=threshold, since=since, late=True, limit=50)
        flagged = store_views.sales(conn, found, late_after=threshold, since=since, flagged=True, limit=50)
        oversells = store_views.variances(conn, found.id, since=since, limit=50)
    if as_json:
        print_json(summary.public() | {"devices": [d.public() for d in devices],
                                       "late_sales": [s.public() for s in late],
                                       "flagged_sales": [s.public() for s in flagged], "oversells": oversells})
        return
    t = summary.today
    click.echo(f"store {found.code} ({found.name}): time zone {found.timezone or 'UTC'}, online safety stock "
               f"{found.online_safety_stock} unit(s) of every SKU" + ("" if found.active else ", inactive"))
    click.echo(f"today ({t.day.isoformat()}, the store's day): {t.sales} sale(s), {t.units_sold} unit(s) sold, "
               f"{t.units_returned} returned; total {_totals(t.shown_totals())}; {t.late} late, {t.flagged} "
               f"flagged, {t.oversells} oversell(s)")
    click.echo(f"devices: {summary.devices} active, {summary.silent} silent (no sync for more than "
               f"{pos_alerts.minutes(threshold)} min)")
    click.echo(f"pickups: {_pickups(summary.pickups) or 'none open'}" + (
        f" (`orderhub pickup list --store {found.code} --status open`)" if any(summary.pickups.values()) else ""))
    if devices:
        table(f"Devices of {found.code}", DEVICE_COLUMNS, _device_rows(devices, now, False),
              drop_empty=("version", "store"))
    for title, sales in (("Late sales", late), ("Flagged sales", flagged)):
        if sales:
            table(f"{title} of {found.code}, last 7 days", SALE_COLUMNS, _sale_rows(sales))
    if oversells:
        table(f"Oversells at {found.code}, last 7 days", VARIANCE_COLUMNS, _variance_rows(oversells, False),
              drop_empty=("note", "order", "store"))


@store.command("set")
@click.argument("code")
@click.option("--online-safety-stock", type=click.IntRange(0, facility_store.SAFETY_STOCK_MAX), default=None,
              help="Units of every SKU the store keeps back from online selling (0: none).")
@click.option("--timezone", "timezone_name", default=None,
              help="The store's IANA time zone (e.g. Europe/Paris): its day is the local day; '' for UTC.")
@writing_hub
def store_set(hub: Hub, code: str, online_safety_stock: int | None, timezone_name: str | None) -> None:
    """Change a store's (CODE) online safety stock or time zone."""
    if online_safety_stock is None and timezone_name is None:
        raise click.UsageError("say what to change: --online-safety-stock N and/or --timezone ZONE")
    changes: dict[str, Any] = {"online_safety_stock": online_safety_stock}
    if timezone_name is not None:
        changes["timezone_name"] = timezone_name
    with domain_problems(), hub.db.write() as conn:
        found, changed = stores.change(conn, code, **changes)
    click.echo(f"store {found.code}: time zone {found.timezone or 'UTC'}, online safety stock "
               f"{found.online_safety_stock}" + (f"; {changed} listing(s) to send a new quantity" if changed else ""))


def _day(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a day; give it as YYYY-MM-DD", param_hint="--day") from None


@store.command("sales")
@click.argument("code")
@click.option("--day", default=None, help="The store's local day, YYYY-MM-DD (default: today there).")
@click.option("--late", is_flag=True, help="Only sales that reached orderhub late.")
@click.option("--flagged", is_flag=True, help="Only sales with a flag (clock_future, clock_past, tender_mismatch...).")
@limit_option
@json_option
@read_only_hub
def store_sales(hub: Hub, code: str, day: str | None, late: bool, flagged: bool, limit: int, as_json: bool) -> None:
    """The sales a store's (CODE) POS devices synced on one of its days, newest first."""
    wanted = _day(day)
    threshold = pos_alerts.silent_after(hub.settings)
    with domain_problems(), hub.db.read() as conn:
        found = stores.get(conn, code)
        wanted = wanted or found.day_of(utcnow())
        sales = store_views.sales(conn, found, late_after=threshold, day=wanted, late=late, flagged=flagged,
                                  limit=limit)
    if as_json:
        print_json({"store": found.code, "day": wanted.isoformat(), "sales": [s.public() for s in sales]})
        return
    which = " and ".join(w for w, on in (("late", late), ("flagged", flagged)) if on)
    if not sales:
        click.echo(f"store {found.code}: no {which + ' ' if which else ''}sales on {wanted.isoformat()}")
        return
    table(f"{which.capitalize() + ' s' if which else 'S'}ales of {found.code} on {wanted.isoformat()}", SALE_COLUMNS,
          _sale_rows(sales))


@store.command("variances")
@click.argument("code", required=False)
@click.option("--days", type=click.IntRange(1, 3660), default=None, help="Only those of the last N days.")
@limit_option
@json_option
@read_only_hub
def store_variances(hub: Hub, code: str | None, days: int | None, limit: int, as_json: bool) -> None:
    """Store oversells (of one store, CODE, or all): late sales that took a store's stock below what online
    orders had reserved there, and what became of those orders' units."""
    since = utcnow() - timedelta(days=days) if days else None
    with domain_problems(), hub.db.read() as conn:
        store_id = stores.get(conn, code).id if code else None
        found = store_views.variances(conn, store_id, since=since, limit=limit)
    if as_json:
        print_json(found)
        return
    if not found:
        click.echo(f"no oversells{' at ' + code if code else ''}")
        return
    table("Store oversells", VARIANCE_COLUMNS, _variance_rows(found), drop_empty=("note", "order"))


# -- devices ---------------------------------------------------------------------------------------------------

@click.group("device")
def device() -> None:
    """Stores' POS devices: one-time enrolment codes, the enrolled devices, revocation."""


store_option = click.option("--store", "store_code", default=None, help="The store (its facility code).")


@device.command("code")
@click.option("--store", "store_code", required=True, help="The store the code enrols a device into.")
@writing_hub
def device_code(hub: Hub, store_code: str) -> None:
    """Make a one-time code that enrols one POS device into a store (valid 24 hours; shown once)."""
    with domain_problems(), hub.db.write() as conn:
        found = stores.get(conn, store_code)
        code, expires = pos_devices.new_code(conn, found.id, actor=cli_actor())
    click.echo(f"enrolment code for store {found.code}: {code}")
    click.echo(f"valid once, until {cell(expires)}; type it on the till. It is not shown again.")


@device.command("list")
@store_option
@click.option("--silent", is_flag=True, help="Only devices that have not synced for too long.")
@json_option
@read_only_hub
def device_list(hub: Hub, store_code: str | None, silent: bool, as_json: bool) -> None:
    """POS devices (of one store, or all): state, version, last sync and the sales waiting on them."""
    now, threshold = utcnow(), pos_alerts.silent_after(hub.settings)
    with domain_problems(), hub.db.read() as conn:
        store_id = stores.get(conn, store_code).id if store_code else None
        lines = store_views.device_lines(conn, store_id, now, threshold, silent_only=silent)
    if as_json:
        print_json([d.public() for d in lines])
        return
    if not lines:
        where = f" in store {store_code}" if store_code else ""
        enrol = f"; enrol one with a code: `orderhub device code --store {store_code or 'CODE'}`"
        click.echo(("no silent devices" if silent else "no devices") + where + ("" if silent else enrol))
        return
    table("POS devices", DEVICE_COLUMNS, _device_rows(lines, now), drop_empty=("version",))


@device.command("show")
@click.argument("device_ref", metavar="REF")
@store_option
@json_option
@read_only_hub
def device_show(hub: Hub, device_ref: str, store_code: str | None, as_json: bool) -> None:
    """One POS device (REF: its id, or its name with --store)."""
    now, threshold = utcnow(), pos_alerts.silent_after(hub.settings)
    with domain_problems(), hub.db.read() as conn:
        line = store_views.one_device_line(conn, stores.find_device(conn, device_ref, store_code), now, threshold)
    if as_json:
        print_json(line.public())
        return
    d = line.device
    state = "silent" if line.silent else d.status
    click.echo(f"device {d.name} (id {d.id}) of store {d.store}: {state}")
    for label, value in (("version", d.version or "unknown"), ("enrolled", cell(d.enrolled_at)),
                         ("last seen", _ago(d.last_seen_at, now)), ("last sync", _ago(d.last_sync_at, now)),
                         ("sales waiting on it", "unknown" if d.queue_length is None else d.queue_length),
                         ("oldest waiting", _age(line.queue_age_seconds) or "-"),
                         ("last sequence", "-" if d.last_sequence is None else d.last_sequence),
                         ("sales received", d.sales),
                         ("missing (sequence gaps)", _gaps(line) if line.missing else 0)):
        click.echo(f"  {label}: {value}")
    if d.revoked_at:
        click.echo(f"  revoked: {cell(d.revoked_at)}")


@device.command("revoke")
@click.argument("ref")
@store_option
@writing_hub
def device_revoke(hub: Hub, ref: str, store_code: str | None) -> None:
    """Revoke a POS device (REF: its id, or its name with --store): its credential stops working at once."""
    with domain_problems(), hub.db.write() as conn:
        found = stores.find_device(conn, ref, store_code)
        done = pos_devices.revoke(conn, found.id, actor=cli_actor())
    if not done:
        raise click.ClickException(f"device {found.name} (id {found.id}) of store {found.store} was revoked "
                                   "already; enrol the till again with a new code (`orderhub device code`)")
    click.echo(f"device {found.name} (id {found.id}) of store {found.store}: revoked; it can no longer sync. "
               f"To enrol it again, make a code: `orderhub device code --store {found.store}`")


def register(main: click.Group) -> None:
    main.add_command(store)
    main.add_command(device)

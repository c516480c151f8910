"""The ``orderhub`` command."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import click
import orjson

from orderhub.adapters.store import error_log, migrate, order_queries, secret_rotation
from orderhub.adapters.store.secret_rotation import SecretKeyError
from orderhub.bootstrap import Hub, build
from orderhub.entrypoints import (
    cli_channels,
    cli_customers,
    cli_destinations,
    cli_fidelity,
    cli_invoicing,
    cli_jobs,
    cli_oms,
    cli_pickups,
    cli_progress,
    cli_reconcile,
    cli_routing,
    cli_secrets,
    cli_shops,
    cli_stores,
    cli_subscriptions,
    cli_tokens,
    cli_users,
    cli_webhooks,
)
from orderhub.entrypoints.cli_database import parse_url
from orderhub.entrypoints.cli_errors import DEBUG, OrderhubGroup
from orderhub.entrypoints.cli_support import (
    DATABASE_URL,
    JSON_HELP,
    VERBOSE,
    F,
    cell,
    configure_logs,
    console,
    iso_time,
    read_only_hub,
    settings_for,
    timeline_detail,
    with_hub,
    writing_hub,
)
from orderhub.entrypoints.cli_support import print_json as _print_json
from orderhub.entrypoints.cli_support import table as _table
from orderhub.simulators.amazon.cli import add_cli as add_amazon_simulator
from orderhub.simulators.payments.cli import add_cli as add_payments_simulator
from orderhub.simulators.pos.cli import add_cli as add_pos_simulator
from orderhub.simulators.retailpro.cli import add_cli as add_retailpro_simulator
from orderhub.simulators.tiktok.cli import add_cli as add_tiktok_simulator
from orderhub.simulators.walmart.cli import add_cli as add_walmart_simulator


@click.group(cls=OrderhubGroup)
@click.version_option(package_name="orderhub")
@click.option("--debug", is_flag=True, envvar="ORDERHUB_DEBUG",
              help="Show the whole traceback when the database, Shopify or another service fails.")
@click.option("--verbose", "-v", is_flag=True,
              help="Also log what commands do (INFO) on standard error; by default only warnings are logged.")
@click.pass_context
def main(ctx: click.Context, debug: bool, verbose: bool) -> None:
    """orderhub: durable Shopify ingestion, an order store and an error log a person can work from."""
    ctx.meta[DEBUG] = debug
    ctx.meta[VERBOSE] = verbose


@main.command("migrate")
@click.option("--db", "db_url", envvar="ORDERHUB_DATABASE_URL", default=None,
              help="Database URL (default sqlite:///orderhub.db, created when missing; or postgresql://...).")
@click.pass_context
def migrate_cmd(ctx: click.Context, db_url: str | None) -> None:
    """Create or upgrade the database schema (the one command that creates a database)."""
    settings = settings_for(db_url)
    parse_url(settings.database_url)
    ctx.meta[DATABASE_URL] = settings.database_url
    configure_logs(settings, "write")
    hub = build(settings)
    try:
        before = migrate.current_revision(hub.db)
        cli_progress.upgrade_database(hub.db)
        after = migrate.current_revision(hub.db)
        click.echo(f"database at revision {after}" + ("" if before == after else f" (was {before or 'empty'})"))
    except SecretKeyError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        hub.close()


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0: every interface).")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to listen on.")
@click.option("--worker/--no-worker", default=True, show_default=True, help="Run the processor in this process too.")
@click.option("--processors", default=1, show_default=True, type=int, help="Processor loops when --worker.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Server processes answering on the one port, for machines with more than one core "
                   "(the embedded worker still runs once).")
@with_hub
def serve(hub: Hub, host: str, port: int, worker: bool, processors: int, workers: int) -> None:
    """Run the HTTP server (webhooks, API, health, metrics), with an embedded worker by default."""
    import uvicorn

    from orderhub.entrypoints.http import serving
    from orderhub.entrypoints.http.app import create_app
    from orderhub.entrypoints.worker import Worker

    secret_rotation.check(hub.db)  # a missing key stops here, not at the first webhook
    try:
        sock = serving.bind(host, port)  # first: a port in use stops here, before the worker takes any work
    except serving.CannotListen as exc:
        click.echo(str(exc), err=True)
        sys.exit(1)
    if workers > 1:
        _serve_processes(hub, host, sock, worker, processors, workers)
        return
    serving.return_freed_memory()
    server = uvicorn.Server(uvicorn.Config(create_app(hub), log_level="warning", access_log=False,
                                           **serving.server_options(hub.settings)))
    background = Worker(hub, processors=processors).start() if worker else None
    click.echo(serving.listening_line(host, sock))
    try:
        server.run(sockets=[sock])
    finally:
        if background:
            background.stop()
        sock.close()


def _serve_processes(hub: Hub, host: str, sock: Any, worker: bool, processors: int, workers: int) -> None:
    from orderhub.entrypoints.http import serving
    from orderhub.entrypoints.http.server_processes import ServerProcesses
    from orderhub.entrypoints.worker import Worker

    servers = ServerProcesses(hub.settings, sock, workers)
    servers.stop_on_signals()
    servers.start()
    background = Worker(hub, processors=processors).start() if worker else None
    click.echo(serving.listening_line(host, sock) + f", {workers} server processes")
    try:
        servers.watch()
    finally:
        servers.stop()
        if background:
            background.stop()
        sock.close()


@main.command("worker")
@click.option("--processors", default=1, show_default=True, type=int, help="Processor loops in this process.")
@click.option("--deliver/--no-deliver", default=True, show_default=True, help="Send to HTTP destinations.")
@click.option("--schedule/--no-schedule", default=True, show_default=True, help="Run scheduled jobs.")
@with_hub
def worker_cmd(hub: Hub, processors: int, deliver: bool, schedule: bool) -> None:
    """Process the inbox, deliver to destinations and run scheduled jobs until stopped."""
    from orderhub.entrypoints.worker import Worker

    secret_rotation.check(hub.db)
    Worker(hub, processors=processors, deliver=deliver, schedule=schedule).start().wait()


# A retry is queued here and done by a worker: say so, or the entry seems to stay put.
_WORKER_FINISHES = "; a running worker (orderhub worker, or orderhub serve) processes it"


# -- error log -------------------------------------------------------------------------------------

def _filter_options(fn: F) -> F:
    for opt in reversed([
        click.option("--shop", default=None, help="Only entries of this shop (its domain)."),
        click.option("--topic", default=None, help="Only entries of this topic or job, e.g. orders/create."),
        click.option("--kind", default=None, help="validation, destination_rejected, retries_exhausted, ..."),
        click.option("--status", default=None, help="open, retrying, resolved, dismissed"),
        click.option("--since", type=click.DateTime(), default=None, help="Created at or after (UTC)."),
        click.option("--until", type=click.DateTime(), default=None, help="Created before (UTC)."),
        click.option("--search", default=None, help="Text in the error or the payload."),
    ]):
        fn = opt(fn)
    return fn


def _utc(value: datetime | None) -> datetime | None:
    from datetime import timezone

    return None if value is None else value.replace(tzinfo=timezone.utc)


def _make_filter(shop: str | None, topic: str | None, kind: str | None, status: str | None,
                 since: datetime | None, until: datetime | None, search: str | None) -> error_log.ErrorFilter:
    return error_log.ErrorFilter(shop=shop, topic=topic, kind=kind, status=status, since=_utc(since),
                                 until=_utc(until), search=search)


@main.group()
def errors() -> None:
    """The error log: records that could not be processed."""


@errors.command("list")
@_filter_options
@click.option("--limit", default=50, show_default=True, help="Show at most this many entries (newest first).")
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
@read_only_hub
def errors_list(hub: Hub, limit: int, as_json: bool, **flt: Any) -> None:
    """Entries of the error log, newest first, with how many match the filters."""
    f = _make_filter(**flt)
    with hub.db.read() as conn:
        rows = error_log.list_entries(conn, f, limit=limit)
        total = error_log.count(conn, f)
    if as_json:
        _print_json({"total": total, "errors": [
            {k: v for k, v in r._asdict().items() if k not in ("payload", "attempts")} for r in rows]})
        return
    _table(f"Error log ({total} matching)", ["id", "created (UTC)", "kind", "status", "error"],
           [[r.id, f"{r.created_at:%Y-%m-%d %H:%M}", r.kind, r.status, r.error] for r in rows])


@errors.command("show")
@click.argument("entry_id", type=int)
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
@read_only_hub
def errors_show(hub: Hub, entry_id: int, as_json: bool) -> None:
    """One entry (ENTRY_ID): the error, every attempt and the payload, to fix and retry or dismiss."""
    with hub.db.read() as conn:
        row = error_log.get(conn, entry_id)
    if row is None:
        raise click.ClickException(f"no error-log entry {entry_id}")
    data = row._asdict()
    data["attempts"] = orjson.loads(row.attempts)
    try:
        data["payload"] = orjson.loads(row.payload)
    except orjson.JSONDecodeError:
        pass
    if as_json:
        _print_json(data)
        return
    for key in ("id", "shop", "topic", "source", "kind", "status", "field", "error", "created_at", "updated_at",
                "dismissed_by", "dismissed_reason"):
        if data.get(key) is not None:
            click.echo(f"{key:>16}: {cell(data[key])}")
    click.echo("        attempts:")
    for a in data["attempts"]:
        click.echo(f"                  {a.get('at')}  {a.get('error') or a.get('status')}")
    click.echo("         payload:")
    click.echo(orjson.dumps(data["payload"], option=orjson.OPT_INDENT_2).decode()
               if not isinstance(data["payload"], str) else data["payload"])


@errors.command("retry")
@click.argument("entry_ids", type=int, nargs=-1)
@click.option("--payload", "payload_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A corrected payload (JSON file) to process instead (one entry only).")
@click.option("--all-matching", is_flag=True, help="Retry every open entry matching the filters.")
@_filter_options
@writing_hub
def errors_retry(hub: Hub, entry_ids: tuple[int, ...], payload_file: Path | None, all_matching: bool,
                 **flt: Any) -> None:
    """Put entries back in their queue (by ENTRY_IDS, or every open entry matching filters)."""
    from orderhub.services import errors as service

    if all_matching:
        if entry_ids or payload_file:
            raise click.UsageError("--all-matching takes filters, not ids or --payload")
        ids = service.retry_many(hub.db, _make_filter(**flt))
        click.echo(f"retrying {len(ids)} entr{'y' if len(ids) == 1 else 'ies'}{_WORKER_FINISHES}")
        return
    if not entry_ids:
        raise click.UsageError("give entry ids, or --all-matching with filters")
    if payload_file and len(entry_ids) != 1:
        raise click.UsageError("--payload applies to one entry")
    payload = payload_file.read_text(encoding="utf-8") if payload_file else None
    for entry_id in entry_ids:
        try:
            service.retry(hub.db, entry_id, payload, settings=hub.settings)
        except (LookupError, service.NotRetryable) as exc:
            raise click.ClickException(str(exc).strip("'\"")) from None
        click.echo(f"error {entry_id}: retrying" + (" with the new payload" if payload else "") + _WORKER_FINISHES)


@errors.command("dismiss")
@click.argument("entry_ids", type=int, nargs=-1, required=True)
@click.option("--reason", required=True, help="Why this needs no further action (kept with the entry).")
@click.option("--by", default=None, hidden=True)
@writing_hub
def errors_dismiss(hub: Hub, entry_ids: tuple[int, ...], reason: str, by: str | None) -> None:
    """Dismiss entries (ENTRY_IDS). Nothing is deleted: who (your login) and why are recorded."""
    import getpass

    from orderhub.services import errors as service

    if by is not None:
        raise click.UsageError("--by is not accepted: the dismissal is recorded as the login running this "
                               f"command ({getpass.getuser()}); give only --reason")
    n = service.dismiss(hub.db, entry_ids, by=getpass.getuser(), reason=reason)
    click.echo(f"dismissed {n} of {len(entry_ids)}")


# -- orders ----------------------------------------------------------------------------------------

@main.group()
def orders() -> None:
    """Orders in orderhub's store."""


@orders.command("list")
@click.option("--shop", default=None, help="Only orders of this shop (its domain).")
@click.option("--status", default=None, help="created, approved, brokered, shipped, cancelled, ...")
@click.option("--payment-status", default=None, help="pending, authorized, paid, refunded, ...")
@click.option("--search", default=None, help="Any part (3+ characters) of the order name, channel order id, e-mail, "
              "note or buyer's name; shorter: the exact order name or id.")
@click.option("--limit", default=20, show_default=True, help="Show at most this many orders (newest first).")
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
@read_only_hub
def orders_list(hub: Hub, shop: str | None, status: str | None, payment_status: str | None,
                search: str | None, limit: int, as_json: bool) -> None:
    """Orders, newest first: status, payment, fulfilment and total."""
    flt = order_queries.OrderFilter(shop=shop, status=status, payment_status=payment_status, search=search)
    with hub.db.read() as conn:
        rows = order_queries.list_orders(conn, flt, limit=limit)
    if as_json:
        _print_json(rows)
        return
    # What a person scans fits 80 columns; the shop only when there are several, every id in --json.
    several_shops = len({r["shop"] for r in rows}) > 1
    _table("Orders", ["id", "name", "status", "payment", "fulfillment", "total"] + ["shop"] * several_shops,
           [[r["id"], r["name"], r["status"], r["payment_status"], r["fulfillment_status"],
             f"{r['total_price']} {r['currency']}"] + [r["shop"]] * several_shops for r in rows])


@orders.command("show")
@click.argument("ref")
@click.option("--shop", default=None, help="Find REF as a Shopify id or name within this shop.")
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
@read_only_hub
def orders_show(hub: Hub, ref: str, shop: str | None, as_json: bool) -> None:
    """Show an order: REF is its orderhub id, Shopify id, or name with or without # (#1001 or 1001)."""
    with hub.db.read() as conn:
        order_id = order_queries.find_order_id(conn, ref, shop)
        order = None if order_id is None else order_queries.get_order(conn, order_id)
    if order is None:
        raise click.ClickException(f"no order {ref}" + (f" in {shop}" if shop else "") +
                                   "; list them with `orderhub orders list`")
    if as_json:
        _print_json(order)
        return
    click.echo(f"{order['name']}  ({order['shop']}, Shopify id {order['shopify_id']}, orderhub id {order['id']})")
    click.echo(f"  status {order['status']}, payment {order['payment_status']}, "
               f"fulfillment {order['fulfillment_status']}, version {order['version']}")
    click.echo(f"  in Shopify: {order['source_status']}, {order['source_financial_status'] or '-'}, "
               f"{order['source_fulfillment_status'] or 'unfulfilled'}")
    sold = f" (source {order['source_name']})" if order["source_name"] else ""
    through = f", sold through {order['sold_through']}" if order["sold_through"] else ""
    click.echo(f"  channel {order['channel']}{sold}{through}")
    if order.get("pickup"):
        p = order["pickup"]
        until = f", collect by {cell(p['collect_by'])}" if p.get("collect_by") else ""
        click.echo(f"  pickup in store at {p['store'] or 'location ' + str(p['location']) + ' (no facility)'}: "
                   f"{p['status']}{until}" + (" (locked: `orderhub pickup reset`)" if p["locked"] else ""))
    click.echo(f"  total {order['total_price']} {order['currency']} (tax {order['total_tax']}, "
               f"shipping {order['total_shipping']}, discounts {order['total_discounts']}, "
               f"refunded {order['total_refunded']})")
    if order["customer"]:
        c = order["customer"]
        click.echo(f"  customer {c['first_name'] or ''} {c['last_name'] or ''} <{c['email'] or ''}>")
    ship = order["addresses"].get("shipping")
    if ship:
        click.echo("  ship to " + ", ".join(str(ship[k]) for k in ("name", "address1", "address2", "city", "zip",
                                                                   "country_code") if ship.get(k)))
    _table("Items", ["sku", "title", "qty", "current", "price", "discount", "tax"],
           [[i["sku"], i["title"], i["quantity"], i["current_quantity"], i["price"], i["total_discount"], i["tax"]]
            for i in order["items"]])
    if order["discounts"]:
        _table("Discounts", ["#", "kind", "code or title", "value", "on", "took off"],
               [[d["position"], d["type"], d["code"] or d["title"],
                 f"{d['value']} %" if d["value_type"] == "percentage" else d["value"],
                 "shipping" if d["target_type"] == "shipping_line" else "items", d["allocated"]]
                for d in order["discounts"]])
    if order["units"]:
        _table("Units", ["unit", "sku", "status", "facility", "queue", "shipment"],
               [[u["id"], u["sku"], u["status"], u["facility"], u["queue"], u["shipment_id"]] for u in order["units"]])
    _table("Timeline", ["at", "event", "by", "detail"],
           [[iso_time(t["at"]), t["kind"], t["actor"] or f"inbox {t['inbox_id']}", timeline_detail(t["detail"])]
            for t in order["timeline"]])


# -- simulators and demo ---------------------------------------------------------------------------

@main.group()
def simulate() -> None:
    """Simulators of the external services, for demos and tests."""


@simulate.command("shopify")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8700, show_default=True, type=int, help="Port to listen on.")
@click.option("--shop", "shop_domains", multiple=True, default=("demo-store.myshopify.com",), show_default=True,
              help="Domain of a simulated shop; repeatable.")
@click.option("--secret", default="demo-secret", show_default=True, help="API secret that signs webhooks.")
@click.option("--access-token", default="demo-token", show_default=True,
              help="Admin API access token the simulator accepts.")
def simulate_shopify(host: str, port: int, shop_domains: tuple[str, ...], secret: str, access_token: str) -> None:
    """Run a simulated Shopify store (Admin GraphQL API, webhooks, order generator)."""
    from orderhub.simulators.shopify.server import run

    run(host=host, port=port, shops=[{"domain": d, "api_secret": secret, "access_token": access_token}
                                     for d in shop_domains])


@main.command()
@click.option("--orders", "n_orders", default=60, show_default=True, type=click.IntRange(min=1),
              help="Orders the simulated store creates.")
@click.option("--seed", default=7, show_default=True, type=int,
              help="Seed of the simulated store: the same seed and --orders give the same summary.")
@click.option("--keep-running", is_flag=True, help="Leave the hub and the simulator up afterwards.")
@click.option("--db", "db_url", default=None,
              help="Database URL (default: a fresh SQLite file in ./orderhub-demo/, which a later run replaces).")
def demo(n_orders: int, seed: int, keep_running: bool, db_url: str | None) -> None:
    """See orderhub work end to end: a simulated Shopify store, webhooks, batch backup, error log,
    and order management (facilities and stock, placement, brokering, pick, pack and ship)."""
    from orderhub.entrypoints.demo import run_demo

    sys.exit(run_demo(n_orders=n_orders, keep_running=keep_running, db_url=db_url, console=console, seed=seed))


# Order management commands and the payment simulator live in their own modules.
cli_oms.register(main)
cli_channels.register(main)
cli_stores.register(main)
cli_routing.register(main)
cli_tokens.register(main)
cli_shops.register(main)
cli_jobs.register(main)
cli_webhooks.register(main)
cli_subscriptions.register(main)
cli_reconcile.register(main)
cli_invoicing.register(main)
cli_fidelity.register(main)
cli_destinations.register(main)
cli_users.register(main)
cli_secrets.register(main)
cli_pickups.register(main)
cli_customers.register(main)
add_payments_simulator(simulate)
add_retailpro_simulator(simulate)
add_tiktok_simulator(simulate)
add_walmart_simulator(simulate)
add_amazon_simulator(simulate)
add_pos_simulator(simulate)

if __name__ == "__main__":
    main()

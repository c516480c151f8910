"""CLI for reconciliation: ``orderhub reconcile --shop DOMAIN --since 6h``, ``reconcile list``, ``reconcile show ID``.

Registered on the main ``orderhub`` group by :func:`register`.
"""

from __future__ import annotations

import click

from orderhub.adapters.shopify.graphql import ShopifyError
from orderhub.adapters.store import shops
from orderhub.bootstrap import Hub
from orderhub.entrypoints import cli_progress
from orderhub.entrypoints.cli_retries import reporting_client
from orderhub.entrypoints.cli_support import JSON_HELP, console, print_json, read_only_hub, table, writing_hub
from orderhub.services import reconcile as service


def _print_report(report: service.Report) -> None:
    state = "finished" if report.finished_at else "did not finish"
    console.print(f"reconciliation {report.id} of {report.shop} since {report.since.isoformat(timespec='seconds')} "
                  f"{state} (by {report.actor}): {report.summary.get('shopify_orders', 0)} orders from Shopify, "
                  f"{report.summary.get('orderhub_orders', 0)} in orderhub", markup=False, highlight=False)
    if report.summary.get("error"):
        console.print(f"error: {report.summary['error']}", markup=False, highlight=False)
    table("Summary", ["kind", "count"], [[kind, count] for kind, count in report.counts.items()])
    if not report.findings:
        click.echo("no findings: orderhub is in step with Shopify and every subscriber acknowledged")
        return
    table("Findings", ["order", "kind", "action", "diff"],
          [[f"{f.order_name}\n{f.order_shopify_id}" if f.order_name else f.order_shopify_id, f.kind,
            f.action + (f"\nerror {f.error_id}" if f.error_id else ""), service.short_diff(f)]
           for f in report.findings])


def _run(hub: Hub, domain: str, since: str, reingest: bool, as_json: bool) -> None:
    client = None
    try:
        when = service.parse_since(since)
        with hub.db.read() as conn:
            shop = shops.by_domain(conn, domain)
        if shop is not None and shop.access_token:  # else reconcile says what is missing
            client = reporting_client(shop)
        with cli_progress.reporting(f"reconcile {domain}") as progress:
            report = service.reconcile(hub, domain, when, actor="cli", reingest=reingest, client=client,
                                       progress=progress)
    except (LookupError, ValueError) as exc:
        raise click.ClickException(str(exc).strip("'\"")) from None
    except ShopifyError as exc:
        raise click.ClickException(f"Shopify: {exc}") from None
    finally:
        if client is not None:
            client.client.close()
    if as_json:
        print_json(report.to_json())
    else:
        _print_report(report)


@click.group(invoke_without_command=True)
@click.option("--shop", "domain", default=None, help="The shop to reconcile (its domain).")
@click.option("--since", default="24h", show_default=True,
              help="How far back: a duration (6h, 2d, 90m) or an ISO 8601 time (UTC when it has no offset).")
@click.option("--no-reingest", "no_reingest", is_flag=True,
              help="Only report missing and stale orders; do not put them in the inbox.")
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
@click.option("--db", "db_url", envvar="ORDERHUB_DATABASE_URL", default=None,
              help="Database URL (default sqlite:///orderhub.db; or postgresql://...).")
@click.pass_context
def reconcile(ctx: click.Context, domain: str | None, since: str, no_reingest: bool, as_json: bool,
              db_url: str | None) -> None:
    """Compare orderhub's orders with Shopify and with subscribers' acknowledgements.

    Missing and stale orders go back through the inbox (deduplicated); mismatches and orders
    Shopify does not have go to the error log for review. See `reconcile list` and `reconcile show`.
    """
    if ctx.invoked_subcommand is not None:
        return
    if not domain:
        raise click.UsageError("pass --shop DOMAIN (or a subcommand: list, show)")
    writing_hub(_run)(db_url=db_url, domain=domain, since=since, reingest=not no_reingest, as_json=as_json)


@reconcile.command("list")
@click.option("--shop", "domain", default=None, help="Only this shop.")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 1000),
              help="Show at most this many reports.")
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
@read_only_hub
def reconcile_list(hub: Hub, domain: str | None, limit: int, as_json: bool) -> None:
    """Reconciliation reports, newest first."""
    with hub.db.read() as conn:
        reports = service.list_reports(conn, shop=domain, limit=limit)
    if as_json:
        print_json([r.to_json(with_findings=False) for r in reports])
        return
    table("Reconciliations", ["id", "shop", "started (UTC)", "window", "by", "findings"],
          [[r.id, r.shop, f"{r.started_at:%Y-%m-%d %H:%M}", _window(r), r.actor,
            ", ".join(f"{k} {n}" for k, n in r.counts.items() if n)
            or (f"failed: {r.summary['error']}" if r.summary.get("error") else "none")]
           for r in reports])


def _window(report: service.Report) -> str:
    hours = (report.started_at - report.since).total_seconds() / 3600
    return f"{hours:.0f} h" if hours >= 1 else f"{hours * 60:.0f} min"


@reconcile.command("show")
@click.argument("reconciliation_id", type=int)
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
@read_only_hub
def reconcile_show(hub: Hub, reconciliation_id: int, as_json: bool) -> None:
    """One report (RECONCILIATION_ID) with its findings."""
    with hub.db.read() as conn:
        report = service.get_report(conn, reconciliation_id)
    if report is None:
        raise click.ClickException(f"no reconciliation {reconciliation_id}; `orderhub reconcile list` shows them")
    if as_json:
        print_json(report.to_json())
    else:
        _print_report(report)


def register(main: click.Group) -> None:
    main.add_command(reconcile)
